"""Operating points chosen on calibration data, EER/ROC/DET with known answers, ISC metrics."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics

from hashbench.evaluate import (
    choose_threshold,
    clopper_pearson,
    clopper_pearson_upper,
    det_curve,
    equal_error_rate,
    genuine_distances,
    impostor_histogram,
    isc_micro_average_precision,
    pairs_needed,
    recall_at_precision,
    roc_curve,
    score_operating_point,
    split_calibration,
)
from hashbench.evaluate.operating import micro_average_precision_tie_grouped


def expand(genuine: np.ndarray, impostor_hist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores (-distance) of every pair, for scikit-learn references."""
    imp = np.repeat(np.arange(impostor_hist.size), impostor_hist)
    labels = np.concatenate([np.ones(genuine.size), np.zeros(imp.size)])
    scores = -np.concatenate([genuine, imp]).astype(float)
    return labels, scores


def test_split_calibration_is_deterministic_and_disjoint():
    cal, held = split_calibration(1001, seed=3)
    cal2, held2 = split_calibration(1001, seed=3)
    np.testing.assert_array_equal(cal, cal2)
    np.testing.assert_array_equal(held, held2)
    assert cal.size == 500 and held.size == 501  # round(500.5) = 500 (banker's rounding)
    assert np.intersect1d(cal, held).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([cal, held])), np.arange(1001))
    assert np.all(np.diff(cal) > 0) and np.all(np.diff(held) > 0)
    other, _ = split_calibration(1001, seed=4)
    assert not np.array_equal(cal, other)
    assert split_calibration(0, seed=1)[0].size == 0
    with pytest.raises(ValueError):
        split_calibration(10, seed=1, calibration_fraction=1.0)


def test_choose_threshold_largest_admissible():
    # 1000 calibration pairs; cumulative counts 0, 1, 1, 5, 50, 1000
    hist = np.array([0, 1, 0, 4, 45, 950], dtype=np.int64)
    assert choose_threshold(hist, 1e-3) == 2  # 1/1000 <= 1e-3 up to t = 2
    assert choose_threshold(hist, 5e-3) == 3
    assert choose_threshold(hist, 0.05) == 4
    assert choose_threshold(hist, 1.0) == 5
    assert choose_threshold(hist, 9.99e-4) == 0  # only t = 0 (no pair) stays at or below
    with_collisions = np.array([3, 0, 997], dtype=np.int64)
    assert choose_threshold(with_collisions, 1e-3) is None  # even t = 0 is too common
    assert choose_threshold(np.zeros(5, np.int64), 0.1) is None  # no calibration pairs


def test_choose_threshold_conservative_uses_upper_bound():
    hist = np.array([0, 1, 0, 4, 45, 950], dtype=np.int64)
    # the upper bound of 0/1000 is ~3e-3 > 1e-3: no threshold can be shown to meet 1e-3
    assert choose_threshold(hist, 1e-3, conservative=True) is None
    t = choose_threshold(hist, 0.05, conservative=True)
    assert t == 3  # 5/1000 has upper bound ~1.05e-2 <= 0.05; 50/1000 has ~6.3e-2 > 0.05
    assert clopper_pearson_upper(5, 1000) <= 0.05 < clopper_pearson_upper(50, 1000)
    assert t <= choose_threshold(hist, 0.05)


def test_pairs_needed_for_one_in_fifty_billion():
    n = pairs_needed(2e-11)
    assert 1.49e11 < n < 1.51e11  # the "1.5e11 pairs"
    assert clopper_pearson_upper(0, n) <= 2e-11 < clopper_pearson_upper(0, n - 1000)


def test_threshold_is_chosen_on_calibration_and_scored_on_held_out():
    cal = np.array([0, 0, 1, 9, 990], dtype=np.int64)  # t = 2 meets 1e-3 on calibration
    held = np.array([0, 2, 3, 5, 990], dtype=np.int64)  # on held-out, t = 2 gives 5/1000
    genuine_held = np.array([0, 1, 1, 2, 3, 4], dtype=np.int32)
    op = score_operating_point(1e-3, cal, held, genuine_held)
    assert op.threshold == 2
    assert (op.calibration_fpr.count, op.calibration_fpr.n) == (1, 1000)
    assert (op.held_out_fpr.count, op.held_out_fpr.n) == (5, 1000)
    assert (op.held_out_tpr.count, op.held_out_tpr.n) == (4, 6)
    lo, hi = clopper_pearson(5, 1000)
    assert (op.held_out_fpr.ci_low, op.held_out_fpr.ci_high) == (lo, hi)
    # the held-out data cannot move the threshold; the calibration data cannot move held-out counts
    assert score_operating_point(1e-3, cal, held * 7, genuine_held).threshold == 2
    cal_other = np.array([0, 0, 0, 10, 990], dtype=np.int64)
    same_t = score_operating_point(1e-3, cal_other, held, genuine_held)
    assert same_t.threshold == 2 and same_t.held_out_fpr == op.held_out_fpr
    assert not op.resolvable and op.calibration_pairs_needed == pairs_needed(1e-3)
    assert op.as_dict()["held_out_tpr"]["count"] == 4


def test_operating_point_without_a_threshold():
    op = score_operating_point(1e-3, np.array([5, 995]), np.array([0, 1000]), np.array([0, 1]))
    assert op.threshold is None and op.held_out_fpr is None and op.held_out_tpr is None
    assert op.calibration_fpr.count == 5


def test_operating_point_end_to_end_on_codes():
    """Split images, histogram each half, choose on one, score on the other."""
    rng = np.random.default_rng(0)
    nbits = 64
    refs = rng.integers(0, 256, size=(400, 8), dtype=np.uint8)
    flips = (rng.random((400, 64)) < 0.08).astype(np.uint8)
    edited = refs ^ np.packbits(flips, axis=1)
    cal_idx, held_idx = split_calibration(400, seed=1)
    cal_hist = impostor_histogram(refs[cal_idx], nbits)
    held_hist = impostor_histogram(refs[held_idx], nbits)
    genuine = genuine_distances(edited, refs)
    op = score_operating_point(1e-3, cal_hist, held_hist, genuine[held_idx])
    assert op.threshold is not None
    assert cal_hist[: op.threshold + 1].sum() <= 1e-3 * cal_hist.sum() < cal_hist[: op.threshold + 2].sum()
    assert op.held_out_fpr.n == held_idx.size * (held_idx.size - 1) // 2
    assert op.held_out_tpr.count == int((genuine[held_idx] <= op.threshold).sum())
    assert op.held_out_tpr.rate > 0.9  # 8% flipped bits (~5 of 64) vs random pairs (~32)


def test_eer_known_answers():
    impostor = np.zeros(21, np.int64)
    impostor[10:20] = 100
    separated = np.repeat(np.arange(10), 30)
    eer = equal_error_rate(separated, impostor)
    assert eer.rate == 0.0 and 9.0 <= eer.threshold <= 10.0
    # genuine uniform on 0..9, impostor uniform on 5..14: FNR(t) = (9 - t) / 10 and
    # FPR(t) = (t - 4) / 10 cross at t = 6.5, where both are 0.25
    overlap_imp = np.zeros(21, np.int64)
    overlap_imp[5:15] = 1000
    eer = equal_error_rate(np.repeat(np.arange(10), 1000), overlap_imp)
    assert eer.rate == pytest.approx(0.25) and eer.threshold == pytest.approx(6.5)


def test_eer_between_sklearn_bracketing_points():
    """On smooth distributions the EER lies where sklearn's ROC crosses FNR = FPR."""
    rng = np.random.default_rng(2)
    genuine = rng.binomial(64, 0.15, 5000)
    impostor = np.bincount(rng.binomial(64, 0.5, 20000), minlength=65)
    eer = equal_error_rate(genuine, impostor)
    labels, scores = expand(genuine, impostor)
    fpr, tpr, thr = metrics.roc_curve(labels, scores, drop_intermediate=False)
    fnr = 1 - tpr
    k = int(np.flatnonzero(fnr <= fpr)[0])  # first sklearn point past the crossing
    assert fpr[k - 1] <= eer.rate <= fpr[k] and fnr[k] <= eer.rate <= fnr[k - 1]
    assert -thr[k - 1] <= eer.threshold <= -thr[k]
    assert 0 < eer.rate < 0.05


def test_roc_and_det_match_sklearn():
    rng = np.random.default_rng(3)
    genuine = rng.binomial(64, 0.2, 300)
    impostor = np.bincount(rng.binomial(64, 0.45, 2000), minlength=65)
    roc = roc_curve(genuine, impostor)
    assert roc.thresholds[0] == -1 and (roc.fpr[0], roc.y[0]) == (0.0, 0.0) and (roc.fpr[-1], roc.y[-1]) == (1.0, 1.0)
    assert np.all(np.diff(roc.fpr) >= 0) and np.all(np.diff(roc.y) >= 0)
    labels, scores = expand(genuine, impostor)
    fpr, tpr, thr = metrics.roc_curve(labels, scores, drop_intermediate=False)
    for f, t, s in zip(fpr[1:], tpr[1:], thr[1:]):  # sklearn's first point is "match nothing"
        d = int(-s)
        assert roc.fpr[d + 1] == pytest.approx(f) and roc.y[d + 1] == pytest.approx(t)
    det = det_curve(genuine, impostor)
    np.testing.assert_allclose(det.y, 1.0 - roc.y)
    dfpr, dfnr, dthr = metrics.det_curve(labels, scores)
    for f, m, s in zip(dfpr, dfnr, dthr):
        d = int(-s)
        assert det.fpr[d + 1] == pytest.approx(f) and det.y[d + 1] == pytest.approx(m)
    assert roc.as_dict()["kind"] == "roc"


def test_tie_grouped_micro_average_precision_equals_sklearn_on_expanded_pairs():
    """scikit-learn groups tied scores into one threshold: that is the tie-grouped value, and ISC's
    pessimistic tie rule (tests/test_isc_micro_ap.py) is never above it."""
    rng = np.random.default_rng(4)
    for p_gen in (0.05, 0.3, 0.45):
        genuine = rng.binomial(64, p_gen, 400)
        impostor = np.bincount(rng.binomial(64, 0.5, 5000), minlength=65)
        labels, scores = expand(genuine, impostor)
        want = metrics.average_precision_score(labels, scores)
        assert micro_average_precision_tie_grouped(genuine, impostor) == pytest.approx(want, rel=1e-12)
        isc = isc_micro_average_precision(genuine, impostor)
        assert isc < want if p_gen > 0.1 else isc == want == 1.0  # from 0.3 some distances hold both kinds
    perfect = isc_micro_average_precision(np.zeros(10, np.int64), np.bincount([5] * 100, minlength=65))
    assert perfect == 1.0
    assert micro_average_precision_tie_grouped(np.zeros(10, np.int64), np.bincount([5] * 100, minlength=65)) == 1.0


def test_recall_at_precision_equals_sklearn():
    rng = np.random.default_rng(5)
    genuine = rng.binomial(64, 0.25, 500)
    impostor = np.bincount(rng.binomial(64, 0.5, 3000), minlength=65)
    labels, scores = expand(genuine, impostor)
    precision, recall, thr = metrics.precision_recall_curve(labels, scores)
    ok = precision[:-1] >= 0.9
    want = recall[:-1][ok].max()
    got = recall_at_precision(genuine, impostor, 0.9)
    assert got.recall == pytest.approx(want)
    assert got.precision >= 0.9 and got.threshold is not None
    assert got.recall == pytest.approx((genuine <= got.threshold).mean())
    # no threshold is precise enough: impostors at distance 0 outnumber genuine pairs
    hopeless = recall_at_precision(np.array([3, 4]), np.array([100, 0, 0, 0, 0]), 0.9)
    assert hopeless.threshold is None and hopeless.recall == 0.0
