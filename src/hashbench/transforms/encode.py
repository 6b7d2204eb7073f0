"""Re-encoding edits: JPEG, WebP and lossless PNG, returning the file bytes and the decoded pixels.

Re-encoding is the most common thing that happens to a shared image. The output carries the
encoded bytes (``TransformOutput.data``) so exact hashers (MD5, SHA-256) hash a real file, and the
pixels decoded from those bytes by :func:`hashbench.imageio.decode_bytes`, the same decoder every
hasher uses. ``png`` changes the file but not one pixel: it separates file hashes from
perceptual ones.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np
from PIL import Image, features

from ..errors import UsageError
from ..imageio import decode_bytes
from .base import RGBArray, Transform, TransformOutput, register

__all__ = ["Jpeg", "Webp", "Png", "encode"]

_SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}


def encode(image: RGBArray, fmt: str, **options: Any) -> bytes:
    """Encode (H, W, 3) uint8 pixels with Pillow; ``fmt`` is a Pillow format name."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format=fmt, **options)
    return buf.getvalue()


@register
class Jpeg(Transform):
    kind = "jpeg"
    description = "save as JPEG at `quality` and decode again (returns the file bytes too)"
    defaults = {"quality": 75, "subsampling": "4:2:0"}
    param_help = {"quality": "1..95 (Pillow's scale)", "subsampling": "4:4:4, 4:2:2 or 4:2:0"}
    ranged = frozenset({"quality"})
    integer = frozenset({"quality"})

    def validate(self, params: Mapping[str, Any]) -> None:
        if params["subsampling"] not in _SUBSAMPLING:
            raise UsageError(f"jpeg: subsampling must be one of {', '.join(_SUBSAMPLING)}")
        q = params["quality"]
        if any(not 1 <= int(v) <= 100 for v in (q if isinstance(q, tuple) else (q,))):
            raise UsageError(f"jpeg: quality must be 1..100, got {q}")

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> TransformOutput:
        data = encode(image, "JPEG", quality=int(params["quality"]), subsampling=_SUBSAMPLING[params["subsampling"]])
        params["bytes"] = len(data)
        return TransformOutput(decode_bytes(data, item_id="jpeg"), params, data, "jpeg")


@register
class Webp(Transform):
    kind = "webp"
    description = "save as lossy WebP at `quality` and decode again (returns the file bytes too)"
    defaults = {"quality": 75}
    param_help = {"quality": "0..100"}
    ranged = frozenset({"quality"})
    integer = frozenset({"quality"})

    def validate(self, params: Mapping[str, Any]) -> None:
        if not features.check("webp"):  # pragma: no cover - Pillow wheels include libwebp
            raise UsageError("this Pillow build has no WebP support")

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> TransformOutput:
        data = encode(image, "WEBP", quality=int(params["quality"]), method=4)
        params["bytes"] = len(data)
        return TransformOutput(decode_bytes(data, item_id="webp"), params, data, "webp")


@register
class Png(Transform):
    kind = "png"
    description = "save as PNG (lossless): same pixels, different file bytes"
    # level 1: the bytes differ from the source file all the same, and it is ~4x faster than
    # Pillow's default 6 on photos (a 1024x768 photo: ~60 ms instead of ~250 ms here)
    defaults = {"compress_level": 1}
    param_help = {"compress_level": "zlib level 0..9 (changes the bytes, never the pixels)"}

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> TransformOutput:
        data = encode(image, "PNG", compress_level=int(params["compress_level"]))
        params["bytes"] = len(data)
        return TransformOutput(decode_bytes(data, item_id="png"), params, data, "png")
