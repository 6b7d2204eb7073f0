"""PDQ (Meta's perceptual hash, 256 bits), exactly as the ``pdqhash`` bindings compute it.

The code is the 256 bits exactly as ``pdqhash.compute`` returns them, most significant first, so
its hex form is the 64-character lowercase string python-threatexchange writes. PDQ also reports a
quality from 0 to 100; ThreatExchange advises not matching hashes below 50, and the evaluator's
quality gate uses this value.

Two backends give the same bits and quality: hashbench's numba kernels (:mod:`.pdq_fast`, the
default, linear in pixels) and ``pdqhash`` itself, the reference the tests compare against.
``HASHBENCH_PDQ_BACKEND=pdqhash`` (read when a hasher is built) switches back to it; the backend
in use is the ``backend`` field of :meth:`~hashbench.hashers.base.Hasher.describe`. ``library``
and its version stay ``pdqhash``'s: that is the output reproduced, bit for bit.
"""

from __future__ import annotations

import os
from types import ModuleType

import numpy as np
import pdqhash

from ..errors import HasherError, UsageError
from .base import Hasher, HashOutput, ImageItem, register

__all__ = ["PDQHasher", "PDQDihedralHasher", "BACKEND_ENV", "BACKENDS", "pdq_backend"]

#: Environment variable naming the PDQ backend; read when a PDQ hasher is built.
BACKEND_ENV = "HASHBENCH_PDQ_BACKEND"
#: The backends, default first: hashbench's numba kernels, then the pdqhash bindings.
BACKENDS = ("numba", "pdqhash")
#: Working memory per pixel on top of the decoded array, by backend (benchmarks/peak_rss.py).
NUMBA_BYTES_PER_PIXEL = 1.0
PDQHASH_BYTES_PER_PIXEL = 40.0


def pdq_backend() -> str:
    """The backend a PDQ hasher built now uses: ``$HASHBENCH_PDQ_BACKEND``, else ``numba``.

    Both give identical bits and quality; the switch exists so pdqhash stays one variable away as
    the reference (and as the fallback should the kernels ever disagree on some input)."""
    value = os.environ.get(BACKEND_ENV, "").strip().lower() or BACKENDS[0]
    if value not in BACKENDS:
        raise UsageError(f"{BACKEND_ENV}={value!r} is not a PDQ backend; backends: {', '.join(BACKENDS)}")
    return value


def _kernels() -> ModuleType:
    """The numba backend, imported on first use so that importing the hashers stays light."""
    from . import pdq_fast

    return pdq_fast


def _pixels(item: ImageItem) -> np.ndarray:
    if item.pixels is None:
        raise HasherError("PDQ needs decoded pixels")
    px = item.pixels
    if px.dtype != np.uint8 or px.ndim != 3 or px.shape[2] != 3:
        raise HasherError(f"PDQ needs (H, W, 3) uint8 pixels, got {px.shape} {px.dtype}")
    return px if px.flags.c_contiguous else np.ascontiguousarray(px)


class _PDQBackend(Hasher):
    """What both PDQ hashers share: the backend chosen at construction, shown in ``describe()``."""

    #: PDQ filters the image down to a 64x64 buffer, but with a tent window of 1/128 of each side:
    #: the result depends on the resolution it starts from. Meta's own tools (the PHP, Python and
    #: Rust ports) downsample to 512 first; measured on the sample photos, a draft at 128 (2 x 64)
    #: moved PDQ by a median 14 bits, 32 at the 90th percentile (docs/decode.md).
    decode_size = 512

    def __init__(self) -> None:
        self.backend = pdq_backend()  # a plain string: the hasher pickles to workers with it
        # Measured (benchmarks/peak_rss.py): the kernels keep a ring of rows and a 64-column strip;
        # pdqhash makes float64 luma temporaries and two full-size float32 buffers.
        self.bytes_per_pixel = NUMBA_BYTES_PER_PIXEL if self.backend == "numba" else PDQHASH_BYTES_PER_PIXEL

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "backend": self.backend}


@register("pdq")
class PDQHasher(_PDQBackend):
    name = "pdq"
    nbits = 256
    default_threshold = 31  # ThreatExchange's recommended PDQ match distance
    kind = "perceptual"
    has_quality = True
    library = "pdqhash"
    description = "PDQ, 256-bit DCT hash by Meta (ThreatExchange); quality 0-100"
    same_as_variant0_of = "pdq8"

    def hash_one(self, item: ImageItem) -> HashOutput:
        if self.backend == "numba":
            return _kernels().pdq_output(_pixels(item))
        bits, quality = pdqhash.compute(_pixels(item))
        return HashOutput(code=np.packbits(bits.astype(np.uint8)), quality=int(quality))


@register("pdq8")
class PDQDihedralHasher(_PDQBackend):
    """PDQ of the image and its 7 rotations/flips, computed in one pass (by either backend).

    Variant 0 is the plain PDQ hash (identical to ``pdq``); a query that takes the minimum
    distance over all 8 variants matches rotated and flipped copies of a listed image. Variant
    order is pdqhash's: original, rot90, rot180, rot270, flip vertical, flip horizontal,
    rot90+flip vertical, rot90+flip horizontal.
    """

    name = "pdq8"
    nbits = 256
    default_threshold = 31
    kind = "perceptual"
    variants = 8
    has_quality = True
    library = "pdqhash"
    description = "PDQ with its 8 dihedral variants (rotations and flips) for dihedral matching"

    def hash_one(self, item: ImageItem) -> HashOutput:
        if self.backend == "numba":
            return _kernels().pdq8_output(_pixels(item))
        vectors, quality = pdqhash.compute_dihedral(_pixels(item))
        variants = np.packbits(np.asarray(vectors, dtype=np.uint8), axis=1)
        return HashOutput(code=variants[0].copy(), quality=int(quality), variants=variants)
