"""Write a run's report files from its report dict.

``write_report(report, run_dir)`` writes report.json and then renders every other file *from the
JSON it just wrote*, read back: so a run's files and ``hashbench report RUN`` (which re-renders from
report.json) are byte for byte the same. Files in ``run_dir``:

* ``report.json``: the record (NaN and infinity written as null);
* ``metrics.csv``: rates at every threshold, long format (:func:`hashbench.report.metrics.metrics_rows`);
* ``metrics_by_group.csv``: per-pair FPR within each image group at every threshold
  (:func:`hashbench.report.metrics.group_metrics_rows`; header only with a single group);
* ``failures.csv``: every image or hash that failed (header only when none did);
* ``report.md`` and ``report.html``: the same content (:mod:`.document`), the HTML self-contained;
* ``plots/*.png``: the figures (:mod:`.plots`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_bytes, atomic_write_text
from ..schema import Report
from .document import build_document
from .html import render_html
from .markdown import render_markdown
from .metrics import (
    FAILURE_COLUMNS,
    GROUP_METRICS_COLUMNS,
    METRICS_COLUMNS,
    failure_rows,
    group_metrics_rows,
    metrics_rows,
)
from .plots import render_plots
from .schema import REPORT_FILE, check_report

__all__ = ["write_report", "render_report", "to_json", "REPORT_FILES"]

#: Every file a report consists of (plots/ holds one PNG per entry of ``hashbench.report.plots.PLOTS``).
REPORT_FILES: tuple[str, ...] = (
    REPORT_FILE,
    "metrics.csv",
    "metrics_by_group.csv",
    "failures.csv",
    "report.md",
    "report.html",
    "plots",
)


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


def to_json(report: Mapping[str, Any]) -> str:
    return json.dumps(_clean(report), indent=1, sort_keys=False, allow_nan=False) + "\n"


def _readable(path: Path) -> None:
    """Give a written file the usual permissions (0644 under umask 022): the atomic writer's
    temporary files are private (0600), but reports are meant to be shared and served."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def _csv(columns: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def render_report(report: Report, out_dir: str | Path) -> list[Path]:
    """Write every file except report.json into ``out_dir`` from a report dict; returns the paths.

    ``report`` should be as read from report.json (``hashbench.report.load_report``): that is
    what makes two renderings of one run identical.
    """
    check_report(report)
    out = Path(out_dir)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def put(name: str, data: str | bytes) -> None:
        path = out / name
        if isinstance(data, bytes):
            atomic_write_bytes(path, data)
        else:
            atomic_write_text(path, data)
        _readable(path)
        written.append(path)

    put("metrics.csv", _csv(METRICS_COLUMNS, metrics_rows(report)))
    put("metrics_by_group.csv", _csv(GROUP_METRICS_COLUMNS, group_metrics_rows(report)))
    put("failures.csv", _csv(FAILURE_COLUMNS, failure_rows(report)))
    plots = render_plots(report)
    for name, png in plots.items():
        put(f"plots/{name}", png)
    blocks = build_document(report)
    put("report.md", render_markdown(blocks))
    put("report.html", render_html(blocks, plots, title=f"hashbench report: {report['run_id']}"))
    return written


def write_report(report: Report, run_dir: str | Path) -> Path:
    """Write report.json and render every other report file from it into ``run_dir``."""
    out = Path(run_dir)
    text = to_json(report)
    atomic_write_text(out / REPORT_FILE, text)
    _readable(out / REPORT_FILE)
    render_report(json.loads(text), out)
    return out
