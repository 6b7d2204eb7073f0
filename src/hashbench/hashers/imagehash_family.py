"""The ``imagehash`` family: pHash, dHash, aHash, wHash and colour hash.

Each hasher calls the imagehash function on ``PIL.Image.fromarray(pixels)`` of the shared decoded
array, so its hex form is exactly ``str(imagehash.<function>(image))`` and users can compare
hashbench's output with hashes they already have. Codes are the flattened hash bits, most
significant first (imagehash's own bit order).

The grey-level hashers (all but colorhash) start with ``image.convert("L")``; they are handed
that grey image (:func:`grey_image`), computed from the shared array by an integer kernel that
gives Pillow's pixels exactly, instead of a full RGB copy: the same bits, and 2 bytes a pixel of
working memory instead of 5 (issue 18: bounded memory per image). pHash, dHash and aHash then
resize with LANCZOS to a few dozen pixels a side; they are handed that small image, computed by
kernels that reproduce Pillow's resampling integer for integer (:mod:`._grey_kernels`), when
those kernels give the installed Pillow's pixels on probe images (:func:`_kernel_order`), and
imagehash's own resize of an image already at its size is a copy. On a 1024x768 photo the grey
image and the resize took 6 ms of Pillow calls; the kernels take about 1.2 ms (issue 18:
``hashbench hash`` at 3x). Every hash is still computed by the imagehash function.
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
    #: The grey image (1 byte a pixel) and imagehash's own convert("L") copy of it (1 more), or,
    #: for the resizing hashers, the grey image and its transpose (:mod:`._grey_kernels`).
    bytes_per_pixel = 2.0
    #: True for hashers that start with convert("L"): they get the grey image.
    grey: ClassVar[bool] = True
    #: The (width, height) the imagehash function resizes its grey image to with LANCZOS, first
    #: thing (None: it reads the whole grey image); such hashers get the resized image.
    resize_to: ClassVar[tuple[int, int] | None] = None

    def image(self, item: ImageItem) -> Image.Image:
        """What the imagehash function is called on: the grey image, already resized when the
        function's first step is a LANCZOS resize (same pixels), or RGB for colour hashers."""
        if item.pixels is None:
            raise HasherError(f"{self.name} needs decoded pixels")
        if not self.grey:
            return Image.fromarray(item.pixels)
        order = _kernel_order() if self.resize_to is not None and _is_rgb(item.pixels) else None
        if order is None or self.resize_to is None:
            return grey_image(item.pixels)
        from ._grey_kernels import grey_resize

        return Image.fromarray(grey_resize(item.pixels, self.resize_to, order))

    def hash_one(self, item: ImageItem) -> HashOutput:
        h = type(self).function(self.image(item), **self.kwargs)
        return HashOutput(code=pack_bits(h.hash.reshape(-1), self.nbits))


#: Rows converted to grey at a time by Pillow (about 4 MB of RGB per band).
_BAND_BYTES = 4 << 20


def _is_rgb(pixels: np.ndarray) -> bool:
    return pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3


def _kernel_order() -> str | None:
    """The resampling pass order of the installed Pillow when the kernels reproduce it, else None
    (then Pillow itself resizes: :func:`._grey_kernels.pillow_order`, probed once per process)."""
    from ._grey_kernels import pillow_order

    return pillow_order()


def grey_image(pixels: np.ndarray) -> Image.Image:
    """``Image.fromarray(pixels).convert("L")``, without Pillow's 4-byte-a-pixel RGB copy.

    An (H, W, 3) uint8 array goes through :func:`._grey_kernels.grey` (Pillow's integer formula,
    checked on every colour by the tests); anything else through Pillow band by band of rows
    (its conversion is per pixel, so the bands give exactly its pixels).
    """
    if _is_rgb(pixels):
        from ._grey_kernels import grey

        return Image.fromarray(grey(pixels))
    h, w = pixels.shape[:2]
    out = np.empty((h, w), dtype=np.uint8)
    rows = max(1, _BAND_BYTES // (3 * max(1, w)))
    for y in range(0, h, rows):
        out[y : y + rows] = np.asarray(Image.fromarray(pixels[y : y + rows]).convert("L"))
    return Image.fromarray(out)


@register("phash")
class PHash(ImageHashHasher):
    name = "phash"
    nbits = 64
    default_threshold = 10  # a common imagehash pHash cut-off
    decode_size = 32  # resized to 32x32 before its DCT
    resize_to = (32, 32)
    function = staticmethod(imagehash.phash)
    description = "perceptual hash: DCT of a 32x32 greyscale image, 8x8 low frequencies"


@register("phash16")
class PHash16(ImageHashHasher):
    name = "phash16"
    nbits = 256
    default_threshold = 40
    decode_size = 64
    resize_to = (64, 64)
    function = staticmethod(imagehash.phash)
    kwargs = {"hash_size": 16}
    description = "pHash with hash_size=16 (256 bits), the size Thorn's Safer matches with"


@register("dhash")
class DHash(ImageHashHasher):
    name = "dhash"
    nbits = 64
    default_threshold = 10
    decode_size = 9  # 9x8
    resize_to = (9, 8)
    function = staticmethod(imagehash.dhash)
    description = "difference hash: signs of horizontal gradients on a 9x8 greyscale image"


@register("ahash")
class AHash(ImageHashHasher):
    name = "ahash"
    nbits = 64
    default_threshold = 10
    decode_size = 8
    resize_to = (8, 8)
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

    #: Resized to the largest power of 2 within its shorter side (so it reads every pixel: no
    #: decode_size), as float64 (8 bytes a pixel) through a full Haar decomposition.
    bytes_per_pixel = 40.0

    def hash_one(self, item: ImageItem) -> HashOutput:
        return HashOutput(code=pack_bits(whash_bits(self.image(item)).reshape(-1), self.nbits))


@register("colorhash")
class ColorHash(ImageHashHasher):
    name = "colorhash"
    nbits = 42
    default_threshold = 4
    grey = False
    bytes_per_pixel = 24.0  # an RGB copy, its grey and HSV images, and float arrays of them
    function = staticmethod(imagehash.colorhash)
    description = "colour hash: HSV colour-fraction histogram, 14 bins x 3 bits (binbits=3)"


def _check_sizes() -> None:  # pragma: no cover - guards against an imagehash change
    probe = Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8))
    # Typed as the base so each function is read as the declared Callable[..., ImageHash].
    classes: tuple[type[ImageHashHasher], ...] = (PHash, PHash16, DHash, AHash, WHash, ColorHash)
    for cls in classes:
        assert cls.function(probe, **cls.kwargs).hash.size == cls.nbits, cls.name
