"""Clopper-Pearson intervals against scipy, and rate curves from histograms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import beta, binomtest

from hashbench.evaluate import clopper_pearson, clopper_pearson_upper, fpr_curve, tpr_curve


def beta_construction(k: int, n: int, alpha: float) -> tuple[float, float]:
    """The textbook construction, written out independently of the library."""
    low = 0.0 if k == 0 else beta.ppf(alpha / 2, k, n - k + 1)
    high = 1.0 if k == n else beta.ppf(1 - alpha / 2, k + 1, n - k)
    return low, high


@pytest.mark.parametrize("alpha", [0.05, 0.01, 0.2])
def test_clopper_pearson_equals_beta_construction(alpha):
    ks, ns, want_low, want_high = [], [], [], []
    for n in (1, 2, 7, 30, 1000, 12_497_500, 10**11):
        for k in sorted(k for k in {0, 1, 2, n // 3, n - 1, n} if k <= n):
            ks.append(k)
            ns.append(n)
            lo, hi = beta_construction(k, n, alpha)
            want_low.append(lo)
            want_high.append(hi)
    low, high = clopper_pearson(np.array(ks), np.array(ns), alpha)
    np.testing.assert_allclose(low, want_low, rtol=1e-9, atol=0)
    np.testing.assert_allclose(high, want_high, rtol=1e-9, atol=0)


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (1, 250), (17, 400), (0, 5000), (999, 1000)])
def test_clopper_pearson_equals_scipy_binomtest(k, n):
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    low, high = clopper_pearson(k, n)
    assert isinstance(low, float) and isinstance(high, float)
    assert low == pytest.approx(ci.low, rel=1e-9, abs=1e-15)
    assert high == pytest.approx(ci.high, rel=1e-9, abs=1e-15)


def test_zero_events_still_give_an_upper_bound():
    for n in (100, 10_000, 12_497_500, 1.5e11):
        low, high = clopper_pearson(0, n)
        assert low == 0.0
        # two-sided 95%: each tail 2.5%, so the bound is 1 - 0.025**(1/n), about 3.69 / n
        assert high == pytest.approx(-math.expm1(math.log(0.025) / n), rel=1e-9)
        assert 3.0 / n < high < 3.7 / n
        # the rule of three is the one-sided 95% bound: 1 - 0.05**(1/n), about 3 / n
        one_sided = clopper_pearson_upper(0, n)
        assert one_sided == pytest.approx(-math.expm1(math.log(0.05) / n), rel=1e-9)
        assert one_sided == pytest.approx(-math.log(0.05) / n, rel=0.02)  # 2.996 / n
        assert one_sided == pytest.approx(3.0 / n, rel=0.02)
    # 1.5e11 pairs without a false match bound the rate at about 1 in 50 billion
    assert clopper_pearson_upper(0, 1.5e11) == pytest.approx(2e-11, rel=0.002)


def test_one_sided_upper_equals_beta_quantile():
    for k, n in [(1, 10), (5, 100), (0, 30), (30, 30), (2, 10**9)]:
        want = 1.0 if k == n else beta.ppf(0.95, k + 1, n - k)
        assert clopper_pearson_upper(k, n) == pytest.approx(want, rel=1e-9)
        # the one-sided bound at alpha equals the two-sided upper end at 2 * alpha
        assert clopper_pearson_upper(k, n, 0.05) == pytest.approx(clopper_pearson(k, n, 0.10)[1], rel=1e-9)


def test_clopper_pearson_edges_and_errors():
    assert clopper_pearson(0, 0) == (0.0, 1.0)  # no trials: the vacuous interval
    assert clopper_pearson(5, 5)[1] == 1.0
    low, high = clopper_pearson(np.array([[0, 1], [2, 3]]), 3)
    assert low.shape == high.shape == (2, 2)
    for k, n in [(4, 3), (-1, 3), (1.5, 3), (1, np.nan)]:
        with pytest.raises(ValueError):
            clopper_pearson(k, n)
    with pytest.raises(ValueError):
        clopper_pearson(1, 3, alpha=0)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 10**12), frac=st.floats(0, 1), alpha=st.sampled_from([0.01, 0.05, 0.1]))
def test_interval_contains_the_estimate_and_nests(n, frac, alpha):
    k = int(frac * n)
    low, high = clopper_pearson(k, n, alpha)
    assert 0.0 <= low <= k / n <= high <= 1.0
    wider_low, wider_high = clopper_pearson(k, n, alpha / 2)
    assert wider_low <= low + 1e-15 and high <= wider_high + 1e-15


def test_fpr_curve_from_histogram():
    hist = np.array([2, 0, 5, 10, 83], dtype=np.int64)  # 100 impostor pairs, nbits = 4
    curve = fpr_curve(hist)
    np.testing.assert_array_equal(curve.thresholds, [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(curve.count, [2, 2, 7, 17, 100])
    assert curve.n == 100 and curve.nbits == 4
    np.testing.assert_allclose(curve.rate, [0.02, 0.02, 0.07, 0.17, 1.0])
    for t in range(5):
        lo, hi = beta_construction(int(curve.count[t]), 100, 0.05)
        assert curve.ci_low[t] == pytest.approx(lo, rel=1e-9) and curve.ci_high[t] == pytest.approx(hi, rel=1e-9)
    at = curve.at(2)
    assert at["count"] == 7 and at["n"] == 100 and at["what"] == "per-pair false-positive rate"
    d = curve.as_dict()
    assert d["count"] == [2, 2, 7, 17, 100] and d["confidence"] == 0.95
    with pytest.raises(ValueError):
        curve.at(5)


def test_fpr_curve_with_no_pairs_is_nan_with_vacuous_interval():
    curve = fpr_curve(np.zeros(65, np.int64))
    assert curve.n == 0 and np.isnan(curve.rate).all()
    assert (curve.ci_low == 0).all() and (curve.ci_high == 1).all()
    assert curve.as_dict()["rate"][0] is None


def test_tpr_curve_from_distances():
    d = np.array([0, 0, 3, 10, 64, 5, 5], dtype=np.int32)
    curve = tpr_curve(d, 64)
    assert (
        curve.n == 7 and curve.count[0] == 2 and curve.count[5] == 5 and curve.count[63] == 6 and curve.count[64] == 7
    )
    assert curve.what == "true-positive rate"
    assert np.all(np.diff(curve.rate) >= 0)
    with pytest.raises(ValueError):
        tpr_curve(np.array([65]), 64)
    with pytest.raises(ValueError):
        tpr_curve(np.array([1.5]), 64)


def test_interval_stays_ordered_where_scipys_beta_inverse_fails():
    # scipy's beta.ppf(0.005, 1000, 1e12 - 999) returns 1.49e-8, above the upper end: the interval
    # came out inverted. The quantiles are checked against betainc and solved again there.
    from scipy.special import betainc

    k, n = 1000, 10**12
    for alpha in (0.01, 0.05):
        low, high = clopper_pearson(k, n, alpha)
        assert low < k / n < high
        assert abs(betainc(k, n - k + 1, low) - alpha / 2) < 1e-9
        assert abs(betainc(k + 1, n - k, high) - (1 - alpha / 2)) < 1e-9
    # where scipy is right, the value is scipy's, bit for bit
    from scipy.stats import beta

    assert clopper_pearson(4, 150_000_000_000)[0] == beta.ppf(0.025, 4, 150_000_000_000 - 3)
