"""The one place videos are decoded: PyAV (FFmpeg), bounded, with failures as one-line reasons.

A video file is untrusted input. Decoding is bounded four ways (:class:`DecodeLimits`): frames,
pixels per frame, duration and wall-clock time, so a 10,000-frame file of tiny frames, a stream
that claims 100,000 x 100,000 pixels, or a file that makes the demuxer spin is stopped and
reported (:class:`VideoError`, whose message says why) instead of filling memory or hanging.

Frames come out in decoder output order with their 0-based index, which is what vPDQ counts
(``AVCodecContext.frame_num - 1`` in the C++ reference), and with the frame rate vPDQ uses:
the stream's ``avg_frame_rate``, else ``r_frame_rate``.

Colour conversion to RGB24 is FFmpeg's swscale, as in the reference. FFmpeg picks x86 SIMD
routines for it when the CPU has them, and they round differently from its plain-C routines (a
few frames differ by 1-2 PDQ bits). ``conversion="c"`` forces the plain-C path for the whole
process while frames are converted (``av_force_cpu_flags(0)`` in the libavutil PyAV ships),
because Meta's committed sample hashes were made that way; :func:`decoder_provenance` records
the libraries and the CPU flags in use.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..errors import HashbenchError, UsageError

__all__ = [
    "Conversion",
    "DecodeLimits",
    "Frame",
    "VideoError",
    "VideoInfo",
    "decoder_provenance",
    "frames",
    "probe",
    "require_av",
]

Conversion = Literal["auto", "c"]

INSTALL_HINT = "video needs PyAV: install extra video (pip install 'hashbench[video]')"


class VideoError(HashbenchError):
    """A video that cannot be decoded within the limits; the message is the reason, one line."""


def require_av() -> Any:
    """Import PyAV, or a one-line :class:`UsageError` saying which extra to install."""
    try:
        import av
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    return av


@dataclass(frozen=True)
class DecodeLimits:
    """Bounds on what one video may cost. The defaults admit any ordinary clip up to an hour.

    ``max_frames``: decoded frames (every frame is decoded, sampled or not); ``max_pixels``: width
    x height of the stream (checked before the first frame is decoded); ``max_seconds``: the
    stream's declared duration; ``timeout``: wall-clock seconds for the whole decode, also passed
    to the demuxer so a read that waits forever gives up.
    """

    max_frames: int = 200_000
    max_pixels: int = 8192 * 8192
    max_seconds: float = 4 * 3600.0
    timeout: float = 600.0

    def __post_init__(self) -> None:
        for name in ("max_frames", "max_pixels", "max_seconds", "timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"DecodeLimits.{name} must be positive")


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about its first video stream."""

    width: int
    height: int
    fps: float  # avg_frame_rate, else r_frame_rate (vPDQ's choice)
    duration: float | None  # seconds, when the container declares it
    codec: str
    declared_frames: int  # 0 when unknown

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Frame:
    """One decoded frame: 0-based index in output order, time = index / fps, RGB24 pixels; ``pts``
    and ``duration``: the frame's own presentation time (from the stream start) and duration in
    seconds, when the stream gives them (TMK's 15 fps resampling follows them, as FFmpeg does)."""

    index: int
    timestamp: float
    rgb: npt.NDArray[np.uint8] = field(repr=False)
    pts: float | None = None
    duration: float | None = None


def _open(av: Any, path: str | Path, limits: DecodeLimits) -> Any:
    p = Path(path)
    if not p.is_file():
        raise VideoError("no such file" if not p.exists() else "not a regular file")
    if p.stat().st_size == 0:
        raise VideoError("empty file (0 bytes)")
    try:
        return av.open(str(p), mode="r", timeout=(limits.timeout, limits.timeout))
    except av.FFmpegError as exc:
        raise VideoError(f"not a readable video container ({_short(exc)})") from None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:160] if text else type(exc).__name__


def _video_stream(container: Any) -> Any:
    streams = list(container.streams.video)
    if not streams:
        raise VideoError("no video stream (audio-only or data file)")
    return streams[0]


def _fps(stream: Any) -> float:
    rate = stream.average_rate or stream.base_rate or stream.guessed_rate
    if not rate or Fraction(rate) <= 0:
        raise VideoError("the stream declares no frame rate")
    return float(Fraction(rate))


def _info(stream: Any, container: Any, limits: DecodeLimits) -> VideoInfo:
    ctx = stream.codec_context
    width, height = int(ctx.width or 0), int(ctx.height or 0)
    if width <= 0 or height <= 0:
        raise VideoError(f"the stream declares no frame size ({width}x{height})")
    if width * height > limits.max_pixels:
        raise VideoError(f"frames of {width}x{height} exceed the limit of {limits.max_pixels} pixels")
    duration = None
    if stream.duration is not None and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    elif container.duration:
        duration = container.duration / 1_000_000
    if duration is not None and duration > limits.max_seconds:
        raise VideoError(f"declared duration {duration:.0f} s exceeds the limit of {limits.max_seconds:.0f} s")
    return VideoInfo(width, height, _fps(stream), duration, str(ctx.name), int(stream.frames or 0))


def probe(path: str | Path, limits: DecodeLimits | None = None) -> VideoInfo:
    """The first video stream's size, frame rate and duration, without decoding frames."""
    av = require_av()
    limits = limits or DecodeLimits()
    container = _open(av, path, limits)
    try:
        return _info(_video_stream(container), container, limits)
    finally:
        container.close()


def frames(
    path: str | Path,
    *,
    keep_every: int | tuple[int, ...] = 1,
    limits: DecodeLimits | None = None,
    conversion: Conversion = "auto",
    info: list[VideoInfo] | None = None,
    size: tuple[int, int] | None = None,
    interpolation: str = "AREA",
) -> Iterator[Frame]:
    """Decode every frame of the first video stream; yield those with ``index % keep_every == 0``
    (with a tuple, those whose index is a multiple of any of them: one pass for several samplings).

    Every frame is decoded (inter-coded frames need their predecessors) but only kept ones are
    converted to RGB24 at full size with swscale's area filter, as vPDQ does. ``info``, when given,
    receives the :class:`VideoInfo` before the first frame. Raises :class:`VideoError` with the
    reason when the file is not a video, is corrupt mid-stream, or breaks a limit. ``size``
    (width, height) and ``interpolation`` (a swscale filter name) scale in the same conversion, as
    the ``ffmpeg`` program's ``-s`` does (TMK: 64x64, bicubic).
    """
    av = require_av()
    limits = limits or DecodeLimits()
    keeps = keep_every if isinstance(keep_every, tuple) else (keep_every,)
    if not keeps or min(keeps) < 1:
        raise ValueError("keep_every must be at least 1")
    container = _open(av, path, limits)
    try:
        stream = _video_stream(container)
        vi = _info(stream, container, limits)
        if info is not None:
            info.append(vi)
        stream.thread_type = "AUTO"
        yield from _decode(av, container, stream, vi, keeps, limits, conversion, size, interpolation)
    finally:
        container.close()


def _decode(
    av: Any,
    container: Any,
    stream: Any,
    vi: VideoInfo,
    keeps: tuple[int, ...],
    limits: DecodeLimits,
    conversion: Conversion,
    size: tuple[int, int] | None = None,
    interpolation: str = "AREA",
) -> Iterator[Frame]:
    start = time.monotonic()
    index = -1
    interp = getattr(av.video.reformatter.Interpolation, interpolation)
    width, height = size or (None, None)
    origin = (container.start_time or 0) / 1_000_000  # the ffmpeg program shifts timestamps to start at 0
    try:
        for frame in container.decode(stream):
            index += 1
            if index >= limits.max_frames:
                raise VideoError(f"more than {limits.max_frames} frames (the limit)")
            if time.monotonic() - start > limits.timeout:
                raise VideoError(f"decoding took longer than {limits.timeout:.0f} s (the limit)")
            if all(index % k for k in keeps):
                continue
            if frame.width * frame.height > limits.max_pixels:
                raise VideoError(f"frame {index} of {frame.width}x{frame.height} exceeds the pixel limit")
            with plain_c_conversion(conversion == "c"):
                rgb = frame.to_ndarray(format="rgb24", width=width, height=height, interpolation=interp)
            pts = None if frame.pts is None else float(frame.pts * frame.time_base) - origin
            dur = float(frame.duration * frame.time_base) if frame.duration else None
            yield Frame(index, index / vi.fps, np.ascontiguousarray(rgb), pts, dur)
    except av.FFmpegError as exc:
        raise VideoError(f"corrupt stream after {index + 1} frames ({_short(exc)})") from None
    if index < 0:
        raise VideoError("the video stream holds no decodable frame")


# ---------------------------------------------------------------------------------------------
# FFmpeg's CPU flags (SIMD or plain C colour conversion) and provenance

_cpu_lock = threading.Lock()


@functools.cache
def _libavutil() -> ctypes.CDLL | None:
    """The libavutil PyAV loaded (its wheel bundles one under ``av.libs``), or None if not found."""
    av = require_av()
    root = Path(av.__file__).resolve().parent.parent
    for pattern in ("av.libs/libavutil*.so*", "av/.dylibs/libavutil*.dylib", "av.libs/avutil*.dll"):
        found = sorted(glob.glob(str(root / pattern)))
        if found:
            return ctypes.CDLL(found[0])
    with contextlib.suppress(OSError):
        return ctypes.CDLL("libavutil.so")
    return None


@contextlib.contextmanager
def plain_c_conversion(enabled: bool) -> Iterator[None]:
    """Force FFmpeg's plain-C code paths (no SIMD) while the block runs, when ``enabled``.

    ``av_force_cpu_flags`` is process-wide, hence the lock; -1 restores detection afterwards.
    """
    if not enabled:
        yield
        return
    lib = _libavutil()
    if lib is None:
        raise UsageError("conversion='c' needs the libavutil that PyAV uses, and it was not found")
    with _cpu_lock:
        lib.av_force_cpu_flags(ctypes.c_int(0))
        try:
            yield
        finally:
            lib.av_force_cpu_flags(ctypes.c_int(-1))


def decoder_provenance() -> dict[str, Any]:
    """PyAV and FFmpeg library versions and FFmpeg's detected CPU flags, for reports."""
    av = require_av()
    out: dict[str, Any] = {
        "pyav": av.__version__,
        "ffmpeg": {k: ".".join(map(str, v)) for k, v in av.library_versions.items()},
        "cpu_flags": None,
    }
    lib = _libavutil()
    if lib is not None:
        lib.av_get_cpu_flags.restype = ctypes.c_int
        out["cpu_flags"] = int(lib.av_get_cpu_flags())
    out["machine"] = os.uname().machine if hasattr(os, "uname") else ""
    return out
