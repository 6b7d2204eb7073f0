"""`hashbench transforms` (list the catalogue and suites) and `hashbench transform` (apply a suite)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from typing import Any

from .. import datasets as ds
from .. import transforms as tf
from ..datasets.folder import FileItem
from ..errors import UsageError
from ..imageio import IMAGE_SUFFIXES
from ..tools.export import transform_dataset
from . import HelpFormatter
from .options import add_workers, non_negative_int
from .output import print_table

TRANSFORMS_DESCRIPTION = """\
List the transform catalogue (each kind with its parameters and defaults) and the named suites.
A parameter given as [lo, hi] in a run configuration is drawn per image from that range; the
value used is recorded with each output. With --suite NAME, list that suite's members.
"""

TRANSFORMS_EPILOG = """\
examples:
  hashbench transforms
  hashbench transforms --suite dihedral
  hashbench transforms --suite isc --json           the members as [[transforms.custom]] entries (JSON)
"""

TRANSFORM_DESCRIPTION = """\
Apply a suite of transforms to every image of a source and write the outputs as files:
OUT/<transform>/<item id>.<ext> (jpeg/webp/png transforms write the encoded file itself,
others lossless PNG), OUT/transforms.jsonl (one line per output: item, transform, resolved
parameters, file, source) and OUT/suite.json. Every random choice is drawn from a stream
derived from (--seed, item id, transform name), so the same command writes the same files.
"""

TRANSFORM_EPILOG = f"""\
examples:
  hashbench transform photos/ --suite default --out results/altered
  hashbench transform sample --suite dihedral --out /tmp/dihedral
  hashbench transform synthetic:family=mixed,count=100 --suite isc --seed 7 --out /tmp/isc

SRC is an image file, a folder, or a dataset spec (see `hashbench datasets --help`).
suites: {", ".join(tf.suite_names())}
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "transforms",
        help="list the transform catalogue and the named suites",
        description=TRANSFORMS_DESCRIPTION,
        epilog=TRANSFORMS_EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--suite", help="list the members of this suite")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=run_transforms)

    t = sub.add_parser(
        "transform",
        help="apply a suite of transforms to images and write the results",
        description=TRANSFORM_DESCRIPTION,
        epilog=TRANSFORM_EPILOG,
        formatter_class=HelpFormatter,
    )
    t.add_argument("source", metavar="SRC", help="image file, folder or dataset spec")
    t.add_argument("--suite", default="default", help="suite name (default: default)")
    t.add_argument("--seed", type=non_negative_int, default=0, help="seed of the random choices (default 0)")
    t.add_argument("--out", required=True, metavar="DIR", help="output folder")
    add_workers(t)
    t.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    t.set_defaults(func=run_transform)


def config_entry(desc: dict[str, Any]) -> dict[str, Any]:
    """A transform's ``describe()`` in the form a ``[[transforms.custom]]`` entry takes.

    ``describe()`` nests the parameters under "params" (the report's form); a config entry has
    them beside "kind", and a chain lists its steps under "chain". Printing this form is what
    lets ``transforms --suite NAME --json`` be pasted into a config (issue 16, item 16).
    """
    params = dict(desc.get("params") or {})
    if desc.get("kind") == "chain":
        return {"name": desc["name"], "chain": [config_entry(step) for step in params.get("steps", [])]}
    return {"name": desc["name"], "kind": desc["kind"], **params}


def run_transforms(args: argparse.Namespace) -> int:
    if args.suite:
        suite = tf.get_suite(args.suite)
        if args.json:
            print(json.dumps([config_entry(t.describe()) for t in suite], indent=2))
            return 0
        print(f"suite {args.suite!r}: {tf.SUITE_DESCRIPTIONS[args.suite]}")
        print_table(
            ["name", "kind", "parameters"], [(t.name, t.kind, _params_text(t.describe()["params"])) for t in suite]
        )
        return 0
    kinds = tf.available()
    if args.json:
        print(
            json.dumps(
                {
                    "transforms": [
                        {
                            "kind": c.kind,
                            "description": c.description,
                            "defaults": dict(c.defaults),
                            "param_help": dict(c.param_help),
                        }
                        for c in kinds
                    ],
                    "suites": {n: tf.SUITE_DESCRIPTIONS[n] for n in tf.suite_names()},
                },
                indent=2,
                default=list,
            )
        )
        return 0
    print("transforms (kind: parameters with defaults):")
    print_table(
        ["kind", "parameters", "what it does"], [(c.kind, _params_text(c.defaults), c.description) for c in kinds]
    )
    print("\nsuites (`hashbench transforms --suite NAME` lists the members):")
    print_table(
        ["suite", "size", "contents"], [(n, len(tf.get_suite(n)), tf.SUITE_DESCRIPTIONS[n]) for n in tf.suite_names()]
    )
    return 0


def _params_text(params: Mapping[str, Any]) -> str:
    if "steps" in params and isinstance(params["steps"], list):
        return " + ".join(f"{s['kind']}({_params_text(s['params'])})" for s in params["steps"])
    return ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in params.items())


def _items(source: str) -> list[ds.Item]:
    if os.path.isfile(source):
        if os.path.splitext(source)[1].lower() not in IMAGE_SUFFIXES:
            raise UsageError(f"{source!r} has no image suffix")
        name = os.path.basename(source)
        return [FileItem(name, {"dataset": "file", "path": source}, source)]
    return list(ds.from_spec(source))


def run_transform(args: argparse.Namespace) -> int:
    suite = tf.get_suite(args.suite)
    items = _items(args.source)
    if not items:
        raise UsageError(f"{args.source!r} holds no images")
    counts = transform_dataset(
        items,
        suite,
        args.out,
        seed=args.seed,
        suite_name=args.suite,
        workers=args.workers,
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    print(
        f"{counts['items']} images x {len(suite)} transforms: wrote {counts['outputs']} files to {args.out}"
        + (f"; {counts['errors']} images could not be read (see transforms.jsonl)" if counts["errors"] else "")
    )
    return 0
