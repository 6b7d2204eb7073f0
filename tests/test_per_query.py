"""The per-query step: leave-one-out against a brute force, gated per-query rates, and the
projection at the measured list size beside the measured rate (a check of the model)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashbench.evaluate.codes import Codes, distance_histogram
from hashbench.evaluate.image_level import image_level_interval
from hashbench.evaluate.per_query import nearest_other, per_query_figures, per_query_step
from hashbench.evaluate.projection import project_per_query_fpr
from hashbench.evaluate.rates import clopper_pearson

NBITS = 16


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All Hamming distances between packed rows of ``a`` and of ``b`` (brute force)."""
    ua = np.unpackbits(a, axis=-1).astype(np.int64)
    ub = np.unpackbits(b, axis=-1).astype(np.int64)
    return (ua[..., :, None, :] != ub[None, :, :]).sum(axis=-1)


def _random_codes(rng: np.random.Generator, n: int, variants: int = 0, quality: bool = False) -> Codes:
    # few distinct bit patterns so that ties and duplicates are common
    base = rng.integers(0, 4, size=(n, 2), dtype=np.uint8) * np.array([1, 3], dtype=np.uint8)
    base ^= (rng.random((n, 2)) < 0.3).astype(np.uint8) << rng.integers(0, 8, size=(n, 2), dtype=np.uint8)
    var = None
    if variants:
        var = np.repeat(base[:, None, :], variants, axis=1)
        var[:, 1:] ^= rng.integers(0, 256, size=(n, variants - 1, 2), dtype=np.uint8) & 0x11
    q = rng.integers(0, 100, size=n).astype(np.int16) if quality else None
    return Codes(codes=base, ok=np.ones(n, dtype=bool), quality=q, variants=var)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 40), dihedral=st.booleans())
def test_leave_one_out_equals_brute_force(seed, n, dihedral):
    rng = np.random.default_rng(seed)
    codes = _random_codes(rng, n, variants=8 if dihedral else 0)
    rows = np.flatnonzero(rng.random(n) < 0.8)
    if len(rows) < 2:
        rows = np.arange(n)
    got = nearest_other(codes, rows, dihedral)
    listed = codes.codes[rows]
    if dihedral:
        d = _distances(codes.variants[rows], listed).min(axis=1)  # (query, variant, listed) -> min over variants
    else:
        d = _distances(listed, listed)
    np.fill_diagonal(d, NBITS + 1)
    assert got.tolist() == d.min(axis=1).tolist()


def test_leave_one_out_rate_is_the_share_of_images_in_a_match():
    """Plain matching: a reference matches another iff it takes part in an impostor match, so
    the leave-one-out rate is images_involved / n of the image-level figures."""
    rng = np.random.default_rng(7)
    codes = _random_codes(rng, 30)
    section = per_query_step(NBITS, codes, Codes(np.zeros((0, 2), np.uint8), np.zeros(0, bool)), dihedral=False)
    loo = section["leave_one_out"]
    assert loo["n_queries"] == 30 and loo["list_size"] == 29 and "nearest_histogram" not in section
    d = _distances(codes.codes, codes.codes)
    iu = np.triu_indices(30, 1)
    impostor = {"pairs": "unordered", "n_images": 30, "histogram": distance_histogram(d[iu], NBITS).tolist()}
    for t in (0, 2, 5):
        figures = per_query_figures(section, impostor, t, 0.05)
        assert "fpr_per_query_measured" not in figures
        rate = figures["fpr_per_query_leave_one_out"]
        per_image = ((d <= t).sum(axis=1) - 1).astype(np.int64)
        assert rate["count"] == image_level_interval(per_image).images_involved
        assert rate["n"] == 30 and rate["list_size"] == 29 and rate["queries"] == "leave-one-out"


def test_gated_per_query_rates_keep_every_query_in_the_denominator():
    refs = Codes(np.packbits(np.eye(16, dtype=np.uint8)[:4], axis=1), np.ones(4, bool), np.array([90, 90, 10, 90]))
    # distractor 0 is close to ref 2 (gated), distractor 1 to ref 0, distractor 2 is gated itself
    dis_bits = np.zeros((3, 16), np.uint8)
    dis_bits[0, 2] = dis_bits[1, 0] = dis_bits[2, 3] = 1
    dis = Codes(np.packbits(dis_bits, axis=1), np.ones(3, bool), np.array([90, 90, 10]))
    section = per_query_step(NBITS, refs, dis, dihedral=False, floor=50)
    assert section["list_size_ungated"] == 3 and section["n_queries_ungated"] == 2
    impostor = {"pairs": "unordered", "n_images": 7, "histogram": [0] * 17, "histogram_ungated": [0] * 17}
    impostor["histogram"][0], impostor["histogram"][2] = 3, 18
    impostor["histogram_ungated"][0] = 1
    figures = per_query_figures(section, impostor, 0, 0.05)
    assert figures["fpr_per_query_measured"]["count"] == 3 and figures["fpr_per_query_measured"]["n"] == 3
    gated = figures["fpr_per_query_measured_gated"]
    assert gated["count"] == 1 and gated["n"] == 3 and gated["list_size"] == 4
    # the gated projection starts from the generalized gated per-pair rate: 1 of 21 pairs
    low, high = clopper_pearson(1, 21)
    expected = project_per_query_fpr(1 / 21, low, high, 4)
    assert gated["projected_same_list_size"]["rate"] == pytest.approx(expected.rate, rel=1e-12)
    assert gated["projected_same_list_size"]["ci_high"] == pytest.approx(expected.high, rel=1e-12)


def test_projection_at_measured_list_size_overstates_a_clustered_population():
    """A seeded population with a clique of flat images: matches cluster, so for the same
    per-pair rate fewer queries match anything than independence predicts. The projection at
    the measured L is then above the measured per-query rate (the direction the report states)."""
    rng = np.random.default_rng(14)
    n_ref, n_dis, nbytes = 200, 400, 4
    refs = rng.integers(0, 256, size=(n_ref, nbytes), dtype=np.uint8)
    dis = rng.integers(0, 256, size=(n_dis, nbytes), dtype=np.uint8)
    refs[:20] = 0  # flat references ...
    dis[:40] = 0  # ... and flat distractors: a clique of identical hashes
    codes = np.concatenate([refs, dis])
    d = _distances(codes, codes)
    iu = np.triu_indices(len(codes), 1)
    impostor = {"pairs": "unordered", "n_images": len(codes), "histogram": distance_histogram(d[iu], 32).tolist()}
    ok = np.ones
    section = per_query_step(32, Codes(refs, ok(n_ref, bool)), Codes(dis, ok(n_dis, bool)), dihedral=False)
    t = 4
    m = per_query_figures(section, impostor, t, 0.05)["fpr_per_query_measured"]
    # measured by brute force: distractors with a reference within t
    assert m["count"] == int((_distances(dis, refs) <= t).any(axis=1).sum())
    p = int((d[iu] <= t).sum()) / len(iu[0])
    proj = m["projected_same_list_size"]
    assert proj["rate"] == pytest.approx(-np.expm1(n_ref * np.log1p(-p)), rel=1e-12)
    assert proj["rate"] > m["ci_high"] > m["rate"] > 0
