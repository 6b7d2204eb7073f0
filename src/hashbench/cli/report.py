"""`hashbench report` and `hashbench compare`: re-render a run's report files; judge two runs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import HelpFormatter

# The report package (matplotlib, scipy) is imported inside the handlers, so that
# `hashbench --help` and every other command start quickly.

REPORT_DESCRIPTION = """\
Write metrics.csv, failures.csv, report.md, report.html and plots/*.png again from a run's
report.json, without recomputing anything: after upgrading hashbench, to restore deleted files,
or to render a report.json someone sent you. RUN is a run folder (results/<run-id>) or the
report.json itself. The files go next to report.json unless --out says otherwise.
"""

COMPARE_DESCRIPTION = """\
Compare run B against baseline run A and exit 1 when B regressed beyond a tolerance, for CI.

For each hasher (and composite matcher) at its named threshold: the TPR, pooled and per
transform, regresses when it drops by more than --tolerance-tpr (absolute); the per-pair FPR
regresses when the upper end of its 95% interval rises by more than --tolerance-fpr (a
fraction). Hashing speed (images per CPU-second of each hasher) is shown but judged only when
asked: with --speed (tolerance 0.15) or --tolerance-speed F it regresses when it falls by more
than that fraction. Speeds are only comparable on the same machine.
"""

COMPARE_EPILOG = """\
examples:
  hashbench compare results/base-run results/head-run
  hashbench compare base/report.json head/report.json --tolerance-tpr 0 --json
  hashbench compare base head --speed                also fail when a hasher got >15% slower

exit codes: 0 no regression, 1 B regressed beyond a tolerance, 2 usage error (unreadable report,
different hashers)
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="re-render a run's report files from its report.json",
        description=REPORT_DESCRIPTION,
        formatter_class=HelpFormatter,
        epilog="examples:\n  hashbench report results/default-1a2b3c4d5e6f\n"
        "  hashbench report report.json --out /tmp/rendered",
    )
    p.add_argument("run", metavar="RUN", help="run folder or report.json")
    p.add_argument("--out", metavar="DIR", help="folder to write into (default: the folder of report.json)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=run_report)

    c = sub.add_parser(
        "compare",
        help="compare two runs; exit 1 if the second regressed (for CI)",
        description=COMPARE_DESCRIPTION,
        epilog=COMPARE_EPILOG,
        formatter_class=HelpFormatter,
    )
    c.add_argument("run_a", metavar="RUN_A", help="baseline: run folder or report.json")
    c.add_argument("run_b", metavar="RUN_B", help="candidate: run folder or report.json")
    c.add_argument(
        "--tolerance-tpr",
        type=float,
        default=None,
        metavar="X",
        help="largest allowed drop of a TPR, absolute (default 0.01 = 1 point)",
    )
    c.add_argument(
        "--tolerance-fpr",
        type=float,
        default=None,
        metavar="F",
        help="largest allowed rise of the per-pair FPR upper bound, as a fraction (default 0.1)",
    )
    c.add_argument(
        "--tolerance-speed",
        type=float,
        default=None,
        metavar="F",
        help="judge speed: largest allowed fall of images per CPU-second, as a fraction (default: speed not judged)",
    )
    c.add_argument(
        "--speed", action="store_true", help="judge speed with the default tolerance (a fall of more than 15%%)"
    )
    c.add_argument("--json", action="store_true", help="print the comparison as JSON (for CI) instead of a table")
    c.add_argument("--all", action="store_true", help="also list per-transform TPRs that did not change")
    c.set_defaults(func=run_compare)


def run_report(args: argparse.Namespace) -> int:
    from ..report import load_report, render_report, summary_table
    from ..report.schema import report_path

    report = load_report(args.run)
    out = Path(args.out) if args.out else report_path(args.run).parent
    written = render_report(report, out)
    if not args.quiet:
        print(summary_table(report))
        print(f"\nwrote {len(written)} files in {out}: report.html, report.md, metrics.csv, failures.csv, plots/")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from ..report import Tolerances, compare_reports, format_comparison, load_report
    from ..report.compare import DEFAULT_SPEED_TOLERANCE

    speed = args.tolerance_speed
    if speed is None and args.speed:
        speed = DEFAULT_SPEED_TOLERANCE
    given = {"tpr": args.tolerance_tpr, "fpr": args.tolerance_fpr, "speed": speed}
    tol = Tolerances(**{k: v for k, v in given.items() if v is not None})
    comp = compare_reports(load_report(args.run_a), load_report(args.run_b), tol)
    if args.json:
        print(json.dumps(comp.as_dict(), indent=1))
    else:
        print(format_comparison(comp, show_all=args.all))
    return 1 if comp.regressed else 0
