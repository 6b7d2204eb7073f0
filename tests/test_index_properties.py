"""Property tests: every index returns exactly what the numpy reference returns.

Random and clustered codes (near duplicates and exact duplicates), 64/128/256 bits, every
radius from 0 to nbits, k up to N + 5, empty databases, codes added in several batches.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hashbench.index import FlatIndex, MIHIndex
from hashbench.index.mih import substring_lengths
from reference_index import (
    reference_count_within,
    reference_range_search,
    reference_search,
)

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _flip(codes: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    """Flip each bit with probability ``p`` (near duplicates)."""
    bits = np.unpackbits(codes, axis=-1)
    bits ^= (rng.random(bits.shape) < p).astype(np.uint8)
    return np.packbits(bits, axis=-1)


@st.composite
def problems(draw):  # type: ignore[no-untyped-def]
    nbits = draw(st.sampled_from([64, 128, 256]))
    nbytes = nbits // 8
    n = draw(st.integers(0, 300))
    nq = draw(st.integers(1, 12))
    clustered = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if clustered and n:
        centers = rng.integers(0, 256, (max(1, n // 20), nbytes), dtype=np.uint8)
        xb = _flip(centers[rng.integers(0, len(centers), n)], rng, draw(st.sampled_from([0.0, 0.02, 0.1])))
    else:
        xb = rng.integers(0, 256, (n, nbytes), dtype=np.uint8)
    if n and draw(st.booleans()):  # exact duplicates
        dup = rng.integers(0, n, max(1, n // 10))
        xb[rng.integers(0, n, dup.size)] = xb[dup]
    if n:
        near = _flip(xb[rng.integers(0, n, nq)], rng, 0.05)
        xq = np.where(rng.random((nq, 1)) < 0.7, near, rng.integers(0, 256, (nq, nbytes), dtype=np.uint8))
    else:
        xq = rng.integers(0, 256, (nq, nbytes), dtype=np.uint8)
    radius = draw(st.integers(0, nbits))
    k = draw(st.integers(1, n + 5))
    splits = sorted(draw(st.lists(st.integers(0, n), max_size=3)))
    return nbits, xb.astype(np.uint8), xq.astype(np.uint8), radius, k, splits


def _indexes(nbits: int, n: int, draw_m: int | None):  # type: ignore[no-untyped-def]
    """FlatIndex, MIHIndex as configured by default, and MIHIndex forced to probe its tables."""
    out = [FlatIndex(nbits), MIHIndex(nbits), MIHIndex(nbits, flat_fallback=False)]
    if draw_m is not None:
        out.append(MIHIndex(nbits, m=draw_m, flat_fallback=False))
    return out


def _add(index, xb, splits):  # type: ignore[no-untyped-def]
    bounds = [0, *splits, len(xb)]
    for a, b in zip(bounds[:-1], bounds[1:]):
        index.add(xb[a:b])


def _same(got, want) -> None:  # type: ignore[no-untyped-def]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype, (g.dtype, w.dtype)
        np.testing.assert_array_equal(g, w)


@SETTINGS
@given(problems(), st.data())
def test_range_count_knn_match_reference(problem, data) -> None:  # type: ignore[no-untyped-def]
    nbits, xb, xq, radius, k, splits = problem
    valid_m = [m for m in range(1, nbits + 1) if max(substring_lengths(nbits, m)) <= 24]
    m = data.draw(st.sampled_from(valid_m))
    want_range = reference_range_search(xb, xq, radius)
    want_knn = reference_search(xb, xq, k)
    for index in _indexes(nbits, len(xb), m):
        _add(index, xb, splits)
        assert index.ntotal == len(xb)
        _same(index.range_search(xq, radius), want_range)
        np.testing.assert_array_equal(index.count_within(xq, radius), reference_count_within(xb, xq, radius))
        _same(index.search(xq, k), want_knn)


@SETTINGS
@given(problems())
def test_dihedral_variants_match_reference(problem) -> None:  # type: ignore[no-untyped-def]
    nbits, xb, xq, radius, _, _ = problem
    rng = np.random.default_rng(len(xb) + radius)
    # 8 "variants" per query: the query and 7 distortions of it, as the dihedral PDQ hashes are
    xq8 = np.stack([xq] + [_flip(xq, rng, 0.1 * v) for v in range(1, 8)], axis=1)
    want = reference_range_search(xb, xq8, radius, variants=8)
    for index in _indexes(nbits, len(xb), None):
        index.add(xb)
        _same(index.range_search(xq8, radius, variants=8), want)
        _same(index.range_search(xq8.reshape(-1, nbits // 8), radius, variants=8), want)
        np.testing.assert_array_equal(index.count_within(xq8, radius, variants=8), np.diff(want[0]))
