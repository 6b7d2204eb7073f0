"""The throughput probe runs, checks itself, and restores numba's thread count."""

from __future__ import annotations

import numba

from hashbench.evaluate import measure_histogram_rate


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
