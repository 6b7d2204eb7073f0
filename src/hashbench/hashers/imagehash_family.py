"""The ``imagehash`` family: pHash, dHash, aHash, wHash and colour hash.

Each hasher calls the imagehash function on ``PIL.Image.fromarray(pixels)`` of the shared decoded
array, so its hex form is exactly ``str(imagehash.<function>(image))`` and users can compare
hashbench's output with hashes they already have. Codes are the flattened hash bits, most
significant first (imagehash's own bit order).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import imagehash
import numpy as np
from PIL import Image

from ..bits import pack_bits
from ..errors import HasherError
from .base import Hasher, HashOutput, ImageItem, register
from .haar import whash_bits

__all__ = [
    "ImageHashHasher",
    "PHash",
    "PHash16",
    "DHash",
    "AHash",
    "WHash",
    "ColorHash",
]


class ImageHashHasher(Hasher):
    """Base for hashers backed by one imagehash function with fixed keyword arguments."""

    kind = "perceptual"
    library = "ImageHash"
    function: ClassVar[Callable[..., imagehash.ImageHash]]
    kwargs: ClassVar[dict[str, object]] = {}

    def hash_one(self, item: ImageItem) -> HashOutput:
        if item.pixels is None:
            raise HasherError(f"{self.name} needs decoded pixels")
        h = type(self).function(Image.fromarray(item.pixels), **self.kwargs)
        return HashOutput(code=pack_bits(h.hash.reshape(-1), self.nbits))


@register("phash")
class PHash(ImageHashHasher):
    name = "phash"
    nbits = 64
    default_threshold = 10  # a common imagehash pHash cut-off
    function = staticmethod(imagehash.phash)
    description = "perceptual hash: DCT of a 32x32 greyscale image, 8x8 low frequencies"


@register("phash16")
class PHash16(ImageHashHasher):
    name = "phash16"
    nbits = 256
    default_threshold = 40
    function = staticmethod(imagehash.phash)
    kwargs = {"hash_size": 16}
    description = "pHash with hash_size=16 (256 bits), the size Thorn's Safer matches with"


@register("dhash")
class DHash(ImageHashHasher):
    name = "dhash"
    nbits = 64
    default_threshold = 10
    function = staticmethod(imagehash.dhash)
    description = "difference hash: signs of horizontal gradients on a 9x8 greyscale image"


@register("ahash")
class AHash(ImageHashHasher):
    name = "ahash"
    nbits = 64
    default_threshold = 10
    function = staticmethod(imagehash.average_hash)
    description = "average hash: 8x8 greyscale pixels above their mean"


@register("whash")
class WHash(ImageHashHasher):
    """imagehash's ``whash``, computed by :mod:`hashbench.hashers.haar`: the same bits, about
    2.5x faster (PyWavelets' per-call overhead dominated the default run's hashing time)."""

    name = "whash"
    nbits = 64
    default_threshold = 10
    function = staticmethod(imagehash.whash)
    description = "wavelet hash: Haar wavelet low frequencies, 8x8"

    def hash_one(self, item: ImageItem) -> HashOutput:
        if item.pixels is None:
            raise HasherError(f"{self.name} needs decoded pixels")
        return HashOutput(code=pack_bits(whash_bits(Image.fromarray(item.pixels)).reshape(-1), self.nbits))


@register("colorhash")
class ColorHash(ImageHashHasher):
    name = "colorhash"
    nbits = 42
    default_threshold = 4
    function = staticmethod(imagehash.colorhash)
    description = "colour hash: HSV colour-fraction histogram, 14 bins x 3 bits (binbits=3)"


def _check_sizes() -> None:  # pragma: no cover - guards against an imagehash change
    probe = Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8))
    # Typed as the base so each function is read as the declared Callable[..., ImageHash].
    classes: tuple[type[ImageHashHasher], ...] = (PHash, PHash16, DHash, AHash, WHash, ColorHash)
    for cls in classes:
        assert cls.function(probe, **cls.kwargs).hash.size == cls.nbits, cls.name
