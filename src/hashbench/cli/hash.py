"""`hashbench hash`, `hashbench hashers` and `hashbench indexes`: hash image files, list the hashers and indexes."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from .. import hashers as hashers_mod
from ..decoders import check_profile
from ..errors import UsageError
from ..files import find_images
from ..hashers import Hasher
from ..hashing import HashResult, default_workers, hash_files
from ..hashlists import OUT_FORMATS, check_tx_hashers, write_hash_list
from ..imageio import DECODE_MODES, DEFAULT_MAX_PIXELS
from ..store import hash_files_to_table, result_to_table
from . import HelpFormatter
from .options import add_workers, positive_int
from .output import print_table

if TYPE_CHECKING:
    import pyarrow as pa

HASH_DESCRIPTION = """\
Hash image files with one or more hashers and write a Parquet table (one row per image and
hasher: id, hasher, nbits, hash_hex, quality, variants_hex, error).

--format csv writes the same table as CSV (without variants_hex); --format tx writes
`pdq HASH` lines, what python-threatexchange loads as a local file for its pdq signal type
(no ids or qualities: that format has none). See docs/interop.md.

Each image is decoded once (EXIF orientation applied, any mode to RGB) and the same pixels go to
every hasher. An image that cannot be read is reported with its reason, on stderr and in the
table's `error` column, and the others are still hashed: the exit code is 0 unless --strict is
given or nothing could be hashed.
"""

HASH_EPILOG = f"""\
examples:
  hashbench hash photos/ --hasher pdq,phash --out hashes.parquet
  hashbench hash a.jpg b.png --hasher md5            print CSV to stdout (no --out)
  hashbench hash photos/ --format tx --out list.txt   a list python-threatexchange loads
  hashbench hash photos/ --hasher 'pdq,command:./photodna-wrapper --fast' --out pd.parquet
                                        (an external program comes last in the list)

hashers: {", ".join(hashers_mod.BUILTIN)} (see `hashbench hashers`)
exit codes: 0 done (bad images reported), 1 some failed with --strict or none hashed, 2 usage error
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add `hash` and `hashers` to the command line (their help is the user's documentation)."""
    p = sub.add_parser(
        "hash",
        help="hash image files into a Parquet table",
        description=HASH_DESCRIPTION,
        epilog=HASH_EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (searched recursively)")
    p.add_argument(
        "--hasher", default="pdq", help="comma-separated hasher names (default: pdq); 'all' for every built-in"
    )
    p.add_argument("--out", metavar="FILE", help="file to write (Parquet by default); without it, CSV goes to stdout")
    p.add_argument(
        "--format",
        choices=OUT_FORMATS,
        default=None,
        help="parquet (default with --out), csv (default without), or tx (python-threatexchange's 'pdq HASH' lines)",
    )
    add_workers(p)
    p.add_argument("--strict", action="store_true", help="exit 1 when any image failed")
    p.add_argument("--all-files", action="store_true", help="also try files without an image suffix found in folders")
    p.add_argument(
        "--max-pixels",
        type=positive_int,
        default=None,
        help="refuse images with more pixels than this (default: what each worker's share of the "
        f"available memory can decode and hash, at most {DEFAULT_MAX_PIXELS:,}; the output records it)",
    )
    p.add_argument(
        "--decode",
        choices=DECODE_MODES,
        default="full",
        help="full: every pixel; draft: JPEGs reduced by libjpeg to twice what the hashers need "
        "(faster; the output records the draft-vs-full hash distances measured on a sample)",
    )
    p.add_argument(
        "--decode-profile",
        default="hashbench",
        metavar="NAME",
        help="decode files as this tool does, to get its hashes: hashbench (default), threatexchange-cpp, "
        "python-threatexchange (docs/decoders.md)",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument(
        "--fresh",
        action="store_true",
        help="with --out: ignore the chunks saved by an interrupted run and hash everything again",
    )
    p.add_argument(
        "--cluster",
        metavar="ADDRESS|local",
        default=None,
        help="hash on a Dask cluster (a scheduler address, a scheduler file, or 'local'); needs --out, "
        "the cluster extra (Dask), and the files at the same absolute paths on every worker",
    )
    p.set_defaults(func=run_hash)

    q = sub.add_parser(
        "hashers",
        help="list the hashers: name, bits, kind, library and version",
        description="List every hasher hashbench can run, built-in and plugin, with its "
        "bit length, kind, backing library and that library's version.",
        epilog="example:\n  hashbench hashers",
        formatter_class=HelpFormatter,
    )
    q.set_defaults(func=run_hashers)

    x = sub.add_parser(
        "indexes",
        help="list the Hamming indexes (flat, mih, plugins)",
        description="List every Hamming index hashbench can build, built-in and plugin.",
        epilog="example:\n  hashbench indexes",
        formatter_class=HelpFormatter,
    )
    x.set_defaults(func=run_indexes)


def parse_hasher_list(text: str) -> list[str]:
    """Split a --hasher value at commas; `command:PROGRAM ARGS` comes last and is taken whole."""
    text = text.strip()
    if text == "all":
        return [n for n in hashers_mod.BUILTIN if n != "command"]
    head, sep, program = text.partition("command:")
    names = [part.strip() for part in head.split(",") if part.strip()]
    if sep:
        names.append("command:" + program)
    if not names:
        raise UsageError("--hasher is empty; name at least one hasher (see `hashbench hashers`)")
    return names


def run_hash(args: argparse.Namespace) -> int:
    """`hashbench hash`: every image hashed or reported with its reason; exit codes as in the epilog.

    With --out (Parquet) the run is checkpointed, locked and resumable (:func:`hash_files_to_table`);
    --format csv|tx hashes in one go and writes the text atomically to --out, or to stdout.
    """
    hashers = [hashers_mod.get(n) for n in parse_hasher_list(args.hasher)]
    profile = check_profile(args.decode_profile)
    found = find_images(args.paths, all_files=args.all_files)
    for rel, reason in found.skipped:
        print(f"hashbench: skipped {rel}: {reason}", file=sys.stderr)
    if not found.paths:
        print("hashbench: error: no image files found", file=sys.stderr)
        return 1
    progress = not args.no_progress and sys.stderr.isatty()
    fmt = args.format or ("parquet" if args.out else "csv")
    if fmt == "parquet" and not args.out:
        raise UsageError("--format parquet writes a file: give --out FILE")
    if fmt == "tx":
        check_tx_hashers([h.name for h in hashers])  # before any hashing
    if args.cluster and fmt != "parquet":
        raise UsageError("--cluster writes a Parquet table: give --out FILE (and no --format csv/tx)")
    if fmt == "parquet":
        try:
            from contextlib import nullcontext

            from ..cluster import session

            saved = f"finished chunks are kept in {args.out}.parts/: run the same command again to resume"
            with session(args.cluster, saved=saved) if args.cluster else nullcontext() as client:
                result, table = hash_files_to_table(
                    found.paths,
                    found.ids,
                    hashers,
                    args.out,
                    workers=args.workers or default_workers(),
                    max_pixels=args.max_pixels,
                    progress=progress,
                    client=client,
                    fresh=args.fresh,
                    decode=args.decode,
                    decode_profile=profile,
                )
        except KeyboardInterrupt:
            print(
                f"hashbench: interrupted; finished chunks are kept in {args.out}.parts/ - "
                "run the same command again to resume",
                file=sys.stderr,
            )
            return 130
    else:
        result = hash_files(
            found.paths,
            found.ids,
            hashers,
            workers=args.workers,
            max_pixels=args.max_pixels,
            progress=progress,
            decode=args.decode,
            decode_profile=profile,
        )
        table = result_to_table(result)
        _write_text(table, fmt, hashers, args.out)
    for item_id, reason in result.errors:
        print(f"hashbench: failed {item_id}: {reason}", file=sys.stderr)
    ok = result.ok
    summary_to = sys.stderr if not args.out else sys.stdout
    _print_summary(result, hashers, summary_to)
    if args.out:
        print(f"wrote {len(table)} rows ({fmt}) for {len(result)} images to {args.out}", file=summary_to)
    n_good = sum(int(m.sum()) for m in ok.values())
    if n_good == 0:
        return 1
    if args.strict and result.errors:
        return 1
    return 0


def _print_summary(result: HashResult, hashers: list[Hasher], file) -> None:
    """Per hasher: hashed, failed, CPU seconds and images per CPU-second; then decoding, wall time
    and how the images were decoded (pixel limit and its derivation; draft and its distances)."""
    ok = result.ok
    rows: list[list[object]] = []
    for h in hashers:
        n_ok = int(ok[h.name].sum())
        secs = result.hash_seconds.get(h.name, 0.0)
        rate = f"{n_ok / secs:,.0f}" if secs > 0 and n_ok else "-"
        rows.append([h.name, h.nbits, n_ok, len(result) - n_ok, f"{secs:.2f}", rate])
    n_dec = sum(e is None for e in result.decode_errors)
    dec = result.decode_seconds
    rows.append(["(decode)", "-", n_dec, len(result) - n_dec, f"{dec:.2f}", f"{n_dec / dec:,.0f}" if dec > 0 else "-"])
    print_table(["hasher", "bits", "hashed", "failed", "CPU s", "images/CPU-s"], rows, file=file)
    cpu = sum(w["cpu_seconds"] for w in result.workers.values())
    print(
        f"wall {result.wall_seconds:.2f} s; worker CPU {cpu:.2f} s over {len(result.workers)} worker(s)",
        file=file,
    )
    limit = result.settings.get("pixel_limit")
    if isinstance(limit, dict):
        print(f"pixel limit {limit['max_pixels']:,}: {limit['derivation']}", file=file)
    draft = result.settings.get("draft")
    if isinstance(draft, dict):
        print(f"decode draft: {draft['note']}", file=file)
        dist = draft.get("distances")
        if isinstance(dist, dict):
            for name, d in dist["hashers"].items():
                print(
                    f"  {name}: draft vs full on {d['images']} sampled images ({dist['reduced']} reduced): "
                    f"{d['identical']} identical, median {d['median']}, max {d['max']} bits",
                    file=file,
                )


# --- hash lists out (--format csv|tx; docs/interop.md) ---------------------------------------


def _write_text(table: pa.Table, fmt: str, hashers: list[Hasher], out: str | None) -> None:
    """The table as CSV or tx lines, to stdout or atomically to ``out``."""
    import io

    from ..atomic import atomic_write_text

    if out is None:
        write_hash_list(table, sys.stdout, fmt, [h.name for h in hashers])
        return
    buf = io.StringIO()
    write_hash_list(table, buf, fmt, [h.name for h in hashers])
    try:
        atomic_write_text(out, buf.getvalue())
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}; choose another --out") from None


def run_hashers(args: argparse.Namespace) -> int:
    """One row per registered hasher; one that takes an argument (``command:PROGRAM``) is listed
    from its declared metadata, as it cannot be built without one."""
    rows: list[list[object]] = []
    for entry in sorted(hashers_mod.HASHERS.available(), key=lambda e: e.name):
        argument = entry.metadata.get("argument")
        if argument:
            cls = entry.factory
            kind, library = (cls.kind, cls.library) if isinstance(cls, type) and issubclass(cls, Hasher) else ("-", "-")
            rows.append([f"{entry.name}:{argument}", "any", kind, "no", library, "-", entry.description])
            continue
        d = entry.factory().describe()
        exact = "yes" if d["exact"] else "no"
        rows.append([d["name"], d["nbits"], d["kind"], exact, d["library"], d["version"], entry.description])
    print_table(["name", "bits", "kind", "exact", "library", "version", "description"], rows)
    from ..video import VIDEO_HASHERS  # video hashers (issue 17): a registry of their own

    print('\nvideo hashers (hashbench run with a kind = "video" config; need the extra video):')
    video_rows = [[e.name, e.factory.nbits, e.factory.rule, e.description] for e in VIDEO_HASHERS.available()]  # type: ignore[attr-defined]
    print_table(["name", "bits", "match rule", "description"], video_rows)
    return 0


def run_indexes(args: argparse.Namespace) -> int:
    """One row per registered Hamming index."""
    from .. import index as index_mod

    rows = [[e.name, "yes" if e.factory(64).exact else "no", e.description] for e in index_mod.INDEXES.available()]
    print_table(["name", "exact", "description"], rows)
    return 0
