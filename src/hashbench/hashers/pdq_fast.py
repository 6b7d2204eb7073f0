"""PDQ and its 8 dihedral hashes from hashbench's numba kernels, bit-identical to ``pdqhash``.

The kernels (:mod:`._pdq_kernels`) reproduce ``pdqhash`` 0.2.8 float for float, at a cost linear
in the number of pixels (``pdqhash``'s column passes stride through memory and grow faster).
These two functions return what :class:`~hashbench.hashers.pdq.PDQHasher` and
:class:`~hashbench.hashers.pdq.PDQDihedralHasher` return through ``pdqhash``, so either backend
fills the same :class:`~hashbench.hashers.base.HashOutput`. ``pdqhash`` stays the reference the
tests compare against.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._pdq_kernels import pdq_dihedral, pdq_hash
from .base import HashOutput

__all__ = ["BACKEND", "pdq_output", "pdq8_output"]

#: The name recorded in provenance for this implementation.
BACKEND = "numba"


def pdq_output(pixels: npt.NDArray[np.uint8]) -> HashOutput:
    """PDQ of an (H, W, 3) uint8 array: code and quality exactly as ``pdqhash.compute`` gives them."""
    code, quality = pdq_hash(pixels)
    return HashOutput(code=code, quality=quality)


def pdq8_output(pixels: npt.NDArray[np.uint8]) -> HashOutput:
    """The 8 dihedral PDQ hashes exactly as ``pdqhash.compute_dihedral`` gives them; variant 0 is
    the plain hash (pdqhash's order: original, rot90, rot180, rot270, flip x, flip y, flip +1,
    flip -1)."""
    codes, quality = pdq_dihedral(pixels)
    return HashOutput(code=codes[0].copy(), quality=quality, variants=codes)
