"""Dihedral (pdq8) impostor pairs: one trial per unordered pair of images, matched if either
direction matches, checked against a numpy brute force."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashbench.bits import hamming_matrix
from hashbench.evaluate import min_distance_over_variants
from hashbench.evaluate.dihedral import (
    variant_cross_histogram,
    variant_impostor_histogram,
    variant_impostor_histogram_with_counts,
)
from hashbench.evaluate.pairs import variant_cross_pairs


def directed(variants, codes):
    """``D[i, j] = min_v d(variants[i, v], codes[j])``: image i queried against image j."""
    return np.stack([hamming_matrix(variants[:, v], codes) for v in range(variants.shape[1])]).min(axis=0)


def brute_unordered(variants, codes):
    """Distances of the pairs i < j under the either-direction rule, and the full symmetric matrix."""
    d = directed(variants, codes)
    sym = np.minimum(d, d.T)
    iu = np.triu_indices(len(codes), k=1)
    return sym[iu], sym


def random_images(rng, n, nv, nbytes):
    base = rng.integers(0, 256, (n, nbytes), dtype=np.uint8)
    variants = rng.integers(0, 256, (n, nv, nbytes), dtype=np.uint8)
    if n:
        variants[:, 0] = base
    if n and nv > 1:
        variants[: n // 2, 1] = base[::-1][: n // 2] ^ 1  # near duplicates across rows, one direction only
    return base, variants


@pytest.mark.parametrize("nbytes,n,nv", [(32, 0, 8), (32, 1, 8), (32, 37, 8), (8, 20, 3), (6, 9, 2)])
def test_matches_brute_force(nbytes, n, nv):
    rng = np.random.default_rng(n + nbytes)
    base, variants = random_images(rng, n, nv, nbytes)
    nbits = 8 * nbytes
    h = variant_impostor_histogram(variants, base, nbits)
    assert h.sum() == n * (n - 1) // 2
    if n >= 2:
        assert np.array_equal(h, np.bincount(brute_unordered(variants, base)[0], minlength=nbits + 1))
    other = rng.integers(0, 256, (11, nbytes), dtype=np.uint8)
    c = variant_cross_histogram(variants, other, nbits)  # directional: queries against a list
    assert c.sum() == n * 11
    if n:
        assert np.array_equal(c, np.bincount(directed(variants, other).ravel(), minlength=nbits + 1))
        m = min_distance_over_variants(variants, base)
        assert (m == 0).all()  # variant 0 is the image itself


def test_a_pair_matching_in_one_direction_only_counts_once():
    """Image 1's second variant equals image 0's code: 1 -> 0 is at distance 0, 0 -> 1 is far.
    The pair is one trial and it matches; the old ordered count made it two trials, one match."""
    codes = np.array([[0x00] * 4, [0xFF] * 4, [0x0F] * 4], dtype=np.uint8)
    variants = np.stack([codes, codes], axis=1).copy()
    variants[1, 1] = codes[0]
    hist, counts = variant_impostor_histogram_with_counts(variants, codes, 32, (0, 16))
    assert hist.sum() == 3 and hist[0] == 1 and hist[16] == 2 and hist[32] == 0
    assert counts.tolist() == [[1, 1, 0], [2, 2, 2]]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 24),
    nv=st.integers(1, 8),
    nbytes=st.sampled_from([1, 2, 6, 8, 16, 32]),
    thresholds=st.lists(st.integers(0, 300), max_size=3),
    seed=st.integers(0, 2**32 - 1),
    dup=st.floats(0.0, 0.5),
)
def test_histogram_and_counts_equal_a_brute_force_of_both_directions(n, nv, nbytes, thresholds, seed, dup):
    """Any sizes, variant counts, code widths and thresholds: the histogram is the min over both
    directions of every pair i < j, and counts[q, i] the images i matches within thresholds[q]."""
    rng = np.random.default_rng(seed)
    base, variants = random_images(rng, n, nv, nbytes)
    if n >= 2:  # copies: whole rows equal another image's code in some variant (matches at 0)
        rows = rng.random(n) < dup
        variants[rows, nv - 1] = base[rng.integers(0, n, rows.sum())]
    nbits = 8 * nbytes
    hist, counts = variant_impostor_histogram_with_counts(variants, base, nbits, tuple(thresholds))
    assert hist.sum() == n * (n - 1) // 2 and counts.shape == (len(thresholds), n)
    if n < 2:
        assert not counts.any()
        return
    pairs, sym = brute_unordered(variants, base)
    assert np.array_equal(hist, np.bincount(pairs, minlength=nbits + 1))
    off_diagonal = ~np.eye(n, dtype=bool)
    for q, t in enumerate(thresholds):
        assert np.array_equal(counts[q], ((sym <= t) & off_diagonal).sum(axis=1))
        assert counts[q].sum() == 2 * hist[: t + 1].sum()


@settings(max_examples=40, deadline=None)
@given(n_a=st.integers(0, 12), n_b=st.integers(0, 12), seed=st.integers(0, 2**32 - 1), t=st.integers(0, 64))
def test_blocks_between_two_sets_add_up_to_the_whole(n_a, n_b, seed, t):
    """A split into a diagonal block per set and one block between them gives exactly the
    whole set's histogram and counts: what a cluster adds up."""
    rng = np.random.default_rng(seed)
    base, variants = random_images(rng, n_a + n_b, 4, 8)
    base[n_a:][: n_b // 2] = base[: n_b // 2]  # copies across the two sets
    want_hist, want = variant_impostor_histogram_with_counts(variants, base, 64, (t,))
    ha, ca = variant_impostor_histogram_with_counts(variants[:n_a], base[:n_a], 64, (t,))
    hb, cb = variant_impostor_histogram_with_counts(variants[n_a:], base[n_a:], 64, (t,))
    hx, xa, xb, _ = variant_cross_pairs(variants[:n_a], base[:n_a], variants[n_a:], base[n_a:], 64, (t,))
    assert hx.sum() == n_a * n_b
    np.testing.assert_array_equal(ha + hb + hx, want_hist)
    np.testing.assert_array_equal(np.concatenate([ca + xa, cb + xb], axis=1), want)


def test_more_threads_than_rows_and_one_thread_agree():
    import numba

    rng = np.random.default_rng(3)
    base, variants = random_images(rng, 5, 8, 32)
    want = variant_impostor_histogram_with_counts(variants, base, 256, (120,))
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        got = variant_impostor_histogram_with_counts(variants, base, 256, (120,))
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_shape_errors():
    with pytest.raises(ValueError, match="same images"):
        variant_impostor_histogram(np.zeros((3, 8, 32), np.uint8), np.zeros((4, 32), np.uint8), 256)
    with pytest.raises(ValueError, match="variants, nbytes"):
        variant_cross_histogram(np.zeros((3, 32), np.uint8), np.zeros((3, 32), np.uint8), 256)
    with pytest.raises(ValueError, match="not the same hasher"):
        variant_cross_pairs(
            np.zeros((2, 8, 32), np.uint8), np.zeros((2, 32), np.uint8), np.zeros((2, 4, 32), np.uint8),
            np.zeros((2, 32), np.uint8), 256, (),
        )  # fmt: skip
    with pytest.raises(ValueError, match=">= 0"):
        variant_impostor_histogram_with_counts(np.zeros((3, 8, 32), np.uint8), np.zeros((3, 32), np.uint8), 256, (-1,))
