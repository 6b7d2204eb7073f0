"""Reference Hamming search in plain numpy: slow, obviously correct, the tests' oracle.

Every index in :mod:`hashbench.index` must return exactly what these functions return
(same ids, same distances, same order). They build the full distance matrix, so keep inputs
small (thousands of codes). It lives under tests/, not in the library: nothing but the tests
needs a search that is correct by construction and too slow for anything else.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from hashbench.bits import hamming_matrix

__all__ = ["reference_search", "reference_range_search", "reference_count_within"]

PAD_DISTANCE = int(np.iinfo(np.int32).max)


def _distances(xb: npt.ArrayLike, xq: npt.ArrayLike) -> npt.NDArray[np.int64]:
    xb = np.asarray(xb, dtype=np.uint8)
    xq = np.asarray(xq, dtype=np.uint8)
    if xb.shape[0] == 0 or xq.shape[0] == 0:
        return np.zeros((xq.shape[0], xb.shape[0]), dtype=np.int64)
    return hamming_matrix(xq, xb)


def reference_search(xb: npt.ArrayLike, xq: npt.ArrayLike, k: int) -> tuple[np.ndarray, np.ndarray]:
    """k nearest by (distance, id); missing neighbours padded with (INT32_MAX, -1)."""
    dist = _distances(xb, xq)
    nq, n = dist.shape
    D = np.full((nq, k), PAD_DISTANCE, dtype=np.int32)
    I = np.full((nq, k), -1, dtype=np.int64)
    ids = np.arange(n)
    for q in range(nq):
        order = np.lexsort((ids, dist[q]))[:k]
        D[q, : order.size] = dist[q, order]
        I[q, : order.size] = order
    return D, I


def reference_range_search(
    xb: npt.ArrayLike, xq: npt.ArrayLike, radius: int, variants: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Matches at distance <= radius, ids ascending per query; with ``variants`` > 1 the
    queries come in consecutive groups and each id appears once with its smallest distance."""
    xq = np.asarray(xq, dtype=np.uint8)
    if xq.ndim == 3:
        xq = xq.reshape(-1, xq.shape[2])
    dist = _distances(xb, xq)
    ngroups = dist.shape[0] // variants
    dist = dist.reshape(ngroups, variants, -1).min(axis=1) if dist.shape[1] else dist[:ngroups]
    lims = [0]
    D: list[np.ndarray] = []
    I: list[np.ndarray] = []
    for g in range(ngroups):
        hit = np.flatnonzero(dist[g] <= radius)
        I.append(hit.astype(np.int64))
        D.append(dist[g, hit].astype(np.int32))
        lims.append(lims[-1] + hit.size)
    return (
        np.array(lims, dtype=np.int64),
        np.concatenate(D) if D else np.zeros(0, np.int32),
        np.concatenate(I) if I else np.zeros(0, np.int64),
    )


def reference_count_within(xb: npt.ArrayLike, xq: npt.ArrayLike, radius: int, variants: int = 1) -> np.ndarray:
    """Number of distinct ids within ``radius`` of each query (group of ``variants`` queries)."""
    lims, _, _ = reference_range_search(xb, xq, radius, variants)
    return np.diff(lims)
