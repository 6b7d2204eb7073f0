"""Reports: report.json (the record), metrics.csv, failures.csv, report.md, report.html and plots.

Everything here reads a report dict (as written to report.json) and nothing else, so
`hashbench report RUN` can re-render any run without recomputing it, and `hashbench compare`
can judge two runs from their files alone. Rates are recomputed from the stored histograms
through :mod:`hashbench.evaluate`; the report.json schema is documented in docs/report-schema.md.
"""

from .compare import Comparison, Difference, Tolerances, compare_reports, format_comparison
from .metrics import METRICS_COLUMNS, metrics_rows
from .schema import SCHEMA, TIMING_KEYS, check_report, load_report, report_path, without_timing
from .summary import summary_table
from .writers import REPORT_FILES, render_report, to_json, write_report

__all__ = [
    "write_report",
    "render_report",
    "to_json",
    "REPORT_FILES",
    "SCHEMA",
    "TIMING_KEYS",
    "load_report",
    "check_report",
    "report_path",
    "without_timing",
    "metrics_rows",
    "METRICS_COLUMNS",
    "summary_table",
    "Tolerances",
    "Difference",
    "Comparison",
    "compare_reports",
    "format_comparison",
]
