"""Impostor statistics for dihedral matching (pdq8): a query matches on its closest variant.

With dihedral matching an image brings 8 hashes (itself rotated and flipped) when it is the
query and one when it is listed; "``i`` queried against ``j``" has distance
``d(i -> j) = min_v d(variants[i, v], codes[j])``. That relation is not symmetric, but the
*trial* is still the unordered pair of images ``{i, j}``: a study asks whether two distinct
images would be confused, and either may be the one that is queried. So a pair matches if
**either direction** matches, its distance is ``min(d(i -> j), d(j -> i))``, and ``n`` images
make ``n (n - 1) / 2`` trials, exactly as for plain matching.

Why not the ``n (n - 1)`` ordered (query, listed) pairs: ``(i, j)`` and ``(j, i)`` are nearly
the same event (same two images, usually the same verdict), so counting both as independent
trials halves every zero-match bound and narrows every interval by about ``sqrt(2)`` without
any new evidence: ``pdq8`` was reported "at most 1 in 390 thousand" beside ``pdq``'s "1 in 195
thousand" on the same images, though ``pdq8`` matches a superset of ``pdq``'s pairs. Under the
either-direction rule every pair ``pdq`` matches, ``pdq8`` matches too (variant 0 is the image
itself), so ``pdq8``'s count is at least ``pdq``'s and its bound never tighter. Eight (now
sixteen) comparisons per trial also mean more chances to collide, which is exactly the
false-positive cost of matching rotated and flipped copies that these histograms measure.

The kernel computes both directions of each pair ``i < j`` in one pass, and from the same
pass each image's number of matches at given thresholds (what the image-level interval of
:mod:`hashbench.evaluate.image_level` needs). :func:`variant_cross_histogram` keeps the
*directional* meaning for a query set against a separate list (distractors queried against
references: every query's variants against each listed code), because there the roles are
fixed by the deployment. Genuine distances under dihedral matching are row-wise:
:func:`hashbench.evaluate.min_distance_over_variants`.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt
from numba import njit, prange

from ..bits import to_words
from ..popcount import popcount64
from ._kernels import _note_pair, list_buffers, merge_listed
from .distances import _group_codes

__all__ = [
    "variant_impostor_histogram",
    "variant_impostor_histogram_with_counts",
    "variant_pair_pass",
    "variant_cross_histogram",
]


@njit(nogil=True, cache=True)
def _toward(qv, i, b, j, best):
    """``min(best, min_v d(qv[i, v], b[j]))``: image ``i`` queried against image ``j``'s code,
    stopping early at 0 (nothing is closer)."""
    nv, nw = qv.shape[1], qv.shape[2]
    for v in range(nv):
        if best == 0:
            return 0
        d = 0
        for w in range(nw):
            d += popcount64(qv[i, v, w] ^ b[j, w])
        if d < best:
            best = d
    return best


@njit(parallel=True, nogil=True, cache=True)
def _unordered_pairs(av, a, bv, b, same, nbits, thr, keys, fill, groups, gcounts):
    """Histogram of ``min(d(i -> j), d(j -> i))`` over pairs of rows ``i`` of ``a`` and ``j`` of
    ``b`` (``same``: ``a is b`` and only ``i < j``), with per-image match counts and, when
    ``keys`` has slots, the listed pairs.

    ``counts[q, r]`` (int32 per thread, summed at the end; no atomics) is the number of counted
    pairs at distance ``<= thr[q]`` that image ``r`` is in: ``r`` is row ``i`` of ``a``, or
    ``len(a) + j`` for row ``j`` of ``b`` when not ``same``. Each such pair is also offered to
    thread ``p``'s listing buffer ``keys[p, q]`` (:func:`hashbench.evaluate._kernels._list_pair`,
    images numbered as for the counts; nothing when ``keys`` has no slots). The thread count is
    ``keys.shape[0]``. Rows are dealt to threads round-robin, which balances the triangle's
    uneven rows to within one row per thread.

    With ``groups`` (int64 group code per image, numbered as for the counts; empty: none),
    thread ``t`` also adds to ``gcounts[t, q, r, h]`` one for every such pair of image ``r``
    with an image of group ``h`` (``gcounts``: int64 ``(nthreads, len(thr), n_images, G)``,
    summed by the caller; only matches touch it).
    """
    n_a = a.shape[0]
    n_b = b.shape[0]
    off = 0 if same else n_a
    n_img = n_a if same else n_a + n_b
    nthr = thr.shape[0]
    nthreads = keys.shape[0]
    top = -1  # pairs beyond every threshold are never noted: one comparison skips them
    if keys.shape[2] > 0 or groups.shape[0] > 0:
        for q in range(nthr):
            top = max(top, thr[q])
    hist = np.zeros((nthreads, nbits + 1), dtype=np.int64)
    counts = np.zeros((nthreads, nthr, n_img), dtype=np.int32)
    for t in prange(nthreads):
        h = hist[t]
        cp = counts[t]
        kp = keys[t]
        fp = fill[t]
        gp = gcounts[t]
        for i in range(t, n_a, nthreads):
            j0 = i + 1 if same else 0
            for j in range(j0, n_b):
                d = _toward(bv, j, a, i, _toward(av, i, b, j, nbits))
                h[d] += 1
                for q in range(nthr):
                    if d <= thr[q]:
                        cp[q, i] += 1
                        cp[q, off + j] += 1
                if d <= top:
                    _note_pair(d, i, off + j, thr, kp, fp, n_img, groups, gp)
    return hist.sum(axis=0), counts.sum(axis=0).astype(np.int64)


def _variant_words(variant_codes: npt.ArrayLike) -> np.ndarray:
    v = np.asarray(variant_codes, dtype=np.uint8)
    if v.ndim != 3:
        raise ValueError(f"variant codes must be (n, variants, nbytes), got shape {v.shape}")
    n, nv, nb = v.shape
    nw = (nb + 7) // 8
    if n * nv == 0:
        return np.zeros((n, nv, nw), dtype=np.uint64)
    return np.ascontiguousarray(to_words(v.reshape(n * nv, nb)).reshape(n, nv, nw))


def _image_words(variant_codes: npt.ArrayLike, codes: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The words of one image set: its variants ``(n, v, nwords)`` and codes ``(n, nwords)``."""
    qv = _variant_words(variant_codes)
    c = np.asarray(codes, dtype=np.uint8)
    if c.ndim != 2 or qv.shape[0] != c.shape[0]:
        raise ValueError(f"{qv.shape[0]} variant rows but codes of shape {c.shape}: both must describe the same images")
    b = to_words(c) if len(c) else np.zeros((0, qv.shape[2]), dtype=np.uint64)
    if b.shape[1] != qv.shape[2]:
        raise ValueError(f"variants of {qv.shape[2]} words but codes of {b.shape[1]}: not the same hasher")
    return qv, b


def _thresholds(thresholds: tuple[int, ...], nbits: int) -> np.ndarray:
    thr = np.asarray(thresholds, dtype=np.int64).reshape(-1)
    if np.any(thr < 0):
        raise ValueError(f"thresholds must be >= 0, got {tuple(thresholds)}")
    return np.minimum(thr, nbits).astype(np.int32)


def variant_impostor_histogram_with_counts(
    variant_codes: npt.ArrayLike, codes: npt.ArrayLike, nbits: int, thresholds: tuple[int, ...] = ()
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Histogram over unordered pairs ``i < j`` of ``min(d(i -> j), d(j -> i))``, and per-image
    match counts from the same pass.

    ``d(i -> j) = min_v d(variant_codes[i, v], codes[j])``; row ``i`` of both arrays is image
    ``i``. The histogram sums to ``n (n - 1) / 2`` (one trial per pair of images, matched if
    either direction matches: see the module docstring). ``counts[q, i]`` is the number of other
    images that image ``i`` matches within ``thresholds[q]`` (so ``counts[q].sum()`` is twice
    the matches), shape ``(len(thresholds), n)``. The pairs themselves:
    :func:`hashbench.evaluate.pairs.variant_impostor_pairs`.
    """
    hist, counts, _, _ = variant_pair_pass(variant_codes, codes, nbits, thresholds, 0)
    return hist, counts


def variant_impostor_histogram(variant_codes: npt.ArrayLike, codes: npt.ArrayLike, nbits: int) -> npt.NDArray[np.int64]:
    """Histogram over unordered pairs ``i < j`` of ``min(d(i -> j), d(j -> i))``: sums to
    ``n (n - 1) / 2`` (:func:`variant_impostor_histogram_with_counts` without the counts)."""
    return variant_impostor_histogram_with_counts(variant_codes, codes, nbits)[0]


def variant_pair_pass(
    variant_codes: npt.ArrayLike,
    codes: npt.ArrayLike,
    nbits: int,
    thresholds: tuple[int, ...],
    max_listed: int,
    other: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    groups: tuple[npt.ArrayLike, int] | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[npt.NDArray[np.int64]], npt.NDArray[np.int64] | None]:
    """One pass of the unordered-pair kernel, as :func:`hashbench.evaluate.distances._histogram`
    returns it: the histogram, the ``(len(thresholds), n_images)`` per-image counts, per
    threshold the sorted keys (:func:`hashbench.evaluate.pairs.decode_keys`) of the
    ``max_listed`` smallest pairs within it and, with ``groups = (code per image, G)``, the
    ``(len(thresholds), n_images, G)`` per-image-by-group counts (else None).

    The pairs ``i < j`` of one image set, or with ``other = (variants_b, codes_b)`` every pair
    of an image of this set and one of ``other`` (a block of the all-pairs count split across
    machines; its images are numbered after this set's, ``len(codes) + j``).
    """
    av, a = _image_words(variant_codes, codes)
    bv, b, same = av, a, other is None
    if other is not None:
        bv, b = _image_words(*other)
        if av.shape[1:] != bv.shape[1:]:
            raise ValueError(f"variants of shape {av.shape[1:]} and {bv.shape[1:]}: not the same hasher")
    thr = _thresholds(thresholds, nbits)
    n_img = a.shape[0] if same else a.shape[0] + b.shape[0]
    nthreads = numba.get_num_threads()
    keys, fill = list_buffers(nthreads, len(thr), max_listed, n_img, nbits + 1)
    codes, n_groups = _group_codes(groups, n_img, len(thr))
    gcounts = np.zeros((nthreads, len(thr), n_img if len(codes) else 0, n_groups), np.int64)
    if a.shape[0] == 0 or b.shape[0] == 0:
        by_group = None if groups is None else np.zeros((len(thr), n_img, n_groups), np.int64)
        return (
            np.zeros(nbits + 1, np.int64),
            np.zeros((len(thr), n_img), np.int64),
            merge_listed(keys, fill, 0),
            by_group,
        )
    hist, counts = _unordered_pairs(av, a, bv, b, same, nbits, thr, keys, fill, codes, gcounts)
    return hist, counts, merge_listed(keys, fill, max_listed), None if groups is None else gcounts.sum(axis=0)


@njit(parallel=True, nogil=True, cache=True)
def _directional(qv, b, nbits, nthreads):
    n = qv.shape[0]
    m = b.shape[0]
    hist = np.zeros((nthreads, nbits + 1), dtype=np.int64)
    for t in prange(nthreads):
        for i in range(t, n, nthreads):
            for j in range(m):
                hist[t, _toward(qv, i, b, j, nbits)] += 1
    return hist.sum(axis=0)


def variant_cross_histogram(variant_codes: npt.ArrayLike, codes: npt.ArrayLike, nbits: int) -> npt.NDArray[np.int64]:
    """Histogram over every (query ``i``, listed ``j``) of two disjoint sets of
    ``min_v d(variant_codes[i, v], codes[j])``; sums to ``n * m``.

    Directional on purpose: a query set against a separate list (distractors against the
    references) has fixed roles, only the query brings its 8 variants, and each (query, listed)
    pair is one lookup. For the all-pairs impostor trials use
    :func:`variant_impostor_histogram` (either direction, each pair once).
    """
    qv = _variant_words(variant_codes)
    b = to_words(np.asarray(codes, dtype=np.uint8))
    if qv.shape[0] == 0 or b.shape[0] == 0:
        return np.zeros(nbits + 1, dtype=np.int64)
    return _directional(qv, b, nbits, numba.get_num_threads())
