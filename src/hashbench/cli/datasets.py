"""`hashbench datasets` (list, dedupe, preview) and `hashbench generate`."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .. import datasets as ds
from ..datasets.synthetic import export as export_synthetic
from ..errors import UsageError
from ..tools import dedupe as dd
from ..tools.preview import family_sheet, suite_sheet
from ..transforms import suite_names
from . import HelpFormatter
from .options import add_workers, non_negative_int, positive_int
from .output import print_table

DATASETS_DESCRIPTION = """\
List the benign datasets hashbench can use: generated synthetic families (unlimited, a pure
function of family, index, seed and size), the real photos shipped inside installed packages
(`sample`), and any folder of images. Sub-commands screen a set for near-duplicates and draw
contact sheets.

A dataset is named by a spec, accepted wherever a command takes a dataset:
  synthetic:family=text,count=1000,seed=0,size=256
  sample            sample:kinds=all
  photos/           (an existing folder)   folder:root=photos/,file_list=refs.txt
"""

DATASETS_EPILOG = """\
examples:
  hashbench datasets                                 list datasets, families and sample images
  hashbench datasets dedupe photos/ --hasher pdq --radius 10 --out results/dedupe
  hashbench datasets preview --out docs/
"""

DEDUPE_DESCRIPTION = """\
Find pairs of images in a benign set that are probably the same picture (a near-duplicate
within --radius of one hash), and write them with an exclusion file, so that true duplicates are
not counted as false positives later. Each group of connected pairs keeps its first member;
the others go to the exclusion file, which `folder:...,exclude=FILE` reads.

Writes OUT/near-duplicates.csv (id_a, id_b, distance) and OUT/exclude.txt; for a folder also
OUT/manifest.parquet (id, sha256, width, height, bytes), reused by the next run.
"""

DEDUPE_EPILOG = """\
examples:
  hashbench datasets dedupe photos/ --radius 10
  hashbench datasets dedupe synthetic:family=text,count=10000 --radius 31 --out results/dup-text
exit codes: 0 done (pairs or not), 2 usage error
"""

PREVIEW_DESCRIPTION = """\
Draw contact sheets (PNG) so a person can see what the data looks like: one sheet per synthetic
family (the first --count images) and one of a suite applied to a sample photo. The sheets in
docs/ were made by this command.
"""

PREVIEW_EPILOG = """\
examples:
  hashbench datasets preview --out docs/
  hashbench datasets preview --families text,shapes --suite isc --photo sample/sklearn/china --out /tmp/sheets
"""

GENERATE_DESCRIPTION = """\
Write synthetic benign images to files: OUT/00000000.png, ... and OUT/generated.json with the
parameters. Image i is a pure function of (family, i, seed, size), so the same command always
writes the same pixels; --start continues a set without changing earlier images.
"""

GENERATE_EPILOG = f"""\
examples:
  hashbench generate mixed --count 1000 --size 256 --seed 0 --out data/mixed
  hashbench generate text --count 500 --size 1024x768 --format jpg --out data/text

families: {", ".join(ds.ALL_FAMILIES)}
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "datasets",
        help="list datasets; screen for near-duplicates; draw contact sheets",
        description=DATASETS_DESCRIPTION,
        epilog=DATASETS_EPILOG,
        formatter_class=HelpFormatter,
    )
    p.set_defaults(func=run_list)
    dsub = p.add_subparsers(dest="datasets_command", metavar="SUBCOMMAND")

    d = dsub.add_parser(
        "dedupe",
        help="find near-duplicate pairs and write an exclusion file",
        description=DEDUPE_DESCRIPTION,
        epilog=DEDUPE_EPILOG,
        formatter_class=HelpFormatter,
    )
    d.add_argument("source", metavar="PATH", help="a folder, or a dataset spec (see `hashbench datasets --help`)")
    d.add_argument("--hasher", default="pdq", help="hasher used to compare images (default: pdq)")
    d.add_argument(
        "--radius", type=non_negative_int, default=10, help="pairs with distance <= radius are listed (default 10)"
    )
    d.add_argument(
        "--out",
        default=os.path.join("results", "dedupe"),
        metavar="DIR",
        help="folder for near-duplicates.csv, exclude.txt, manifest.parquet (default results/dedupe)",
    )
    d.add_argument(
        "--show", type=non_negative_int, default=20, metavar="N", help="print the first N pairs (default 20)"
    )
    add_workers(d)
    d.add_argument("--no-progress", action="store_true", help="hide progress bars")
    d.set_defaults(func=run_dedupe)

    v = dsub.add_parser(
        "preview",
        help="draw contact sheets of the synthetic families and of a suite",
        description=PREVIEW_DESCRIPTION,
        epilog=PREVIEW_EPILOG,
        formatter_class=HelpFormatter,
    )
    v.add_argument("--out", default="docs", metavar="DIR", help="folder for the PNGs (default docs)")
    v.add_argument("--families", default="all", help="comma-separated families, 'all' or 'none' (default all)")
    v.add_argument("--count", type=positive_int, default=16, help="images per family sheet (default 16)")
    v.add_argument("--seed", type=non_negative_int, default=0, help="seed of the images and of the suite (default 0)")
    v.add_argument("--size", default="256", help="image size, N or WxH (default 256)")
    v.add_argument("--suite", default="default", help=f"suite to show, or 'none' ({', '.join(suite_names())})")
    v.add_argument("--photo", default="sample/skimage/chelsea", help="id of the sample image the suite is applied to")
    v.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    v.set_defaults(func=run_preview)

    g = sub.add_parser(
        "generate",
        help="write synthetic benign images to a folder",
        description=GENERATE_DESCRIPTION,
        epilog=GENERATE_EPILOG,
        formatter_class=HelpFormatter,
    )
    g.add_argument("family", choices=ds.ALL_FAMILIES, metavar="FAMILY", help=", ".join(ds.ALL_FAMILIES))
    g.add_argument("--count", type=positive_int, required=True, help="number of images")
    g.add_argument("--size", default="256", help="N (square) or WIDTHxHEIGHT (default 256)")
    g.add_argument("--seed", type=non_negative_int, default=0, help="non-negative seed (default 0)")
    g.add_argument("--start", type=non_negative_int, default=0, help="first index (default 0)")
    g.add_argument("--out", required=True, metavar="DIR", help="output folder")
    g.add_argument("--format", choices=("png", "jpg"), default="png", help="file format (default png)")
    g.add_argument("--quality", type=positive_int, default=95, help="JPEG quality for --format jpg (default 95)")
    add_workers(g)
    g.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    g.set_defaults(func=run_generate)


def _progress(args: argparse.Namespace) -> bool:
    return not args.no_progress and sys.stderr.isatty()


def run_list(args: argparse.Namespace) -> int:
    print("datasets (use as NAME:key=value,...):")
    print_table(
        ["name", "parameters", "description"], [(i.name, ", ".join(i.params), i.description) for i in ds.available()]
    )
    print("\nsynthetic families:")
    print_table(["family", "description"], [(f, ds.FAMILY_DESCRIPTIONS[f]) for f in ds.ALL_FAMILIES])
    sample = ds.SampleDataset(kinds="all")
    print(f"\nsample images present here ({len(sample)} after deduplication; default kinds=photo):")
    print_table(
        ["id", "kind", "size", "licence", "credit"],
        [
            (
                it.id,
                it.source["kind"],
                f"{it.source['width']}x{it.source['height']}",
                it.source["licence"],
                it.source["credit"],
            )
            for it in sample
        ],
    )
    for row in sample.excluded():
        print(f"  left out: {row['id']} ({row['reason']})")
    return 0


def _dataset_from_arg(text: str, manifest: str | None = None) -> ds.Dataset:
    """The dataset a PATH argument names; a path that is not a folder says so, rather than
    "unknown dataset '/photos'"."""
    if ":" not in text and os.sep in text and not os.path.isdir(text):
        raise UsageError(f"{text!r} is not a folder" + ("" if os.path.exists(text) else " (no such path)"))
    name, params = ds.parse_spec(text)
    if name == "folder" and manifest is not None:
        params.setdefault("manifest", manifest)
    return ds.get(name, **params)


def run_dedupe(args: argparse.Namespace) -> int:
    # The dataset is checked first, so a mistyped path leaves no empty --out folder behind.
    dataset = _dataset_from_arg(args.source, os.path.join(args.out, "manifest.parquet"))
    os.makedirs(args.out, exist_ok=True)
    result = dd.dedupe_dataset(dataset, args.hasher, args.radius, workers=args.workers, progress=_progress(args))
    pairs_path = dd.write_pairs_csv(os.path.join(args.out, "near-duplicates.csv"), result)
    excl_path = dd.write_exclusions(os.path.join(args.out, "exclude.txt"), result)
    groups = result.groups()
    print(
        f"{len(dataset)} images, {result.meta['hashed']} hashed with {args.hasher}; "
        f"{len(result)} pairs within distance {args.radius} in {len(groups)} groups; "
        f"{len(result.exclusions())} ids to exclude"
    )
    for item_id, reason in result.meta["errors"][:5]:
        print(f"  not hashed: {item_id}: {reason}", file=sys.stderr)
    if len(result) and args.show > 0:
        rows = [(a, b, d) for (a, b, d), _ in zip(result.pairs(), range(args.show))]
        print_table(["id_a", "id_b", "distance"], rows)
        if len(result) > args.show:
            print(f"... {len(result) - args.show} more in {pairs_path}")
    print(f"wrote {pairs_path} and {excl_path}")
    return 0


def run_preview(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    if args.families == "all":
        families = list(ds.FAMILIES)
    elif args.families == "none":
        families = []
    else:
        families = [f.strip() for f in args.families.split(",") if f.strip()]
        bad = [f for f in families if f not in ds.ALL_FAMILIES]
        if bad:
            raise UsageError(f"unknown families {bad}; families: {', '.join(ds.ALL_FAMILIES)}")
    os.makedirs(args.out, exist_ok=True)
    jobs = [("family", f) for f in families] + ([("suite", args.suite)] if args.suite != "none" else [])
    written = []
    for kind, name in tqdm(jobs, disable=not _progress(args), unit="sheet", desc="preview"):
        if kind == "family":
            sheet = family_sheet(name, count=args.count, seed=args.seed, size=args.size)
            path = os.path.join(args.out, f"family-{name}.png")
        else:
            photo = [it for it in ds.SampleDataset(kinds="all") if it.id == args.photo]
            if not photo:
                raise UsageError(f"no sample image {args.photo!r}; see `hashbench datasets` for the ids")
            sheet = suite_sheet(photo[0].load(), photo[0].id, name, seed=args.seed)
            path = os.path.join(args.out, f"suite-{name}.png")
        _save_small_png(sheet, path)
        written.append(path)
    for path in written:
        print(f"wrote {path} ({os.path.getsize(path) // 1024} KiB)")
    return 0


def _save_small_png(sheet: Any, path: str, limit: int = 290_000) -> None:
    """Save as PNG; if that exceeds ``limit`` bytes, as a 256-colour PNG (docs keep sheets small).

    Quantising only when needed keeps smooth sheets (low-detail gradients) free of banding.
    """
    from PIL import Image

    sheet.save(path, format="PNG", optimize=True)
    if os.path.getsize(path) > limit:
        sheet.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(
            path, format="PNG", optimize=True
        )


def run_generate(args: argparse.Namespace) -> int:
    dataset = ds.SyntheticDataset(args.family, args.count, args.seed, args.size, args.start)
    paths = export_synthetic(
        dataset, args.out, args.format, quality=args.quality, workers=args.workers, progress=_progress(args)
    )
    print(
        f"wrote {len(paths)} images to {args.out} ({args.family}, seed {args.seed}, "
        f"{dataset.size[0]}x{dataset.size[1]}, {args.format})"
    )
    return 0
