"""The throughput probe (benchmarks/histogram_throughput.py) runs, checks itself, and restores
numba's thread count."""

from __future__ import annotations

import numba
import numpy as np

from harness import harness_module
from hashbench.bits import hamming_matrix
from hashbench.evaluate import impostor_histogram

_throughput = harness_module("histogram_throughput")
measure_histogram_rate = _throughput.measure_histogram_rate
pair_distance_sum = _throughput.pair_distance_sum


def test_measure_histogram_rate_small():
    before = numba.get_num_threads()
    r = measure_histogram_rate(n=3000, nbits=256, threads=1, rounds=2)
    assert numba.get_num_threads() == before
    assert r["pairs"] == 3000 * 2999 // 2 and r["threads"] == 1 and r["rounds"] == 2
    assert len(r["histogram_seconds_all"]) == 2 and r["histogram_seconds"] == min(r["histogram_seconds_all"])
    assert r["histogram_pairs_per_s"] == r["pairs"] / r["histogram_seconds"] > 0
    assert r["fraction_of_limit"] == r["limit_seconds"] / r["histogram_seconds"] > 0


def test_measure_histogram_rate_odd_width():
    r = measure_histogram_rate(n=500, nbits=42, threads=None, rounds=1)
    assert r["nbits"] == 42 and r["pairs"] == 500 * 499 // 2


def test_pair_distance_sum_matches_the_histogram():
    rng = np.random.default_rng(0)
    for nbytes in (8, 32, 6, 128):
        codes = rng.integers(0, 256, size=(211, nbytes), dtype=np.uint8)
        want = int(np.triu(hamming_matrix(codes, codes), 1).sum())
        assert pair_distance_sum(codes, block=50) == want
        assert int((impostor_histogram(codes) * np.arange(8 * nbytes + 1)).sum()) == want
    assert pair_distance_sum(codes[:1]) == 0
