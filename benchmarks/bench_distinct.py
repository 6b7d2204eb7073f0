"""Distinct synthetic draws at scale: 20,000 draws per family at the default size (256 x 256).

The suite checks 2,000 draws per family at 32 x 32 (tests/test_datasets_distinct.py); this is the
acceptance check of issue 15 at the default size, too slow for the suite (it generates 120,000
images twice). Run: ``.venv/bin/python -m pytest benchmarks/bench_distinct.py --benchmark-only -s``
(``HASHBENCH_DISTINCT_N`` overrides 20,000). It reports, per family, the search's seconds, the
redraws and, after the search, a check of every pair against the criterion (pairs whose mean
colours are within the floor get the full check: the mean colours' distance bounds the criterion).
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from hashbench.datasets.distinct import FLOOR, difference, signature
from hashbench.datasets.synthetic import ALL_FAMILIES, SyntheticDataset, generate

N = int(float(os.environ.get("HASHBENCH_DISTINCT_N", "20000")))
SIZE = 256


def _no_same_picture(sigs: np.ndarray) -> int:
    """Number of pairs below the floor (must be 0), by blocks of rows against all later rows."""
    q = sigs.reshape(len(sigs), -1, 3).astype(np.float64)
    means = np.stack([q[..., 0].mean(1) / 2.55, q[..., 1].mean(1) - 128, q[..., 2].mean(1) - 128], axis=1)
    found = 0
    for i in range(0, len(sigs), 1000):
        gap = np.sqrt(((means[i : i + 1000, None, :] - means[None, :, :]) ** 2).sum(axis=2))
        a, b = np.nonzero(gap < FLOOR)
        keep = b > a + i
        a, b = a[keep] + i, b[keep]
        found += int((difference(sigs[a], sigs[b]) < FLOOR).sum())
    return found


@pytest.mark.parametrize("family", ALL_FAMILIES)
def bench_distinct_draws(benchmark, family):
    benchmark.group = f"distinct draws, {N} per family, {SIZE}x{SIZE}"
    ds = SyntheticDataset(family, count=N, seed=0, size=SIZE)
    t0 = time.perf_counter()
    red = benchmark.pedantic(ds.redraws, rounds=1, warmup_rounds=0)
    search_s = time.perf_counter() - t0
    sigs = np.stack([signature(generate(family, i, 0, SIZE, int(red[i]))) for i in range(N)])
    same = _no_same_picture(sigs)
    benchmark.extra_info.update({"redrawn": int((red > 0).sum()), "redraws": int(red.sum()), "same_pairs": same})
    print(f"\n{family}: {N} draws in {search_s:.0f} s, {int((red > 0).sum())} redrawn, pairs below the floor: {same}")
    assert same == 0
