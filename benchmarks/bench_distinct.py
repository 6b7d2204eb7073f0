"""Distinct synthetic draws: the search alone against the previous search, and 20,000 draws per
family at the default size (256 x 256).

``bench_distinct_search`` (small, in seconds): the redraw search of ``SEARCH_N`` = 4,000 draws
(64 x 64, first draws and redraws generated once beforehand, so only the search is timed) by
:func:`~hashbench.datasets.synthetic.redraw_search` (numba cells, batches) against the baseline
measured in the same run, interleaved with it: the previous search, a Python dict of lists of
ints keyed by tuples, ``find`` then ``add`` one draw at a time (:class:`BaselineDistinctSet`,
kept here verbatim). Both must give the same redraw counts. ``HASHBENCH_DISTINCT_SEARCH_N``
overrides 4,000.

``bench_distinct_draws``:
the suite checks 2,000 draws per family at 32 x 32 (tests/test_datasets_distinct.py); this is the
acceptance check of issue 15 at the default size, too slow for the suite (it generates 120,000
images twice). Run: ``.venv/bin/python -m pytest benchmarks/bench_distinct.py --benchmark-only -s``
(``HASHBENCH_DISTINCT_N`` overrides 20,000). It reports, per family, the search's seconds, the
redraws and, after the search, a check of every pair against the criterion (pairs whose mean
colours are within the floor get the full check: the mean colours' distance bounds the criterion).
"""

from __future__ import annotations

import functools
import os
import time
from collections import defaultdict
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pytest

from hashbench.datasets.distinct import _LIPSCHITZ, _PIVOT, FLOOR, GRID, _dequantised, difference, signature
from hashbench.datasets.synthetic import ALL_FAMILIES, SyntheticDataset, generate, redraw_search
from timing import interleaved_min

N = int(float(os.environ.get("HASHBENCH_DISTINCT_N", "20000")))
SIZE = 256
SEARCH_N = int(float(os.environ.get("HASHBENCH_DISTINCT_SEARCH_N", "4000")))
SEARCH_SIZE = (64, 64)


def _baseline_features(sig: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    lab = _dequantised(sig).reshape(GRID, GRID, 3)
    h = GRID // 2
    quads = [lab[:h, :h], lab[:h, h:], lab[h:, :h], lab[h:, h:]]
    pivot = float(difference(sig, _PIVOT))
    return np.concatenate([lab.reshape(-1, 3).mean(axis=0), *[q.reshape(-1, 3).mean(axis=0) for q in quads], [pivot]])


class BaselineDistinctSet:
    """The search before the numba cells (session 3), verbatim: the baseline of the benchmark."""

    def __init__(self, floor: float = FLOOR) -> None:
        self.floor = float(floor)
        self._sigs = np.zeros((1024, GRID * GRID * 3), np.uint8)
        self._feats = np.zeros((1024, len(_LIPSCHITZ)), np.float32)
        self._n = 0
        self._cells: defaultdict[tuple[int, ...], list[int]] = defaultdict(list)

    def _key(self, feats: npt.NDArray[np.float32]) -> tuple[int, ...]:
        return tuple(int(v) for v in np.floor(feats[[0, 1, 2, 15]] / self.floor))

    def _neighbours(self, key: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
        for dl in (-1, 0, 1):
            for da in (-1, 0, 1):
                for db in (-1, 0, 1):
                    for dp in (-1, 0, 1):
                        yield (key[0] + dl, key[1] + da, key[2] + db, key[3] + dp)

    def find(self, sig: npt.NDArray[np.uint8]) -> int:
        feats = _baseline_features(sig)
        cand_lists = [self._cells[k] for k in self._neighbours(self._key(feats)) if k in self._cells]
        if not cand_lists:
            return -1
        cand = np.sort(np.concatenate([np.asarray(c, np.int64) for c in cand_lists]))
        close = np.all(np.abs(self._feats[cand] - feats) < _LIPSCHITZ * self.floor, axis=1)
        cand = cand[close]
        if len(cand) == 0:
            return -1
        same = cand[difference(self._sigs[cand], sig) < self.floor]
        return int(same[0]) if len(same) else -1

    def add(self, sig: npt.NDArray[np.uint8]) -> int:
        if self._n == len(self._sigs):
            self._sigs = np.concatenate([self._sigs, np.zeros_like(self._sigs)])
            self._feats = np.concatenate([self._feats, np.zeros_like(self._feats)])
        feats = _baseline_features(sig)
        self._sigs[self._n] = sig
        self._feats[self._n] = feats
        self._cells[self._key(feats)].append(self._n)
        self._n += 1
        return self._n - 1


def baseline_search(firsts: npt.NDArray[np.uint8], redraw) -> npt.NDArray[np.int32]:  # type: ignore[no-untyped-def]
    """The previous loop of ``distinct_redraws``: ``find`` then ``add``, one draw at a time."""
    accepted, out = BaselineDistinctSet(), np.zeros(len(firsts), np.int32)
    for i, sig in enumerate(firsts):
        r = 0
        while accepted.find(sig) >= 0:
            r += 1
            sig = redraw(i, r)
        accepted.add(sig)
        out[i] = r
    return out


@pytest.mark.parametrize("family", ["mixed", "low-detail", "text"])
def bench_distinct_search(benchmark, family):
    """The search alone on SEARCH_N pre-generated draws: new against the baseline, same counts."""
    firsts = np.stack([signature(generate(family, i, 0, SEARCH_SIZE)) for i in range(SEARCH_N)])
    redraw = functools.cache(lambda i, r: signature(generate(family, i, 0, SEARCH_SIZE, r)))
    want = baseline_search(firsts, redraw)  # also generates every redraw the searches will ask for
    np.testing.assert_array_equal(redraw_search(iter(firsts), SEARCH_N, redraw), want)  # and compiles
    best = interleaved_min(
        {
            "search": lambda: redraw_search(iter(firsts), SEARCH_N, redraw),
            "baseline": lambda: baseline_search(firsts, redraw),
        },
        rounds=3,
    )
    benchmark.group = f"distinct search, {SEARCH_N} draws"
    benchmark.pedantic(redraw_search, args=(iter(firsts), SEARCH_N, redraw), rounds=1, warmup_rounds=0)
    ratio = best["baseline"] / best["search"]
    benchmark.extra_info.update(
        redrawn=int((want > 0).sum()),
        search_us_per_draw=round(1e6 * best["search"] / SEARCH_N, 2),
        baseline_us_per_draw=round(1e6 * best["baseline"] / SEARCH_N, 2),
        speedup_vs_baseline=round(ratio, 2),
    )
    print(
        f"\n{family:10s} {SEARCH_N} draws: search {best['search']:.3f} s, "
        f"baseline {best['baseline']:.3f} s, {ratio:.1f}x"
    )


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
