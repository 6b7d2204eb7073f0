"""Video edits: seeded, recorded changes a copy of a listed video goes through before it is uploaded.

An edit is a function ``(clip, rng, **params) -> clip`` on a :class:`Clip` (RGB frames and a frame
rate), registered by name in ``VIDEO_EDITS`` (the one registry idiom). :func:`apply_edit` decodes
a file, applies one edit and encodes the result (H.264, CRF 23 unless the edit is the re-encode
itself), and returns what was applied, random draws included, so the copy can be made again.
A suite is a named list of ``(edit, params)``: ``default`` (the 13 edits of the committed
video-default run), ``overlays`` (caption, logos, picture-in-picture) and ``full`` (both).

Frames are held in memory: edits are meant for the short clips of a benchmark (seconds, small
sizes). Decoding goes through :mod:`hashbench.video.decode` with its limits.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from ..errors import UsageError
from ..fonts import get_font
from ..registry import Registry
from .decode import DecodeLimits, VideoError, VideoInfo, frames, require_av
from .synthetic import VideoRecipe, encode, render

__all__ = ["Clip", "VIDEO_EDITS", "SUITES", "EditSpec", "suite", "apply_edit", "read_clip", "logo_mark"]

RGB = npt.NDArray[np.uint8]


@dataclass
class Clip:
    """Decoded frames (each (H, W, 3) uint8) and their frame rate; ``record`` collects applied values."""

    frames: list[RGB]
    fps: float
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> tuple[int, int]:
        h, w = self.frames[0].shape[:2]
        return w, h


#: Every video edit by name (entry-point group ``hashbench.video_edits`` for plugins).
VIDEO_EDITS: Registry[Clip] = Registry("video edit", "hashbench.video_edits")
register = VIDEO_EDITS.register


def _even(x: float) -> int:
    return max(16, int(round(x / 2)) * 2)


def _map(clip: Clip, fn: Callable[[RGB], RGB]) -> Clip:
    return Clip([fn(f) for f in clip.frames], clip.fps, clip.record)


def _resize(f: RGB, w: int, h: int) -> RGB:
    return np.asarray(Image.fromarray(f).resize((w, h), Image.Resampling.BILINEAR))


@register("reencode", description="re-encode with H.264 at a higher CRF (lossier)")
def reencode(clip: Clip, rng: np.random.Generator, crf: int = 35) -> Clip:
    clip.record["crf"] = int(crf)
    return clip


@register("resize", description="scale both sides by a factor (even sizes)")
def resize(clip: Clip, rng: np.random.Generator, scale: float = 0.5) -> Clip:
    w, h = clip.size
    nw, nh = _even(w * scale), _even(h * scale)
    clip.record.update(width=nw, height=nh)
    return _map(clip, lambda f: _resize(f, nw, nh))


@register("crop", description="keep a random window of a fraction of each side")
def crop(clip: Clip, rng: np.random.Generator, keep: float = 0.8) -> Clip:
    w, h = clip.size
    cw, ch = _even(w * keep), _even(h * keep)
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    clip.record.update(x=x, y=y, width=cw, height=ch)
    return _map(clip, lambda f: np.ascontiguousarray(f[y : y + ch, x : x + cw]))


@register("pad", description="letterbox/pillarbox to an aspect ratio with black bars")
def pad(clip: Clip, rng: np.random.Generator, aspect: float = 16 / 9) -> Clip:
    w, h = clip.size
    nw, nh = (_even(h * aspect), h) if w / h < aspect else (w, _even(w / aspect))
    nw, nh = max(nw, w + (w % 2)), max(nh, h + (h % 2))
    x, y = (nw - w) // 2, (nh - h) // 2
    clip.record.update(width=nw, height=nh)

    def one(f: RGB) -> RGB:
        out = np.zeros((nh, nw, 3), dtype=np.uint8)
        out[y : y + h, x : x + w] = f
        return out

    return _map(clip, one)


@register("trim", description="keep a random contiguous part of the video")
def trim(clip: Clip, rng: np.random.Generator, keep: float = 0.6) -> Clip:
    n = len(clip.frames)
    m = max(1, round(n * keep))
    start = int(rng.integers(0, n - m + 1))
    clip.record.update(start=start, frames=m)
    return Clip(clip.frames[start : start + m], clip.fps, clip.record)


@register("flip", description="mirror left-right")
def flip(clip: Clip, rng: np.random.Generator) -> Clip:
    return _map(clip, lambda f: np.ascontiguousarray(f[:, ::-1]))


@register("rotate90", description="rotate a quarter turn counter-clockwise")
def rotate90(clip: Clip, rng: np.random.Generator) -> Clip:
    return _map(clip, lambda f: np.ascontiguousarray(np.rot90(f)))


@register("grayscale", description="luma only (ITU-R 601 weights), as three equal channels")
def grayscale(clip: Clip, rng: np.random.Generator) -> Clip:
    def one(f: RGB) -> RGB:
        y = f.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return np.repeat(np.clip(y + 0.5, 0, 255).astype(np.uint8)[..., None], 3, axis=2)

    return _map(clip, one)


@register("brightness-contrast", description="scale contrast about mid-grey and add brightness")
def brightness_contrast(clip: Clip, rng: np.random.Generator, brightness: int = 20, contrast: float = 1.2) -> Clip:
    def one(f: RGB) -> RGB:
        return np.clip((f.astype(np.float32) - 128) * contrast + 128 + brightness + 0.5, 0, 255).astype(np.uint8)

    return _map(clip, one)


@register("speed", description="play faster (drop frames) or slower (repeat frames) at the same frame rate")
def speed(clip: Clip, rng: np.random.Generator, factor: float = 1.5) -> Clip:
    n = len(clip.frames)
    idx = np.floor(np.arange(0, n, factor)).astype(int)
    return Clip([clip.frames[i] for i in idx if i < n], clip.fps, clip.record)


@register("framerate", description="resample to another frame rate over the same duration")
def framerate(clip: Clip, rng: np.random.Generator, fps: float = 15.0) -> Clip:
    n = len(clip.frames)
    m = max(1, round(n * fps / clip.fps))
    idx = np.minimum(np.floor(np.arange(m) * clip.fps / fps + 1e-9).astype(int), n - 1)
    clip.record["frames"] = m
    return Clip([clip.frames[i] for i in idx], float(fps), clip.record)


@register("insert", description="the clip inside a longer unrelated video (host before and after)")
def insert(clip: Clip, rng: np.random.Generator, host_seconds: float = 6.0) -> Clip:
    w, h = clip.size
    # Hosts come from their own seed space, so a host never shares a still with a listed video.
    host, recipe = _host_frames(rng, host_seconds, clip.fps, w, h)
    at = int(rng.integers(0, len(host) + 1))
    clip.record.update(host=recipe, at=at, host_frames=len(host))
    return Clip(host[:at] + clip.frames + host[at:], clip.fps, clip.record)


@register("text", description="a caption line drawn over the lower part of every frame")
def text(clip: Clip, rng: np.random.Generator, height: float = 0.12) -> Clip:
    w, h = clip.size
    caption = f"#{int(rng.integers(0, 10**8)):08d} caption"
    font = get_font("sans", max(8, int(h * height)))
    clip.record["caption"] = caption

    def one(f: RGB) -> RGB:
        img = Image.fromarray(f)
        draw = ImageDraw.Draw(img)
        draw.rectangle((0, int(h * (1 - 1.6 * height)), w, h), fill=(0, 0, 0))
        draw.text((4, int(h * (1 - 1.4 * height))), caption, fill=(255, 255, 0), font=font)
        return np.asarray(img)

    return _map(clip, one)


CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")


def _corner(rng: np.random.Generator, corner: str) -> str:
    """The corner to use: ``corner`` itself, or one drawn from the four when it is ``"random"``."""
    if corner == "random":
        return CORNERS[int(rng.integers(0, len(CORNERS)))]
    if corner not in CORNERS:
        raise UsageError(f"unknown corner {corner!r}; corners: random, {', '.join(CORNERS)}")
    return corner


def _place(corner: str, w: int, h: int, bw: int, bh: int, margin: int) -> tuple[int, int]:
    """Top-left (x, y) of a ``bw`` x ``bh`` box ``margin`` pixels in from ``corner`` of a w x h frame."""
    x = margin if corner.endswith("left") else w - bw - margin
    y = margin if corner.startswith("top") else h - bh - margin
    return max(0, x), max(0, y)


def logo_mark(width: int, height: int, rng: np.random.Generator) -> tuple[RGB, dict[str, Any]]:
    """A seeded logo: a flat panel, a disc and a bar in three drawn colours (a broadcaster's bug)."""
    colours = [tuple(int(c) for c in rng.integers(0, 256, 3)) for _ in range(3)]
    img = Image.new("RGB", (width, height), colours[0])
    draw = ImageDraw.Draw(img)
    draw.ellipse((width * 0.1, height * 0.1, width * 0.6, height * 0.9), fill=colours[1])
    draw.rectangle((width * 0.55, height * 0.35, width * 0.95, height * 0.65), fill=colours[2])
    return np.asarray(img), {"colours": [list(c) for c in colours]}


@register("logo", description="a corner logo (opaque or semi-transparent), its width a share of the frame's")
def logo(
    clip: Clip, rng: np.random.Generator, share: float = 0.15, opacity: float = 1.0, corner: str = "random"
) -> Clip:
    """Blend a seeded logo of width ``share`` x frame width (height half that, at least 2 px) into a
    corner, ``opacity`` 1 for an opaque mark: ``out = floor(a * logo + (1 - a) * frame + 0.5)``."""
    if not (0 < share <= 1 and 0 < opacity <= 1):
        raise UsageError("logo: share and opacity must be in (0, 1]")
    w, h = clip.size
    lw, lh = max(2, round(w * share)), max(2, min(h, round(w * share / 2)))
    where = _corner(rng, corner)
    x, y = _place(where, w, h, lw, lh, margin=round(0.03 * min(w, h)))
    mark, drawn = logo_mark(lw, lh, rng)
    alpha = np.float32(opacity)
    top = alpha * mark.astype(np.float32)
    clip.record.update(corner=where, x=x, y=y, width=lw, height=lh, opacity=float(opacity), **drawn)

    def one(f: RGB) -> RGB:
        out = f.copy()
        region = out[y : y + lh, x : x + lw].astype(np.float32)
        out[y : y + lh, x : x + lw] = np.floor(top + (1 - alpha) * region + 0.5).astype(np.uint8)
        return out

    return _map(clip, one)


def _host_frames(
    rng: np.random.Generator, seconds: float, fps: float, w: int, h: int, n: int | None = None
) -> tuple[list[RGB], dict[str, Any]]:
    """An unrelated benign video of ``seconds`` (``n`` frames when given) at the clip's size and
    rate, and its recipe. Hosts come from their own seed space (seed 1,000,003), so a host never
    shares a still with a listed video; a clip of odd size gets a host made one pixel larger and
    resized to it (a recipe's sides are even)."""
    rate = min(120, max(1, round(fps)))
    recipe = VideoRecipe(
        kind="mixed",
        index=int(rng.integers(0, 2**31)) % 100_000,
        seed=1_000_003,
        width=min(4096, max(16, w + w % 2)),
        height=min(4096, max(16, h + h % 2)),
        fps=rate,
        seconds=seconds if n is None else n / rate,
    )
    host = list(render(recipe))[:n]
    if (recipe.width, recipe.height) != (w, h):
        host = [_resize(f, w, h) for f in host]
    return host, recipe.as_dict()


@register("pip", description="picture-in-picture: the clip shrunk into a corner of an unrelated video, or the reverse")
def pip(clip: Clip, rng: np.random.Generator, mode: str = "inset", scale: float = 0.5, corner: str = "random") -> Clip:
    """``mode="inset"``: the clip, scaled by ``scale``, in a corner of an unrelated host video of the
    clip's size and length (the upload is the host: most of each frame is foreign).
    ``mode="host"``: an unrelated video, scaled by ``scale``, inset into a corner of the clip."""
    if mode not in ("inset", "host"):
        raise UsageError(f"pip: mode must be 'inset' (the clip in a host) or 'host' (a video in it), not {mode!r}")
    if not 0 < scale < 1:
        raise UsageError("pip: scale must be in (0, 1)")
    w, h = clip.size
    n = len(clip.frames)
    other, recipe = _host_frames(rng, 0.0, clip.fps, w, h, n=n)
    iw, ih = max(2, round(w * scale)), max(2, round(h * scale))
    where = _corner(rng, corner)
    x, y = _place(where, w, h, iw, ih, margin=round(0.03 * min(w, h)))
    clip.record.update(mode=mode, corner=where, x=x, y=y, width=iw, height=ih, other=recipe)
    backs, smalls = (other, clip.frames) if mode == "inset" else (clip.frames, other)
    out = []
    for back, small in zip(backs, smalls):
        f = back.copy()
        f[y : y + ih, x : x + iw] = _resize(small, iw, ih)
        out.append(f)
    return Clip(out, clip.fps, clip.record)


@dataclass(frozen=True)
class EditSpec:
    """One edit of a suite: a label for reports, the registered edit and its parameters."""

    label: str
    edit: str
    params: dict[str, Any] = field(default_factory=dict)


SUITES: dict[str, tuple[EditSpec, ...]] = {
    "default": (
        EditSpec("reencode-crf35", "reencode", {"crf": 35}),
        EditSpec("resize-0.5", "resize", {"scale": 0.5}),
        EditSpec("crop-0.8", "crop", {"keep": 0.8}),
        EditSpec("pad-16:9", "pad", {"aspect": 16 / 9}),
        EditSpec("trim-0.6", "trim", {"keep": 0.6}),
        EditSpec("flip", "flip"),
        EditSpec("rotate90", "rotate90"),
        EditSpec("grayscale", "grayscale"),
        EditSpec("brightness-contrast", "brightness-contrast", {"brightness": 20, "contrast": 1.2}),
        EditSpec("speed-1.5x", "speed", {"factor": 1.5}),
        EditSpec("framerate-15", "framerate", {"fps": 15.0}),
        EditSpec("insert-in-longer", "insert", {"host_seconds": 6.0}),
        EditSpec("text-overlay", "text"),
    ),
    "none": (),
}
#: Overlays a platform sees on re-uploads: caption, corner logos, picture-in-picture both ways.
SUITES["overlays"] = (
    SUITES["default"][-1],  # text-overlay
    EditSpec("logo-0.15", "logo", {"share": 0.15, "opacity": 1.0}),
    EditSpec("logo-0.3-alpha0.5", "logo", {"share": 0.3, "opacity": 0.5}),
    EditSpec("pip-inset-0.5", "pip", {"mode": "inset", "scale": 0.5}),
    EditSpec("pip-host-0.3", "pip", {"mode": "host", "scale": 0.3}),
)
#: Every edit: the default suite (unchanged, so its committed results stay valid) and the new overlays.
SUITES["full"] = SUITES["default"] + SUITES["overlays"][1:]


def suite(name: str) -> tuple[EditSpec, ...]:
    if name not in SUITES:
        raise UsageError(f"unknown video suite {name!r}; suites: {', '.join(SUITES)}")
    return SUITES[name]


def read_clip(path: str | Path, limits: DecodeLimits | None = None) -> Clip:
    """Every frame of a video as RGB, with its frame rate (one open of the file: ``frames`` says the rate)."""
    info: list[VideoInfo] = []
    rgb = [f.rgb for f in frames(path, limits=limits, info=info)]
    return Clip(rgb, info[0].fps)


def edit_rng(seed: int, video_id: str, label: str) -> np.random.Generator:
    """The random stream of one (video, edit): independent of order and of the other edits."""
    key = [seed, zlib.crc32(video_id.encode()), zlib.crc32(label.encode())]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(key)))


def apply_edit(
    src: str | Path,
    dst: str | Path,
    spec: EditSpec,
    *,
    seed: int,
    video_id: str,
    limits: DecodeLimits | None = None,
    clip: Clip | None = None,
) -> dict[str, Any]:
    """Make the edited copy ``dst`` of ``src``; returns the record (edit, params and drawn values).

    ``clip``, when given, is the decoded ``src`` (a study decodes each video once for all edits).
    """
    fn = VIDEO_EDITS.entry(spec.edit).factory
    base = clip if clip is not None else read_clip(src, limits)
    work = Clip(list(base.frames), base.fps, {})
    out = fn(work, edit_rng(seed, video_id, spec.label), **spec.params)
    if not out.frames:
        raise UsageError(f"edit {spec.label} left no frame")
    crf = int(out.record.get("crf", 23))
    h, w = out.frames[0].shape[:2]
    if w % 2 or h % 2:  # H.264 in 4:2:0 needs even sides: repeat the last column or row (a user's odd-sized video)
        out.record["padded_to_even"] = True
        out.frames = [np.pad(f, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge") for f in out.frames]
    av = require_av()
    try:
        encode(out.frames, dst, fps=out.fps, codec="libx264", quality=crf)
    except av.FFmpegError as exc:
        raise VideoError(f"cannot encode the edited copy ({' '.join(str(exc).split())[:160]})") from None
    return {"label": spec.label, "edit": spec.edit, "params": dict(spec.params), "applied": out.record}
