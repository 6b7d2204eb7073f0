"""Reports have exactly the shape hashbench.schema declares, so the readers typed against it
(mypy checks every key they read) read what the writers really write."""

from __future__ import annotations

import json
from pathlib import Path

from hashbench import schema
from hashbench.report import load_report
from typed_shape import shape_errors

COMMITTED = Path(__file__).resolve().parents[1] / "results" / "fpr-50b" / "report.json"


def test_shape_errors_finds_missing_extra_and_mistyped_keys():
    rate = {"count": 1, "n": 4, "rate": 0.25, "ci_low": 0.01, "ci_high": 0.8}
    assert shape_errors(rate, schema.Rate) == []
    assert shape_errors({**rate, "rate": None, "ci_low": None, "ci_high": None}, schema.Rate) == []
    assert shape_errors({k: v for k, v in rate.items() if k != "n"}, schema.Rate) == ["$: Rate lacks required key 'n'"]
    assert shape_errors({**rate, "extra": 1}, schema.Rate) == ["$: key 'extra' is not declared in Rate"]
    assert shape_errors({**rate, "count": "1"}, schema.Rate) == ["$.count: expected int, got str '1'"]
    assert shape_errors({**rate, "count": True}, schema.Rate) == ["$.count: expected int, got bool True"]


def test_shape_errors_allows_absent_optional_keys_and_checks_present_ones():
    entry = {"genuine_histogram": [3, 1, 0], "failed": 0}
    assert shape_errors(entry, schema.TransformEntry) == []
    assert shape_errors({**entry, "gated": 1, "genuine_histogram_ungated": [2, 1, 0]}, schema.TransformEntry) == []
    assert shape_errors({**entry, "genuine_histogram_ungated": [2, "x"]}, schema.TransformEntry) == [
        "$.genuine_histogram_ungated[1]: expected int, got str 'x'"
    ]
    assert shape_errors({"pairs": "both", "n_images": 2, "histogram": [1]}, schema.Impostor) == [
        "$.pairs: 'both' is not one of ('ordered', 'unordered')"
    ]


def test_the_committed_reference_report_has_the_typed_shape():
    report = load_report(COMMITTED)
    assert shape_errors(report, schema.Report) == []
    assert shape_errors(json.loads(COMMITTED.read_text(encoding="utf-8")), schema.Report) == []
