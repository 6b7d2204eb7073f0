"""Issue 19 item 5: ``hashbench.results.load(run_dir)``, a run's tables as pandas DataFrames."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from hashbench import results
from hashbench.errors import UsageError
from hashbench.report.metrics import GROUP_METRICS_COLUMNS, group_metrics_rows
from hashbench.report.writers import FALSE_MATCH_COLUMNS, PER_IMAGE_COLUMNS, csv_bytes

RUN = Path(__file__).resolve().parents[1] / "results" / "fpr-50b"


def test_metrics_equal_the_runs_metrics_csv_with_numbers_typed():
    got = results.load(RUN)
    pd.testing.assert_frame_equal(got.metrics, pd.read_csv(RUN / "metrics.csv"), check_dtype=False)
    assert got.metrics["n_pairs"].dtype.kind == "i" and got.metrics["fpr"].dtype.kind == "f"
    assert got.report["run_id"] == json.loads((RUN / "report.json").read_text())["run_id"]
    assert list(got.metrics_by_group.columns) == list(GROUP_METRICS_COLUMNS)
    assert len(got.metrics_by_group) == len(group_metrics_rows(got.report))


def test_failures_and_false_matches_come_from_the_run_folder(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    report = json.loads((RUN / "report.json").read_text())
    report["inputs"]["failures"] = [{"stage": "distractors", "id": "x.jpg", "hasher": None, "reason": "truncated"}]
    (run / "report.json").write_text(json.dumps(report))
    got = results.load(run / "report.json")
    row = got.failures.to_dict("records")
    assert len(row) == 1 and pd.isna(row[0].pop("hasher"))  # a decode failure belongs to no hasher
    assert row == [{"stage": "distractors", "id": "x.jpg", "reason": "truncated"}]
    assert got.false_matches.empty and list(got.false_matches.columns) == list(results.FALSE_MATCH_COLUMNS)
    (run / "false_matches.csv").write_text(
        "hasher,threshold,id_a,id_b,distance,quality_a,quality_b,group_a,group_b,gated\n"
        "pdq,31,a.jpg,b.jpg,12,100,90,photos,photos,False\n"
    )
    fm = results.load(run).false_matches
    assert fm.to_dict("records")[0]["distance"] == 12 and fm["id_b"].tolist() == ["b.jpg"]


def test_false_matches_as_a_run_writes_them_with_their_comment_lines(tmp_path):
    """A run's false_matches.csv starts with "#" lines (the true counts); ids may hold a "#"."""
    report = json.loads((RUN / "report.json").read_text())
    row = ("pdq", "31", "a#1.jpg", "b.jpg", "12", "100", "90", "photos", "photos", "False")
    notes = ["# pdq at threshold 31: 1 false matches, 1 listed (at most 10,000 each)"]
    (tmp_path / "report.json").write_text(json.dumps(report))
    (tmp_path / "false_matches.csv").write_bytes(csv_bytes(FALSE_MATCH_COLUMNS, [row], notes))
    fm = results.load(tmp_path).false_matches
    assert list(fm.columns) == list(FALSE_MATCH_COLUMNS)
    assert fm["id_a"].tolist() == ["a#1.jpg"] and fm["distance"].tolist() == [12]


def test_without_pandas_it_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(
        UsageError, match=r"needs pandas: pip install pandas \(or install hashbench with its \[pandas\]"
    ):
        results.load(RUN)


def test_a_folder_without_a_report_is_one_line(tmp_path):
    shutil.copy(RUN / "metrics.csv", tmp_path / "metrics.csv")
    with pytest.raises(UsageError, match="no such file"):
        results.load(tmp_path)


@pytest.mark.parametrize("gzipped", [False, True])
def test_per_image_is_read_as_a_run_writes_it_plain_or_gzipped(tmp_path, gzipped):
    """per_image.csv (or the .gz a committed run keeps): "#" count lines skipped, ids with a "#"
    whole, "" (not hashed by that matcher) a missing value; no file, no table."""
    import gzip

    report = json.loads((RUN / "report.json").read_text())
    (tmp_path / "report.json").write_text(json.dumps(report))
    assert results.load(tmp_path).per_image is None
    rows = [("a#1.jpg", "reference", "photos", "2", ""), ("b.jpg", "distractor", "text", "0", "1")]
    data = csv_bytes((*PER_IMAGE_COLUMNS, "pdq", "md5"), rows, ["# false matches of each image", "# pdq: 1"])
    name = "per_image.csv.gz" if gzipped else "per_image.csv"
    (tmp_path / name).write_bytes(gzip.compress(data) if gzipped else data)
    table = results.load(tmp_path).per_image
    assert table is not None and list(table.columns) == [*PER_IMAGE_COLUMNS, "pdq", "md5"]
    assert table["id"].tolist() == ["a#1.jpg", "b.jpg"] and table["pdq"].tolist() == [2, 0]
    assert table["md5"].isna().tolist() == [True, False]
