"""Geometric edits: scaling, cropping, padding, rotations, flips, perspective and shear.

The dihedral edits (rotate90/180/270, hflip, vflip, transpose, transverse) are exact array
operations, defined to equal numpy's ``rot90``/``fliplr``/``flipud``/``transpose``; rotations
by 90 degrees turn counter-clockwise, as ``np.rot90`` and Pillow do. Resampling edits use
Pillow. Sizes are rounded to whole pixels and never drop below one pixel.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from ..errors import UsageError
from .base import RGBArray, Transform, register, resolve_colour

__all__ = [
    "RESAMPLING",
    "Resize",
    "DownscaleUpscale",
    "Crop",
    "Pad",
    "Stretch",
    "Rotate",
    "Rotate90",
    "Rotate180",
    "Rotate270",
    "HFlip",
    "VFlip",
    "Transpose",
    "Transverse",
    "Perspective",
    "Shear",
    "crop_box",
    "largest_rotated_rect",
]

RESAMPLING = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
}

POSITIONS = ("center", "random", "top-left", "top-right", "bottom-left", "bottom-right")


def _resample(name: str) -> Image.Resampling:
    try:
        return RESAMPLING[name]
    except KeyError:
        raise UsageError(f"unknown resampling {name!r}; use one of {', '.join(RESAMPLING)}") from None


def _scaled(n: int, scale: float) -> int:
    return max(1, int(round(n * scale)))


@register
class Resize(Transform):
    kind = "resize"
    description = "scale both sides by `scale` (the output has a different size)"
    defaults = {"scale": 0.5, "resample": "bicubic"}
    param_help = {"scale": "factor for width and height (0.5 halves them)", "resample": ", ".join(RESAMPLING)}
    ranged = frozenset({"scale"})

    def validate(self, params: Mapping[str, Any]) -> None:
        _resample(params["resample"])

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        h, w = image.shape[:2]
        size = (_scaled(w, params["scale"]), _scaled(h, params["scale"]))
        params["size"] = list(size)
        return np.asarray(Image.fromarray(image).resize(size, _resample(params["resample"])))


@register
class DownscaleUpscale(Transform):
    kind = "downscale_upscale"
    description = "shrink by `scale`, then enlarge back to the original size (detail is lost)"
    defaults = {"scale": 0.25, "resample": "bilinear"}
    param_help = {"scale": "intermediate size as a fraction of the original", "resample": ", ".join(RESAMPLING)}
    ranged = frozenset({"scale"})

    def validate(self, params: Mapping[str, Any]) -> None:
        _resample(params["resample"])

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        h, w = image.shape[:2]
        method = _resample(params["resample"])
        small = Image.fromarray(image).resize((_scaled(w, params["scale"]), _scaled(h, params["scale"])), method)
        return np.asarray(small.resize((w, h), method))


def crop_box(w: int, h: int, fraction: float, position: str, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """``(x0, y0, cw, ch)`` of a crop keeping ``fraction`` of each side at ``position``."""
    cw, ch = _scaled(w, fraction), _scaled(h, fraction)
    cw, ch = min(cw, w), min(ch, h)
    if position == "center":
        x0, y0 = (w - cw) // 2, (h - ch) // 2
    elif position == "random":
        x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    elif position == "top-left":
        x0, y0 = 0, 0
    elif position == "top-right":
        x0, y0 = w - cw, 0
    elif position == "bottom-left":
        x0, y0 = 0, h - ch
    elif position == "bottom-right":
        x0, y0 = w - cw, h - ch
    else:
        raise UsageError(f"unknown position {position!r}; use one of {', '.join(POSITIONS)}")
    return x0, y0, cw, ch


@register
class Crop(Transform):
    kind = "crop"
    description = "keep `fraction` of each side (fraction 0.8 keeps 64% of the area) at `position`"
    defaults = {"fraction": 0.8, "position": "center"}
    param_help = {"fraction": "share of width and of height kept, in (0, 1]", "position": ", ".join(POSITIONS)}
    ranged = frozenset({"fraction"})

    def validate(self, params: Mapping[str, Any]) -> None:
        if params["position"] not in POSITIONS:
            raise UsageError(f"crop: unknown position {params['position']!r}; use one of {', '.join(POSITIONS)}")
        f = params["fraction"]
        for v in f if isinstance(f, tuple) else (f,):
            if not 0 < float(v) <= 1:
                raise UsageError(f"crop: fraction must be in (0, 1], got {v}")

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        h, w = image.shape[:2]
        x0, y0, cw, ch = crop_box(w, h, params["fraction"], params["position"], rng)
        params["box"] = [x0, y0, cw, ch]
        return image[y0 : y0 + ch, x0 : x0 + cw]


@register
class Pad(Transform):
    kind = "pad"
    description = "add a border of `fraction` x side on `sides`, in `colour`"
    defaults = {"fraction": 0.1, "colour": "black", "sides": "all"}
    param_help = {
        "fraction": "border width as a share of the width (left/right) or height (top/bottom)",
        "colour": "black, white, grey, #rrggbb, [r, g, b] or random",
        "sides": "all, left-right (pillarbox) or top-bottom (letterbox)",
    }
    ranged = frozenset({"fraction"})

    def validate(self, params: Mapping[str, Any]) -> None:
        if params["sides"] not in ("all", "left-right", "top-bottom"):
            raise UsageError(f"pad: sides must be all, left-right or top-bottom, got {params['sides']!r}")

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        h, w = image.shape[:2]
        colour = resolve_colour(params["colour"], rng)
        px = int(round(w * params["fraction"])) if params["sides"] in ("all", "left-right") else 0
        py = int(round(h * params["fraction"])) if params["sides"] in ("all", "top-bottom") else 0
        params.update(colour=list(colour), border=[px, py])
        out = np.empty((h + 2 * py, w + 2 * px, 3), dtype=np.uint8)
        out[...] = colour
        out[py : py + h, px : px + w] = image
        return out


@register
class Stretch(Transform):
    kind = "stretch"
    description = "change the aspect ratio: multiply the width (axis x) or height (axis y) by `factor`"
    defaults = {"factor": 1.2, "axis": "x", "resample": "bicubic"}
    param_help = {"factor": "scale of one side", "axis": "x or y", "resample": ", ".join(RESAMPLING)}
    ranged = frozenset({"factor"})

    def validate(self, params: Mapping[str, Any]) -> None:
        if params["axis"] not in ("x", "y"):
            raise UsageError(f"stretch: axis must be x or y, got {params['axis']!r}")
        _resample(params["resample"])

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        h, w = image.shape[:2]
        size = (_scaled(w, params["factor"]), h) if params["axis"] == "x" else (w, _scaled(h, params["factor"]))
        return np.asarray(Image.fromarray(image).resize(size, _resample(params["resample"])))


def largest_rotated_rect(w: int, h: int, angle_rad: float) -> tuple[float, float]:
    """Width and height of the largest axis-aligned rectangle inside a ``w`` x ``h`` rectangle rotated by the angle."""
    if w <= 0 or h <= 0:
        return 0.0, 0.0
    width_is_longer = w >= h
    side_long, side_short = (w, h) if width_is_longer else (h, w)
    sin_a, cos_a = abs(math.sin(angle_rad)), abs(math.cos(angle_rad))
    if side_short <= 2.0 * sin_a * cos_a * side_long or abs(sin_a - cos_a) < 1e-10:
        x = 0.5 * side_short
        wr, hr = (x / sin_a, x / cos_a) if width_is_longer else (x / cos_a, x / sin_a)
    else:
        cos_2a = cos_a * cos_a - sin_a * sin_a
        wr, hr = (w * cos_a - h * sin_a) / cos_2a, (h * cos_a - w * sin_a) / cos_2a
    return wr, hr


@register
class Rotate(Transform):
    kind = "rotate"
    description = "rotate by `degrees` (counter-clockwise); `mode` crop, expand or same"
    defaults = {"degrees": 5.0, "mode": "crop", "fill": "black"}
    param_help = {
        "degrees": "angle, counter-clockwise; a (lo, hi) range is drawn per image",
        "mode": "crop (largest upright rectangle, no border), expand (whole image, filled corners), "
        "same (original size, corners filled)",
        "fill": "corner colour for expand and same",
    }
    ranged = frozenset({"degrees"})

    def validate(self, params: Mapping[str, Any]) -> None:
        if params["mode"] not in ("crop", "expand", "same"):
            raise UsageError(f"rotate: mode must be crop, expand or same, got {params['mode']!r}")

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        h, w = image.shape[:2]
        fill = resolve_colour(params["fill"], rng)
        deg = float(params["degrees"])
        rotated = Image.fromarray(image).rotate(
            deg, resample=Image.Resampling.BICUBIC, expand=params["mode"] != "same", fillcolor=fill
        )
        if params["mode"] != "crop":
            return np.asarray(rotated)
        wr, hr = largest_rotated_rect(w, h, math.radians(deg))
        cw, ch = max(1, int(math.floor(wr))), max(1, int(math.floor(hr)))
        x0, y0 = (rotated.width - cw) // 2, (rotated.height - ch) // 2
        params["box"] = [x0, y0, cw, ch]
        return np.asarray(rotated)[y0 : y0 + ch, x0 : x0 + cw]


class _Exact(Transform):
    """An exact pixel rearrangement with no parameters."""

    defaults: ClassVar[dict[str, Any]] = {}

    def default_name(self, given: Any) -> str:
        return self.kind


@register
class Rotate90(_Exact):
    kind = "rotate90"
    description = "rotate 90 degrees counter-clockwise (np.rot90(image, 1))"

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        return np.rot90(image, 1)


@register
class Rotate180(_Exact):
    kind = "rotate180"
    description = "rotate 180 degrees (np.rot90(image, 2))"

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        return np.rot90(image, 2)


@register
class Rotate270(_Exact):
    kind = "rotate270"
    description = "rotate 270 degrees counter-clockwise = 90 clockwise (np.rot90(image, 3))"

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        return np.rot90(image, 3)


@register
class HFlip(_Exact):
    kind = "hflip"
    description = "mirror left-right (np.fliplr)"

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        return np.fliplr(image)


@register
class VFlip(_Exact):
    kind = "vflip"
    description = "mirror top-bottom (np.flipud)"

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        return np.flipud(image)


@register
class Transpose(_Exact):
    kind = "transpose"
    description = "mirror across the main diagonal (rows become columns)"

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        return image.transpose(1, 0, 2)


@register
class Transverse(_Exact):
    kind = "transverse"
    description = "mirror across the anti-diagonal (transpose of the 180-degree rotation)"

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        return np.rot90(image, 2).transpose(1, 0, 2)


def _perspective_coeffs(dst: np.ndarray, src: np.ndarray) -> list[float]:
    """Coefficients Pillow needs to map output points ``dst`` to input points ``src`` (4 each)."""
    a = np.zeros((8, 8))
    b = np.zeros(8)
    for k, ((x, y), (u, v)) in enumerate(zip(dst, src)):
        a[2 * k] = [x, y, 1, 0, 0, 0, -u * x, -u * y]
        a[2 * k + 1] = [0, 0, 0, x, y, 1, -v * x, -v * y]
        b[2 * k], b[2 * k + 1] = u, v
    return np.linalg.solve(a, b).tolist()


@register
class Perspective(Transform):
    kind = "perspective"
    description = "keystone: move each corner by up to `strength` x side, resample to the same size"
    defaults = {"strength": 0.1, "fill": "black"}
    param_help = {"strength": "largest corner move as a share of the side", "fill": "colour of uncovered areas"}
    ranged = frozenset({"strength"})

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        h, w = image.shape[:2]
        corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
        inward = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], dtype=np.float64)
        move = rng.uniform(-0.3, 1.0, (4, 2)) * params["strength"] * np.array([w, h])
        src = corners + inward * move
        params["corners"] = np.round(src, 2).tolist()
        coeffs = _perspective_coeffs(corners, src)
        out = Image.fromarray(image).transform(
            (w, h),
            Image.Transform.PERSPECTIVE,
            coeffs,
            Image.Resampling.BICUBIC,
            fillcolor=resolve_colour(params["fill"], rng),
        )
        return np.asarray(out)


@register
class Shear(Transform):
    kind = "shear"
    description = "slant by `factor` along `axis` (x: rows shift sideways), same size"
    defaults = {"factor": 0.2, "axis": "x", "fill": "black"}
    param_help = {
        "factor": "shift per pixel of the other axis (0.2 = 11.3 degrees)",
        "axis": "x or y",
        "fill": "colour of uncovered areas",
    }
    ranged = frozenset({"factor"})

    def validate(self, params: Mapping[str, Any]) -> None:
        if params["axis"] not in ("x", "y"):
            raise UsageError(f"shear: axis must be x or y, got {params['axis']!r}")

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        h, w = image.shape[:2]
        f = float(params["factor"])
        if params["axis"] == "x":
            data = (1.0, f, -f * h / 2.0, 0.0, 1.0, 0.0)
        else:
            data = (1.0, 0.0, 0.0, f, 1.0, -f * w / 2.0)
        out = Image.fromarray(image).transform(
            (w, h),
            Image.Transform.AFFINE,
            data,
            Image.Resampling.BICUBIC,
            fillcolor=resolve_colour(params["fill"], rng),
        )
        return np.asarray(out)
