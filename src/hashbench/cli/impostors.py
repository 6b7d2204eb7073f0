"""`hashbench impostors`: the exact all-pairs false-positive rate of a table of hashes."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..hashlists import FORMATS
from . import HelpFormatter
from .options import positive_int
from .output import print_table

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ..hashers import Hasher

DESCRIPTION = """\
Count every pair of distinct images in a hash table (from `hashbench hash --out`) or a hash
list made elsewhere (python-threatexchange, pdq-photo-hasher, perception, imagehash; see
--format) by the Hamming distance of their hashes, exactly, and give the per-pair
false-positive rate at each threshold with its two-sided 95% Clopper-Pearson interval.

That interval is pair-level: it treats the pairs as independent trials. Pairs that share an
image are not (a flat image matches every other flat image), so where matches cluster it is too
narrow; `hashbench run` reports an image-level interval from each image's match count beside it.
Its upper end is not an "at most 1 in X" bound: that is the one-sided 95% bound (with no match
in n pairs, about 3/n; the two-sided upper end is about 3.7/n).

Every row of the table is taken as a distinct image, so each pair counted is an impostor pair:
a match between two of them is a false positive. A pair matches at threshold t when its
distance is <= t. The rate is *per pair*; what a platform sees is the rate per query against a
list of L hashes, about 1 - (1 - p)^L (see the report of `hashbench run`).

n images make n(n-1)/2 pairs: 550,000 images are 1.5e11 pairs. With --cluster the pairs are
split into blocks computed on the workers of a Dask cluster and summed; the counts are
identical to a run on this machine.

The table is untrusted input: every row of the hasher is checked before anything is counted.
Its nbits must be the installed hasher's (pdq 256, phash 64, ...; at most 4,096 for a hasher not
installed here), its hex exactly nbits/4 digits, its quality empty or 0-100. A table with bad
rows is refused, naming them by id (by line in a text list); --skip-bad-rows counts the others
and lists the bad ones.
"""

EPILOG = """\
examples:
  hashbench impostors hashes.parquet --hasher pdq
  hashbench impostors hashes.parquet --hasher pdq --threshold 31,40,50 --json > fpr.json
  hashbench impostors hashes.parquet --hasher phash --cluster tcp://10.0.0.5:8786
  hashbench impostors hashes.parquet --hasher pdq --cluster local     a cluster of this machine's cores
  hashbench impostors hashes.parquet --hasher pdq --pairs matches.csv  name the matching pairs
  hashbench impostors tx-list.txt --hasher pdq          python-threatexchange's 'pdq HASH' lines
  hashbench impostors hasher-out.csv --format lines     pdq-photo-hasher's 'hash,quality,filename'

exit codes: 0 done; 2 usage error (bad table or rows, unknown hasher, unreachable scheduler)
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "impostors",
        help="exact all-pairs false-positive rate of a hash table (optionally on a cluster)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "table", metavar="HASHES", help="a hash table written by `hashbench hash --out`, or a hash list (see --format)"
    )
    p.add_argument(
        "--format",
        default="auto",
        metavar="FORMAT",
        help="the list's format: auto (default: recognised from its first bytes), "
        f"{', '.join(e.name for e in FORMATS.available(plugins=False))} (docs/interop.md)",
    )
    p.add_argument("--hasher", default="pdq", help="which hasher's codes to use (default: pdq)")
    p.add_argument(
        "--threshold",
        metavar="T[,T...]",
        default=None,
        help="match thresholds, comma-separated (default: the hasher's named operating point, pdq 31, phash 10, ...; "
        "exact hashes such as md5 and sha256: 0 only, exact match)",
    )
    p.add_argument("--alpha", type=float, default=0.05, help="1 - confidence of the intervals (default 0.05: 95%%)")
    p.add_argument(
        "--cluster",
        metavar="ADDRESS|local",
        default=None,
        help="compute on a Dask cluster: a scheduler address (tcp://host:8786), a scheduler file, "
        "or 'local' for worker processes on this machine (needs Dask: the cluster extra)",
    )
    p.add_argument(
        "--block",
        type=positive_int,
        default=None,
        help="codes per chunk on the cluster (default: about 24 blocks of pairs per worker thread)",
    )
    p.add_argument(
        "--skip-bad-rows",
        action="store_true",
        help="count the sound rows of a table with bad ones (listed on stderr and in --json) instead of refusing it",
    )
    listing = p.add_argument_group("pair list")
    listing.add_argument(
        "--pairs",
        metavar="FILE",
        default=None,
        help="also write the matching pairs at each threshold to FILE (CSV, the columns of a run's false_matches.csv)",
    )
    listing.add_argument(
        "--max-listed",
        type=positive_int,
        default=10_000,
        help="pairs listed per threshold, smallest distance first (default 10,000; the true count is always stated)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON (with the whole histogram)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=run_impostors)


def _installed(hasher: str) -> Hasher | None:
    """The hasher as installed here, or None: a plugin or command hasher not installed here still
    has a table worth counting (its width is the table's)."""
    from .. import hashers as hashers_mod

    try:
        return hashers_mod.get(hasher)
    except UsageError:
        return None


def _thresholds(text: str | None, hasher: str, nbits: int, installed: Hasher | None) -> list[int]:
    """The thresholds of ``--threshold``, else the hasher's named operating point
    (:attr:`Hasher.default_threshold`: pdq 31, phash 10, ...; a hasher not installed here gets the
    base rule on the table's nbits, as one that is not ``exact``). An exact hasher (md5, sha256)
    matches at distance 0 only."""
    from ..hashers.base import Hasher

    if text is None:
        return [installed.default_threshold if installed else Hasher.threshold_rule(nbits, exact=False)]
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            t = int(part)
        except ValueError:
            raise UsageError(f"--threshold takes whole distances, got {part!r}") from None
        if not 0 <= t <= nbits:
            raise UsageError(f"--threshold {t} is outside 0..{nbits} for {nbits}-bit {hasher} hashes")
        out.append(t)
    if not out:
        raise UsageError("--threshold is empty")
    if installed and installed.exact and set(out) != {0}:
        raise UsageError(f"{hasher} is an exact hash: only identical hashes match, so --threshold can only be 0")
    return sorted(set(out))


def impostor_summary(hist: Any, thresholds: list[int], alpha: float) -> list[dict[str, Any]]:
    """Per-pair false-positive count, rate and exact interval at each threshold of a histogram."""
    from ..evaluate.study import rate_dict

    n_pairs = int(sum(int(c) for c in hist))
    return [{"threshold": t, **rate_dict(int(sum(int(c) for c in hist[: t + 1])), n_pairs, alpha)} for t in thresholds]


def run_impostors(args: argparse.Namespace) -> int:
    """Check the options, read one hasher's codes, count every pair, then print JSON or a table."""
    if not 0.0 < args.alpha < 1.0:
        raise UsageError(f"--alpha must be between 0 and 1, got {args.alpha}")
    ids, codes, nbits, bad = _read_codes(args.table, args.hasher, args.skip_bad_rows, args.format)
    installed = _installed(args.hasher)
    thresholds = _thresholds(args.threshold, args.hasher, nbits, installed)
    hist, computed_on, seconds, lists = _count_pairs(args, codes, nbits, len(ids), thresholds)
    if args.pairs:
        _write_pairs(args.pairs, args.hasher, ids, lists)
    n = len(ids)
    result = {
        "table": str(args.table),
        "hasher": args.hasher,
        "exact": bool(installed and installed.exact),
        "nbits": nbits,
        "n_images": n,
        "pairs": "unordered",
        "n_pairs": n * (n - 1) // 2,
        "confidence": 1 - args.alpha,
        "at_threshold": impostor_summary(hist, thresholds, args.alpha),
        "histogram": [int(c) for c in hist],
        "computed_on": computed_on,
        "cluster": args.cluster,
        "seconds": seconds,
        "skipped_rows": [{"id": i, "reason": r} for i, r in bad],
    }
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        _print_result(result, args.alpha)
    return 0


def _read_codes(
    path: str, hasher: str, skip_bad: bool, fmt: str = "auto"
) -> tuple[list[str], npt.NDArray[np.uint8], int, list[tuple[str, str]]]:
    """Ids, packed codes and nbits of one hasher's sound rows, and its bad rows as (id or line, reason).

    Every row is checked (:func:`hashbench.hashlists.read_hash_list`, which runs
    :func:`hashbench.table_check.checked_codes`): bad rows refuse the table in one line naming
    them, or with ``skip_bad`` are left out and listed on stderr. Every row must be a distinct image.
    """
    from ..hashlists import read_hash_list

    got = read_hash_list(path, hasher, format=fmt, skip_bad_rows=True)
    if got.bad:
        listed = "; ".join(f"{i!r}: {r}" for i, r in got.bad[:3]) + ("; ..." if len(got.bad) > 3 else "")
        if not skip_bad:
            raise UsageError(
                f"{path}: {len(got.bad):,} bad rows for {hasher}, nothing counted ({listed}); "
                "fix the table or pass --skip-bad-rows"
            )
        print(f"hashbench: skipped {len(got.bad):,} bad rows for {hasher}: {listed}", file=sys.stderr)
    if len(got.ids) != len(set(got.ids)):
        raise UsageError(f"{path} has the same id twice for {hasher}; every row must be a distinct image")
    return got.ids, got.codes, got.nbits, got.bad


def _count_pairs(
    args: argparse.Namespace, codes: npt.NDArray[np.uint8], nbits: int, n: int, thresholds: list[int]
) -> tuple[npt.NDArray[np.int64], str, float, list[Any]]:
    """The distance histogram of all n(n-1)/2 pairs, where it was computed, the seconds it took
    and, with ``--pairs``, the pairs listed at each threshold (from the same kernel pass)."""
    import numpy as np

    progress = not args.no_progress and sys.stderr.isatty()
    if n >= 2 and args.cluster:
        return _count_pairs_on_cluster(args, codes, nbits, progress, thresholds)
    t0 = time.perf_counter()
    lists: list[Any] = []
    if n < 2:
        hist = np.zeros(nbits + 1, dtype=np.int64)
    elif args.pairs:
        from ..evaluate.pairs import impostor_pairs

        hist, _, lists = impostor_pairs(codes, nbits, thresholds, args.max_listed, progress=progress)
    else:
        from ..evaluate import impostor_histogram

        hist = impostor_histogram(codes, nbits, progress=progress)
    return hist, "this machine", time.perf_counter() - t0, lists


def _count_pairs_on_cluster(
    args: argparse.Namespace, codes: npt.NDArray[np.uint8], nbits: int, progress: bool, thresholds: list[int]
) -> tuple[npt.NDArray[np.int64], str, float, list[Any]]:
    """The same histogram, split into blocks on a Dask cluster; timed from connection, not start-up."""
    from ..cluster import impostor_histogram_on, impostor_pairs_on, session, worker_slots

    lists: list[Any] = []
    with session(args.cluster) as client:
        where = "a local Dask cluster" if args.cluster == "local" else f"the Dask cluster at {args.cluster}"
        computed_on = f"{where} ({worker_slots(client)} worker threads)"
        t0 = time.perf_counter()  # the count, not the cluster's start-up
        if args.pairs:
            cut = tuple(thresholds)
            hist, _, lists = impostor_pairs_on(
                client, codes, nbits, cut, args.max_listed, block=args.block, progress=progress
            )
        else:
            hist = impostor_histogram_on(client, codes, nbits, block=args.block, progress=progress)
    return hist, computed_on, time.perf_counter() - t0, lists


def _write_pairs(path: str, hasher: str, ids: list[str], lists: list[Any]) -> None:
    """The pair list as a CSV file with the columns of a run's false_matches.csv (no quality or
    group: a hash table has neither), a comment line per threshold stating the true count."""
    from ..atomic import atomic_write_bytes
    from ..report.writers import FALSE_MATCH_COLUMNS, csv_bytes

    rows = [
        (hasher, str(pl.threshold), ids[a], ids[b], str(d), "", "", "", "", "")
        for pl in lists
        for a, b, d in zip(pl.a.tolist(), pl.b.tolist(), pl.distance.tolist(), strict=True)
    ]
    notes = [
        f"# {hasher} at threshold {pl.threshold}: {pl.count:,} matching pairs, {pl.listed:,} listed" for pl in lists
    ]
    try:
        atomic_write_bytes(path, csv_bytes(FALSE_MATCH_COLUMNS, rows, notes))
    except OSError as exc:
        raise UsageError(f"cannot write --pairs {path}: {exc.strerror or exc}") from None


def _print_result(result: dict[str, Any], alpha: float) -> None:
    """The human-readable form: a summary line, then one row per threshold and the closest pair."""
    n = result["n_images"]
    print(
        f"{result['hasher']} ({result['nbits']} bits): {n:,} images, {result['n_pairs']:,} distinct pairs, "
        f"counted exactly in {result['seconds']:.1f} s on {result['computed_on']}"
    )
    if n < 2:
        print("fewer than 2 hashed images: no pairs to count")
        return
    conf = f"pair-level two-sided {100 * (1 - alpha):g}% interval"
    print_table(
        ["threshold", "false matches", "pairs", "per-pair FPR", conf],
        [
            [
                r["threshold"],
                f"{r['count']:,}",
                f"{r['n']:,}",
                f"{r['rate']:.3g}",
                f"{r['ci_low']:.3g} .. {r['ci_high']:.3g}",
            ]
            for r in result["at_threshold"]
        ],
    )
    if result["exact"]:
        print("exact match only: a pair matches when its hashes are identical; rates are per pair, not per query")
        return
    nonzero = [d for d, c in enumerate(result["histogram"]) if c]
    print(
        f"closest pair at distance {nonzero[0]}; a pair matches at distance <= threshold; "
        "rates are per pair, not per query; intervals treat pairs as independent (pair-level)"
    )
