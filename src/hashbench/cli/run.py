"""`hashbench run`: the main job, a configuration run end to end into a report."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from . import HelpFormatter
from .options import add_workers

# Exit code of a run that produced a report but measured nothing (documented in EPILOG).
EXIT_NOTHING_MEASURED = 3
# How many distinct failure reasons the stderr summary shows.
SHOWN_REASONS = 5

DESCRIPTION = """\
Run a benchmark end to end: make or read the reference images, apply every edit of the
transform suite, hash everything with every hasher, measure distinct images against each other,
and write a report under OUT/<name>-<config digest>/: report.json (every figure, the config,
seed, versions and machine), metrics.csv, report.md, report.html and plots/.

With no --config it runs the embedded default: 1,000 synthetic references plus the photos
bundled with the dependencies, the default edit suite, 5,000 synthetic distractors and nine
hashers. Running the same configuration again resumes: finished chunks are not recomputed.

Configurations and reports are untrusted input: a hasher that runs a program is declared in the
config as [hashers.commands.NAME] (program = "...", nbits = N, protocol = "lines" or "nul",
exact = true for a digest whose only match is an identical hash), listed by NAME in [hashers]
names, and runs only if that exact program string is also given with --allow-command on this
command line. Nothing runs while a config is checked. The program reads image paths on stdin
and answers one hex hash (or "error REASON") per path, each ended by a newline ("lines") or a
NUL byte ("nul", for file names that hold newlines); a batch whose output passes 64 KiB + 4 KiB
per image fails with that reason.
"""

EPILOG = """\
examples:
  hashbench run                                   the embedded default (what `make demo` runs)
  hashbench run --print-default-config > my.toml  start a configuration of your own
  hashbench run --config my.toml --out results --workers 2
  hashbench run --reproduce results/default-0123abcd4567/report.json
  hashbench run --preset fpr-50b                  the 1-in-50-billion study (long)
  hashbench run --preset video-default            the video study (needs the extra video)
  hashbench run --config pd.toml --allow-command '/opt/pdq-wrapper --fast'

exit codes: 0 done; 1 --reproduce found a difference; 2 usage error (bad config, bad path);
  3 nothing could be measured (no image was hashed by any hasher: an empty folder, or every
  image failed); 4 the --cluster went away (no worker for HASHBENCH_NO_WORKER_TIMEOUT seconds,
  default 60, or the scheduler was lost): finished chunks are kept, the same command resumes.
  Whenever anything failed, a summary (count by stage, first reasons) goes to stderr.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run a benchmark configuration into a report",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument("--config", metavar="FILE", help="TOML configuration (default: the embedded default)")
    group.add_argument(
        "--preset",
        metavar="NAME",
        help="an embedded configuration: fpr-50b (exhaustive false-positive rates over 1.5e11 "
        "pairs of 550,000 images; about 45 minutes on 2 cores); video-default (the video study: 200 "
        "synthetic videos x 13 video edits, vPDQ and baselines)",
    )
    p.add_argument("--out", default="results", metavar="DIR", help="where run folders go (default: results)")
    add_workers(p, "the config's, else all CPUs")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument(
        "--cluster",
        metavar="ADDRESS|local",
        default=None,
        help="hash and count impostor pairs on a Dask cluster (a scheduler address, a scheduler file, "
        "or 'local'); needs Dask (the cluster extra); results are identical to a run here. Stops (exit 4) "
        "if the cluster has no worker for 60 s (HASHBENCH_NO_WORKER_TIMEOUT) or loses its scheduler",
    )
    p.add_argument("--print-default-config", action="store_true", help="print the embedded default TOML and exit")
    p.add_argument(
        "--print-config-schema",
        action="store_true",
        help="print the JSON Schema of a run configuration and exit (report.json's: hashbench/schemas/)",
    )
    p.add_argument(
        "--allow-command",
        metavar="PROGRAM",
        action="append",
        default=[],
        help="let a [hashers.commands.NAME] hasher of the config run PROGRAM (the exact program string; "
        "repeatable). Without it, a config or report naming a program is refused",
    )
    p.add_argument(
        "--reproduce",
        metavar="REPORT",
        help="run the configuration recorded in REPORT again from scratch and check every accuracy figure",
    )
    p.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    # Imported here, not at the top: `hashbench --help` should not pay for numba and scikit-learn.
    from ..config import default_config_text

    if args.print_default_config:
        sys.stdout.write(default_config_text())
        return 0
    if args.print_config_schema:
        import json

        from ..schemas import CONFIG_FILE, load

        sys.stdout.write(json.dumps(load(CONFIG_FILE), indent=1) + "\n")
        return 0
    if not args.reproduce:
        from ..video.runner import video_config_of  # kind = "video" configs and presets (issue 17)

        video = video_config_of(args.config, args.preset, frozenset(args.allow_command))
        if video is not None:  # before any cluster is reached: a video study refuses --cluster
            return _run_video(video, args)
    progress = False if args.no_progress else None
    if args.cluster:
        from ..cluster import session

        saved = f"finished chunks are kept under {args.out}/: run the same command again to resume"
        with session(args.cluster, saved=saved) as client:
            return _run_or_reproduce(args, progress, client)
    return _run_or_reproduce(args, progress, None)


def _run_or_reproduce(args: argparse.Namespace, progress: bool | None, client: Any) -> int:
    from ..config import load_config, load_preset
    from ..runner import reproduce, run

    allowed = frozenset(args.allow_command)
    if args.reproduce:
        outcome, diffs, versions = reproduce(
            args.reproduce,
            out_root=args.out,
            workers=args.workers,
            progress=progress,
            client=client,
            allowed_commands=allowed,
        )
        print(f"reproduced into {outcome.run_dir}")
        measured = outcome_exit_code(outcome.report)
        if versions:
            print("library versions differ from the original run (hashes may change with them):")
            for v in versions:
                print(f"  {v}")
        if diffs:
            print(f"{len(diffs)} accuracy figures differ, for example:")
            for d in diffs[:20]:
                print(f"  {d}")
            return 1
        print("every accuracy figure is identical to the original run")
        return measured
    config = load_preset(args.preset) if args.preset else load_config(args.config, allowed_commands=allowed)
    try:
        outcome = run(config, out_root=args.out, progress=progress, workers=args.workers, client=client)
    except KeyboardInterrupt:
        from ..runner import run_id

        print(
            f"hashbench: interrupted. Finished chunks are saved in {args.out}/{run_id(config)}/parts; "
            "run the same command again to resume from there.",
            file=sys.stderr,
        )
        return 130
    from ..report import summary_table

    print(summary_table(outcome.report))
    print(
        f"\nreport: {outcome.run_dir}/report.html  "
        "(also report.md, report.json, metrics.csv, metrics_by_group.csv, plots/)"
    )
    return outcome_exit_code(outcome.report)


def _run_video(config: Any, args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..video.report import summary_lines
    from ..video.runner import run_video

    if args.cluster:
        raise UsageError("--cluster is for image runs; a video study runs on this machine")

    run_dir, report = run_video(config, args.out, workers=args.workers)
    print("\n".join(summary_lines(report)))
    print(f"\nreport: {run_dir}/report.md  (every figure in video_report.json)")
    for line in failure_summary(report["failures"], "video_report.json") if report["failures"] else []:
        print(line, file=sys.stderr)
    return 0 if any(h["timing"]["frames"] for h in report["hashers"].values()) else EXIT_NOTHING_MEASURED


def outcome_exit_code(report: Mapping[str, Any]) -> int:
    """Print the failure summary of a finished run on stderr and choose its exit code.

    A run whose every image failed, or that found no image at all, still writes a report (it says
    what was tried), but a script or CI job must not mistake it for a measurement: it exits
    EXIT_NOTHING_MEASURED. Failures are summarised on stderr even when the run succeeded, so a
    partly broken dataset is never silent.
    """
    failures = report.get("inputs", {}).get("failures", [])
    if failures:
        for line in failure_summary(failures):
            print(line, file=sys.stderr)
    hashing = report.get("timing", {}).get("hashing", {})
    measured = sum(int(rate.get("images") or 0) for rate in hashing.values())
    if measured == 0:
        print(
            f"hashbench: error: nothing was measured (no image was hashed; {len(failures)} failures); "
            f"exit code {EXIT_NOTHING_MEASURED}",
            file=sys.stderr,
        )
        return EXIT_NOTHING_MEASURED
    return 0


def failure_summary(failures: Sequence[Mapping[str, Any]], listed_in: str = "failures.csv") -> list[str]:
    """Lines saying how many items failed in each stage and the most common reasons, so a user
    sees at a glance whether a dataset is broken without opening ``listed_in``, the run's file
    that lists every failure (failures.csv; video_report.json for a video study)."""
    by_stage = Counter(str(f.get("stage")) for f in failures)
    stages = ", ".join(f"{stage} {n}" for stage, n in by_stage.items())
    lines = [f"hashbench: warning: {len(failures)} failures ({stages}); every one is in {listed_in}"]
    reasons = Counter(str(f.get("reason")) for f in failures)
    for reason, n in reasons.most_common(SHOWN_REASONS):
        lines.append(f"  {n} x {reason}")
    if len(reasons) > SHOWN_REASONS:
        lines.append(f"  ... and {len(reasons) - SHOWN_REASONS} other reasons")
    return lines
