"""The per-item files of a run folder: a known near-duplicate in a photo folder is listed, the
files agree with report.json, and the cap keeps the true count."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hashbench import datasets
from hashbench.config import load_config
from hashbench.report import load_report
from hashbench.report.writers import FALSE_MATCH_COLUMNS, MISS_COLUMNS, PER_IMAGE_COLUMNS
from hashbench.runner import run

PHOTOS = 10


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """(comment lines, rows) of a per-item CSV file."""
    text = path.read_text(encoding="utf-8")
    notes = [line for line in text.splitlines() if line.startswith("#")]
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return notes, list(csv.DictReader(io.StringIO(body)))


@pytest.fixture(scope="module")
def photo_run(tmp_path_factory) -> Path:
    """Ten sample photos and a re-encoded (JPEG q=70, 90% size) copy of the first: one known
    near-duplicate pair among distinct photos."""
    root = tmp_path_factory.mktemp("items")
    photos = root / "photos"
    photos.mkdir()
    sample = datasets.get("sample")
    for k in range(PHOTOS):
        img = Image.fromarray(sample.item(k).load())
        img.thumbnail((256, 256))
        img.save(photos / f"p{k:02d}.png")
        if k == 0:
            w, h = img.size
            img.resize((w * 9 // 10, h * 9 // 10), Image.Resampling.LANCZOS).save(photos / "p00_copy.jpg", quality=70)
    cfg = root / "photos.toml"
    cfg.write_text(
        f"""
[run]
name = "items"
workers = 1
[[references]]
dataset = "synthetic"
family = "mixed"
count = 5
size = 64
[[distractors]]
dataset = "folder"
root = "{photos}"
[transforms]
custom = [{{ kind = "rotate90", name = "rot90" }}, {{ kind = "jpeg", name = "jpeg_q40", quality = 40 }}]
[hashers]
names = ["pdq", "phash"]
composites = ["pdq|phash"]
[matching]
mode = "plain"
"""
    )
    return run(load_config(cfg), out_root=root / "results", workers=1, progress=False).run_dir


def test_the_known_near_duplicate_pair_is_listed(photo_run):
    _, rows = read_rows(photo_run / "false_matches.csv")
    pdq = [r for r in rows if r["hasher"] == "pdq"]
    assert {(r["id_a"], r["id_b"]) for r in pdq} == {("p00.png", "p00_copy.jpg")}
    (row,) = pdq
    assert int(row["distance"]) <= 31 and row["threshold"] == "31"
    assert 0 <= int(row["quality_a"]) <= 100 and row["group_a"] == row["group_b"] == "folder"
    assert row["gated"] == "0"
    assert any(r["hasher"] == "pdq|phash" and (r["id_a"], r["id_b"]) == ("p00.png", "p00_copy.jpg") for r in rows)


def test_item_files_agree_with_report_json(photo_run):
    report = load_report(photo_run)
    notes, fm = read_rows(photo_run / "false_matches.csv")
    assert tuple(fm[0].keys()) == FALSE_MATCH_COLUMNS
    _, misses = read_rows(photo_run / "misses.csv")
    _, per_image = read_rows(photo_run / "per_image.csv")
    assert tuple(per_image[0].keys()) == (*PER_IMAGE_COLUMNS, "pdq", "phash", "pdq|phash")
    assert len(per_image) == 5 + PHOTOS + 1
    sections = {**report["hashers"], **report["composites"]}
    for name, sec in sections.items():
        listed = sec["listed"]
        fpr = sec["at_threshold"]["fpr_per_pair"] if name in report["hashers"] else sec["fpr_per_pair"]
        assert listed["false_matches"] == fpr["count"]
        assert sum(r["hasher"] == name for r in fm) == listed["false_matches_listed"] == listed["false_matches"]
        column = [int(r[name]) for r in per_image if r[name] != ""]
        assert sum(column) == 2 * listed["false_matches"]  # each pair counts for both its images
        assert any(line.startswith(f"# {name} at threshold") for line in notes)
    for name, sec in report["hashers"].items():
        t = sec["threshold"]
        hist = {k: np.array(v["genuine_histogram"]) for k, v in sec["transforms"].items()}
        mine = [r for r in misses if r["hasher"] == name]
        assert len(mine) == sec["listed"]["misses"] == sum(int(h[t + 1 :].sum()) for h in hist.values())
        assert all(int(r["distance"]) > t for r in mine)
        for r in mine:
            assert r["query_id"] == f"{r['reference_id']}#{r['transform']}"
    assert tuple(misses[0].keys()) == MISS_COLUMNS


def test_the_cap_keeps_the_true_count(tmp_path):
    """Flat low-detail images collide under dHash: far more false matches than the cap of 3."""
    cfg = tmp_path / "cap.toml"
    cfg.write_text(
        """
[run]
name = "cap"
workers = 1
[[references]]
dataset = "synthetic"
family = "shapes"
count = 2
size = 32
[[distractors]]
dataset = "synthetic"
family = "low-detail"
count = 60
size = 32
distinct = false
[transforms]
suite = "none"
[hashers]
names = ["dhash"]
[matching]
mode = "plain"
[statistics]
max_listed = 3
"""
    )
    out = run(load_config(cfg), out_root=tmp_path / "results", workers=1, progress=False)
    listed = out.report["hashers"]["dhash"]["listed"]
    notes, fm = read_rows(out.run_dir / "false_matches.csv")
    assert listed["false_matches"] == out.report["hashers"]["dhash"]["at_threshold"]["fpr_per_pair"]["count"] > 3
    assert listed["false_matches_listed"] == len(fm) == 3
    assert [int(r["distance"]) for r in fm] == sorted(int(r["distance"]) for r in fm)
    assert f"{listed['false_matches']:,} false matches, 3 listed" in notes[0]
