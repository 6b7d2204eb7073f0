"""Contract of FlatIndex / MIHIndex: dtypes, shapes, padding, errors, ids across adds, the
parallel paths (database segments, slot overflow), thread counts, and hardware popcount."""

from __future__ import annotations

import platform
import re

import numba
import numpy as np
import pytest

from hashbench.bits import pack_bits
from hashbench.index import FlatIndex, MIHIndex
from reference_index import reference_range_search, reference_search

KINDS = [FlatIndex, MIHIndex, lambda nbits: MIHIndex(nbits, flat_fallback=False)]
KIND_IDS = ["flat", "mih", "mih-tables"]


def _codes(n: int, nbytes: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, nbytes), dtype=np.uint8)


@pytest.mark.parametrize("make", KINDS, ids=KIND_IDS)
def test_dtypes_shapes_and_faiss_padding(make) -> None:  # type: ignore[no-untyped-def]
    xb = _codes(3, 32)
    index = make(256)
    index.add(xb)
    D, I = index.search(xb[:2], 5)
    assert D.dtype == np.int32 and I.dtype == np.int64 and D.shape == I.shape == (2, 5)
    # fewer than k codes: padded like faiss.IndexBinaryFlat (INT32_MAX, -1)
    assert (I[:, 3:] == -1).all() and (D[:, 3:] == np.iinfo(np.int32).max).all()
    assert D[0, 0] == 0 and I[0, 0] == 0
    lims, Dr, Ir = index.range_search(xb[:2], 0)
    assert lims.dtype == np.int64 and Dr.dtype == np.int32 and Ir.dtype == np.int64
    np.testing.assert_array_equal(lims, [0, 1, 2])
    np.testing.assert_array_equal(Ir, [0, 1])
    counts = index.count_within(xb, 256)
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts, [3, 3, 3])


@pytest.mark.parametrize("make", KINDS, ids=KIND_IDS)
def test_radius_is_inclusive(make) -> None:  # type: ignore[no-untyped-def]
    a = np.zeros(256, np.uint8)
    b = a.copy()
    b[:31] = 1  # exactly 31 bits apart: a PDQ match at threshold 31
    index = make(256)
    index.add(pack_bits(b[None, :]))
    lims, D, I = index.range_search(pack_bits(a[None, :]), 31)
    assert lims[-1] == 1 and D[0] == 31
    assert index.range_search(pack_bits(a[None, :]), 30)[0][-1] == 0
    assert index.range_search(pack_bits(a[None, :]), -1)[0][-1] == 0


@pytest.mark.parametrize("make", KINDS, ids=KIND_IDS)
def test_empty_database_and_empty_queries(make) -> None:  # type: ignore[no-untyped-def]
    index = make(64)
    q = _codes(4, 8)
    D, I = index.search(q, 2)
    assert (I == -1).all()
    lims, Dr, Ir = index.range_search(q, 64)
    np.testing.assert_array_equal(lims, np.zeros(5))
    assert Dr.size == Ir.size == 0
    np.testing.assert_array_equal(index.count_within(q, 64), np.zeros(4))
    index.add(_codes(10, 8))
    lims, _, _ = index.range_search(np.zeros((0, 8), np.uint8), 10)
    np.testing.assert_array_equal(lims, [0])
    assert index.search(np.zeros((0, 8), np.uint8), 3)[0].shape == (0, 3)


@pytest.mark.parametrize("make", KINDS, ids=KIND_IDS)
def test_ids_continue_across_adds_and_one_code_query(make) -> None:  # type: ignore[no-untyped-def]
    xb = _codes(50, 16, seed=3)
    index = make(128)
    index.add(xb[:20])
    index.add(xb[20:20])
    index.add(xb[20:])
    assert index.ntotal == len(index) == 50
    np.testing.assert_array_equal(index.reconstruct_n(), xb)
    D, I = index.search(xb[37], 1)  # a single (nbytes,) code is one query
    assert I[0, 0] == 37 and D[0, 0] == 0


@pytest.mark.parametrize("make", KINDS, ids=KIND_IDS)
def test_bad_inputs_raise_clear_errors(make) -> None:  # type: ignore[no-untyped-def]
    index = make(64)
    with pytest.raises(TypeError, match="uint8"):
        index.add(np.zeros((2, 8), np.int64))
    with pytest.raises(ValueError, match=r"shape \(n, 8\)"):
        index.add(np.zeros((2, 16), np.uint8))
    index.add(_codes(5, 8))
    with pytest.raises(ValueError, match="k must be"):
        index.search(_codes(1, 8), 0)
    with pytest.raises(ValueError, match="multiple of variants"):
        index.range_search(_codes(7, 8), 3, variants=8)
    with pytest.raises(TypeError, match="radius"):
        index.range_search(_codes(1, 8), 3.5)
    with pytest.raises(ValueError, match="nbits"):
        make(0)


def test_mih_rejects_impossible_substring_counts() -> None:
    with pytest.raises(ValueError, match="substrings"):
        MIHIndex(256, m=4)  # 64-bit substrings
    with pytest.raises(ValueError, match="substrings"):
        MIHIndex(64, m=65)


def test_segmented_scan_and_slot_overflow_match_reference() -> None:
    """One query on a database of several tiles runs on database segments (all threads);
    radius = nbits overflows the first output slot and takes the exact second pass."""
    xb = _codes(20_000, 64, seed=5)  # 512-bit codes: a tile is 8192 codes
    index = FlatIndex(512)
    index.add(xb)
    q = xb[[123]]
    got = index.range_search(q, 512)
    np.testing.assert_array_equal(got[0], [0, 20_000])
    np.testing.assert_array_equal(got[2], np.arange(20_000))
    want = reference_range_search(xb, q, 240)
    for g, w in zip(index.range_search(q, 240), want):
        np.testing.assert_array_equal(g, w)
    for g, w in zip(index.search(q, 7), reference_search(xb, q, 7)):
        np.testing.assert_array_equal(g, w)
    assert index.count_within(q, 240)[0] == want[0][-1]


def test_mih_tables_with_crowded_buckets_and_sorted_queries_match_reference() -> None:
    """A tight cluster of 3,000 codes puts hundreds of candidates per bucket (the kernel's
    candidate and hit buffers grow, and slots overflow into the second pass); queries come
    sorted (near copies, then fresh codes) as a real query list often does, and the work
    items are spread over threads in a shuffled order: results must not notice either."""
    rng = np.random.default_rng(11)
    centre = rng.integers(0, 256, 32, dtype=np.uint8)
    flips = rng.integers(0, 256, (3000, 32), dtype=np.uint8) & rng.integers(0, 256, (3000, 32), dtype=np.uint8)
    flips &= rng.integers(0, 256, (3000, 32), dtype=np.uint8)  # each bit flipped with p = 1/8
    xb = np.concatenate([centre ^ flips, _codes(2000, 32, seed=12)])
    xq = np.concatenate([xb[:40] ^ np.uint8(1), _codes(40, 32, seed=13)])
    index = MIHIndex(256, flat_fallback=False)
    index.add(xb)
    for radius in (31, 60, 256):
        want = reference_range_search(xb, xq, radius)
        for g, w in zip(index.range_search(xq, radius), want):
            np.testing.assert_array_equal(g, w)
    assert np.diff(want[0]).max() == len(xb)  # radius 256: every code, past the first slot


def test_results_do_not_depend_on_thread_count() -> None:
    xb = _codes(5000, 32, seed=7)
    xq = np.concatenate([xb[:20] ^ np.uint8(1), _codes(20, 32, seed=8)])
    before = numba.get_num_threads()
    results = []
    try:
        for threads in sorted({1, before}):
            numba.set_num_threads(threads)
            for make in KINDS:
                index = make(256)
                index.add(xb)
                results.append((index.range_search(xq, 100), index.search(xq, 3)))
    finally:
        numba.set_num_threads(before)
    (r0, k0) = results[0]
    for r, k in results[1:]:
        for g, w in zip((*r, *k), (*r0, *k0)):
            np.testing.assert_array_equal(g, w)


def test_mih_chooses_long_substrings_for_large_databases() -> None:
    from hashbench.index.mih import choose_substrings

    # PDQ at r=31: ThreatExchange's 16 x 16 bits (17 probes per table into large buckets that
    # are streamed and filtered), not ~3,000 probes into tiny buckets (m = 11 x 23 bits)
    assert choose_substrings(256, 10_000_000, 31) == 16
    assert choose_substrings(256, 1_000_000, 31) == 16
    assert choose_substrings(64, 1000, 7) >= 5


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86 assembly")
def test_kernels_use_hardware_popcount() -> None:
    """The generated code uses the popcnt instruction (or AVX-512 vpopcntq), not a bit trick."""
    from numba import njit

    from hashbench.index import _kernels

    count = njit(nogil=True)(_kernels._chunk_count_le.py_func)  # uncached: asm is inspectable
    count(np.zeros((4, 64), np.uint64), 0, 64, np.zeros((1, 4), np.uint64), 0, 3, np.zeros(64, np.int64))
    asm = count.inspect_asm(count.signatures[0])
    assert re.search(r"\bv?popcnt[qld]?\b", asm)


# ---------------------------------------------------------------------------------------------
# The Index protocol and registry: every registered index against a brute-force numpy scan.


def brute_force(xb: np.ndarray, xq: np.ndarray, variants: int = 1) -> np.ndarray:
    """``(nq, n)`` Hamming distances, the smallest over each query's ``variants`` rows."""
    xq = xq.reshape(-1, xb.shape[1])
    dist = np.unpackbits(xq[:, None, :] ^ xb[None, :, :], axis=2).sum(axis=2, dtype=np.int64)
    return dist.reshape(-1, variants, len(xb)).min(axis=1)


def check_index_against_brute_force(make, nbits: int = 64, seed: int = 0) -> None:  # type: ignore[no-untyped-def]
    """The conformance check of the :class:`Index` protocol (docs/extending.md runs it too)."""
    from hashbench.index import Index

    rng = np.random.default_rng(seed)
    nbytes = nbits // 8
    xb = rng.integers(0, 256, (300, nbytes), dtype=np.uint8)
    xb[150:160] = xb[:10] ^ np.uint8(1)  # near duplicates and equal distances: ties must break by id
    xq = np.concatenate([xb[:6] ^ np.uint8(3), rng.integers(0, 256, (6, nbytes), dtype=np.uint8)])
    index = make(nbits)
    assert isinstance(index, Index) and index.exact and index.nbits == nbits
    index.add(xb[:100])
    index.add(xb[100:])
    index.build()
    assert index.ntotal == len(xb) and index.nbytes_per_code > 0
    dist = brute_force(xb, xq)
    D, I = index.search(xq, 5)
    assert D.dtype == np.int32 and I.dtype == np.int64 and D.shape == I.shape == (len(xq), 5)
    order = np.lexsort((np.broadcast_to(np.arange(len(xb)), dist.shape), dist), axis=1)[:, :5]
    np.testing.assert_array_equal(I, order)
    np.testing.assert_array_equal(D, np.take_along_axis(dist, order, axis=1))
    xq8 = rng.integers(0, 256, (4, 8, nbytes), dtype=np.uint8)
    xq8[:, 3] = xb[[1, 2, 3, 4]] ^ np.uint8(1)
    for queries, variants in ((xq, 1), (xq8, 8)):
        dist = brute_force(xb, queries, variants)
        for radius in (0, nbits // 8, nbits // 3):
            lims, D, I = index.range_search(queries, radius, variants=variants)
            assert lims.dtype == np.int64 and D.dtype == np.int32 and I.dtype == np.int64
            q_of = np.repeat(np.arange(len(lims) - 1), np.diff(lims))
            want_q, want_i = np.nonzero(dist <= radius)
            np.testing.assert_array_equal(q_of, want_q)
            np.testing.assert_array_equal(I, want_i)  # ids ascending per query
            np.testing.assert_array_equal(D, dist[want_q, want_i])
            counts = index.count_within(queries, radius, variants=variants)
            assert counts.dtype == np.int64
            np.testing.assert_array_equal(counts, (dist <= radius).sum(axis=1))


def _registered():  # type: ignore[no-untyped-def]
    from hashbench import index as index_mod

    return index_mod.available()


@pytest.mark.parametrize("name", _registered())
def test_every_registered_index_equals_a_brute_force_scan(name: str) -> None:
    from hashbench import index as index_mod

    check_index_against_brute_force(lambda nbits: index_mod.get(name, nbits))
    check_index_against_brute_force(lambda nbits: index_mod.get(name, nbits), nbits=256, seed=1)


def test_index_registry_builds_by_name_and_suggests_on_a_typo(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from hashbench import index as index_mod
    from hashbench.errors import UsageError

    assert index_mod.available()[:2] == ["flat", "mih"]
    mih = index_mod.get("mih", 128, m=8, radius_hint=9)
    assert isinstance(mih, MIHIndex) and mih.m == 8 and mih.kind == "mih"
    with pytest.raises(UsageError, match="unknown index 'mhi'; did you mean 'mih'\\? known indexes: flat, mih"):
        index_mod.get("mhi", 64)
    assert index_mod.INDEXES.entry("flat").description.startswith("Exact Hamming index")
