"""Seeded synthetic videos built on the image families and the bundled sample photos.

A video is a pure function of its :class:`VideoRecipe` (kind, index, seed, size, frame rate,
length, codec, quality), so a recipe recorded in a report lets any worker make the same file
again (same platform and PyAV/FFmpeg build: the encoder is part of the recipe). Kinds:

``pan``     a window gliding across a still twice the frame size (camera pan);
``zoom``    a window shrinking (or growing) over a still, scaled to the frame (camera zoom);
``shapes``  flat shapes and a line of text moving over a still background (graphics, captions);
``cuts``    2-4 scenes, each a slow pan over a different still, joined by hard cuts;
``fade``    a fade in from black, a cross-fade between two stills, a fade out.
``mixed``   index ``i`` uses ``KINDS[i % 5]``.

Stills come from :func:`hashbench.datasets.synthetic.generate` (family ``mixed``: each still
index is drawn from the five families in turn) or, with ``stills="sample"``, from the bundled
photographs. Every still index of a video is derived from (seed, kind, index), so two videos of
one recipe set never share a still: they are distinct by construction, scene by scene.
"""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from ..datasets.synthetic import FAMILIES, generate
from ..errors import UsageError
from ..fonts import get_font
from ..registry import Registry
from .decode import require_av

__all__ = [
    "GENERATOR_VERSION",
    "KINDS",
    "CODECS",
    "VideoRecipe",
    "render",
    "encode",
    "make_video",
    "recipes",
    "still_family",
    "VideoSource",
    "VIDEO_DATASETS",
    "SyntheticVideos",
]

KINDS: tuple[str, ...] = ("pan", "zoom", "shapes", "cuts", "fade")
#: Bumped whenever a recipe would render other frames; part of every recipe record, so a run
#: folder made by an older generator is never reused for a newer one.
GENERATOR_VERSION = 2
#: Encoders used here, all present in PyAV's wheels: name -> (pixel format, quality option).
CODECS: dict[str, tuple[str, str]] = {
    "libx264": ("yuv420p", "crf"),
    "mpeg4": ("yuv420p", "qscale"),
    "libvpx-vp9": ("yuv420p", "crf"),
}
RGB = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class VideoRecipe:
    """Everything that determines one synthetic video (recorded in reports; ``make_video`` remakes it)."""

    kind: str = "mixed"
    index: int = 0
    seed: int = 0
    width: int = 160
    height: int = 120
    fps: int = 10
    seconds: float = 4.0
    codec: str = "libx264"
    quality: int = 23  # CRF for x264/vp9, qscale for mpeg4
    stills: str = "synthetic"  # or "sample"

    def __post_init__(self) -> None:
        if self.kind not in (*KINDS, "mixed"):
            raise UsageError(f"unknown video kind {self.kind!r}; kinds: {', '.join((*KINDS, 'mixed'))}")
        if self.codec not in CODECS:
            raise UsageError(f"unknown codec {self.codec!r}; codecs: {', '.join(CODECS)}")
        if self.width % 2 or self.height % 2 or not (16 <= self.width <= 4096 and 16 <= self.height <= 4096):
            raise UsageError(f"video size {self.width}x{self.height} must be even, 16..4096 per side")
        if not (1 <= self.fps <= 120) or not (0 < self.seconds <= 600):
            raise UsageError("fps must be 1..120 and seconds in (0, 600]")
        if self.stills not in ("synthetic", "sample"):
            raise UsageError("stills must be 'synthetic' or 'sample'")

    @property
    def resolved_kind(self) -> str:
        return KINDS[self.index % len(KINDS)] if self.kind == "mixed" else self.kind

    @property
    def frames(self) -> int:
        return max(1, round(self.fps * self.seconds))

    @property
    def id(self) -> str:
        return f"video-{self.resolved_kind}-{self.seed}-{self.index:06d}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "generator_version": GENERATOR_VERSION}


def _rng(r: VideoRecipe) -> np.random.Generator:
    key = zlib.crc32(r.resolved_kind.encode())
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([r.seed, key, r.index, 7])))


def still_family(r: VideoRecipe, slot: int) -> str:
    """The image family of still ``slot`` of video ``r`` (see :func:`_still`)."""
    return FAMILIES[(r.index + r.index // len(KINDS) + slot) % len(FAMILIES)]


def _still(r: VideoRecipe, slot: int, w: int, h: int) -> RGB:
    """Still ``slot`` of video ``r``: unique to (seed, kind, index, slot), so no two videos share one.

    The image family turns with the index *and* the slot, independently of the kind: with
    ``kind = "mixed"`` video ``5a + k`` (kind ``k``) takes family ``(a + k + slot) % 5``, so every
    kind meets every family (a family tied to a kind would confound the two in every figure).
    """
    unique = (r.index * 8 + slot) * len(KINDS) + KINDS.index(r.resolved_kind)
    family = still_family(r, slot)
    if r.stills == "sample":
        from ..datasets.sample import SampleDataset

        photos = SampleDataset("photo")
        img = Image.fromarray(photos.item(unique % len(photos)).pixels)
        return np.asarray(img.convert("RGB").resize((w, h), Image.Resampling.LANCZOS))
    return generate(family, unique, seed=r.seed, size=(w, h))


def _crop_resize(img: RGB, x: float, y: float, cw: float, ch: float, w: int, h: int) -> RGB:
    box = (x, y, x + cw, y + ch)
    out = Image.fromarray(img).resize((w, h), Image.Resampling.BILINEAR, box=box)
    return np.asarray(out)


def _pan(r: VideoRecipe, rng: np.random.Generator, n: int, slot: int = 0) -> Iterator[RGB]:
    w, h = r.width, r.height
    big = _still(r, slot, 2 * w, 2 * h)
    x0, x1 = rng.uniform(0, w, 2)
    y0, y1 = rng.uniform(0, h, 2)
    for i in range(n):
        t = i / max(1, n - 1)
        yield _crop_resize(big, x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, w, h, w, h)


def _zoom(r: VideoRecipe, rng: np.random.Generator, n: int) -> Iterator[RGB]:
    w, h = r.width, r.height
    big = _still(r, 0, 2 * w, 2 * h)
    s0, s1 = (2.0, rng.uniform(0.8, 1.2)) if rng.random() < 0.5 else (rng.uniform(0.8, 1.2), 2.0)
    cx, cy = rng.uniform(0.8 * w, 1.2 * w), rng.uniform(0.8 * h, 1.2 * h)
    for i in range(n):
        s = s0 + (s1 - s0) * i / max(1, n - 1)
        cw, ch = w * s, h * s
        x, y = min(max(cx - cw / 2, 0), 2 * w - cw), min(max(cy - ch / 2, 0), 2 * h - ch)
        yield _crop_resize(big, x, y, cw, ch, w, h)


def _shapes(r: VideoRecipe, rng: np.random.Generator, n: int) -> Iterator[RGB]:
    w, h = r.width, r.height
    back = Image.fromarray(_still(r, 0, w, h))
    k = int(rng.integers(2, 6))
    pos = rng.uniform(0, 1, (k, 2)) * (w, h)
    vel = rng.uniform(-0.6, 0.6, (k, 2)) * (w, h) / max(1, n)
    size = rng.uniform(0.1, 0.3, k) * min(w, h)
    colours = [tuple(int(c) for c in rng.integers(0, 256, 3)) for _ in range(k)]
    font = get_font("sans", max(8, h // 10))
    text = f"{int(rng.integers(0, 10**6)):06d} {r.id}"
    for i in range(n):
        img = back.copy()
        draw = ImageDraw.Draw(img)
        for j in range(k):
            x, y = pos[j] + vel[j] * i
            s = size[j]
            (draw.ellipse if j % 2 else draw.rectangle)((x - s, y - s, x + s, y + s), fill=colours[j])
        draw.text((w * (1 - i / max(1, n)) - w / 2, h * 0.8), text, fill=(255, 255, 255), font=font)
        yield np.asarray(img)


def _cuts(r: VideoRecipe, rng: np.random.Generator, n: int) -> Iterator[RGB]:
    scenes = int(rng.integers(2, 5))
    bounds = np.linspace(0, n, scenes + 1).round().astype(int)
    for s in range(scenes):
        yield from _pan(r, rng, int(bounds[s + 1] - bounds[s]), slot=s)


def _fade(r: VideoRecipe, rng: np.random.Generator, n: int) -> Iterator[RGB]:
    a = _still(r, 0, r.width, r.height).astype(np.float32)
    b = _still(r, 1, r.width, r.height).astype(np.float32)
    for i in range(n):
        t = i / max(1, n - 1)
        mix = a * (1 - min(1.0, max(0.0, (t - 0.35) / 0.3))) + b * min(1.0, max(0.0, (t - 0.35) / 0.3))
        gain = min(1.0, t / 0.15, (1 - t) / 0.15 if t > 0.85 else 1.0)
        yield np.clip(mix * gain + 0.5, 0, 255).astype(np.uint8)


_RENDER = {"pan": _pan, "zoom": _zoom, "shapes": _shapes, "cuts": _cuts, "fade": _fade}


def render(r: VideoRecipe) -> Iterator[RGB]:
    """The recipe's frames as (height, width, 3) uint8 arrays, in order."""
    yield from _RENDER[r.resolved_kind](r, _rng(r), r.frames)


def encode(
    frames: Iterator[RGB] | list[RGB],
    path: str | Path,
    *,
    fps: float | Fraction,
    codec: str = "libx264",
    quality: int = 23,
    options: dict[str, str] | None = None,
) -> Path:
    """Encode RGB frames into ``path`` (container from the suffix) with PyAV, single-threaded so
    the bytes depend on nothing but the frames and the settings."""
    av = require_av()
    pix_fmt, qopt = CODECS.get(codec, ("yuv420p", ""))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(out), mode="w") as container:
        stream = None
        for frame in frames:
            if stream is None:
                stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
                stream.height, stream.width = frame.shape[:2]
                stream.pix_fmt = pix_fmt
                opts = {"threads": "1"}
                if codec == "libx264":
                    opts.update({"preset": "veryfast", "crf": str(quality)})
                elif codec == "libvpx-vp9":
                    opts.update({"crf": str(quality), "b": "0", "deadline": "realtime", "cpu-used": "8"})
                elif qopt == "qscale":  # ffmpeg's -q:v N: fixed quantiser, lambda = N * FF_QP2LAMBDA
                    opts.update({"flags": "+qscale", "global_quality": str(int(quality) * 118)})
                opts.update(options or {})
                stream.codec_context.options = opts
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            for packet in stream.encode(vf):
                container.mux(packet)
        if stream is None:
            raise ValueError("no frames to encode")
        for packet in stream.encode():
            container.mux(packet)
    return out


def make_video(r: VideoRecipe, path: str | Path) -> Path:
    """Render and encode recipe ``r`` into ``path`` (suffix .mp4 or .mkv/.webm for vp9)."""
    return encode(render(r), path, fps=r.fps, codec=r.codec, quality=r.quality)


def recipes(count: int, **common: Any) -> list[VideoRecipe]:
    """``count`` recipes with indices 0..count-1 and the given common settings (kind defaults to mixed)."""
    base = VideoRecipe(**common)
    return [replace(base, index=i) for i in range(count)]


# ---------------------------------------------------------------------------------------------
# video datasets: where a study's reference videos come from


class VideoSource(ABC):
    """The reference videos of a study, by index: ``synthetic`` (made from recipes) or ``folder``
    (the user's own files, :mod:`hashbench.video.folder`). Picklable: workers receive it."""

    name: ClassVar[str]

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def id(self, i: int) -> str:
        """The id reports use for video ``i`` (stable across machines)."""

    @abstractmethod
    def reference(self, i: int, media: Path) -> tuple[Path, str, dict[str, Any]]:
        """Video ``i``'s file (made under ``media`` if needed), a file stem for its edited copies
        (unique, safe in a file name) and its record for the report."""


#: Video datasets by name (the one registry idiom; plugins: entry-point group ``hashbench.video_datasets``).
VIDEO_DATASETS: Registry[VideoSource] = Registry("video dataset", "hashbench.video_datasets", name_attr="name")


@VIDEO_DATASETS.register("synthetic")
class SyntheticVideos(VideoSource):
    """``count`` seeded videos: ``recipe`` with indices 0..count-1 and the study's seed."""

    def __init__(self, recipe: VideoRecipe, count: int, seed: int) -> None:
        self.recipes = [replace(recipe, index=i, seed=seed) for i in range(count)]

    def __len__(self) -> int:
        return len(self.recipes)

    def id(self, i: int) -> str:
        return self.recipes[i].id

    def reference(self, i: int, media: Path) -> tuple[Path, str, dict[str, Any]]:
        r = self.recipes[i]
        ref = media / "references" / f"{r.id}.mp4"
        if not ref.exists():
            make_video(r, ref.with_suffix(".part.mp4")).rename(ref)
        return ref, r.id, r.as_dict()
