"""Timing helpers shared by the benchmark suites (imported by them; pytest puts this folder on
sys.path for the files it collects here)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numba

__all__ = ["interleaved_min", "numba_threads"]


@contextmanager
def numba_threads(n: int) -> Iterator[None]:
    """numba kernels use ``n`` threads (at most numba's pool) inside, the previous count after:
    every suite measures on the same 2 threads whatever ran before it."""
    before = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(before)


def interleaved_min(fns: dict[str, Callable[[], object]], rounds: int, *, warmup: bool = False) -> dict[str, float]:
    """Minimum wall time of each function over ``rounds``, run alternately so that load from
    other processes hits every one alike: the basis of every same-run ratio in benchmarks/.
    ``warmup`` makes one untimed call of each first (numba compilation, caches)."""
    if warmup:
        for fn in fns.values():
            fn()
    best = {k: float("inf") for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t)
    return best
