"""hashbench.schema: the report.json contract defined once, and the helpers derived from it."""

from __future__ import annotations

import math

import pytest

from hashbench import schema
from hashbench.errors import UsageError
from hashbench.report import SCHEMA, TIMING_KEYS, check_report, without_timing
from hashbench.report.schema import accuracy_differences, accuracy_part
from hashbench.runner import REPORT_SCHEMA


def _report() -> dict:
    hasher = {k: {} for k in schema.HasherEvaluation.__required_keys__}
    hasher["at_threshold"] = {"tpr": {"count": 3, "n": 4, "rate": 0.75, "ci_low": 0.2, "ci_high": 0.99}}
    return {
        "schema": schema.SCHEMA,
        "run_id": "x-0",
        "config": {"name": "x"},
        "seed": 1,
        "environment": {"versions": {"numpy": "2"}},
        "inputs": {},
        "hashers": {"pdq": hasher},
        "composites": {},
        "timing": {"wall_seconds": 1.0},
    }


def test_the_schema_name_and_key_lists_are_defined_once():
    assert SCHEMA is schema.SCHEMA and REPORT_SCHEMA is schema.SCHEMA and TIMING_KEYS is schema.TIMING_KEYS
    kinds = schema.IDENTITY_KEYS + schema.ACCURACY_KEYS + schema.TIMING_KEYS + schema.MACHINE_KEYS
    assert sorted(kinds) == sorted(schema.REPORT_KEYS) and len(set(kinds)) == len(kinds)
    assert list(schema.Report.__annotations__) == list(schema.REPORT_KEYS)


def test_accuracy_part_and_without_timing_are_complements():
    r = _report()
    assert list(accuracy_part(r)) == list(schema.ACCURACY_KEYS)
    rest = without_timing(r, machine=True)
    assert set(rest) == set(schema.ACCURACY_KEYS) | set(schema.IDENTITY_KEYS)
    assert "environment" in without_timing(r)


def test_accuracy_differences_ignore_timing_and_name_each_figure():
    a, b = _report(), _report()
    b["timing"]["wall_seconds"] = 99.0
    b["environment"]["versions"]["numpy"] = "3"
    assert accuracy_differences(a, b) == []
    b["hashers"]["pdq"]["at_threshold"]["tpr"]["count"] = 4
    b["composites"]["md5|pdq"] = {}
    expected = [
        "report.composites.md5|pdq: present in only one report",
        "report.hashers.pdq.at_threshold.tpr.count: 3 vs 4",
    ]
    assert accuracy_differences(a, b) == expected
    a["hashers"]["pdq"]["at_threshold"]["tpr"]["rate"] = math.nan  # written as null, as report.json has it
    b["hashers"]["pdq"]["at_threshold"]["tpr"]["rate"] = None
    assert accuracy_differences(a, b) == expected
    assert accuracy_differences(a, b, limit=1) == expected[:1]


def test_check_report_requires_the_typed_hasher_keys():
    r = _report()
    check_report(r)
    del r["hashers"]["pdq"]["summary"]
    with pytest.raises(UsageError, match="hashers.pdq lacks summary"):
        check_report(r)
    r = _report()
    r["hashers"]["pdq"].pop("quality", None)  # optional (gate only): never required
    check_report(r)
