"""What a result was made with: package versions, machine, and digests of the inputs.

Every report records this so that a figure can be traced to the code, libraries and images
that produced it, and a re-run (`hashbench run --reproduce`) can say when something differs.
Hash values change with Pillow, pdqhash and imagehash versions, so those are always recorded.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import sys
from collections.abc import Iterable
from typing import Any

from . import __version__

__all__ = ["package_versions", "machine", "environment", "digest_lines", "TRACKED_PACKAGES"]

TRACKED_PACKAGES = (
    "numpy",
    "pillow",
    "pdqhash",
    "imagehash",
    "numba",
    "llvmlite",
    "scipy",
    "scikit-learn",
    "scikit-image",
    "pyarrow",
    "matplotlib",
    "pywavelets",
)


def package_versions() -> dict[str, str]:
    """hashbench, Python and the libraries whose versions can change a result."""
    out = {"hashbench": __version__, "python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def machine() -> dict[str, Any]:
    """The machine a run used: enough to tell two machines apart, nothing personal."""
    cpus: int | None  # os.cpu_count() may not know
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        cpus = os.cpu_count()
    mem = _memory_bytes()
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpus_available": cpus,
        "memory_gib": round(mem / 2**30, 1) if mem else None,
        "python_implementation": sys.implementation.name,
    }


def environment() -> dict[str, Any]:
    return {"versions": package_versions(), "machine": machine()}


def digest_lines(lines: Iterable[str]) -> str:
    """SHA-256 over lines (each newline-terminated): a digest of an input manifest."""
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode("utf-8", "backslashreplace"))
        h.update(b"\n")
    return h.hexdigest()
