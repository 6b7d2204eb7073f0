"""How fast the impostor histogram runs, against the ceiling measured in the same call.

Absolute pairs/s depend on the CPU and on whatever else the machine is running, so the figure
that travels is a *fraction*: the histogram's rate over the rate of the distances-only loop (the
same tiles, the same vector popcounts, no counting; ceiling_kernels.py) measured alternately in
the same call, each the best of several rounds.

Used by bench_evaluate.py and importable from a checkout (benchmarks/ on ``sys.path``); it is
not part of the installed package, which has no use for a speed probe.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from typing import Any

import numba
import numpy as np

from ceiling_kernels import pair_distance_sum_tiles
from hashbench.bits import to_words
from hashbench.evaluate import DEFAULT_BLOCK, impostor_histogram
from hashbench.evaluate._kernels import _tile_count
from timing import numba_threads

__all__ = ["measure_histogram_rate", "pair_distance_sum"]


def _columns(codes: np.ndarray) -> np.ndarray:
    """Column-major words ``cols[w, j]``, the layout both kernels scan."""
    return np.ascontiguousarray(to_words(np.asarray(codes, dtype=np.uint8)).T)


def pair_distance_sum(codes: np.ndarray, *, block: int = DEFAULT_BLOCK) -> int:
    """Sum of the distances of all pairs ``i < j``: the distances-only loop, as a callable.

    Same tiles, thread split and vector popcounts as :func:`impostor_histogram`, without the
    counting. Its speed is the ceiling the histogram is measured against; its value equals
    ``(hist * arange(nbits + 1)).sum()``, which checks both.
    """
    codes = np.asarray(codes, dtype=np.uint8)
    n = codes.shape[0]
    if n < 2:
        return 0
    cols = _columns(codes)
    n_tiles = _tile_count(n, n, block, True)
    return int(pair_distance_sum_tiles(cols, cols, block, True, 0, n_tiles, numba.get_num_threads()))


def _random_codes(n: int, nbits: int, seed: int) -> np.ndarray:
    """``n`` uniform random ``nbits``-bit codes (the unused high bits of the first byte zero)."""
    codes = np.random.default_rng(seed).integers(0, 256, size=(n, (nbits + 7) // 8), dtype=np.uint8)
    if nbits % 8:
        codes[:, 0] &= np.uint8((1 << (nbits % 8)) - 1)
    return codes


def _timed_rounds(codes: np.ndarray, nbits: int, block: int, rounds: int) -> tuple[list[float], list[float]]:
    """Histogram and distances-only loop in turns, ``rounds`` times each, after one small
    untimed call of each (compilation); checks that the two agree on every pair."""
    n = codes.shape[0]
    cols = _columns(codes)
    n_tiles = _tile_count(n, n, block, True)
    nthreads = numba.get_num_threads()
    small = codes[: min(n, 2 * block + 3)]
    impostor_histogram(small, nbits, block=block)  # warm-up / compile
    pair_distance_sum(small, block=block)
    hist_times: list[float] = []
    limit_times: list[float] = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        hist = impostor_histogram(codes, nbits, block=block)
        hist_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        distance_sum = int(pair_distance_sum_tiles(cols, cols, block, True, 0, n_tiles, nthreads))
        limit_times.append(time.perf_counter() - t0)
    if int(hist.sum()) != n * (n - 1) // 2 or int((hist * np.arange(nbits + 1)).sum()) != distance_sum:
        raise RuntimeError("histogram and distances-only loop disagree: the kernel is broken")
    return hist_times, limit_times


def measure_histogram_rate(
    n: int = 150_000,
    nbits: int = 256,
    *,
    threads: int | None = 2,
    rounds: int = 3,
    block: int = DEFAULT_BLOCK,
    seed: int = 0,
) -> dict[str, Any]:
    """Pairs/s of :func:`impostor_histogram` on ``n`` random ``nbits`` codes, and its ceiling.

    Runs ``rounds`` alternating rounds of the histogram and of the distances-only loop (after
    one small warm-up call of each, so compilation is not timed) and keeps each one's fastest
    round. ``threads`` sets numba's thread count for the call (``None``: leave it); it is
    restored afterwards. The histogram is checked to hold ``n * (n - 1) / 2`` pairs.

    Returns ``pairs``, ``histogram_seconds``, ``histogram_pairs_per_s``, ``limit_seconds``,
    ``limit_pairs_per_s``, ``fraction_of_limit`` and the conditions of the run.
    """
    if n < 2 or rounds < 1:
        raise ValueError("need n >= 2 and rounds >= 1")
    codes = _random_codes(n, nbits, seed)
    pairs = n * (n - 1) // 2
    with numba_threads(threads) if threads is not None else contextlib.nullcontext():
        nthreads = numba.get_num_threads()
        hist_times, limit_times = _timed_rounds(codes, nbits, block, rounds)
    hist_s = min(hist_times)
    limit_s = min(limit_times)
    return {
        "n": n,
        "nbits": nbits,
        "pairs": pairs,
        "threads": nthreads,
        "block": block,
        "rounds": rounds,
        "histogram_seconds": hist_s,
        "histogram_pairs_per_s": pairs / hist_s,
        "limit_seconds": limit_s,
        "limit_pairs_per_s": pairs / limit_s,
        "fraction_of_limit": limit_s / hist_s,
        "histogram_seconds_all": hist_times,
        "limit_seconds_all": limit_times,
        "cpu": numba.config.CPU_NAME or _host_cpu(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }


def _host_cpu() -> str:
    import llvmlite.binding as llvm

    return str(llvm.get_host_cpu_name())
