"""The one way hashbench sets how many threads numba's parallel kernels use.

numba's thread count is a per-thread setting that outlives the code that changed it; setting it
without restoring it silently slows (or oversubscribes) whatever runs next in that thread. The
context manager here always restores it, and imports numba only when entered, so importing this
module stays cheap.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["numba_threads"]


@contextlib.contextmanager
def numba_threads(n: int) -> Iterator[int]:
    """Run numba kernels on ``n`` threads inside the block (in this thread); yields the count used.

    ``n`` is clamped to ``[1, NUMBA_NUM_THREADS]``, the size of numba's pool, so asking for more
    threads than exist is not an error. The previous count is restored on exit, even on error.
    """
    import numba

    before = numba.get_num_threads()
    used = max(1, min(int(n), numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    numba.set_num_threads(used)
    try:
        yield used
    finally:
        numba.set_num_threads(before)
