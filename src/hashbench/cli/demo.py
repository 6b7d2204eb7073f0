"""`hashbench demo`: a small end-to-end run on photos bundled with the dependencies."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from ..demo import run_demo
from . import HelpFormatter
from .output import print_table

DESCRIPTION = """\
Run the whole flow on the photographs that ship inside scikit-image and scikit-learn, with no
network: each photo and three edits of it (JPEG quality 70, half size, mirrored) are hashed by
every default hasher, and a table shows the median Hamming distance each edit causes next to the
smallest distance between two different photos. An edit is found when its distance is small
compared with the distances between different images.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="a small end-to-end run on bundled photos",
                       description=DESCRIPTION, epilog="example:\n  hashbench demo --workers 2",
                       formatter_class=HelpFormatter)
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: all CPUs)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    res = run_demo(workers=args.workers, progress=sys.stderr.isatty())
    n = len(res.hashes) // (len(res.edits) + 1)
    print(f"{n} bundled photos, {len(res.edits)} edits each, {len(res.hashes)} images hashed "
          f"in {res.hashes.wall_seconds:.1f} s\n")
    header = ["hasher", "bits"] + [f"median d {e}" for e in res.edits] + ["min d between photos"]
    rows = []
    for h in res.hashes.hashers:
        medians = [f"{np.median(res.genuine[h.name][e]):g}" for e in res.edits]
        rows.append([h.name, h.nbits, *medians, res.impostor_min[h.name]])
    print_table(header, rows)
    print("\nmd5 and sha256 match only identical files; PDQ matches at distance <= 31 by convention.")
    return 0
