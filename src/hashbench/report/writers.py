"""Write a run's report files from its report dict."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..checkpoint import atomic_write_text

__all__ = ["write_report", "to_json"]


def _clean(x: Any) -> Any:
    """JSON has no NaN or infinity: write them as null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if hasattr(x, "item") and callable(x.item):  # numpy scalars
        return _clean(x.item())
    return x


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(_clean(report), indent=1, sort_keys=False, allow_nan=False) + "\n"


def write_report(report: dict[str, Any], run_dir: str | Path) -> Path:
    out = Path(run_dir)
    atomic_write_text(out / "report.json", to_json(report))
    return out
