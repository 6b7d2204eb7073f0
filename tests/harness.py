"""Import the benchmark harnesses under benchmarks/ from tests (they are not in the package).

The harnesses import each other by plain module name (``from timing import numba_threads``), as
they do when pytest collects benchmarks/ or when one is run as ``python benchmarks/<name>.py``;
so the folder itself goes on ``sys.path``, once, and modules are imported by that same name.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def harness_module(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` as the module ``name`` (imported once, then cached)."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    return importlib.import_module(name)
