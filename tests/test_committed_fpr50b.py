"""The committed headline run (results/fpr-50b) agrees with itself.

README's opening paragraph quotes this run. Its per-item files are data, not renderings of
report.json, so nothing else checks that they say the same: here every hasher's image-level
interval is recomputed from the committed per-image counts, and the listed false matches are
checked against those counts and against the true counts report.json states.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hashbench import results
from hashbench.evaluate.image_level import image_level_interval

RUN = Path(__file__).resolve().parents[1] / "results" / "fpr-50b"


@pytest.fixture(scope="module")
def report() -> dict:
    return json.loads((RUN / "report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def per_image() -> pd.DataFrame:
    table = results.load(RUN).per_image
    assert table is not None
    return table


def test_image_level_intervals_are_those_of_the_committed_per_image_counts(report, per_image):
    for name, h in report["hashers"].items():
        at = h["at_threshold"]
        assert len(per_image) == h["impostor"]["n_images"] and per_image[name].notna().all(), name
        m = per_image[name].to_numpy(np.int64)
        got = image_level_interval(m, at["fpr_per_pair"]["n"], report["config"]["alpha"])
        assert got.count == at["fpr_per_pair"]["count"], name
        assert got.images_involved == at["images_involved"] and got.max_matches_per_image == at["max_matches_per_image"]
        assert list(got.ci_image_level) == pytest.approx(at["ci_image_level"], rel=1e-12), name
        assert got.upper_one_sided == pytest.approx(at["upper_one_sided_95"], rel=1e-12), name


def test_listed_false_matches_agree_with_the_counts(report, per_image):
    fm = results.load(RUN).false_matches
    count_of = dict(zip(per_image["id"], per_image["pdq"], strict=True))
    for name, h in report["hashers"].items():
        listed = h["listed"]
        rows = fm[fm["hasher"] == name]
        assert len(rows) == listed["false_matches_listed"] == min(listed["false_matches"], listed["max_listed"])
        assert listed["false_matches"] == h["at_threshold"]["fpr_per_pair"]["count"]
        assert (rows["distance"] <= h["threshold"]).all() and (rows["id_a"] != rows["id_b"]).all()
        assert not rows.duplicated(["id_a", "id_b"]).any()
    # pdq's list is complete: each listed image's count is its number of listed pairs
    pdq = fm[fm["hasher"] == "pdq"]
    ids = pd.concat([pdq["id_a"], pdq["id_b"]]).value_counts()
    assert all(count_of[i] == k for i, k in ids.items())
    assert sum(count_of.values()) == 2 * len(pdq)
