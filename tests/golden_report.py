"""The pinned small run (tests/golden/report_small.toml) and the figures of it that are compared."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from hashbench.config import parse_config
from hashbench.report import to_json
from hashbench.runner import run

GOLDEN = Path(__file__).resolve().parent / "golden"
#: report.json's top-level keys that hold accuracy figures and inputs (not timing or machine).
ACCURACY = ("config", "seed", "inputs", "hashers", "composites")


def run_small(out_root: Path) -> dict[str, Any]:
    text = (GOLDEN / "report_small.toml").read_text(encoding="utf-8")
    config = parse_config(tomllib.loads(text), origin="report_small.toml")
    return run(config, out_root=out_root, workers=1, progress=False, write=False).report


def accuracy_figures(report: dict[str, Any]) -> dict[str, Any]:
    """The accuracy part of a report as plain JSON values (floats as report.json writes them)."""
    return json.loads(to_json({k: report[k] for k in ACCURACY}))
