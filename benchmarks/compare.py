"""The CI speed gate: time a base and a head in the same job, interleaved, and compare minima.

``make bench-compare BASE=<git ref> [TOLERANCE=0.15] [ROUNDS=3] [TIMER=cpu]`` runs::

    python benchmarks/compare.py --base REF --tolerance 0.15 --rounds 3 --timer cpu

1. ``git worktree add`` checks BASE out into a temporary folder (removed afterwards).
2. The same benchmark selection (the head's ``benchmarks/``, ``-m gate`` by default) runs
   ``ROUNDS`` times for each side, alternating base, head, base, head, ... Both sides use this
   virtualenv; only ``PYTHONPATH`` differs: the base's ``src/`` for the base, this tree's ``src/``
   for the head. Before timing anything the driver checks that ``hashbench.__file__`` resolves
   there, and every JSON records it again (benchmarks/conftest.py), so a run that timed the
   wrong code aborts instead of passing.
3. For each benchmark, the smallest time over every round of a side (pytest-benchmark's ``min``
   of each run, with a warm-up round, so numba compile time stays out) is that side's figure.
   Benchmarks whose ``head / base`` is above ``1 + tolerance`` are run again for both sides, in
   turns, up to ``--confirm-rounds`` times; what is still above it then is a regression and the
   exit status is 1.

Why this way: on a shared, noisy machine the minimum is the least disturbed figure, and timing
both sides in turns exposes them to the same load. Noise only adds time, so re-measuring clears
a false alarm but never hides a real slowdown. The default timer is the process's CPU time
(every thread), which does not count the time spent waiting for a core while other processes
run; ``--timer wall`` on a quiet, dedicated runner also sees work moving to fewer threads.
Numbers from another machine or another job are never compared. A benchmark that is new in the
head (fails or is missing on the base) is reported, not judged.

``--head-env KEY=VALUE`` sets a variable for the head's runs only: the demonstration of the gate
(benchmarks/demo_gate.sh) slows the head on purpose with ``HASHBENCH_BENCH_FLAT_QUERY_BLOCK=1``,
which benchmarks/conftest.py turns into a patch of the head's FlatIndex.
Exit status: 0 no regression, 1 regression or the head's benchmarks failed, 2 usage or setup
error (bad ref, wrong code imported).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "results" / "benchmarks" / "compare"
DEFAULT_TOLERANCE = 0.15
DEFAULT_ROUNDS = 3
DEFAULT_CONFIRM_ROUNDS = 3
#: pytest-benchmark timers. CPU time of the process (every thread) does not count the time a
#: benchmark waits while other processes run, which dominates wall time on a shared machine.
TIMERS: dict[str, str] = {"cpu": "time.process_time", "wall": "time.perf_counter"}
DEFAULT_TIMER = "cpu"

#: Sizes the gate runs at (the suites' own defaults are larger): a 1M-code database still
#: exceeds the L2 by far, so index scans stay memory-sensitive; 50,000 codes are 1.2e9 pairs.
GATE_ENV: dict[str, str] = {"HASHBENCH_INDEX_N": "1000000", "HASHBENCH_EVALUATE_N": "50000"}


class SetupError(Exception):
    """Something other than a slowdown went wrong (bad ref, wrong code imported): exit 2."""


# ------------------------------------------------------------------------------------------------
# comparison (pure: tested on synthetic pytest-benchmark JSON)


@dataclass(frozen=True)
class Row:
    """One benchmark: each side's minimum over all its rounds, and the verdict."""

    name: str
    base_min: float | None
    head_min: float | None
    verdict: str  # "ok", "faster", "slower", "new" (no base figure), "missing" (no head figure)
    base_mins: tuple[float, ...] = ()
    head_mins: tuple[float, ...] = ()

    @property
    def ratio(self) -> float | None:
        if self.base_min is None or self.head_min is None or self.base_min <= 0:
            return None
        return self.head_min / self.base_min

    @property
    def regressed(self) -> bool:
        return self.verdict in ("slower", "missing")


@dataclass
class Comparison:
    tolerance: float
    rows: list[Row] = field(default_factory=list)

    @property
    def regressions(self) -> list[Row]:
        return [r for r in self.rows if r.regressed]

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tolerance": self.tolerance,
            "regressed": self.regressed,
            "regressions": [r.name for r in self.regressions],
            "benchmarks": [dict(asdict(r), ratio=r.ratio) for r in self.rows],
        }


def minima(run: Mapping[str, Any]) -> dict[str, float]:
    """``{fullname: min seconds}`` of one pytest-benchmark JSON document."""
    out: dict[str, float] = {}
    for b in run.get("benchmarks", []):
        stats = b.get("stats") or {}
        if stats.get("min") is not None:
            out[b.get("fullname") or b["name"]] = float(stats["min"])
    return out


def compare_runs(
    base_runs: Sequence[Mapping[str, Any]], head_runs: Sequence[Mapping[str, Any]], tolerance: float = DEFAULT_TOLERANCE
) -> Comparison:
    """Judge head against base on each benchmark's minimum over all rounds of each side.

    ``head_min > base_min * (1 + tolerance)`` is ``slower`` (a regression);
    ``head_min < base_min / (1 + tolerance)`` is ``faster``; otherwise ``ok``. A benchmark with
    no base figure is ``new``; one with a base figure but none from the head is ``missing``
    (it failed on the head): a regression too, since the head broke something that ran.
    """
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    base_per_round = [minima(r) for r in base_runs]
    head_per_round = [minima(r) for r in head_runs]
    names = sorted({n for m in base_per_round + head_per_round for n in m})
    comp = Comparison(tolerance)
    for name in names:
        bm = tuple(m[name] for m in base_per_round if name in m)
        hm = tuple(m[name] for m in head_per_round if name in m)
        b = min(bm) if bm else None
        h = min(hm) if hm else None
        if b is None:
            verdict = "new"
        elif h is None:
            verdict = "missing"
        elif h > b * (1 + tolerance):
            verdict = "slower"
        elif h * (1 + tolerance) < b:
            verdict = "faster"
        else:
            verdict = "ok"
        comp.rows.append(Row(name, b, h, verdict, bm, hm))
    return comp


def format_seconds(s: float | None) -> str:
    """A time with a unit that keeps 3-4 significant digits readable."""
    if s is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.4g} {unit}"
    return f"{s / 1e-9:.4g} ns"


def format_table(comp: Comparison) -> str:
    """benchmark | base min | head min | head/base | verdict, as a Markdown table."""
    limit = 1 + comp.tolerance
    words = {
        "ok": "ok",
        "faster": "faster",
        "slower": f"SLOWER (> {limit:.2f})",
        "new": "new (no base)",
        "missing": "FAILED on head",
    }
    lines = ["| benchmark | base min | head min | head/base | verdict |", "|---|---:|---:|---:|---|"]
    for r in comp.rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.3f}"
        lines.append(
            f"| {r.name} | {format_seconds(r.base_min)} | {format_seconds(r.head_min)} | {ratio} | {words[r.verdict]} |"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# plumbing: worktree, environments, runs


def git(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SetupError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def resolve_commit(ref: str, root: Path = ROOT) -> str:
    try:
        return git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=root)
    except SetupError:
        raise SetupError(
            f"BASE {ref!r} is not a commit here (for a pull request: fetch with full history, "
            f"e.g. actions/checkout with fetch-depth: 0)"
        ) from None


def parse_env(pairs: Iterable[str]) -> dict[str, str]:
    """``["KEY=VALUE", ...]`` -> dict, with a clear error for a missing ``=``."""
    out: dict[str, str] = {}
    for p in pairs:
        key, sep, value = p.partition("=")
        if not sep or not key:
            raise SetupError(f"expected KEY=VALUE, got {p!r}")
        out[key] = value
    return out


@contextlib.contextmanager
def base_worktree(commit: str, *, root: Path = ROOT, keep: bool = False) -> Iterator[Path]:
    """``commit`` checked out (detached) in a temporary folder; removed on the way out, also
    after an error or Ctrl-C, unless ``keep``."""
    tmp = Path(tempfile.mkdtemp(prefix="hashbench-bench-base-"))
    worktree = tmp / "base"
    git("worktree", "prune", cwd=root)  # forget worktrees of killed runs
    try:
        git("worktree", "add", "--detach", "--quiet", str(worktree), commit, cwd=root)
        yield worktree
    finally:
        if keep:
            print(f"kept the base worktree at {worktree} (remove: git worktree remove --force {worktree})")
        else:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=root, capture_output=True)
            shutil.rmtree(tmp, ignore_errors=True)
            subprocess.run(["git", "worktree", "prune"], cwd=root, capture_output=True)


@dataclass(frozen=True)
class Side:
    """One side of the comparison: the code it imports and the environment it runs in."""

    name: str  # "base" or "head"
    src: Path  # the folder put first on PYTHONPATH; hashbench must be imported from here
    extra_env: dict[str, str]

    def env(self, base_env: Mapping[str, str]) -> dict[str, str]:
        env = dict(base_env)
        env.update(self.extra_env)
        rest = env.get("PYTHONPATH", "")
        env["PYTHONPATH"] = str(self.src) + (os.pathsep + rest if rest else "")
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env


def imported_from(path: str | os.PathLike[str], src: Path) -> bool:
    """Whether a module file lies under ``src/hashbench`` (symlinks resolved)."""
    try:
        return Path(path).resolve().is_relative_to((src / "hashbench").resolve())
    except OSError:
        return False


def check_import(python: str, side: Side, env: Mapping[str, str]) -> str:
    """Import hashbench as the side's runs will and fail unless it comes from ``side.src``."""
    code = "import hashbench, sys; sys.stdout.write(hashbench.__file__)"
    done = subprocess.run([python, "-c", code], env=dict(env), cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SetupError(f"{side.name}: `import hashbench` failed with PYTHONPATH={side.src}:\n{done.stderr.strip()}")
    if not imported_from(done.stdout, side.src):
        raise SetupError(
            f"{side.name}: hashbench is imported from {done.stdout}, not from {side.src}; the {side.name} "
            f"would time the wrong code. Is another hashbench installed non-editable, or PYTHONPATH overridden?"
        )
    return done.stdout


def pytest_command(
    python: str,
    json_path: Path,
    marker: str | None,
    pytest_args: Sequence[str],
    targets: Sequence[str] = ("benchmarks",),
    timer: str = DEFAULT_TIMER,
) -> list[str]:
    """The pytest run of one side: ``targets`` (the benchmarks folder, or node ids when
    re-measuring), ``-m marker`` when given, JSON to ``json_path``."""
    cmd = [
        python,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--continue-on-collection-errors",
        *targets,
        "--benchmark-only",
        f"--benchmark-json={json_path}",
        f"--benchmark-timer={TIMERS[timer]}",
    ]
    if marker:
        cmd += ["-m", marker]
    return cmd + list(pytest_args)


@dataclass
class RunRecord:
    side: str
    round: int
    returncode: int
    seconds: float
    json_path: str
    hashbench_file: str | None


def run_side(
    python: str,
    side: Side,
    env: Mapping[str, str],
    rnd: int,
    out_dir: Path,
    marker: str | None,
    pytest_args: Sequence[str],
    quiet: bool,
    targets: Sequence[str] = ("benchmarks",),
    timer: str = DEFAULT_TIMER,
) -> tuple[RunRecord, dict[str, Any]]:
    json_path = out_dir / f"{side.name}-round{rnd}.json"
    json_path.unlink(missing_ok=True)
    cmd = pytest_command(python, json_path, marker, pytest_args, targets, timer)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=dict(env), cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    log = out_dir / f"{side.name}-round{rnd}.log"
    log.write_text(done.stdout + done.stderr)
    data: dict[str, Any] = json.loads(json_path.read_text()) if json_path.exists() else {}
    file = (data.get("hashbench") or {}).get("file")
    if data and (file is None or not imported_from(file, side.src)):
        raise SetupError(f"{side.name} round {rnd} timed hashbench from {file}, not from {side.src} (see {log})")
    if not quiet:
        n = len(data.get("benchmarks", []))
        print(f"  round {rnd} {side.name}: {n} benchmarks, pytest exit {done.returncode}, {seconds:.0f} s", flush=True)
    return RunRecord(side.name, rnd, done.returncode, seconds, str(json_path), file), data


def machine() -> dict[str, Any]:
    """What the figures were measured on (they never travel to another machine)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    if hasattr(os, "getloadavg"):
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return info


def run_gate(args: argparse.Namespace) -> int:
    python = args.python or sys.executable
    base_commit = resolve_commit(args.base)
    head_commit = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in [*out_dir.glob("base-round*"), *out_dir.glob("head-round*"), out_dir / "compare.json"]:
        stale.unlink(missing_ok=True)  # a previous comparison's files must not pass for this one's
    marker = None if args.all else args.marker
    common_env = dict(os.environ)
    if marker == "gate":
        for k, v in GATE_ENV.items():
            common_env.setdefault(k, v)
    with base_worktree(base_commit, keep=args.keep_worktree) as worktree:
        sides = [
            Side("base", worktree / "src", parse_env(args.base_env)),
            Side("head", ROOT / "src", parse_env(args.head_env)),
        ]
        envs = {s.name: s.env(common_env) for s in sides}
        print(f"base {args.base} = {base_commit[:12]} (worktree {worktree})")
        print(f"head {head_commit[:12]}{' + uncommitted changes' if dirty else ''} ({ROOT / 'src'})")
        for s in sides:
            where = check_import(python, s, envs[s.name])
            extra = " ".join(f"{k}={v}" for k, v in s.extra_env.items())
            print(f"  {s.name} imports {where}{'  [' + extra + ']' if extra else ''}")
        print(
            f"{args.rounds} rounds, interleaved; selection: {'-m ' + marker if marker else 'every benchmark'}; "
            f"{args.timer} time; tolerance {args.tolerance:.0%} on the minimum",
            flush=True,
        )
        records: list[RunRecord] = []
        runs: dict[str, list[dict[str, Any]]] = {"base": [], "head": []}
        for rnd in range(1, args.rounds + 1):
            for s in sides:
                rec, data = run_side(
                    python, s, envs[s.name], rnd, out_dir, marker, args.pytest_args, args.quiet, timer=args.timer
                )
                records.append(rec)
                runs[s.name].append(data)
        # Re-measure what looks slower, both sides again in turns: noise only ever adds time, so
        # a true slowdown stays slower while a burst of someone else's load does not.
        remeasured: list[str] = []
        for extra in range(1, args.confirm_rounds + 1):
            suspects = [
                r.name for r in compare_runs(runs["base"], runs["head"], args.tolerance).rows if r.verdict == "slower"
            ]
            if not suspects:
                break
            remeasured = sorted(set(remeasured) | set(suspects))
            if not args.quiet:
                print(
                    f"  re-measuring {len(suspects)} benchmark(s) that look slower (extra round {extra} of "
                    f"at most {args.confirm_rounds})",
                    flush=True,
                )
            for s in sides:
                rec, data = run_side(
                    python,
                    s,
                    envs[s.name],
                    args.rounds + extra,
                    out_dir,
                    None,
                    args.pytest_args,
                    args.quiet,
                    targets=suspects,
                    timer=args.timer,
                )
                records.append(rec)
                runs[s.name].append(data)

    comp = compare_runs(runs["base"], runs["head"], args.tolerance)
    head_failed = [r for r in records if r.side == "head" and r.returncode != 0]
    print()
    print(format_table(comp))
    summary = {
        "base": {"ref": args.base, "commit": base_commit, "env": parse_env(args.base_env)},
        "head": {"commit": head_commit, "uncommitted_changes": dirty, "env": parse_env(args.head_env)},
        "rounds": args.rounds,
        "timer": args.timer,
        "selection": f"-m {marker}" if marker else "all",
        "gate_env": {k: common_env[k] for k in GATE_ENV if k in common_env},
        "machine": machine(),
        "confirm_rounds_max": args.confirm_rounds,
        "remeasured": remeasured,
        "runs": [asdict(r) for r in records],
        "head_pytest_failed": bool(head_failed),
        **comp.as_dict(),
    }
    summary_path = out_dir / "compare.json"
    summary_path.write_text(json.dumps(summary, indent=1))
    print(f"\nwrote {summary_path}")
    if head_failed:
        print(
            f"FAIL: the head's benchmarks failed (pytest exit {head_failed[0].returncode}); "
            f"see {Path(head_failed[0].json_path).with_suffix('.log')}"
        )
        return 1
    if comp.regressed:
        worst = max((r for r in comp.regressions if r.ratio is not None), key=lambda r: r.ratio or 0, default=None)
        detail = f"; worst {worst.name} at {worst.ratio:.2f}x the base" if worst else ""
        print(
            f"FAIL: {len(comp.regressions)} benchmark(s) slower than the base by more than {args.tolerance:.0%}{detail}"
        )
        return 1
    print(f"PASS: no benchmark slower than the base by more than {args.tolerance:.0%}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="benchmarks/compare.py",
        description="Time BASE and this tree (head) in turns and fail when the head is slower "
        "than the base by more than a tolerance on the minimum.",
        epilog="examples:\n  python benchmarks/compare.py --base origin/main\n"
        "  python benchmarks/compare.py --base HEAD --head-env HASHBENCH_BENCH_FLAT_QUERY_BLOCK=1\n"
        "  python benchmarks/compare.py --base v0.1.0 --all --rounds 2 -- -k index",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--base", required=True, metavar="REF", help="git ref of the base (branch, tag, commit)")
    p.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        metavar="F",
        help=f"largest allowed slowdown of a minimum, as a fraction (default {DEFAULT_TOLERANCE})",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        metavar="R",
        help=f"pytest runs per side, interleaved (default {DEFAULT_ROUNDS})",
    )
    p.add_argument(
        "--confirm-rounds",
        type=int,
        default=DEFAULT_CONFIRM_ROUNDS,
        metavar="K",
        help="extra interleaved rounds, only for benchmarks that look slower, before judging "
        f"(default {DEFAULT_CONFIRM_ROUNDS}; 0 judges the first rounds alone)",
    )
    p.add_argument(
        "--timer",
        choices=sorted(TIMERS),
        default=DEFAULT_TIMER,
        help="cpu: process CPU time, all threads (default; robust when others load the machine, "
        "blind to work moving to fewer threads); wall: elapsed time (on a quiet, dedicated runner)",
    )
    p.add_argument("--marker", default="gate", help="pytest -m selection (default: gate, the quick subset)")
    p.add_argument("--all", action="store_true", help="every benchmark instead of the gate (long)")
    p.add_argument(
        "--head-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment variable for the head's runs only (repeatable)",
    )
    p.add_argument(
        "--base-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment variable for the base's runs only (repeatable)",
    )
    p.add_argument(
        "--out",
        default=str(DEFAULT_OUT),
        metavar="DIR",
        help="where each run's JSON and log and compare.json go (default results/benchmarks/compare)",
    )
    p.add_argument("--python", default=None, help="interpreter of the project virtualenv (default: this one)")
    p.add_argument("--keep-worktree", action="store_true", help="leave the base worktree in place (debugging)")
    p.add_argument("--quiet", action="store_true", help="no per-round progress lines")
    p.add_argument("pytest_args", nargs="*", help="after --: extra pytest arguments for both sides")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.rounds < 1 or args.confirm_rounds < 0:
        print("error: --rounds must be >= 1 and --confirm-rounds >= 0", file=sys.stderr)
        return 2
    if not args.tolerance >= 0:
        print("error: --tolerance must be >= 0", file=sys.stderr)
        return 2
    try:
        return run_gate(args)
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
