"""`hashbench hash` against the previous release, measured in the same run (issue 18 acceptance).

    python benchmarks/bench_hash_command.py [--images 200] [--rounds 3] [--base REF] [--decode full]

The previous release is the commit before issue 18's fast PDQ landed: the parent of the first
commit that added ``src/hashbench/hashers/pdq_fast.py`` (``--base`` names another). It is checked
out into a temporary git worktree (benchmarks/compare.py's :func:`base_worktree`), and both sides
run in turns, each round a fresh process, what ``hashbench hash FOLDER --hasher pdq,phash,md5
--workers 2`` runs (:func:`hashbench.hashing.hash_files`, present in both) on a folder of
``--images`` 1024x768 JPEGs (photo-like, seeded, made once in a temporary folder).
Only ``PYTHONPATH`` differs (each side's ``src/``); the driver checks each side imports its own
tree. Each process hashes 4 images untimed first (numba caches), then the folder; a side's figure
is its fastest of ``--rounds`` rounds. Two figures per side: images per second of wall time (2
workers, pool start included) and images per CPU-second (``time.process_time`` of the same
hashing with ``workers=1``, in the process: reading, decoding and hashing, every thread), which a
busy machine disturbs far less. (The versions' own per-hasher timings are not comparable: before
issue 16 they were wall time.)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
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


#: Run by each side: what `hashbench hash` without --out runs (hash_files), timed from inside.
CHILD = r"""
import json, sys, time
from pathlib import Path
from hashbench.hashing import hash_files
paths = sorted(Path(sys.argv[1]).glob("*.jpg"))
hashers = sys.argv[2].split(",")
extra = {"decode": sys.argv[3]} if sys.argv[3] != "full" else {}
hash_files(paths[:4], hashers=hashers, workers=1, progress=False, **extra)  # imports, numba caches
c0 = time.process_time()
one = hash_files(paths, hashers=hashers, workers=1, progress=False, **extra)  # in this process
cpu = time.process_time() - c0
t0 = time.perf_counter()
two = hash_files(paths, hashers=hashers, workers=2, progress=False, **extra)
wall = time.perf_counter() - t0
assert all(e is None for e in one.decode_errors + two.decode_errors)
print(json.dumps({"wall": wall, "cpu": cpu, "n": len(one)}))
"""


def one_run(src: Path, folder: Path, decode: str) -> tuple[float, float]:
    """Wall seconds of hashing the folder with 2 workers (pool start included), and the CPU
    seconds (``time.process_time``) of hashing it with one worker, in the process itself: the
    per-core cost of reading, decoding and hashing, which load disturbs far less."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), HASHERS, decode], env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"hashing failed with {src}: {proc.stderr.strip()[-500:]}")
    rec = json.loads(proc.stdout.strip().splitlines()[-1])
    return rec["wall"], rec["cpu"]


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
        decode = {"previous": "full", "head": args.decode}
        best: dict[str, list[float]] = {k: [float("inf"), float("inf")] for k in sides}
        for _ in range(args.rounds):
            for name, src in sides.items():
                wall, cpu = one_run(src, folder, decode[name])
                best[name] = [min(best[name][0], wall), min(best[name][1], cpu)]
        load = os.getloadavg()[0]
    n = args.images
    print(f"previous release {base[:12]}; {n} JPEGs 1024x768; --hasher {HASHERS} --workers 2; load {load:.1f}")
    print("| side | images/s (wall, 2 workers, pool start included) | images per CPU-second (1 worker, in process) |")
    print("|---|---:|---:|")
    for name in sides:
        print(f"| {name} | {n / best[name][0]:.1f} | {n / best[name][1]:.1f} |")
    wall_ratio = best["previous"][0] / best["head"][0]
    cpu_ratio = best["previous"][1] / best["head"][1]
    print(f"head / previous: {wall_ratio:.2f}x images/s (wall), {cpu_ratio:.2f}x images per CPU-second")
    return 0


if __name__ == "__main__":
    sys.exit(main())
