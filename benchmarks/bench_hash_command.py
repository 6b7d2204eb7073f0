"""`hashbench hash` against the previous release, measured in the same run (issue 18 acceptance).

    python benchmarks/bench_hash_command.py [--images 200] [--rounds 3] [--base REF] [--decode full]

The previous release is the commit before issue 18's fast PDQ landed: the parent of the first
commit that added ``src/hashbench/hashers/pdq_fast.py`` (``--base`` names another). It is checked
out into a temporary git worktree (benchmarks/compare.py's :func:`base_worktree`), and both sides
run the same command in turns, each round a fresh process::

    python -m hashbench hash FOLDER --hasher pdq,phash,md5 --workers 2 --out OUT --no-progress

on a folder of ``--images`` 1024x768 JPEGs (photo-like, seeded, made once in a temporary folder).
Only ``PYTHONPATH`` differs (each side's ``src/``); the driver checks each side imports its own
tree. One untimed round each first (numba caches, disk cache), then ``--rounds`` rounds in turns;
a side's figure is its fastest round. Two figures per side: images per second of wall time (the
command end to end, start-up included) and images per CPU-second (the CPU time of the command and
all its workers, ``RUSAGE_CHILDREN``), which a busy machine disturbs far less than wall time.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import ROOT, Side, base_worktree, check_import, git  # noqa: E402

HASHERS = "pdq,phash,md5"


def previous_release() -> str:
    """The parent of the first commit that added the numba PDQ (hashers/pdq_fast.py)."""
    first = git("log", "--diff-filter=A", "--format=%H", "--", "src/hashbench/hashers/pdq_fast.py").split()[-1]
    return git("rev-parse", f"{first}^").strip()


def make_folder(folder: Path, n: int) -> None:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(18)
    for i in range(n):
        small = rng.normal(128, 50, (24, 32, 3)).clip(0, 255).astype(np.uint8)
        big = np.asarray(Image.fromarray(small).resize((1024, 768), Image.Resampling.BICUBIC)).astype(np.int16)
        big = (big + rng.normal(0, 6, big.shape)).clip(0, 255).astype(np.uint8)  # sensor-like noise
        Image.fromarray(big).save(folder / f"{i:04d}.jpg", quality=90)


def one_run(src: Path, folder: Path, out: Path, extra: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (the command and its workers) of one `hashbench hash` run."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "hashbench", "hash", str(folder), "--hasher", HASHERS, "--workers", "2"]
    proc = subprocess.run([*cmd, "--out", str(out), "--no-progress", *extra], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"hashbench hash failed with {src}: {proc.stderr.strip()[-500:]}")
    out.unlink(missing_ok=True)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--base", default=None, help="git ref of the previous release (default: see above)")
    ap.add_argument("--decode", default="full", help="the head's --decode (the base has full only)")
    args = ap.parse_args(argv)
    base = git("rev-parse", args.base).strip() if args.base else previous_release()
    with tempfile.TemporaryDirectory() as tmp, base_worktree(base) as worktree:
        folder = Path(tmp) / "jpegs"
        make_folder(folder, args.images)
        sides = {"previous": worktree / "src", "head": ROOT / "src"}
        for name, src in sides.items():
            side = Side(name, src, {})
            check_import(sys.executable, side, side.env(os.environ))
        extra = {"previous": [], "head": [] if args.decode == "full" else ["--decode", args.decode]}
        best: dict[str, list[float]] = {k: [float("inf"), float("inf")] for k in sides}
        for name, src in sides.items():  # untimed: numba caches, files in the page cache
            one_run(src, folder, Path(tmp) / f"{name}.parquet", extra[name])
        for _ in range(args.rounds):
            for name, src in sides.items():
                wall, cpu = one_run(src, folder, Path(tmp) / f"{name}.parquet", extra[name])
                best[name] = [min(best[name][0], wall), min(best[name][1], cpu)]
        load = os.getloadavg()[0]
    n = args.images
    print(f"previous release {base[:12]}; {n} JPEGs 1024x768; --hasher {HASHERS} --workers 2; load {load:.1f}")
    print("| side | images/s (wall, end to end) | images per CPU-s (command + workers) |")
    print("|---|---:|---:|")
    for name in sides:
        print(f"| {name} | {n / best[name][0]:.1f} | {n / best[name][1]:.1f} |")
    wall_ratio = best["previous"][0] / best["head"][0]
    cpu_ratio = best["previous"][1] / best["head"][1]
    print(f"head / previous: {wall_ratio:.2f}x images/s (wall), {cpu_ratio:.2f}x images per CPU-second")
    return 0


if __name__ == "__main__":
    sys.exit(main())
