"""Distances the evaluator counts: genuine pairs row by row, impostor pairs as exact histograms.

*Genuine* pairs are an edited copy against its own original: one distance per pair
(:func:`genuine_distances`, or :func:`min_distance_over_variants` for dihedral matching).
*Impostor* pairs are every pair of distinct images: far too many to list, so only their
distance histogram is kept (:func:`impostor_histogram` for all pairs within one set,
:func:`cross_histogram` for all pairs between two sets). The histograms are exact counts,
made by a streaming numba kernel (see :mod:`hashbench.evaluate._kernels`) whose memory does not
grow with the number of codes.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from ..bits import nbytes_for, to_words
from . import _kernels

__all__ = [
    "DEFAULT_BLOCK",
    "MAX_HISTOGRAM_BITS",
    "impostor_histogram",
    "impostor_histogram_with_counts",
    "cross_histogram",
    "cross_histogram_with_counts",
    "genuine_distances",
    "min_distance_over_variants",
]

#: Codes per tile side. 1,024 codes of 256 bits are 32 KB: one tile's columns stay in L1.
DEFAULT_BLOCK = 1024

#: The kernel keeps an ``(nbits + 1)**2`` int64 table per thread (8.4 MB at 1,024 bits).
MAX_HISTOGRAM_BITS = 2048

# Pairs per kernel call when a progress bar is shown (about a second of work each).
_PAIRS_PER_PROGRESS_STEP = 4_000_000_000

# Pairs counted in a thread's int32 table before it is folded into int64 (tests lower it).
_FLUSH_PAIRS = _kernels.FLUSH_PAIRS

# Largest block: one tile's pairs must fit the int32 table between flushes.
MAX_BLOCK = 32768


def _checked_codes(codes: npt.ArrayLike, nbits: int | None, what: str) -> tuple[np.ndarray, int]:
    """``(n, nbytes)`` uint8 codes and their bit count, with the padding bits checked.

    A set padding bit would give a distance above ``nbits`` and a count outside the histogram,
    so codes that do not fit ``nbits`` are refused here rather than trusted in the kernel.
    """
    arr = np.asarray(codes)
    if arr.ndim != 2:
        raise ValueError(f"{what} must be a 2-D (n, nbytes) array of codes, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        raise ValueError(f"{what} must be uint8 packed codes (hashbench.bits), got dtype {arr.dtype}")
    nbytes = arr.shape[1]
    if nbits is None:
        nbits = 8 * nbytes
    if nbits <= 0 or nbytes_for(nbits) != nbytes:
        raise ValueError(f"{what} has {nbytes} bytes per code, which does not hold {nbits} bits")
    if nbits > MAX_HISTOGRAM_BITS:
        raise ValueError(f"codes of {nbits} bits are longer than the {MAX_HISTOGRAM_BITS} bits supported")
    pad = 8 * nbytes - nbits
    if pad and arr.shape[0] and np.any(arr[:, 0] >> np.uint8(8 - pad)):
        raise ValueError(f"{what}: some codes have bits set above bit {nbits} (not {nbits}-bit codes)")
    return arr, nbits


def _columns(codes: np.ndarray) -> np.ndarray:
    """Column-major words ``cols[w, j]`` (the layout the kernels vectorize over)."""
    if codes.shape[0] == 0:
        return np.zeros(((codes.shape[1] + 7) // 8, 0), dtype=np.uint64)
    return np.ascontiguousarray(to_words(codes).T)


def _histogram(
    a_cols: np.ndarray,
    b_cols: np.ndarray,
    nbits: int,
    block: int,
    triangle: bool,
    progress: bool,
    desc: str,
    thresholds: tuple[int, ...] = (),
    max_listed: int = 0,
    groups: tuple[npt.ArrayLike, int] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], np.ndarray | None]:
    """The histogram, the ``(len(thresholds), n_images)`` per-image match counts (images: the
    rows of ``a``, then, unless ``triangle``, those of ``b``), per threshold the sorted keys
    (:func:`hashbench.evaluate.pairs.decode_keys`) of at most ``max_listed`` pairs within it,
    smallest distance first, and, with ``groups = (code per image, G)``, the ``(len(thresholds),
    n_images, G)`` counts of each image's matches with each group (else None)."""
    if not 1 <= block <= MAX_BLOCK:
        raise ValueError(f"block must be in 1..{MAX_BLOCK}, got {block}")
    n_a = a_cols.shape[1]
    n_b = b_cols.shape[1]
    stride = nbits + 1
    thr = _thresholds(thresholds)
    n_images = n_a if triangle else n_a + n_b
    codes, n_groups = _group_codes(groups, n_images, len(thr))
    if n_a == 0 or n_b == 0:
        empty = [np.zeros(0, dtype=np.int64) for _ in thr]
        by_group = None if groups is None else np.zeros((len(thr), n_images, n_groups), dtype=np.int64)
        return np.zeros(stride, dtype=np.int64), np.zeros((len(thr), n_images), dtype=np.int64), empty, by_group
    nthreads = numba.get_num_threads()
    hist2 = np.zeros((nthreads, stride * stride), dtype=np.int64)
    hist1 = np.zeros((nthreads, stride), dtype=np.int64)
    counts = np.zeros((nthreads, len(thr), n_images if len(thr) else 0), dtype=np.int32)
    keys, fill = _kernels.list_buffers(nthreads, len(thr), max_listed, n_images, stride)
    gcounts = np.zeros((nthreads, len(thr), n_images if len(codes) else 0, n_groups), dtype=np.int64)
    total = n_a * (n_a - 1) // 2 if triangle else n_a * n_b
    n_tiles = int(_kernels._tile_count(n_a, n_b, block, triangle))
    steps = min(n_tiles, max(1, total // _PAIRS_PER_PROGRESS_STEP)) if progress else 1
    counted = 0
    with tqdm(total=total, unit="pair", unit_scale=True, desc=desc, disable=not progress or steps == 1) as bar:
        for s in range(steps):  # runs of about equal tile counts; the kernel balances threads by pairs
            t0, t1 = n_tiles * s // steps, n_tiles * (s + 1) // steps
            done = int(
                _kernels._accumulate_pair_histogram(
                    a_cols,
                    b_cols,
                    block,
                    triangle,
                    t0,
                    t1,
                    hist2,
                    hist1,
                    _FLUSH_PAIRS,
                    thr,
                    counts,
                    keys,
                    fill,
                    codes,
                    gcounts,
                )
            )
            counted += done
            bar.update(done)
    if counted != total:  # cheap guard on the tiling arithmetic
        raise RuntimeError(f"histogram kernel counted {counted} pairs, expected {total}")
    per_image = counts.sum(axis=0, dtype=np.int64) if len(thr) else np.zeros((0, n_images), dtype=np.int64)
    listed = _kernels.merge_listed(keys, fill, max_listed)
    by_group = gcounts.sum(axis=0) if groups is not None else None
    return _kernels._fold_pair_histogram(hist2, hist1), per_image, listed, by_group


def _group_codes(groups: tuple[npt.ArrayLike, int] | None, n_images: int, nthr: int) -> tuple[np.ndarray, int]:
    """The kernel's group codes (int64, empty: no per-group counts) and their number, checked:
    one code per image, each in ``0 .. G-1`` (a code out of range would write out of bounds)."""
    if groups is None or nthr == 0:
        return np.zeros(0, dtype=np.int64), 0 if groups is None else int(groups[1])
    codes, n_groups = np.ascontiguousarray(groups[0], dtype=np.int64).reshape(-1), int(groups[1])
    if len(codes) != n_images:
        raise ValueError(f"{len(codes)} group codes for {n_images} images")
    if len(codes) and (codes.min() < 0 or codes.max() >= n_groups):
        raise ValueError(f"group codes must be in 0..{n_groups - 1}")
    return codes, n_groups


def _thresholds(thresholds: tuple[int, ...]) -> np.ndarray:
    """The thresholds as the kernel takes them (int32), each a whole number >= 0."""
    thr = np.asarray(thresholds, dtype=np.int64).reshape(-1)
    if np.any(thr < 0):
        raise ValueError(f"thresholds must be >= 0, got {tuple(thresholds)}")
    return np.minimum(thr, MAX_HISTOGRAM_BITS).astype(np.int32)


def impostor_histogram(
    codes: npt.ArrayLike, nbits: int | None = None, *, block: int = DEFAULT_BLOCK, progress: bool = False
) -> npt.NDArray[np.int64]:
    """Exact number of pairs ``i < j`` of rows of ``codes`` at each Hamming distance.

    Returns ``hist`` of length ``nbits + 1``; ``hist[d]`` counts unordered pairs of distinct
    rows at distance ``d``, so ``hist.sum() == n * (n - 1) // 2``. Rows are *positions*: two
    identical codes still form a pair (at distance 0), which is what an impostor pair of two
    distinct images with a colliding hash is.

    ``nbits`` defaults to ``8 * nbytes``; give it for codes whose length is not a multiple of 8
    (colorhash: 42). Runs on numba's threads (``numba.set_num_threads``); besides the codes,
    memory is two ``(nbits + 1)**2`` tables per thread (0.8 MB at 256 bits), independent of
    ``n``. ``progress`` shows a tqdm bar on long runs.
    """
    arr, nbits = _checked_codes(codes, nbits, "codes")
    cols = _columns(arr)
    return _histogram(cols, cols, nbits, block, True, progress, "impostor pairs")[0]


def impostor_histogram_with_counts(
    codes: npt.ArrayLike,
    nbits: int | None = None,
    thresholds: tuple[int, ...] = (),
    *,
    block: int = DEFAULT_BLOCK,
    progress: bool = False,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """:func:`impostor_histogram` and, from the same pass, per-image match counts.

    ``counts[q, i]`` is the number of other rows within distance ``thresholds[q]`` of row
    ``i`` (so ``counts[q].sum() == 2 * hist[: thresholds[q] + 1].sum()``): what an image-level
    interval (:func:`hashbench.evaluate.image_level.image_level_interval`) needs, because pairs
    that share an image are not independent trials. The counting costs one vectorized pass per
    threshold over the distances the histogram already computes.
    """
    arr, nbits = _checked_codes(codes, nbits, "codes")
    cols = _columns(arr)
    return _histogram(cols, cols, nbits, block, True, progress, "impostor pairs", tuple(thresholds))[:2]


def cross_histogram(
    codes_a: npt.ArrayLike,
    codes_b: npt.ArrayLike,
    nbits: int | None = None,
    *,
    block: int = DEFAULT_BLOCK,
    progress: bool = False,
) -> npt.NDArray[np.int64]:
    """Exact number of pairs ``(a, b)``, one row from each set, at each Hamming distance.

    For impostor pairs between two disjoint sets (references against distractors):
    ``hist.sum() == len(codes_a) * len(codes_b)``. Same kernel design as
    :func:`impostor_histogram`.
    """
    a, nbits = _checked_codes(codes_a, nbits, "codes_a")
    b, _ = _checked_codes(codes_b, nbits, "codes_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"code widths differ: {a.shape[1]} vs {b.shape[1]} bytes")
    return _histogram(_columns(a), _columns(b), nbits, block, False, progress, "cross pairs")[0]


def cross_histogram_with_counts(
    codes_a: npt.ArrayLike,
    codes_b: npt.ArrayLike,
    nbits: int | None = None,
    thresholds: tuple[int, ...] = (),
    *,
    block: int = DEFAULT_BLOCK,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """:func:`cross_histogram` and the per-image match counts of each set from the same pass.

    Returns ``(hist, counts_a, counts_b)``: ``counts_a[q, i]`` is the number of rows of
    ``codes_b`` within ``thresholds[q]`` of row ``i`` of ``codes_a``, and ``counts_b`` the
    other way round (a block of the all-pairs count on a cluster needs both).
    """
    a, nbits = _checked_codes(codes_a, nbits, "codes_a")
    b, _ = _checked_codes(codes_b, nbits, "codes_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"code widths differ: {a.shape[1]} vs {b.shape[1]} bytes")
    hist, counts, _, _ = _histogram(
        _columns(a), _columns(b), nbits, block, False, False, "cross pairs", tuple(thresholds)
    )
    return hist, counts[:, : len(a)], counts[:, len(a) :]


def genuine_distances(codes_a: npt.ArrayLike, codes_b: npt.ArrayLike) -> npt.NDArray[np.int32]:
    """Row-wise Hamming distances ``d[r] = hamming(codes_a[r], codes_b[r])`` as int32.

    For genuine pairs: row ``r`` of ``codes_a`` is an edited copy of row ``r`` of ``codes_b``.
    """
    a = np.asarray(codes_a)
    b = np.asarray(codes_b)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"expected two (n, nbytes) code arrays of the same shape, got {a.shape} and {b.shape}")
    if a.dtype != np.uint8 or b.dtype != np.uint8:
        raise ValueError("codes must be uint8 packed codes (hashbench.bits)")
    if a.shape[0] == 0:
        return np.zeros(0, dtype=np.int32)
    return _kernels._rowwise_distances(to_words(a), to_words(b))


def min_distance_over_variants(variant_codes: npt.ArrayLike, codes: npt.ArrayLike) -> npt.NDArray[np.int32]:
    """``d[r] = min over v of hamming(variant_codes[r, v], codes[r])`` as int32.

    Dihedral matching: ``variant_codes`` ``(n, v, nbytes)`` holds several hashes of one image
    (PDQ's 8 rotations and flips, ``pdq8``), ``codes`` ``(n, nbytes)`` the single hash it is
    matched against. A pair matches at threshold ``t`` when any variant is within ``t``.
    """
    var = np.asarray(variant_codes)
    c = np.asarray(codes)
    if var.ndim != 3 or c.ndim != 2 or var.shape[0] != c.shape[0] or var.shape[2] != c.shape[1]:
        raise ValueError(f"expected (n, v, nbytes) variants and (n, nbytes) codes, got {var.shape} and {c.shape}")
    if var.dtype != np.uint8 or c.dtype != np.uint8:
        raise ValueError("codes must be uint8 packed codes (hashbench.bits)")
    if var.shape[1] == 0:
        raise ValueError("variant_codes has no variants per row")
    n, nv, nbytes = var.shape
    if n == 0:
        return np.zeros(0, dtype=np.int32)
    variant_words = to_words(var.reshape(n * nv, nbytes)).reshape(n, nv, -1)
    return _kernels._min_distance_over_variants(variant_words, to_words(c))
