"""Hamming index speed: FlatIndex and MIHIndex against faiss, on the same codes in one run.

Run: `.venv/bin/python -m pytest benchmarks/bench_index.py --benchmark-only -s` (or `make bench`).
Defaults: N = 1,000,000 256-bit codes (HASHBENCH_INDEX_N=10000000 for the 10M figures),
Q = 1,000 queries (half altered copies of stored codes, half fresh), 2 threads, uniform and
clustered codes. Each benchmark keeps numba compile time out (`warmup_rounds=1`) and stores
queries/s in its extra_info; `bench_index_ratios` runs every method in alternating rounds and
stores the ratios the issue's targets are stated in (FlatIndex vs faiss IndexBinaryFlat,
MIHIndex vs FlatIndex and vs the fastest exact faiss IndexBinaryMultiHash), plus the
popcount ceiling. `python benchmarks/index_harness.py` prints the same table.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from hashbench.index import FlatIndex, MIHIndex
from index_harness import faiss_threads, format_table, make_codes, make_queries, run_index_benchmark
from timing import numba_threads

N = int(float(os.environ.get("HASHBENCH_INDEX_N", "1000000")))
NQ = 1000
NBITS = 256
RADIUS = 31
THREADS = 2
ROUNDS = 3
#: The faiss MultiHash setting timed on its own below (fastest exact one at 1M here).
FAISS_MH = (11, 23, 2)

faiss = pytest.importorskip("faiss")


@pytest.fixture(scope="module", autouse=True)
def two_threads():  # type: ignore[no-untyped-def]
    with faiss_threads(THREADS), numba_threads(THREADS):
        yield


@pytest.fixture(scope="module", params=["uniform", "clustered"])
def codes(request):  # type: ignore[no-untyped-def]
    xb = make_codes(N, NBITS, request.param)
    return request.param, xb, make_queries(xb, NQ)


@pytest.fixture(scope="module")
def flat(codes):  # type: ignore[no-untyped-def]
    index = FlatIndex(NBITS)
    index.add(codes[1])
    return index


@pytest.fixture(scope="module")
def reference(codes, flat):  # type: ignore[no-untyped-def]
    return flat.range_search(codes[2], RADIUS)


def _pedantic(benchmark, fn):  # type: ignore[no-untyped-def]
    result = benchmark.pedantic(fn, rounds=ROUNDS, warmup_rounds=1, iterations=1)
    benchmark.extra_info["queries_per_s"] = NQ / benchmark.stats.stats.min
    benchmark.extra_info["n"] = N
    return result


def bench_flat_range(benchmark, codes, flat, reference) -> None:  # type: ignore[no-untyped-def]
    got = _pedantic(benchmark, lambda: flat.range_search(codes[2], RADIUS))
    assert all(np.array_equal(a, b) for a, b in zip(got, reference))


def bench_flat_count(benchmark, codes, flat, reference) -> None:  # type: ignore[no-untyped-def]
    got = _pedantic(benchmark, lambda: flat.count_within(codes[2], RADIUS))
    np.testing.assert_array_equal(got, np.diff(reference[0]))


def bench_flat_knn1(benchmark, codes, flat) -> None:  # type: ignore[no-untyped-def]
    D, I = _pedantic(benchmark, lambda: flat.search(codes[2], 1))
    assert (D[: NQ // 2, 0] <= RADIUS).mean() > 0.9  # altered copies find their original


def bench_faiss_flat_range(benchmark, codes, reference) -> None:  # type: ignore[no-untyped-def]
    index = faiss.IndexBinaryFlat(NBITS)
    index.add(codes[1])
    lims, _, _ = _pedantic(benchmark, lambda: index.range_search(codes[2], RADIUS + 1))
    np.testing.assert_array_equal(lims.astype(np.int64), reference[0])


def bench_faiss_flat_knn1(benchmark, codes, flat) -> None:  # type: ignore[no-untyped-def]
    index = faiss.IndexBinaryFlat(NBITS)
    index.add(codes[1])
    D, _ = _pedantic(benchmark, lambda: index.search(codes[2], 1))
    np.testing.assert_array_equal(D, flat.search(codes[2], 1)[0])


def bench_mih_range(benchmark, codes, reference) -> None:  # type: ignore[no-untyped-def]
    index = MIHIndex(NBITS, radius_hint=RADIUS, flat_fallback=False)
    index.add(codes[1])
    index.build()
    benchmark.extra_info["m"] = index.m
    benchmark.extra_info["bytes_per_code"] = index.nbytes_per_code
    got = _pedantic(benchmark, lambda: index.range_search(codes[2], RADIUS))
    assert all(np.array_equal(a, b) for a, b in zip(got, reference))


def bench_faiss_multihash_range(benchmark, codes, reference) -> None:  # type: ignore[no-untyped-def]
    nhash, b, nflip = FAISS_MH
    index = faiss.IndexBinaryMultiHash(NBITS, nhash, b)
    index.nflip = nflip
    index.add(codes[1])
    lims, _, _ = _pedantic(benchmark, lambda: index.range_search(codes[2], RADIUS + 1))
    np.testing.assert_array_equal(lims.astype(np.int64), reference[0])


@pytest.mark.parametrize("data", ["uniform", "clustered"])
def bench_index_ratios(benchmark, data: str) -> None:
    """All methods in alternating rounds; the ratios of the issue's targets in extra_info."""
    res = benchmark.pedantic(
        lambda: run_index_benchmark(N, NQ, nbits=NBITS, data=data, radius=RADIUS, threads=THREADS, rounds=ROUNDS),
        rounds=1,
        iterations=1,
    )
    print()
    print(format_table(res))
    flat_name, ff_name = "hashbench FlatIndex", "faiss IndexBinaryFlat"
    mih = next(m for m in res.methods if m.name.startswith("hashbench MIHIndex"))
    mh = [m for m in res.methods if m.name.startswith("faiss MultiHash")]
    info = benchmark.extra_info
    info["flat_range_vs_faiss_flat"] = res.qps(flat_name, "range") / res.qps(ff_name, "range")
    info["flat_knn1_vs_faiss_flat"] = res.qps(flat_name, "knn1") / res.qps(ff_name, "knn1")
    info["mih_range_vs_flat"] = res.qps(mih.name, "range") / res.qps(flat_name, "range")
    info["mih_range_vs_best_faiss_multihash"] = res.qps(mih.name, "range") / max(res.qps(m.name, "range") for m in mh)
    info["flat_comparisons_per_s_per_core"] = N * NQ / res.get(flat_name).times["range"] / res.threads
    info["popcount_ceiling_comparisons_per_s_per_core"] = res.popcount_per_core
    info["table"] = format_table(res)
    assert all(all(m.exact.values()) for m in res.methods)
