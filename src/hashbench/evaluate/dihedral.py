"""Impostor statistics for dihedral matching (pdq8): a query matches on its closest variant.

With dihedral matching a query image brings 8 hashes (itself rotated and flipped) and a listed
image one; the pair's distance is the smallest of the 8. That relation is not symmetric, so the
trials are *ordered* pairs (query ``i``, listed ``j``), ``i != j``: ``n * (n - 1)`` of them for
``n`` images, each a real "this query against that list entry" event. Eight comparisons per
trial also mean eight chances to collide, which is exactly the false-positive cost of matching
rotated and flipped copies that these histograms measure. Genuine distances under dihedral
matching are row-wise: :func:`hashbench.evaluate.min_distance_over_variants`.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt
from numba import njit, prange

from ..bits import to_words
from ..popcount import popcount64

__all__ = ["variant_impostor_histogram", "variant_cross_histogram"]


@njit(parallel=True, nogil=True, cache=True)
def _variant_histogram(qv, b, same, nbits, nthreads):
    n, nv, nw = qv.shape
    m = b.shape[0]
    hist = np.zeros((nthreads, nbits + 1), dtype=np.int64)
    for t in prange(nthreads):
        for i in range(t, n, nthreads):
            for j in range(m):
                if same and i == j:
                    continue
                best = nbits
                for v in range(nv):
                    d = 0
                    for w in range(nw):
                        d += popcount64(qv[i, v, w] ^ b[j, w])
                    if d < best:
                        best = d
                hist[t, best] += 1
    return hist.sum(axis=0)


def _variant_words(variant_codes: npt.ArrayLike) -> np.ndarray:
    v = np.asarray(variant_codes, dtype=np.uint8)
    if v.ndim != 3:
        raise ValueError(f"variant codes must be (n, variants, nbytes), got shape {v.shape}")
    n, nv, nb = v.shape
    nw = (nb + 7) // 8
    if n * nv == 0:
        return np.zeros((n, nv, nw), dtype=np.uint64)
    return np.ascontiguousarray(to_words(v.reshape(n * nv, nb)).reshape(n, nv, nw))


def variant_impostor_histogram(variant_codes: npt.ArrayLike, codes: npt.ArrayLike, nbits: int) -> npt.NDArray[np.int64]:
    """Histogram over ordered pairs ``i != j`` of ``min_v d(variant_codes[i, v], codes[j])``.

    ``variant_codes`` and ``codes`` describe the same ``n`` images (row ``i`` of both is image
    ``i``); the histogram sums to ``n * (n - 1)``.
    """
    qv = _variant_words(variant_codes)
    b = to_words(np.asarray(codes, dtype=np.uint8))
    if qv.shape[0] != b.shape[0]:
        raise ValueError(f"{qv.shape[0]} variant rows but {b.shape[0]} codes: both must describe the same images")
    if qv.shape[0] < 2:
        return np.zeros(nbits + 1, dtype=np.int64)
    return _variant_histogram(qv, b, True, nbits, numba.get_num_threads())


def variant_cross_histogram(variant_codes: npt.ArrayLike, codes: npt.ArrayLike, nbits: int) -> npt.NDArray[np.int64]:
    """Histogram over all pairs (query ``i``, listed ``j``) of two disjoint sets; sums to ``n * m``."""
    qv = _variant_words(variant_codes)
    b = to_words(np.asarray(codes, dtype=np.uint8))
    if qv.shape[0] == 0 or b.shape[0] == 0:
        return np.zeros(nbits + 1, dtype=np.int64)
    return _variant_histogram(qv, b, False, nbits, numba.get_num_threads())
