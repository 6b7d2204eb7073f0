"""The ceiling of the impostor-histogram kernel: its distances-only loop, as numba kernels.

Everything ``hashbench.evaluate._kernels._accumulate_pair_histogram`` does except counting:
the same tiles, the same split of tiles into equal-work runs per thread (the library's own
``_split_tiles`` / ``_tile_at`` / ``_next_tile``, imported, so the two loops cannot drift apart)
and the same two-rows-at-a-time vector popcounts. Its rate is what the histogram is measured
against (histogram_throughput.py). It lives here, not in the library, because nothing but a
benchmark needs a loop that computes every distance and keeps none.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from hashbench.evaluate._kernels import _next_tile, _split_tiles, _tile_at
from hashbench.popcount import popcount64

__all__ = ["pair_distance_sum_tiles"]


@njit(nogil=True, cache=True)
def _row_distance_sum(a_cols, i, b_cols, js, j1):
    """Sum of distances from code ``i`` to columns ``js .. j1-1`` (vector loop, no stores)."""
    m = j1 - js
    if m <= 0:
        return 0
    nw = a_cols.shape[0]
    s = 0
    if nw == 4:
        a0 = a_cols[0, i]
        a1 = a_cols[1, i]
        a2 = a_cols[2, i]
        a3 = a_cols[3, i]
        b0 = b_cols[0, js:j1]
        b1 = b_cols[1, js:j1]
        b2 = b_cols[2, js:j1]
        b3 = b_cols[3, js:j1]
        for k in range(m):
            s += popcount64(a0 ^ b0[k]) + popcount64(a1 ^ b1[k]) + popcount64(a2 ^ b2[k]) + popcount64(a3 ^ b3[k])
    else:
        for w in range(nw):
            aw = a_cols[w, i]
            bw = b_cols[w, js:j1]
            for k in range(m):
                s += popcount64(aw ^ bw[k])
    return s


@njit(nogil=True, cache=True)
def _two_rows_distance_sum(a_cols, i, b_cols, j0, j1):
    """Sum of distances from codes ``i`` and ``i + 1`` to columns ``j0 .. j1-1`` (shared loads)."""
    m = j1 - j0
    nw = a_cols.shape[0]
    s = 0
    if nw == 4:
        a0 = a_cols[0, i]
        a1 = a_cols[1, i]
        a2 = a_cols[2, i]
        a3 = a_cols[3, i]
        e0 = a_cols[0, i + 1]
        e1 = a_cols[1, i + 1]
        e2 = a_cols[2, i + 1]
        e3 = a_cols[3, i + 1]
        b0 = b_cols[0, j0:j1]
        b1 = b_cols[1, j0:j1]
        b2 = b_cols[2, j0:j1]
        b3 = b_cols[3, j0:j1]
        for k in range(m):
            x0 = b0[k]
            x1 = b1[k]
            x2 = b2[k]
            x3 = b3[k]
            s += popcount64(a0 ^ x0) + popcount64(a1 ^ x1) + popcount64(a2 ^ x2) + popcount64(a3 ^ x3)
            s += popcount64(e0 ^ x0) + popcount64(e1 ^ x1) + popcount64(e2 ^ x2) + popcount64(e3 ^ x3)
    else:
        for w in range(nw):
            aw = a_cols[w, i]
            ew = a_cols[w, i + 1]
            bw = b_cols[w, j0:j1]
            for k in range(m):
                s += popcount64(aw ^ bw[k]) + popcount64(ew ^ bw[k])
    return s


@njit(parallel=True, nogil=True, cache=True)
def pair_distance_sum_tiles(a_cols, b_cols, block, triangle, t0, t1, nthreads):
    """Sum of the distances of the same pairs as the histogram kernel, same tiling.

    This is the *distances-only* loop: everything the histogram does except counting (the same
    tiles, thread split and two-rows-at-a-time vector loops). Its rate is the ceiling the
    histogram kernel is measured against.
    """
    n_a = a_cols.shape[1]
    n_b = b_cols.shape[1]
    bounds = _split_tiles(n_a, n_b, block, triangle, t0, t1, nthreads)
    sums = np.zeros(nthreads, np.int64)
    for p in prange(nthreads):
        s = 0
        if bounds[p + 1] > bounds[p]:
            bi, bj = _tile_at(bounds[p], n_b, block, triangle)
            for _ in range(bounds[p], bounds[p + 1]):
                i0 = bi * block
                i1 = min(i0 + block, n_a)
                j0 = bj * block
                j1 = min(j0 + block, n_b)
                if triangle and bi == bj:
                    for i in range(i0, i1):
                        s += _row_distance_sum(a_cols, i, b_cols, i + 1, j1)
                else:
                    for i in range(i0, i1 - 1, 2):
                        s += _two_rows_distance_sum(a_cols, i, b_cols, j0, j1)
                    if (i1 - i0) & 1:
                        s += _row_distance_sum(a_cols, i1 - 1, b_cols, j0, j1)
                bi, bj = _next_tile(bi, bj, n_b, block, triangle)
        sums[p] = s
    return sums.sum()
