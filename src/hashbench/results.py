"""A run's results as pandas DataFrames: ``hashbench.results.load("results/<run-id>")``.

Why: perception and PHASER users look at benchmark results as DataFrames; this gives them
hashbench's the same way without learning the report.json layout. Everything comes from the run
folder: the tables are rebuilt from report.json by the code that writes metrics.csv,
metrics_by_group.csv and failures.csv (so they agree with those files, with numeric columns
typed), ``false_matches`` is read from ``false_matches.csv`` when the run folder has one, and
``per_image`` from ``per_image.csv`` (or ``per_image.csv.gz``, as a committed run keeps it).

pandas is an optional dependency (the ``pandas`` extra): without it, :func:`load` says so in one
line.

Columns: ``metrics`` and ``metrics_by_group`` as ``METRICS_COLUMNS`` / ``GROUP_METRICS_COLUMNS``
of :mod:`hashbench.report.metrics` (docs/report-schema.md); ``failures``: stage, id, hasher,
reason; ``false_matches``: :data:`FALSE_MATCH_COLUMNS` (hasher or composite, threshold, the two
ids, their distance, qualities and groups, and whether the quality gate removed the pair), empty
with those columns when the run wrote no false_matches.csv; ``per_image``: id, set, group and one
column per matcher (each image's false matches; NaN where the matcher did not hash it), None
when the run wrote no per_image file.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UsageError
from .report.metrics import (
    FAILURE_COLUMNS,
    GROUP_METRICS_COLUMNS,
    METRICS_COLUMNS,
    failure_rows,
    group_metrics_rows,
    metrics_rows,
)
from .report.schema import load_report, report_path
from .report.writers import FALSE_MATCH_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

    from .schema import Report

__all__ = ["Results", "load", "FALSE_MATCH_COLUMNS"]


@dataclass(frozen=True)
class Results:
    """One run: ``report`` (report.json as a dict) and its tables as DataFrames."""

    run_dir: Path
    report: Report
    metrics: pd.DataFrame
    metrics_by_group: pd.DataFrame
    failures: pd.DataFrame
    false_matches: pd.DataFrame
    per_image: pd.DataFrame | None = None

    def __repr__(self) -> str:
        return (
            f"Results({self.report.get('run_id', self.run_dir.name)!r}: {len(self.metrics)} metric rows, "
            f"{len(self.failures)} failures, {len(self.false_matches)} false matches)"
        )


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise UsageError(
            "hashbench.results needs pandas: pip install pandas (or install hashbench with its [pandas] extra)"
        ) from None
    return pandas


def load(run_dir: str | Path) -> Results:
    """The results of the run in ``run_dir`` (its folder, or its report.json)."""
    pd = _pandas()
    folder = report_path(run_dir).parent
    report = load_report(run_dir)

    def frame(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> Any:
        """Rows as the CSV files hold them ("" for a missing value), typed: numbers as numbers, NaN when missing."""
        df = pd.DataFrame.from_records(rows, columns=list(columns))
        for c in df.columns:
            col = df[c].map(lambda v: None if v == "" else v)
            try:
                df[c] = pd.to_numeric(col)
            except (ValueError, TypeError):
                df[c] = col
        return df

    false_path = folder / "false_matches.csv"
    false_matches = _item_table(pd, false_path) if false_path.is_file() else frame([], FALSE_MATCH_COLUMNS)
    per_image_path = next((p for p in (folder / "per_image.csv", folder / "per_image.csv.gz") if p.is_file()), None)
    return Results(
        run_dir=folder,
        report=report,
        metrics=frame(metrics_rows(report), METRICS_COLUMNS),
        metrics_by_group=frame(group_metrics_rows(report), GROUP_METRICS_COLUMNS),
        failures=frame(failure_rows(report), FAILURE_COLUMNS),
        false_matches=false_matches,
        per_image=None if per_image_path is None else _item_table(pd, per_image_path),
    )


def _item_table(pd: Any, path: Path) -> Any:
    """A per-item file (docs/report-schema.md) as a DataFrame, gzip'd or not. Its leading ``#``
    lines state the true counts and are skipped; not with pandas' ``comment="#"``, which would
    cut every id holding a ``#`` short."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        table = io.StringIO("".join(ln for ln in fh if not ln.startswith("#")))
    return pd.read_csv(table, keep_default_na=False, na_values=[""])
