"""Video hashers: a video file in, a list of frame hashes (with quality and time) out.

Why a registry of their own (``VIDEO_HASHERS``) rather than more entries in the image hashers'
registry: an image hasher maps one image to one code, and every image step (edits, the all-pairs
kernel, dihedral variants) relies on that; a video hasher maps one file to a variable-length list
of frame codes and needs a video-level rule to decide a match. Keeping them apart means no image
step ever meets a video hasher by mistake, while the idiom is the same (:mod:`hashbench.registry`:
``@register``, ``get``, "did you mean", entry-point group ``hashbench.video_hashers``).

Built-ins:

``vpdq``
    Meta's vPDQ, as its C++ reference computes it: decode every frame, keep frames whose 0-based
    index ``i`` has ``i % max(1, int(seconds_per_hash * fps)) == 0`` (fps: ``avg_frame_rate``,
    else ``r_frame_rate``), convert to RGB24 at full size (swscale, area filter), PDQ on the
    float luma (hashbench's PDQ, bit-identical to ``pdqhash`` and to PDQ's C++), quality per frame,
    timestamp ``float32(i) / float32(fps)``. Frames under 5 pixels a side get a zero hash and
    quality 0, as in the reference.
``pdq-keyframe``
    a naive baseline: PDQ of one frame every ``1 / rate`` seconds, matched by the ``any-frame``
    rule (one close frame pair is a match), i.e. what a platform gets by running its image
    matcher on stills.
``video-md5``
    MD5 of the file bytes: finds byte-identical copies only.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, cast

import numpy as np
import numpy.typing as npt

from ..registry import Registry
from .decode import Conversion, DecodeLimits, VideoError, VideoInfo, decoder_provenance, frames, probe

__all__ = [
    "VideoHash",
    "VideoHasher",
    "FrameHasher",
    "hash_file",
    "VIDEO_HASHERS",
    "register",
    "get",
    "available",
    "VPDQHasher",
    "PDQKeyframeHasher",
    "VideoMD5Hasher",
]

#: vPDQ's reference skips frames smaller than this on either side (zero hash, quality 0).
MIN_HASHABLE_DIM = 5


@dataclass(frozen=True)
class VideoHash:
    """One video's hash: ``codes`` (n, nbytes) uint8, ``quality`` (n,) int16 (-1: none),
    ``frame`` (n,) 0-based frame numbers, ``timestamp`` (n,) seconds."""

    codes: npt.NDArray[np.uint8]
    quality: npt.NDArray[np.int16]
    frame: npt.NDArray[np.int64]
    timestamp: npt.NDArray[np.float64]
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    def lines(self) -> list[str]:
        """``frame,quality,hex,timestamp`` per frame: the format of Meta's committed sample hashes."""
        return [
            f"{int(f)},{int(q)},{c.tobytes().hex()},{t:.3f}"
            for f, q, c, t in zip(self.frame, self.quality, self.codes, self.timestamp)
        ]


class VideoHasher(ABC):
    """Base class of video hashers. A subclass sets the class attributes and ``hash_video``.

    ``rule`` names the video-level match rule (:mod:`hashbench.video.match`) this hasher's
    reference uses; a study may evaluate the others too.
    """

    name: ClassVar[str]
    nbits: ClassVar[int]
    exact: ClassVar[bool] = False
    has_quality: ClassVar[bool] = False
    library: ClassVar[str] = "hashbench"
    description: ClassVar[str] = ""
    rule: ClassVar[str] = "any-frame"

    def __init__(self, limits: DecodeLimits | None = None) -> None:
        self.limits = limits or DecodeLimits()

    @abstractmethod
    def hash_video(self, path: str | Path) -> VideoHash:
        """Hash one file; raise :class:`~hashbench.video.decode.VideoError` with the reason if it cannot."""

    def params(self) -> dict[str, Any]:
        """The settings that change this hasher's output, recorded in reports."""
        return {}

    def describe(self) -> dict[str, Any]:
        try:
            version = importlib.metadata.version(self.library)
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
        return {
            "name": self.name,
            "nbits": self.nbits,
            "exact": self.exact,
            "library": self.library,
            "version": version,
            "rule": self.rule,
            "params": self.params(),
            "description": self.description,
        }


#: Every video hasher by name (the one registry idiom; plugins: entry-point group below).
VIDEO_HASHERS: Registry[VideoHasher] = Registry(
    "video hasher", "hashbench.video_hashers", name_attr="name", base=VideoHasher
)
register = VIDEO_HASHERS.register


def get(name: str, **params: Any) -> VideoHasher:
    """Build the video hasher ``name`` (an unknown name is a one-line UsageError with suggestions)."""
    return VIDEO_HASHERS.get(name, **params)


def available() -> list[str]:
    return sorted(VIDEO_HASHERS.names())


class FrameHasher(VideoHasher):
    """A video hasher made of PDQ codes of sampled decoded frames (vpdq, pdq-keyframe).

    A subclass says which frames it keeps (:meth:`keep_every`) and how it times them
    (``float32_time``); decoding is :func:`hash_file`'s, so frame hashers of one file share a pass.
    """

    nbits = 256
    has_quality = True
    library = "pdqhash"
    #: The reference's timestamp, ``static_cast<float>(frame) / (float)fps``, else ``frame / fps``.
    float32_time: ClassVar[bool] = False
    conversion: Conversion = "auto"

    @abstractmethod
    def keep_every(self, fps: float) -> int:
        """Keep the frames whose 0-based index is a multiple of this, at frame rate ``fps``."""

    def hash_video(self, path: str | Path) -> VideoHash:
        (out,), _ = hash_file([self], path)
        if isinstance(out, VideoError):
            raise out
        return out


def hash_file(hashers: Sequence[VideoHasher], path: str | Path) -> tuple[list[VideoHash | VideoError], list[float]]:
    """Every hasher's hash of one file (or the :class:`VideoError` saying why not) and its seconds.

    The file is decoded once for all the frame hashers that share a colour conversion and limits
    (not once per hasher), and a frame several of them keep is hashed once. A frame hasher's
    seconds are the shared decode and conversion plus the hashing of its own frames; other hashers
    (``video-md5``, plugins) run their own ``hash_video``.
    """
    results: list[VideoHash | VideoError | None] = [None] * len(hashers)
    seconds = [0.0] * len(hashers)
    passes: dict[tuple[Conversion, DecodeLimits], list[int]] = {}
    for i, h in enumerate(hashers):
        if isinstance(h, FrameHasher):
            passes.setdefault((h.conversion, h.limits), []).append(i)
            continue
        t0 = time.perf_counter()
        try:
            results[i] = h.hash_video(path)
        except VideoError as exc:
            results[i] = exc
        seconds[i] = time.perf_counter() - t0
    for (conversion, limits), members in passes.items():
        group = [cast(FrameHasher, hashers[i]) for i in members]
        t0 = time.perf_counter()
        try:
            outs, hash_secs = _pdq_pass(group, path, limits, conversion)
        except VideoError as exc:
            outs, hash_secs = [exc] * len(group), [0.0] * (len(group) + 1)
        shared = time.perf_counter() - t0 - hash_secs[-1]
        for i, out, own in zip(members, outs, hash_secs):
            results[i], seconds[i] = out, shared + own
    return cast("list[VideoHash | VideoError]", results), seconds


def _pdq_pass(
    group: Sequence[FrameHasher], path: str | Path, limits: DecodeLimits, conversion: Conversion
) -> tuple[list[VideoHash | VideoError], list[float]]:
    """One decode of ``path`` feeding every hasher of ``group``: their hashes, the hashing seconds
    of each one's frames and (last) of all frames."""
    from ..hashers.pdq_fast import pdq_output

    fps = probe(path, limits).fps
    keeps = [h.keep_every(fps) for h in group]
    info: list[VideoInfo] = []
    kept: list[list[tuple[int, npt.NDArray[np.uint8], int]]] = [[] for _ in group]
    own = [0.0] * (len(group) + 1)
    for fr in frames(path, keep_every=tuple(sorted(set(keeps))), limits=limits, conversion=conversion, info=info):
        t0 = time.perf_counter()
        h, w = fr.rgb.shape[:2]
        if h < MIN_HASHABLE_DIM or w < MIN_HASHABLE_DIM:
            code, quality = np.zeros(32, dtype=np.uint8), 0
        else:
            out = pdq_output(fr.rgb)
            code, quality = out.code, int(out.quality or 0)
        dt = time.perf_counter() - t0
        own[-1] += dt
        for j, k in enumerate(keeps):
            if fr.index % k == 0:
                kept[j].append((fr.index, code, quality))
                own[j] += dt
    return [_video_hash(hasher, rows, info[0]) for hasher, rows in zip(group, kept)], own


def _video_hash(hasher: FrameHasher, rows: list[tuple[int, npt.NDArray[np.uint8], int]], info: VideoInfo) -> VideoHash:
    frame = np.asarray([r[0] for r in rows], dtype=np.int64)
    if hasher.float32_time:  # the reference divides in float: static_cast<float>(frame) / (float)fps
        ts = (frame.astype(np.float32) / np.float32(info.fps)).astype(np.float64)
    else:
        ts = frame / info.fps
    return VideoHash(
        codes=np.asarray([r[1] for r in rows], dtype=np.uint8).reshape(-1, 32),
        quality=np.asarray([r[2] for r in rows], dtype=np.int16),
        frame=frame,
        timestamp=ts,
        info=info.as_dict(),
    )


@register("vpdq")
class VPDQHasher(FrameHasher):
    """vPDQ (Meta): PDQ of every frame at a fixed interval, matched as a bag of frame hashes."""

    description = "vPDQ (Meta): PDQ per sampled frame, quality and time; the vpdq C++ reference's sampling"
    rule = "readme"
    float32_time = True

    def __init__(
        self, seconds_per_hash: float = 1.0, conversion: Conversion = "auto", limits: DecodeLimits | None = None
    ) -> None:
        super().__init__(limits)
        if seconds_per_hash < 0:
            raise ValueError("seconds_per_hash must be >= 0 (0: every frame)")
        if conversion not in ("auto", "c"):
            raise ValueError("conversion must be 'auto' (FFmpeg's choice, SIMD) or 'c' (plain C)")
        self.seconds_per_hash = float(seconds_per_hash)
        self.conversion = conversion

    def keep_every(self, fps: float) -> int:
        """vPDQ's frame interval: ``int(seconds_per_hash * fps)``, at least 1."""
        return max(1, int(self.seconds_per_hash * fps))

    def params(self) -> dict[str, Any]:
        return {"seconds_per_hash": self.seconds_per_hash, "conversion": self.conversion}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "decoder": decoder_provenance()}


@register("pdq-keyframe")
class PDQKeyframeHasher(FrameHasher):
    """Naive baseline: PDQ of frames at a fixed rate, one close frame pair is a match."""

    description = "PDQ of frames at a fixed rate (default 1 per second), matched if any frame pair is close"
    rule = "any-frame"

    def __init__(self, rate: float = 1.0, limits: DecodeLimits | None = None) -> None:
        super().__init__(limits)
        if not rate > 0:
            raise ValueError("rate must be positive (frames per second)")
        self.rate = float(rate)

    def keep_every(self, fps: float) -> int:
        return max(1, round(fps / self.rate))

    def params(self) -> dict[str, Any]:
        return {"rate": self.rate}


@register("video-md5")
class VideoMD5Hasher(VideoHasher):
    """MD5 of the file's bytes: one 128-bit code per video; only byte-identical files match."""

    nbits = 128
    exact = True
    library = "hashbench"
    description = "MD5 of the file bytes (exact baseline: byte-identical copies only)"
    rule = "exact"

    def hash_video(self, path: str | Path) -> VideoHash:
        p = Path(path)
        if not p.is_file():
            raise VideoError("no such file")
        digest = hashlib.md5()
        with p.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return VideoHash(
            codes=np.frombuffer(digest.digest(), dtype=np.uint8).reshape(1, 16).copy(),
            quality=np.full(1, -1, dtype=np.int16),
            frame=np.zeros(1, dtype=np.int64),
            timestamp=np.zeros(1, dtype=np.float64),
        )
