"""``python -m hashbench.bench NAME [options]``: speed benchmarks that print a table.

A small dispatcher: each benchmark is one ``add_<name>_args(parser)`` / ``run_<name>(args)``
pair registered in :data:`BENCHMARKS`. Figures are ratios against baselines measured in the
same run (the machines are shared; absolute numbers do not travel).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

__all__ = ["BENCHMARKS", "main"]


def _int_list(text: str) -> list[int]:
    return [int(float(x)) for x in text.split(",") if x]


def _triples(text: str) -> tuple[tuple[int, int, int], ...]:
    out = []
    for part in text.split(";"):
        if part.strip():
            a, b, c = (int(x) for x in part.split(","))
            out.append((a, b, c))
    return tuple(out)


def add_index_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--n", type=_int_list, default=[1_000_000], help="database sizes, comma-separated (default 1000000)")
    p.add_argument("--q", type=int, default=1000, help="queries (default 1000)")
    p.add_argument("--nbits", type=int, default=256, help="code length in bits (default 256, PDQ)")
    p.add_argument("--data", default="uniform,clustered", help="code distributions: uniform,clustered")
    p.add_argument("--radius", type=int, default=31, help="range radius, inclusive (default 31, PDQ)")
    p.add_argument("--threads", type=int, default=2, help="numba and faiss threads (default 2)")
    p.add_argument("--rounds", type=int, default=3, help="timed rounds; the fastest counts (default 3)")
    p.add_argument(
        "--faiss-multihash",
        type=_triples,
        default=None,
        help="faiss IndexBinaryMultiHash settings 'nhash,b,nflip;...' (default: 4 exact settings)",
    )
    p.add_argument("--no-faiss", action="store_true", help="skip faiss (hashbench indexes only)")
    p.add_argument("--json", help="also write the results to this JSON file")


def run_index(args: argparse.Namespace) -> int:
    from hashbench.index.benchmark import DEFAULT_FAISS_MULTIHASH, format_table, run_index_benchmark

    results = []
    for n in args.n:
        for data in [d for d in args.data.split(",") if d]:
            print(f"running N={n:,} {data} ...", file=sys.stderr, flush=True)
            res = run_index_benchmark(
                n,
                args.q,
                nbits=args.nbits,
                data=data,
                radius=args.radius,
                threads=args.threads,
                rounds=args.rounds,
                faiss_multihash=args.faiss_multihash or DEFAULT_FAISS_MULTIHASH,
                with_faiss=not args.no_faiss,
                log=lambda msg: print(msg, file=sys.stderr, flush=True),
            )
            print(format_table(res), flush=True)
            print(flush=True)
            results.append(res.as_dict())
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1, default=float)
    return 0


#: name -> (argument adder, runner, one-line description)
BENCHMARKS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int], str]] = {
    "index": (add_index_args, run_index, "Hamming index: FlatIndex / MIHIndex vs faiss (range r=31, kNN k=1)"),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hashbench.bench",
        description="Speed benchmarks; every figure is a ratio against a baseline measured in the same run.",
        epilog="example: python -m hashbench.bench index --n 1000000,10000000 --q 1000",
    )
    sub = parser.add_subparsers(dest="benchmark", required=True)
    for name, (add_args, run, help_text) in BENCHMARKS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        add_args(sp)
        sp.set_defaults(run=run)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    raise SystemExit(main())
