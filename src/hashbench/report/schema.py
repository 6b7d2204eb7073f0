"""The report.json contract: which schema this code reads, how to load it, which keys are timing.

docs/report-schema.md documents every key. This module holds what code needs from that
contract: the schema name, a loader that turns every way a file can be wrong into one clear
:class:`~hashbench.errors.UsageError`, and the list of fields that change from one run of the same
configuration and seed to the next (timings, dates, the machine), so tests and ``compare`` can
leave them out.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from ..errors import UsageError

__all__ = [
    "SCHEMA",
    "REPORT_FILE",
    "TIMING_KEYS",
    "MACHINE_KEYS",
    "report_path",
    "load_report",
    "check_report",
    "without_timing",
]

#: The schema this package reads and writes (``report["schema"]``).
SCHEMA = "hashbench.report/1"
REPORT_FILE = "report.json"

#: Top-level keys whose contents are timing-only: they differ between two runs of the same
#: configuration and seed, and nothing else in report.json does (apart from MACHINE_KEYS when
#: the runs were on different machines or software versions).
TIMING_KEYS: tuple[str, ...] = ("timing",)
#: Top-level keys that describe where the run happened rather than what it measured.
MACHINE_KEYS: tuple[str, ...] = ("environment",)

# What every part of the report writers and ``compare`` read; checked up front so a wrong
# file fails with the missing key named instead of a KeyError deep inside a table.
_REQUIRED_TOP = ("schema", "run_id", "config", "seed", "environment", "inputs", "hashers", "composites", "timing")
_REQUIRED_HASHER = (
    "nbits",
    "matching",
    "threshold",
    "counts",
    "transforms",
    "impostor",
    "per_query",
    "at_threshold",
    "operating_points",
    "summary",
)


def report_path(run: str | Path) -> Path:
    """The report.json of ``run``: a run folder (``results/<run-id>``) or the file itself."""
    p = Path(run)
    if p.is_dir():
        return p / REPORT_FILE
    return p


def load_report(run: str | Path) -> dict[str, Any]:
    """Read and check a report.json (``run``: the file or its run folder)."""
    path = report_path(run)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        hint = " (a run folder must hold report.json)" if Path(run).is_dir() else ""
        raise UsageError(f"{path}: no such file{hint}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        report = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); is it a hashbench report.json?"
        ) from None
    check_report(report, origin=str(path))
    return report


def check_report(report: Any, origin: str = "report") -> None:
    """Raise :class:`UsageError` naming the first missing key or unknown schema."""
    if not isinstance(report, dict):
        raise UsageError(f"{origin}: expected a JSON object (a hashbench report), got {type(report).__name__}")
    schema = report.get("schema")
    if schema != SCHEMA:
        raise UsageError(f"{origin}: schema is {schema!r}; this hashbench reads {SCHEMA!r}")
    missing = [k for k in _REQUIRED_TOP if k not in report]
    if missing:
        raise UsageError(f"{origin}: missing key(s) {', '.join(missing)}")
    if not isinstance(report["hashers"], dict) or not report["hashers"]:
        raise UsageError(f"{origin}: 'hashers' is empty; the report has nothing to show")
    for name, h in report["hashers"].items():
        lacking = [k for k in _REQUIRED_HASHER if k not in h]
        if lacking:
            raise UsageError(f"{origin}: hashers.{name} lacks {', '.join(lacking)}")


def without_timing(report: dict[str, Any], *, machine: bool = False) -> dict[str, Any]:
    """A deep copy of ``report`` without its timing-only keys (and the machine's, if asked).

    Two runs of the same configuration and seed give equal results here.
    """
    out = copy.deepcopy(report)
    for key in TIMING_KEYS + (MACHINE_KEYS if machine else ()):
        out.pop(key, None)
    return out
