"""The named evaluation steps of study_hasher, one at a time, and the timing of each step."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time

import numpy as np
import pytest

from hashbench.evaluate import impostor_histogram
from hashbench.evaluate.calibration import operating_points_step
from hashbench.evaluate.codes import Codes, PairCounting, impostor_images
from hashbench.evaluate.composite import composite_images, study_composite
from hashbench.evaluate.curves import curves_step
from hashbench.evaluate.distances import impostor_histogram_with_counts
from hashbench.evaluate.genuine import genuine_step
from hashbench.evaluate.impostor import impostor_step
from hashbench.evaluate.per_query import per_query_step
from hashbench.evaluate.study import StudySettings, study_hasher, timed

NBITS = 16


def _codes(bits: list[list[int]], quality: list[int] | None = None) -> Codes:
    """Codes from rows of 0/1 bits (16 per row); every row hashed."""
    packed = np.packbits(np.asarray(bits, dtype=np.uint8), axis=1)
    q = None if quality is None else np.asarray(quality, dtype=np.int16)
    return Codes(codes=packed, ok=np.ones(len(bits), dtype=bool), quality=q)


def _row(ones: int, start: int = 0) -> list[int]:
    """A 16-bit row with ``ones`` set bits from ``start``: distance between two rows is easy."""
    r = [0] * NBITS
    for i in range(start, start + ones):
        r[i % NBITS] = 1
    return r


def test_genuine_step_distances_per_transform_and_gate():
    refs = _codes([_row(0), _row(8)], quality=[90, 10])
    # query 0: ref 0 at distance 2; query 1: ref 1 at distance 0; query 2: unknown reference;
    # query 3: not hashed
    queries = _codes([_row(2), _row(8), _row(1), _row(3)], quality=[90, 90, 90, 90])
    queries.ok[3] = False
    g = genuine_step(
        NBITS, refs, queries, np.array([0, 1, -1, 0]), ["jpeg", "crop", "jpeg", "crop"], dihedral=False, floor=50
    )
    assert g.distances.tolist() == [2, 0, -1, -1]
    assert g.valid.tolist() == [True, True, False, False]
    assert g.gated.tolist() == [False, True, False, False]  # ref 1 is below the floor
    assert g.transforms["jpeg"]["genuine_histogram"][2] == 1 and g.transforms["jpeg"]["failed"] == 1
    assert g.transforms["crop"]["genuine_histogram"][0] == 1 and g.transforms["crop"]["gated"] == 1
    assert sum(g.transforms["crop"]["genuine_histogram_ungated"]) == 0
    plain = genuine_step(NBITS, refs, queries, np.array([0, 1, -1, 0]), ["a"] * 4, dihedral=False, floor=None)
    assert "gated" not in plain.transforms["a"] and not plain.gated.any()


def test_impostor_step_counts_every_pair_per_group_and_gated():
    rng = np.random.default_rng(0)
    refs = _codes(rng.integers(0, 2, (5, NBITS)).tolist(), quality=[90, 90, 10, 90, 90])
    dis = _codes(rng.integers(0, 2, (4, NBITS)).tolist(), quality=[90, 10, 90, 90])
    refs.ok[1] = False  # not hashed: not in the impostor set
    groups = (["a", "a", "b", "b", "a"], ["b", "a", "a", "b"])
    step = impostor_step(refs, dis, PairCounting(NBITS, dihedral=False), floor=50, groups=groups)
    n = 4 + 4
    assert step.section["n_images"] == n and sum(step.section["histogram"]) == n * (n - 1) // 2
    assert step.histogram.tolist() == impostor_histogram(step.images.images.codes, NBITS).tolist()
    by_group = step.section["by_group"]
    assert {g: v["n_images"] for g, v in by_group.items()} == {"a": 4, "b": 4}
    assert all(sum(v["histogram"]) == 4 * 3 // 2 for v in by_group.values())
    assert step.section["gated_images"] == 2
    assert sum(step.section["histogram_ungated"]) == 6 * 5 // 2


def _clique_study(gated: bool, dihedral: bool = False):
    """A study whose impostor set holds a clique: 6 identical codes among 24 far-apart ones."""
    rng = np.random.default_rng(5)
    n_refs, n_dis, m = 10, 20, 6
    bits = rng.integers(0, 2, (n_refs + n_dis, 64)).astype(np.uint8)
    bits[:m] = bits[0]  # the clique: m copies of one code (m(m-1)/2 = 15 matching pairs)
    packed = np.packbits(bits, axis=1)
    quality = np.full(n_refs + n_dis, 90, dtype=np.int16)
    quality[[1, 2, 20]] = 10  # two clique members and one distractor fail the gate
    variants = np.repeat(packed[:, None, :], 2, axis=1) if dihedral else None

    def codes(rows):
        v = None if variants is None else variants[rows]
        return Codes(packed[rows], np.ones(len(rows), dtype=bool), quality[rows] if gated else None, v)

    refs, dis = codes(np.arange(n_refs)), codes(np.arange(n_refs, n_refs + n_dis))
    s = StudySettings("h", 3, dihedral, 50 if gated else None, 0, 0.05, (0.1,), (1e6,), 1e9, 1e6)
    result, _, _ = study_hasher(64, refs, refs, np.arange(n_refs), ["x"] * n_refs, dis, s)
    return result["at_threshold"]


def test_at_threshold_has_image_level_fields_from_per_image_counts():
    """Plain matching: the per-pair rate gets the image-level fields, computed from the kernel's
    per-image counts; a clique makes the image-level interval wider than the pair-level one."""
    at = _clique_study(gated=False)
    n = 30
    assert at["fpr_per_pair"]["count"] == 15 and at["trials"] == n * (n - 1) // 2 == at["fpr_per_pair"]["n"]
    assert at["images_involved"] == 6 and at["max_matches_per_image"] == 5
    assert at["design_effect"] > 1
    assert at["ci_pair_level"] == [at["fpr_per_pair"]["ci_low"], at["fpr_per_pair"]["ci_high"]]
    low, high = at["ci_image_level"]
    assert low < at["ci_pair_level"][0] and high > at["ci_pair_level"][1]
    assert at["fpr_per_pair"]["rate"] < at["upper_one_sided_95"] < high  # one-sided 95% < two-sided 97.5% end
    assert at["image_level_method"].startswith("image-level")
    assert "fpr_per_pair_gated" not in at and "fpr_per_pair_gated_generalized" not in at


def test_gated_rate_among_pairs_of_two_ungated_images():
    """The headline gated rate is among pairs of two images that pass the gate: its own
    denominator, per-image counts and the gated shares; the generalized one keeps every pair."""
    at = _clique_study(gated=True)
    n, kept = 30, 30 - 3
    gated = at["fpr_per_pair_gated"]
    assert gated["n"] == gated["trials"] == kept * (kept - 1) // 2
    assert gated["count"] == 6 == at["fpr_per_pair_gated_generalized"]["count"]  # 4 clique members left: 6 pairs
    assert at["fpr_per_pair_gated_generalized"]["n"] == n * (n - 1) // 2
    assert gated["images_involved"] == 4 and gated["max_matches_per_image"] == 3
    assert gated["rate"] == pytest.approx(6 / gated["n"])
    assert gated["rate"] > at["fpr_per_pair_gated_generalized"]["rate"]
    assert gated["ci_image_level"][1] > gated["ci_pair_level"][1]
    assert gated["gated_images_share"] == pytest.approx(3 / n)
    assert gated["gated_pairs_share"] == pytest.approx(1 - kept * (kept - 1) / (n * (n - 1)))
    assert "fpr_per_pair_among_ungated" not in at


def test_dihedral_matching_gets_the_same_image_level_fields_over_unordered_pairs():
    """pdq8-style matching: n(n-1)/2 trials, the clique's 15 pairs counted once each, and the
    same image-level fields (gated too) as plain matching on these codes."""
    plain, dihedral = _clique_study(gated=True), _clique_study(gated=True, dihedral=True)
    n = 30
    assert dihedral["fpr_per_pair"]["n"] == dihedral["trials"] == n * (n - 1) // 2
    assert dihedral["fpr_per_pair"]["count"] == 15
    for key in ("trials", "images_involved", "max_matches_per_image", "design_effect", "ci_image_level"):
        assert dihedral[key] == plain[key]
        assert dihedral["fpr_per_pair_gated"][key] == plain["fpr_per_pair_gated"][key]
    assert dihedral["upper_one_sided_95"] == plain["upper_one_sided_95"]


def test_operating_points_need_genuine_pairs():
    refs = _codes([_row(0), _row(4)])
    queries = _codes([_row(1)])
    queries.ok[0] = False
    g = genuine_step(NBITS, refs, queries, np.array([0]), ["x"], dihedral=False, floor=None)
    imp = impostor_images(refs, _codes([_row(9)]), dihedral=False, with_quality=False)
    count = PairCounting(NBITS, dihedral=False)
    assert operating_points_step(g, np.array([0]), imp, count, (0.1,), seed=0, alpha=0.05) == []


def test_per_query_step_finds_the_nearest_listed_hash():
    refs = _codes([_row(0), _row(8)])
    dis = _codes([_row(1), _row(7), _row(16)])
    section = per_query_step(NBITS, refs, dis, dihedral=False)
    assert section["list_size"] == 2 and section["n_queries"] == 3
    hist = section["nearest_histogram"]
    assert hist[1] == 2 and hist[8] == 1 and sum(hist) == 3
    empty = per_query_step(
        NBITS, _codes([_row(0)]), Codes(np.zeros((0, 2), np.uint8), np.zeros(0, bool)), dihedral=False
    )
    assert empty == {"list_size": 1, "n_queries": 0}


def test_curves_are_empty_without_genuine_pairs():
    hist = np.zeros(NBITS + 1, dtype=np.int64)
    hist[8] = 10
    assert curves_step(np.array([-1, -1], dtype=np.int64), hist) == {}
    summary = curves_step(np.array([0, 1, -1], dtype=np.int64), hist)
    assert summary["recall_at_90_precision"]["recall"] == 1.0 and summary["eer"]["rate"] == 0.0


def test_composite_rejects_an_unknown_op_and_aligns_images():
    refs = {"a": _codes([_row(0), _row(2)]), "b": _codes([_row(0), _row(2)])}
    dis = {"a": _codes([_row(4)]), "b": _codes([_row(4)])}
    refs["b"].ok[0] = False  # hashed by "a" only: left out of the composite's images
    images = composite_images(refs, dis, ["a", "b"], dihedral=[])
    assert len(images["a"].codes) == len(images["b"].codes) == 2
    genuine = {"a": np.array([0, 5]), "b": np.array([-1, 1])}
    out = study_composite("any", [("a", 1, False), ("b", 1, False)], genuine, images, 0.05)
    assert out["tpr"]["count"] == 1 and out["tpr"]["n"] == 1 and out["fpr_per_pair"]["n"] == 1
    with pytest.raises(ValueError, match="'any' or 'all'"):
        study_composite("xor", [("a", 1, False)], genuine, images, 0.05)


def test_timed_records_the_step_even_when_it_fails():
    timings: dict[str, float] = {}
    with pytest.raises(RuntimeError), timed("broken", timings):
        raise RuntimeError
    assert set(timings) == {"broken_s"} and timings["broken_s"] >= 0


def test_every_step_is_timed_and_no_step_counts_another():
    """The calibration histograms (two pair counts) are timed, under operating_points_s, and
    no step's time includes another's: a slow pair counter shows where each count went."""
    delay = 0.1
    calls: list[int] = []

    def slow_counter(codes, nbits, variants=None, *, thresholds=None):
        calls.append(len(codes))
        time.sleep(delay)
        if thresholds is not None:  # the impostor step's pass with per-image counts
            return impostor_histogram_with_counts(codes, nbits, thresholds)
        return impostor_histogram(codes, nbits)

    rng = np.random.default_rng(1)
    refs = _codes(rng.integers(0, 2, (8, NBITS)).tolist())
    queries = _codes(rng.integers(0, 2, (8, NBITS)).tolist())
    dis = _codes(rng.integers(0, 2, (6, NBITS)).tolist())
    s = StudySettings("h", 4, False, None, 0, 0.05, (0.1,), (1e6,), 1e9, 1e6)
    study_hasher(NBITS, refs, queries, np.arange(8), ["x"] * 8, dis, s)  # compile and import first
    s = dataclasses.replace(s, pair_histogram=slow_counter)
    t0 = time.perf_counter()
    _, _, timings = study_hasher(NBITS, refs, queries, np.arange(8), ["x"] * 8, dis, s)
    wall = time.perf_counter() - t0
    steps = ["genuine", "impostor", "operating_points", "per_query", "at_threshold", "curves"]
    assert list(timings) == [f"{name}_s" for name in steps]
    assert len(calls) == 3  # all images, then the calibration and held-out halves
    assert timings["impostor_s"] >= delay and timings["operating_points_s"] >= 2 * delay
    assert timings["per_query_s"] < delay and timings["at_threshold_s"] < delay
    assert sum(timings.values()) <= wall


def test_schema_module_imports_no_heavy_package():
    code = (
        "import sys, hashbench.schema; "
        "print(sorted(m for m in ('numpy', 'numba', 'pyarrow', 'PIL') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
