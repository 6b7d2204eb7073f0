"""Photometric edits: tone, colour, blur, sharpening, noise and quantisation.

Each keeps the image size and is defined by a short formula (in its ``description``) so a test
can check it against a numpy reference. Colour blends follow Pillow's ``ImageEnhance``:
contrast pulls towards the mean grey level, saturation towards the pixel's own grey (ITU-R 601
luma), and brightness towards black.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from ..errors import UsageError
from .base import RGBArray, Transform, register

__all__ = [
    "Brightness",
    "Contrast",
    "Saturation",
    "Hue",
    "Gamma",
    "Grayscale",
    "Invert",
    "Blur",
    "Sharpen",
    "GaussianNoise",
    "SaltPepper",
    "Posterize",
    "luma",
]

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def luma(image: RGBArray) -> np.ndarray:
    """ITU-R 601 grey level as float32 (H, W, 1), the weights Pillow's ``convert("L")`` uses."""
    return (image.astype(np.float32) @ _LUMA)[..., None]


def _clip_u8(x: np.ndarray) -> RGBArray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


@register
class Brightness(Transform):
    kind = "brightness"
    description = "out = image x factor (factor > 1 brighter, < 1 darker), clipped"
    defaults = {"factor": 1.3}
    param_help = {"factor": "multiplier of every channel"}
    ranged = frozenset({"factor"})

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        return _clip_u8(image.astype(np.float32) * np.float32(params["factor"]))


@register
class Contrast(Transform):
    kind = "contrast"
    description = "out = mean + factor x (image - mean), mean = the image's average grey level"
    defaults = {"factor": 1.4}
    param_help = {"factor": "> 1 more contrast, < 1 less, 0 flat grey"}
    ranged = frozenset({"factor"})

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        mean = np.float32(luma(image).mean())
        return _clip_u8(mean + np.float32(params["factor"]) * (image.astype(np.float32) - mean))


@register
class Saturation(Transform):
    kind = "saturation"
    description = "out = grey + factor x (image - grey), grey = each pixel's luma"
    defaults = {"factor": 1.5}
    param_help = {"factor": "> 1 more colourful, < 1 washed out, 0 greyscale"}
    ranged = frozenset({"factor"})

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        grey = luma(image)
        return _clip_u8(grey + np.float32(params["factor"]) * (image.astype(np.float32) - grey))


@register
class Hue(Transform):
    kind = "hue"
    description = "rotate the hue by `shift` turns (0.5 = complementary colours), via Pillow's HSV"
    defaults = {"shift": 0.1}
    param_help = {"shift": "fraction of the colour wheel, -0.5 .. 0.5"}
    ranged = frozenset({"shift"})

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        hsv = np.array(Image.fromarray(image).convert("HSV"))
        step = int(round(float(params["shift"]) * 256)) % 256
        hsv[..., 0] = (hsv[..., 0].astype(np.int16) + step) % 256
        return np.asarray(Image.fromarray(hsv, "HSV").convert("RGB"))


@register
class Gamma(Transform):
    kind = "gamma"
    description = "out = 255 x (image / 255) ** gamma (gamma < 1 lifts shadows)"
    defaults = {"gamma": 0.7}
    param_help = {"gamma": "exponent > 0"}
    ranged = frozenset({"gamma"})

    def validate(self, params: Mapping[str, Any]) -> None:
        g = params["gamma"]
        if any(float(v) <= 0 for v in (g if isinstance(g, tuple) else (g,))):
            raise UsageError(f"gamma must be > 0, got {g}")

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        lut = _clip_u8(255.0 * (np.arange(256) / 255.0) ** float(params["gamma"]))
        return lut[image]


@register
class Grayscale(Transform):
    kind = "grayscale"
    description = "replace colour by Pillow's luma (L mode), kept as 3 equal channels"
    defaults = {}

    def default_name(self, given: Any) -> str:
        return self.kind

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        grey = np.asarray(Image.fromarray(image).convert("L"))
        return np.repeat(grey[..., None], 3, axis=2)


@register
class Invert(Transform):
    kind = "invert"
    description = "out = 255 - image (photographic negative)"
    defaults = {}

    def default_name(self, given: Any) -> str:
        return self.kind

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        return 255 - image


@register
class Blur(Transform):
    kind = "blur"
    description = "Gaussian blur with standard deviation `sigma` pixels (Pillow GaussianBlur)"
    defaults = {"sigma": 1.5}
    param_help = {"sigma": "standard deviation in pixels"}
    ranged = frozenset({"sigma"})

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(radius=float(params["sigma"]))))


@register
class Sharpen(Transform):
    kind = "sharpen"
    description = "unsharp mask: image + amount x (image - blur(image, radius))"
    defaults = {"amount": 1.0, "radius": 2.0}
    param_help = {"amount": "strength (1.0 = Pillow percent 100)", "radius": "blur radius of the mask"}
    ranged = frozenset({"amount", "radius"})

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        flt = ImageFilter.UnsharpMask(
            radius=float(params["radius"]), percent=int(round(100 * float(params["amount"]))), threshold=0
        )
        return np.asarray(Image.fromarray(image).filter(flt))


@register
class GaussianNoise(Transform):
    kind = "noise"
    description = "add independent Gaussian noise of standard deviation `sigma` grey levels per channel"
    defaults = {"sigma": 8.0}
    param_help = {"sigma": "standard deviation in grey levels (0..255 scale)"}
    ranged = frozenset({"sigma"})

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        noise = rng.standard_normal(image.shape, dtype=np.float32) * np.float32(params["sigma"])
        return _clip_u8(image.astype(np.float32) + noise)


@register
class SaltPepper(Transform):
    kind = "salt_pepper"
    description = "set a share `amount` of pixels to black or white (half each)"
    defaults = {"amount": 0.02}
    param_help = {"amount": "share of pixels replaced, 0..1"}
    ranged = frozenset({"amount"})

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        h, w = image.shape[:2]
        u = rng.random((h, w), dtype=np.float32)
        amount = np.float32(params["amount"])
        out = image.copy()
        out[u < amount / 2] = 0
        out[(u >= amount / 2) & (u < amount)] = 255
        return out


@register
class Posterize(Transform):
    kind = "posterize"
    description = "keep the top `bits` bits of each channel (2 ** bits levels)"
    defaults = {"bits": 3}
    param_help = {"bits": "1..8"}
    ranged = frozenset({"bits"})
    integer = frozenset({"bits"})

    def validate(self, params: Mapping[str, Any]) -> None:
        b = params["bits"]
        if any(not 1 <= int(v) <= 8 for v in (b if isinstance(b, tuple) else (b,))):
            raise UsageError(f"posterize: bits must be 1..8, got {b}")

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        mask = np.uint8((0xFF << (8 - int(params["bits"]))) & 0xFF)
        return image & mask
