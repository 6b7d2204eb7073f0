"""How many CPUs and how much memory hashbench may use: the one answer every parallel stage shares."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["default_workers", "available_memory", "worker_memory"]


def default_workers() -> int:
    """Worker processes to use by default: the CPUs this process may run on (its affinity mask,
    which container limits and `taskset` set, rather than the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def available_memory() -> int | None:
    """Bytes this process may still allocate: the least of what the kernel says is available
    (``MemAvailable``; elsewhere ``os.sysconf``'s free pages) and what the cgroup (a container's
    memory limit) leaves; None when nothing says."""
    found: list[int] = []
    try:
        with open("/proc/meminfo") as fh:
            found += [int(line.split()[1]) * 1024 for line in fh if line.startswith("MemAvailable:")]
    except (OSError, ValueError, IndexError):
        pass
    if not found:
        with contextlib.suppress(AttributeError, ValueError, OSError):
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit != "max":
            found.append(int(limit) - int(used))
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def worker_memory(workers: int, *, env: str = "HASHBENCH_WORKER_MEMORY") -> int | None:
    """Each of ``workers`` processes' share of the available memory; the variable ``env`` (bytes)
    wins, for tests and for machines whose other tenants the kernel cannot see."""
    if os.environ.get(env):
        return int(float(os.environ[env]))
    avail = available_memory()
    return None if avail is None else max(1, avail // max(1, workers))
