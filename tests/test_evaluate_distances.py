"""Exact distance counts: the numba histogram kernels against numpy (and faiss) brute force."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hashbench.bits import hamming, hamming_matrix, nbytes_for
from hashbench.evaluate import (
    _kernels,
    cross_histogram,
    genuine_distances,
    impostor_histogram,
    min_distance_over_variants,
)
from hashbench.evaluate import distances as distances_module
from hashbench.evaluate.distances import cross_histogram_with_counts, impostor_histogram_with_counts


def random_codes(rng: np.random.Generator, n: int, nbits: int) -> np.ndarray:
    nb = nbytes_for(nbits)
    codes = rng.integers(0, 256, size=(n, nb), dtype=np.uint8)
    if nbits % 8:
        codes[:, 0] &= np.uint8((1 << (nbits % 8)) - 1)
    return codes


def clustered_codes(rng: np.random.Generator, n: int, nbits: int) -> np.ndarray:
    """Near-duplicates of a few seeds (a few bits flipped), exact duplicates among them."""
    seeds = random_codes(rng, 3, nbits)
    bits = np.unpackbits(seeds[rng.integers(0, 3, n)], axis=1)
    pad = 8 * nbytes_for(nbits) - nbits
    flips = rng.random(bits.shape) < 0.03
    flips[:, :pad] = False
    flips[: n // 4] = False  # exact copies of a seed: distance-0 pairs
    return np.packbits(bits ^ flips, axis=1)


def brute_impostor(codes: np.ndarray, nbits: int) -> np.ndarray:
    n = codes.shape[0]
    if n < 2:
        return np.zeros(nbits + 1, dtype=np.int64)
    d = hamming_matrix(codes, codes)[np.triu_indices(n, 1)]
    return np.bincount(d, minlength=nbits + 1)


def brute_cross(a: np.ndarray, b: np.ndarray, nbits: int) -> np.ndarray:
    if a.shape[0] == 0 or b.shape[0] == 0:
        return np.zeros(nbits + 1, dtype=np.int64)
    return np.bincount(hamming_matrix(a, b).ravel(), minlength=nbits + 1)


@pytest.mark.parametrize("nbits", [64, 256, 42, 128, 192, 8, 1024])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 33, 130])
@pytest.mark.parametrize("make", [random_codes, clustered_codes])
def test_impostor_histogram_equals_brute_force(nbits, n, make):
    rng = np.random.default_rng(nbits * 1000 + n)
    codes = make(rng, n, nbits)
    ref = brute_impostor(codes, nbits)
    for block in (1, 2, 7, 32, 1024):  # odd block edges, a single tile, tiles of one code
        hist = impostor_histogram(codes, nbits, block=block)
        assert hist.dtype == np.int64 and hist.shape == (nbits + 1,)
        np.testing.assert_array_equal(hist, ref, err_msg=f"block={block}")
    assert hist.sum() == n * (n - 1) // 2


def test_extreme_distances_land_in_the_end_bins():
    """Identical codes count at 0 and complementary codes at nbits (the last bin)."""
    for nbits in (256, 42, 64):
        nb = nbytes_for(nbits)
        zero = np.zeros((1, nb), np.uint8)
        ones = np.packbits(np.concatenate([np.zeros(8 * nb - nbits, np.uint8), np.ones(nbits, np.uint8)]))[None]
        codes = np.concatenate([zero, zero, ones, ones, ones])
        hist = impostor_histogram(codes, nbits)
        assert hist[0] == 1 + 3 and hist[nbits] == 2 * 3 and hist.sum() == 10


def test_same_result_on_one_thread_and_two():
    rng = np.random.default_rng(5)
    codes = random_codes(rng, 700, 256)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = impostor_histogram(codes, block=64)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = impostor_histogram(codes, block=64)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, brute_impostor(codes, 256))


def test_progress_steps_add_up(monkeypatch):
    """With a progress bar the work runs in several kernel calls; the counts must not change."""
    monkeypatch.setattr(distances_module, "_PAIRS_PER_PROGRESS_STEP", 5_000)
    rng = np.random.default_rng(6)
    codes = random_codes(rng, 400, 64)
    b = rng.integers(0, 256, size=(150, 8), dtype=np.uint8)
    np.testing.assert_array_equal(impostor_histogram(codes, block=16, progress=True), brute_impostor(codes, 64))
    np.testing.assert_array_equal(cross_histogram(codes, b, block=16, progress=True), brute_cross(codes, b, 64))


def brute_counts(a: np.ndarray, b: np.ndarray | None, thresholds: tuple[int, ...]) -> np.ndarray:
    """Per-image match counts by numpy: ``(len(thresholds), n)`` for ``a`` against itself (no
    self-pairs), or ``a`` then ``b`` for the pairs across the two sets."""
    if b is None:
        d = hamming_matrix(a, a).astype(np.int64)
        np.fill_diagonal(d, 1 << 30)
        return np.array([(d <= t).sum(axis=1) for t in thresholds], dtype=np.int64).reshape(len(thresholds), -1)
    d = hamming_matrix(a, b).astype(np.int64)
    return np.array(
        [np.concatenate([(d <= t).sum(axis=1), (d <= t).sum(axis=0)]) for t in thresholds], dtype=np.int64
    ).reshape(len(thresholds), -1)


@pytest.mark.parametrize("nbits", [64, 256, 42, 128, 1024, 2048])
@pytest.mark.parametrize("n", [2, 3, 33, 130, 261])
@pytest.mark.parametrize("make", [random_codes, clustered_codes])
def test_per_image_counts_equal_brute_force(nbits, n, make):
    """Per-image counts from the histogram pass equal numpy's, for n not a multiple of the tile
    (odd rows, odd columns, diagonal tiles), several thresholds at once, and long codes (2,048
    bits: the corrected float split)."""
    rng = np.random.default_rng(nbits * 1000 + n)
    codes = make(rng, n, nbits)
    thresholds = (0, 3, nbits // 4, nbits // 2 - 1, nbits)
    for block in (1, 7, 32, 1024):
        hist, counts = impostor_histogram_with_counts(codes, nbits, thresholds, block=block)
        np.testing.assert_array_equal(hist, brute_impostor(codes, nbits))
        np.testing.assert_array_equal(counts, brute_counts(codes, None, thresholds))
        for q, t in enumerate(thresholds):  # each match is in two images
            assert counts[q].sum() == 2 * hist[: t + 1].sum()


@pytest.mark.parametrize("na,nb", [(1, 1), (5, 40), (67, 33), (130, 3)])
def test_cross_per_image_counts_equal_brute_force(na, nb):
    rng = np.random.default_rng(na * 7 + nb)
    a = clustered_codes(rng, na, 256)
    b = np.concatenate([a[: min(na, nb)], random_codes(rng, max(0, nb - na), 256)])
    thresholds = (0, 40, 128)
    for block in (3, 16):
        hist, ca, cb = cross_histogram_with_counts(a, b, 256, thresholds, block=block)
        np.testing.assert_array_equal(hist, brute_cross(a, b, 256))
        np.testing.assert_array_equal(np.concatenate([ca, cb], axis=1), brute_counts(a, b, thresholds))


def test_per_image_counts_over_progress_steps_and_threads(monkeypatch):
    """Several kernel calls (progress) and one or two threads: the same counts."""
    monkeypatch.setattr(distances_module, "_PAIRS_PER_PROGRESS_STEP", 5_000)
    rng = np.random.default_rng(12)
    codes = clustered_codes(rng, 400, 64)
    want = brute_counts(codes, None, (5,))
    before = numba.get_num_threads()
    try:
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            _, counts = impostor_histogram_with_counts(codes, 64, (5,), block=16, progress=True)
            np.testing.assert_array_equal(counts, want)
    finally:
        numba.set_num_threads(before)


@numba.njit
def _split_errors(stride, corrected):  # type: ignore[no-untyped-def]
    """Pair indices ``d1 * stride + d2`` that :func:`_kernels._split_index` splits wrongly."""
    inv = np.float32(1.0) / np.float32(stride)
    s32 = np.int32(stride)
    bad = 0
    for d1 in range(stride):
        for d2 in range(stride):
            a, b = _kernels._split_index(np.int32(d1 * stride + d2), s32, inv, corrected)
            bad += (a != d1) or (b != d2)
    return bad


@numba.njit
def _match_errors(stride, corrected, lim):  # type: ignore[no-untyped-def]
    """Pair indices whose ``(d1 <= lim, d2 <= lim)`` :func:`_kernels._matches` gets wrong."""
    inv = np.float32(1.0) / np.float32(stride)
    s32 = np.int32(stride)
    bad = 0
    for d1 in range(stride):
        for d2 in range(stride):
            a, b = _kernels._matches(np.int32(d1 * stride + d2), s32, inv, np.int32(lim), corrected)
            bad += (a != (d1 <= lim)) or (b != (d2 <= lim))
    return bad


@pytest.mark.parametrize("nbits", [1, 8, 64, 256, 1024, 2048])
def test_match_test_of_every_pair_index_is_exact(nbits):
    """The kernel's per-pair match test, at thresholds from 0 to nbits, for every pair index."""
    stride = nbits + 1
    for lim in sorted({0, 1, nbits // 8, nbits // 2, nbits - 1, nbits}):
        if stride <= _kernels.FAST_SPLIT_STRIDE:
            assert _match_errors(stride, False, lim) == 0
        assert _match_errors(stride, True, lim) == 0


@pytest.mark.parametrize("nbits", [1, 8, 42, 64, 256, 1024, 1025, 2048])
def test_float_split_of_every_pair_index_is_exact(nbits):
    """Every pair index of every code length the kernel takes splits exactly (fast path up to
    FAST_SPLIT_STRIDE, corrected above it; the corrected path is exact everywhere)."""
    stride = nbits + 1
    assert _split_errors(stride, True) == 0
    if stride <= _kernels.FAST_SPLIT_STRIDE:
        assert _split_errors(stride, False) == 0


def test_no_thresholds_no_counts_and_the_same_histogram():
    rng = np.random.default_rng(13)
    codes = random_codes(rng, 50, 64)
    hist, counts = impostor_histogram_with_counts(codes, 64)
    assert counts.shape == (0, 50)
    np.testing.assert_array_equal(hist, impostor_histogram(codes, 64))
    _, counts = impostor_histogram_with_counts(codes[:0], 64, (3,))
    assert counts.shape == (1, 0)
    with pytest.raises(ValueError, match=">= 0"):
        impostor_histogram_with_counts(codes, 64, (-1,))


def test_int32_tables_folded_often_give_the_same_counts(monkeypatch):
    """Each thread counts into int32 and folds into int64 every so many pairs; fold often."""
    monkeypatch.setattr(distances_module, "_FLUSH_PAIRS", 50)
    rng = np.random.default_rng(8)
    codes = clustered_codes(rng, 300, 256)
    b = random_codes(rng, 70, 256)
    np.testing.assert_array_equal(impostor_histogram(codes, block=9), brute_impostor(codes, 256))
    np.testing.assert_array_equal(cross_histogram(codes, b, block=9), brute_cross(codes, b, 256))


@pytest.mark.parametrize(
    "triangle,n_a,n_b,block",
    [(t, n, n, b) for t in (True, False) for n, b in [(1, 4), (10, 4), (1000, 64), (999, 10)]]
    + [(False, 999, 37, 10), (False, 5, 300, 7)],
)
def test_tiles_are_found_by_number_and_split_by_pairs(triangle, n_a, n_b, block):
    """The kernels never list tiles (that would grow as N**2): check the numbering and split."""
    count = _kernels._tile_count(n_a, n_b, block, triangle)
    nbi, nbj = -(-n_a // block), -(-n_b // block)
    want = [(i, j) for i in range(nbi) for j in range(i if triangle else 0, nbj)]
    assert count == len(want)
    walked = [_kernels._tile_at(0, n_b, block, triangle)]
    for _ in range(count - 1):
        walked.append(_kernels._next_tile(*walked[-1], n_b, block, triangle))
    assert walked == want
    assert all(_kernels._tile_at(t, n_b, block, triangle) == want[t] for t in range(count))
    weights = [_kernels._tile_weight(i, j, n_a, n_b, block, triangle) for i, j in want]
    assert sum(weights) == (n_a * (n_a - 1) // 2 if triangle else n_a * n_b)
    for t0, t1, parts in [(0, count, 2), (0, count, 3), (count // 3, count, 2), (1, 1, 2)]:
        if t1 < t0:
            continue
        bounds = _kernels._split_tiles(n_a, n_b, block, triangle, t0, t1, parts)
        assert bounds[0] == t0 and bounds[-1] == t1 and np.all(np.diff(bounds) >= 0)
        run_pairs = [sum(weights[bounds[p] : bounds[p + 1]]) for p in range(parts)]
        # every run is within one tile of an equal share
        assert max(run_pairs) - min(run_pairs) <= 2 * max(weights[t0:t1], default=0)


@pytest.mark.parametrize("nbits", [64, 256, 42, 1024])
@pytest.mark.parametrize("na,nb", [(0, 5), (5, 0), (1, 1), (17, 40), (130, 9)])
def test_cross_histogram_equals_brute_force(nbits, na, nb):
    rng = np.random.default_rng(nbits + 7 * na + nb)
    a = random_codes(rng, na, nbits)
    b = clustered_codes(rng, nb, nbits) if nb else random_codes(rng, 0, nbits)
    for block in (1, 8, 1024):
        hist = cross_histogram(a, b, nbits, block=block)
        np.testing.assert_array_equal(hist, brute_cross(a, b, nbits))
    assert hist.sum() == na * nb


def test_cross_histogram_matches_faiss():
    faiss = pytest.importorskip("faiss")
    rng = np.random.default_rng(11)
    xb = random_codes(rng, 300, 256)
    xq = clustered_codes(rng, 40, 256)
    index = faiss.IndexBinaryFlat(256)
    index.add(xb)
    D, _ = index.search(xq, xb.shape[0])  # every distance of every query
    ref = np.bincount(D.ravel().astype(np.int64), minlength=257)
    np.testing.assert_array_equal(cross_histogram(xq, xb), ref)


@settings(max_examples=60, deadline=None)
@given(
    nbits=st.sampled_from([8, 42, 64, 100, 256]),
    n=st.integers(0, 40),
    block=st.integers(1, 50),
    seed=st.integers(0, 2**32 - 1),
)
def test_impostor_histogram_property(nbits, n, block, seed):
    codes = random_codes(np.random.default_rng(seed), n, nbits)
    hist = impostor_histogram(codes, nbits, block=block)
    np.testing.assert_array_equal(hist, brute_impostor(codes, nbits))


@settings(max_examples=40, deadline=None)
@given(codes=arrays(np.uint8, st.tuples(st.integers(0, 30), st.just(4)), elements=st.sampled_from([0, 1, 255, 128])))
def test_impostor_histogram_property_few_values(codes):
    """Few distinct byte values: many ties and duplicates."""
    np.testing.assert_array_equal(impostor_histogram(codes), brute_impostor(codes, 32))


def test_impostor_histogram_refuses_codes_that_do_not_fit():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 256, size=(10, 6), dtype=np.uint8)
    codes[3, 0] = 0xFF  # bits above bit 42 set
    with pytest.raises(ValueError, match="above bit 42"):
        impostor_histogram(codes, 42)
    with pytest.raises(ValueError, match="does not hold"):
        impostor_histogram(codes, 64)
    with pytest.raises(ValueError, match="uint8"):
        impostor_histogram(codes.astype(np.int64))
    with pytest.raises(ValueError, match="2-D"):
        impostor_histogram(codes[0])
    with pytest.raises(ValueError, match="block"):
        impostor_histogram(codes, block=0)
    with pytest.raises(ValueError, match="block"):
        impostor_histogram(codes, block=10**6)
    with pytest.raises(ValueError, match="widths differ|does not hold"):
        cross_histogram(codes, codes[:, :5])


def test_genuine_distances_row_wise():
    rng = np.random.default_rng(1)
    for nbits in (64, 256, 42, 1024):
        a = random_codes(rng, 57, nbits)
        b = clustered_codes(rng, 57, nbits)
        d = genuine_distances(a, b)
        assert d.dtype == np.int32
        np.testing.assert_array_equal(d, hamming(a, b))
    assert genuine_distances(a[:0], b[:0]).shape == (0,)
    with pytest.raises(ValueError):
        genuine_distances(a, b[:-1])


def test_min_distance_over_variants():
    rng = np.random.default_rng(2)
    n, v = 45, 8
    codes = random_codes(rng, n, 256)
    variants = rng.integers(0, 256, size=(n, v, 32), dtype=np.uint8)
    variants[::3, 5] = codes[::3]  # an exact variant: distance 0
    d = min_distance_over_variants(variants, codes)
    ref = hamming(variants, codes[:, None, :]).min(axis=1)
    np.testing.assert_array_equal(d, ref)
    assert (d[::3] == 0).all() and d.dtype == np.int32
    # one variant is plain row-wise matching
    np.testing.assert_array_equal(
        min_distance_over_variants(variants[:, :1], codes), genuine_distances(variants[:, 0], codes)
    )
    with pytest.raises(ValueError):
        min_distance_over_variants(variants, codes[:, :8])
