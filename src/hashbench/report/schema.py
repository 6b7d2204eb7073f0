"""The report.json contract: which schema this code reads, how to load it, which keys are timing.

docs/report-schema.md documents every key and :mod:`hashbench.schema` types it (the schema name
and the key lists are defined there, once). This module holds what code needs to read it: a
loader that turns every way a file can be wrong into one clear
:class:`~hashbench.errors.UsageError`, and the two views of a report that two runs of the same
configuration and seed must agree on: :func:`without_timing` (everything but timings, dates and,
if asked, the machine) and :func:`accuracy_part` / :func:`accuracy_differences` (the accuracy
figures and inputs only), so tests, ``compare`` and ``run --reproduce`` leave the rest out.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, cast

from ..errors import UsageError
from ..schema import ACCURACY_KEYS, MACHINE_KEYS, REPORT_KEYS, SCHEMA, TIMING_KEYS, HasherEvaluation, Report

__all__ = [
    "SCHEMA",
    "REPORT_FILE",
    "TIMING_KEYS",
    "MACHINE_KEYS",
    "report_path",
    "load_report",
    "check_report",
    "without_timing",
    "ACCURACY_KEYS",
    "accuracy_part",
    "accuracy_differences",
]

REPORT_FILE = "report.json"

# What every part of the report writers and ``compare`` read; checked up front so a wrong
# file fails with the missing key named instead of a KeyError deep inside a table. Both lists
# come from the typed shape (:mod:`hashbench.schema`): the keys every report always has.
_REQUIRED_TOP = REPORT_KEYS
_REQUIRED_HASHER = tuple(k for k in HasherEvaluation.__annotations__ if k in HasherEvaluation.__required_keys__)


def report_path(run: str | Path) -> Path:
    """The report.json of ``run``: a run folder (``results/<run-id>``) or the file itself."""
    p = Path(run)
    if p.is_dir():
        return p / REPORT_FILE
    return p


def load_report(run: str | Path) -> Report:
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
    # JSON is untyped; check_report has just checked, at run time, the keys every reader needs
    return cast(Report, report)


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


def without_timing(report: Report, *, machine: bool = False) -> dict[str, Any]:
    """A deep copy of ``report`` without its timing-only keys (and the machine's, if asked).

    Two runs of the same configuration and seed give equal results here. The complement of
    :func:`accuracy_part` up to the identity keys (``schema``, ``run_id``); both read the key
    lists of :mod:`hashbench.schema`.
    """
    dropped = TIMING_KEYS + (MACHINE_KEYS if machine else ())
    return copy.deepcopy({k: v for k, v in report.items() if k not in dropped})


def accuracy_part(report: Report) -> dict[str, Any]:
    """The accuracy figures and inputs of ``report`` (:data:`ACCURACY_KEYS`) as plain JSON values.

    Round-tripped through the report's JSON writer, so an in-memory report (numpy scalars, NaN)
    and the same report read back from report.json compare equal.
    """
    from .writers import to_json  # the writers pull in plotting; only needed here

    result: dict[str, Any] = json.loads(to_json({k: report.get(k) for k in ACCURACY_KEYS}))
    return result


def accuracy_differences(report_a: Report, report_b: Report, limit: int = 50) -> list[str]:
    """Every accuracy figure that differs between two reports (at most ``limit``), by key path.

    Timing and machine fields are ignored: an empty list means the two runs measured the same.
    """
    out: list[str] = []
    _differences(accuracy_part(report_a), accuracy_part(report_b), "report", out, limit)
    return out


def _differences(a: Any, b: Any, path: str, out: list[str], limit: int) -> None:
    if len(out) >= limit:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: present in only one report")
            else:
                _differences(a[k], b[k], f"{path}.{k}", out, limit)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} entries vs {len(b)}")
        else:
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                _differences(x, y, f"{path}[{i}]", out, limit)
    elif a != b:
        out.append(f"{path}: {a!r} vs {b!r}")
