"""Reports: report.json (the record), metrics.csv, report.md, report.html and plots.

Everything here reads a report dict (as written to report.json) and nothing else, so
`hashbench report RUN` can re-render any run without recomputing it.
"""

from .writers import write_report

__all__ = ["write_report"]
