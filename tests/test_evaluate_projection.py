"""Per-query and operational projections: exactness, monotonicity, and the words around them."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashbench.evaluate import (
    DEFAULT_LIST_SIZE,
    DEFAULT_VOLUME_PER_YEAR,
    clopper_pearson,
    clopper_pearson_upper,
    describe_projection,
    expected_false_matches,
    measured_per_query_fpr,
    project_per_query_fpr,
)
from hashbench.evaluate.projection import _words


def exact_at_least_one(p: Fraction, L: int) -> float:
    return float(1 - (1 - p) ** L)


@pytest.mark.parametrize("p", [Fraction(0), Fraction(1, 3), Fraction(1, 1000), Fraction(7, 10**9), Fraction(1)])
@pytest.mark.parametrize("L", [0, 1, 2, 5, 37, 1000])
def test_projection_exact_for_small_lists(p, L):
    q = project_per_query_fpr(float(p), float(p), float(p), L)
    assert q.rate == pytest.approx(exact_at_least_one(p, L), rel=1e-12, abs=1e-300)
    assert q.low == q.rate == q.high


def test_projection_stays_accurate_for_tiny_rates_and_huge_lists():
    """Naive 1 - (1 - p)**L loses every digit here; the log1p / expm1 form does not."""
    p, L = 2e-11, 5_000_000
    q = project_per_query_fpr(p, p, p, L).rate
    x = p * L  # 1e-4: the series 1 - exp(-pL - p^2 L / 2 ...) is exact to many digits
    assert q == pytest.approx(x - x**2 / 2 + x**3 / 6, rel=1e-9)
    assert project_per_query_fpr(1e-18, 1e-18, 1e-18, 1000).rate == pytest.approx(1e-15, rel=1e-9)


def test_projection_maps_interval_ends_and_broadcasts():
    p = np.array([0.0, 1e-9, 1e-6, 1e-3])
    low, high = clopper_pearson(np.array([0, 1, 10, 1000]), 10**6)
    low = np.minimum(low, p)
    high = np.maximum(high, p)
    for L in (1e3, 1e6, 1e7):
        q = project_per_query_fpr(p, low, high, L)
        assert q.rate.shape == (4,)
        assert np.all(q.low <= q.rate) and np.all(q.rate <= q.high)
        np.testing.assert_allclose(q.low, project_per_query_fpr(low, low, low, L).rate)
    grid = project_per_query_fpr(1e-7, 1e-7, 1e-7, np.array([[1e3], [1e6]]))
    assert grid.rate.shape == (2, 1)
    with pytest.raises(ValueError):
        project_per_query_fpr(0.1, 0.2, 0.3, 10)  # low above the estimate
    with pytest.raises(ValueError):
        project_per_query_fpr(1.5, 0, 2, 10)
    with pytest.raises(ValueError):
        project_per_query_fpr(0.1, 0.1, 0.1, -1)


@settings(max_examples=200, deadline=None)
@given(
    p1=st.floats(0, 1),
    p2=st.floats(0, 1),
    L1=st.integers(0, 10**10),
    L2=st.integers(0, 10**10),
)
def test_projection_is_monotone(p1, p2, L1, L2):
    lo_p, hi_p = sorted((p1, p2))
    lo_L, hi_L = sorted((L1, L2))
    q = lambda p, L: project_per_query_fpr(p, p, p, L).rate  # noqa: E731
    assert q(lo_p, lo_L) <= q(hi_p, lo_L) <= 1.0
    assert q(lo_p, lo_L) <= q(lo_p, hi_L)
    assert q(lo_p, lo_L) >= 0.0


def test_measured_per_query_fpr():
    counts = np.array([0, 0, 3, 0, 1, 0, 0, 0, 0, 0], dtype=np.int64)
    m = measured_per_query_fpr(counts, 1000)
    assert (m.k, m.n, m.list_size) == (2, 10, 1000) and m.rate == 0.2
    lo, hi = clopper_pearson(2, 10)
    assert (m.ci_low, m.ci_high) == (lo, hi)
    assert m.as_dict()["what"] == "measured per-query false-positive rate"
    none = measured_per_query_fpr(np.zeros(5000, np.int64), 10**6)
    assert none.rate == 0 and none.ci_low == 0 and 3.0 / 5000 < none.ci_high < 3.7 / 5000
    with pytest.raises(ValueError):
        measured_per_query_fpr(np.array([-1]), 10)


def test_expected_false_matches_defaults_and_interval():
    p, lo, hi = 2e-11, 1e-11, 4e-11
    proj = expected_false_matches(p=p, p_low=lo, p_high=hi)
    assert proj.volume == DEFAULT_VOLUME_PER_YEAR == 12.3e9 and proj.list_size == DEFAULT_LIST_SIZE == 5e6
    per_query = project_per_query_fpr(p, lo, hi, 5e6)
    assert proj.per_query == per_query
    assert proj.flagged_per_year.rate == pytest.approx(12.3e9 * per_query.rate, rel=1e-12)
    assert proj.flagged_per_year.low < proj.flagged_per_year.rate < proj.flagged_per_year.high
    # 12.3e9 images x 5e6 hashes x 2e-11 = 1.23 million false (image, hash) matches a year
    assert proj.pair_matches_per_year.rate == pytest.approx(1.23e6, rel=1e-12)
    # flagging counts each image once, so it is at most the pair-match count
    assert proj.flagged_per_year.rate <= proj.pair_matches_per_year.rate


def test_describe_projection_says_what_and_assumes_what():
    low, high = clopper_pearson(0, 12_497_500)
    proj = expected_false_matches(12.3e9, 5e6, 0.0, low, high)
    text = describe_projection(proj, matcher="pdq", threshold=31, false_matches=0, impostor_pairs=12_497_500)
    for needle in (
        "pdq",
        "threshold 31",
        "12,497,500",
        "12.3 billion",
        "5 million",
        "per-pair",
        "independent",
        "two-sided 95% intervals, sampling only, under the model",
        "one-sided 95% upper bound",
        "upper bound on flagged images",
        "No false match was seen",
    ):
        assert needle in text, needle
    # "at most" is the one-sided bound (rule of three), not the top of the two-sided interval
    assert f"at most about 1 in {_words(1 / float(clopper_pearson_upper(0, 12_497_500)))} " in text
    assert _words(1 / float(high)) not in text
    text2 = describe_projection(
        expected_false_matches(p=1e-6, p_low=5e-7, p_high=2e-6),
        matcher="phash",
        threshold=10,
        false_matches=12,
        impostor_pairs=12_000_000,
    )
    assert "No false match" not in text2 and "phash" in text2
