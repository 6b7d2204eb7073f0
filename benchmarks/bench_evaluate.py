"""Impostor-histogram throughput: the kernel against its ceiling and a straightforward baseline.

Run: `.venv/bin/python -m pytest benchmarks/bench_evaluate.py --benchmark-only -s`
(or `make bench`). Three things on the same codes (N = 150,000 random 256-bit codes, 1.1e10
pairs; 2 numba threads):

* ``impostor_histogram`` (the library kernel);
* ``limit``: the distances-only loop, same tiles and vector popcounts, no counting: the ceiling;
* ``fused baseline``: the straightforward tiled kernel, one scalar increment per pair in the
  distance loop (so the loop is not vectorized): the design the issue's prototype used
  (0.9e9 pairs/s on its machine);
* ``per-image counts``: the histogram with per-image match counts at one threshold against the
  histogram alone, alternately: the cost of the counts as a ratio (issue 14 allows 1.15).
* ``pair listing``: the histogram with per-image counts *and* the listed pairs at PDQ's threshold
  (``hashbench.evaluate.pairs.impostor_pairs``, max_listed 10,000; random codes, so matches are
  rare) against the histogram alone and against the counts alone (issue 15 allows 1.15).
  In the same interleaved rounds, the pass with each image's matches counted per group as well
  (6 groups; what the per-family rates need) against the listing pass (allowed: 1.05).

Figures are ratios within this run (the machine is shared): ``bench_fraction_of_limit`` runs
histogram and limit alternately and keeps each one's fastest round; every benchmark stores
pairs/s in its extra_info (the JSON written by `make bench`).
"""

from __future__ import annotations

import os

import numba
import numpy as np
import pytest
from numba import njit, prange, types
from numba.extending import intrinsic

from hashbench.bits import to_words
from hashbench.evaluate import impostor_histogram
from hashbench.evaluate.distances import impostor_histogram_with_counts
from hashbench.evaluate.pairs import impostor_pairs
from histogram_throughput import measure_histogram_rate, pair_distance_sum
from timing import interleaved_min, numba_threads

#: HASHBENCH_EVALUATE_N overrides it (the CI gate, benchmarks/compare.py, runs 50,000).
N = int(float(os.environ.get("HASHBENCH_EVALUATE_N", "150000")))
NBITS = 256
THREADS = 2
ROUNDS = 3


@pytest.fixture(scope="module", autouse=True)
def two_threads():
    with numba_threads(THREADS):
        yield


@pytest.fixture(scope="module")
def codes() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(N, NBITS // 8), dtype=np.uint8)


@pytest.fixture(scope="module")
def cols(codes) -> np.ndarray:
    return np.ascontiguousarray(to_words(codes).T)


@intrinsic
def popcount64(typingctx, x):  # type: ignore[no-untyped-def]
    if x != types.uint64:
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.ctpop(args[0])

    return types.int64(types.uint64), codegen


@njit(parallel=True, nogil=True, cache=True)
def fused_baseline(cols, nbits, block, nthreads):  # type: ignore[no-untyped-def]
    """The straightforward tiled kernel, done carefully: per-thread histograms, the 4 words of
    code ``i`` in locals, slices indexed from 0 (no wraparound code), and one scalar increment
    per pair inside the distance loop, which keeps LLVM from vectorizing it (scalar POPCNT).
    256-bit codes only."""
    n = cols.shape[1]
    nblocks = (n + block - 1) // block
    hist = np.zeros((nthreads, nbits + 1), np.int64)
    for p in prange(nthreads):
        h = hist[p]
        for bi in range(p, nblocks, nthreads):  # interleaved block rows: roughly balanced
            i0 = bi * block
            i1 = min(i0 + block, n)
            for bj in range(bi, nblocks):
                j0 = bj * block
                j1 = min(j0 + block, n)
                for i in range(i0, i1):
                    a0 = cols[0, i]
                    a1 = cols[1, i]
                    a2 = cols[2, i]
                    a3 = cols[3, i]
                    js = max(j0, i + 1)
                    b0 = cols[0, js:j1]
                    b1 = cols[1, js:j1]
                    b2 = cols[2, js:j1]
                    b3 = cols[3, js:j1]
                    for k in range(b0.shape[0]):
                        h[
                            popcount64(a0 ^ b0[k])
                            + popcount64(a1 ^ b1[k])
                            + popcount64(a2 ^ b2[k])
                            + popcount64(a3 ^ b3[k])
                        ] += 1
    return hist.sum(axis=0)


def pairs() -> int:
    return N * (N - 1) // 2


@pytest.fixture(scope="module", autouse=True)
def kernels_agree(codes, cols):
    """Never time a wrong answer: the three loops agree on a slice of the data (runs first)."""
    small = codes[:3000]
    small_cols = np.ascontiguousarray(cols[:, :3000])
    hist = impostor_histogram(small)
    np.testing.assert_array_equal(hist, fused_baseline(small_cols, NBITS, 1024, numba.get_num_threads()))
    assert pair_distance_sum(small) == int((hist * np.arange(NBITS + 1)).sum())


def bench_impostor_histogram(benchmark, codes):
    benchmark.group = f"impostor histogram, {N} x {NBITS}-bit, {THREADS} threads"
    hist = benchmark.pedantic(impostor_histogram, args=(codes,), rounds=ROUNDS, warmup_rounds=1)
    assert hist.sum() == pairs()
    benchmark.extra_info["pairs_per_s"] = pairs() / benchmark.stats.stats.min


def bench_distances_only_limit(benchmark, codes):
    benchmark.group = f"impostor histogram, {N} x {NBITS}-bit, {THREADS} threads"
    benchmark.pedantic(pair_distance_sum, args=(codes,), rounds=ROUNDS, warmup_rounds=1)
    benchmark.extra_info["pairs_per_s"] = pairs() / benchmark.stats.stats.min


def bench_fused_baseline(benchmark, cols):
    benchmark.group = f"impostor histogram, {N} x {NBITS}-bit, {THREADS} threads"
    args = (cols, NBITS, 1024, numba.get_num_threads())
    benchmark.pedantic(fused_baseline, args=args, rounds=ROUNDS, warmup_rounds=1)
    benchmark.extra_info["pairs_per_s"] = pairs() / benchmark.stats.stats.min


#: The named threshold of PDQ (256 bits): the one the per-image counts are asked for.
COUNTS_THRESHOLD = 31


def counts_cost_ratio(codes: np.ndarray, threshold: int, rounds: int) -> dict[str, float]:
    """The histogram alone and with per-image counts at ``threshold``, alternately; the ratio of
    their fastest rounds (same codes, same threads, same minute of a shared machine)."""

    def counted() -> None:
        _, counts = impostor_histogram_with_counts(codes, None, (threshold,))
        assert counts.shape == (1, len(codes))

    best = interleaved_min({"alone": lambda: impostor_histogram(codes), "counted": counted}, rounds)
    return {"histogram_s": best["alone"], "with_counts_s": best["counted"], "ratio": best["counted"] / best["alone"]}


def bench_per_image_counts_cost(benchmark, codes):
    """Cost of the per-image counts at one threshold, as a ratio within this run."""
    benchmark.group = "histogram with per-image counts / histogram alone (interleaved)"
    result = benchmark.pedantic(counts_cost_ratio, args=(codes, COUNTS_THRESHOLD, ROUNDS), rounds=1, warmup_rounds=1)
    benchmark.extra_info.update(result)
    print(
        f"\nper-image counts at t={COUNTS_THRESHOLD}, N={N}: histogram {result['histogram_s']:.2f} s, "
        f"with counts {result['with_counts_s']:.2f} s, ratio {result['ratio']:.3f}"
    )


def listing_cost_ratio(codes: np.ndarray, threshold: int, rounds: int, n_groups: int = 6) -> dict[str, float]:
    """The histogram alone, with per-image counts, with counts and the listed pairs, and with
    those and the per-image-by-group counts too, alternately; ratios of their fastest rounds
    (same codes, threads and minute). Matches are rare on random codes, so this checks that only
    matches touch the listing buffers and the ``n x G`` matrix."""
    labels = np.random.default_rng(1).integers(0, n_groups, len(codes))

    def listed() -> None:
        hist, _, (pl,) = impostor_pairs(codes, None, (threshold,), 10_000)
        assert pl.count == int(hist[: threshold + 1].sum())

    def grouped() -> None:
        _, _, (pl,) = impostor_pairs(codes, None, (threshold,), 10_000, groups=(labels, n_groups))
        assert pl.by_group is not None and int(pl.by_group.sum()) == 2 * pl.count

    best = interleaved_min(
        {
            "alone": lambda: impostor_histogram(codes),
            "counted": lambda: impostor_histogram_with_counts(codes, None, (threshold,)),
            "listed": listed,
            "grouped": grouped,
        },
        rounds,
    )
    return {
        "histogram_s": best["alone"],
        "with_counts_s": best["counted"],
        "with_pairs_s": best["listed"],
        "with_groups_s": best["grouped"],
        "ratio_vs_histogram": best["listed"] / best["alone"],
        "ratio_vs_counts": best["listed"] / best["counted"],
        "groups_ratio_vs_pairs": best["grouped"] / best["listed"],
    }


def bench_pair_listing_cost(benchmark, codes):
    """Cost of listing the pairs at PDQ's threshold (rare matches), as ratios within this run."""
    benchmark.group = "histogram with counts and listed pairs / histogram alone (interleaved)"
    result = benchmark.pedantic(listing_cost_ratio, args=(codes, COUNTS_THRESHOLD, ROUNDS), rounds=1, warmup_rounds=1)
    benchmark.extra_info.update(result)
    print(
        f"\npair listing at t={COUNTS_THRESHOLD}, N={N}: histogram {result['histogram_s']:.2f} s, "
        f"with counts {result['with_counts_s']:.2f} s, with counts and pairs {result['with_pairs_s']:.2f} s; "
        f"ratio {result['ratio_vs_histogram']:.3f} vs histogram, {result['ratio_vs_counts']:.3f} vs counts; "
        f"with counts by group {result['with_groups_s']:.2f} s, {result['groups_ratio_vs_pairs']:.3f} vs pairs"
    )


@pytest.mark.parametrize("nbits", [256, 64])
def bench_fraction_of_limit(benchmark, nbits):
    """Histogram and limit alternately, best of ROUNDS each: the figure quoted in reports."""
    benchmark.group = "histogram / distances-only limit (interleaved)"
    result = benchmark.pedantic(
        measure_histogram_rate,
        kwargs={"n": N, "nbits": nbits, "threads": THREADS, "rounds": ROUNDS},
        rounds=1,
        warmup_rounds=0,
    )
    for key in ("histogram_pairs_per_s", "limit_pairs_per_s", "fraction_of_limit", "threads", "pairs"):
        benchmark.extra_info[key] = result[key]
    print(
        f"\n{nbits}-bit, N={N}, {result['threads']} threads: histogram {result['histogram_pairs_per_s']:.3e} pairs/s, "
        f"limit {result['limit_pairs_per_s']:.3e} pairs/s, fraction {result['fraction_of_limit']:.3f}"
    )
