"""How many CPUs hashbench may use: the one answer every parallel stage shares."""

from __future__ import annotations

import os

__all__ = ["default_workers"]


def default_workers() -> int:
    """Worker processes to use by default: the CPUs this process may run on (its affinity mask,
    which container limits and `taskset` set, rather than the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)
