"""Operating points and threshold-free summaries: chosen thresholds, EER, ROC/DET, precision.

All functions take genuine distances (one per genuine pair) and an impostor *histogram*
(``hist[d]`` impostor pairs at distance ``d``), so they work at any number of impostor pairs.
A pair matches at threshold ``t`` when its distance is ``<= t``.

A threshold chosen on the data it is scored on is optimistic. :func:`split_calibration` splits
*images* (not pairs) into a calibration half and a held-out half, :func:`choose_threshold`
picks a threshold on the calibration half only, and :func:`score_operating_point` reports its
rates on the held-out half.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .rates import clopper_pearson, clopper_pearson_upper

__all__ = [
    "split_calibration",
    "choose_threshold",
    "pairs_needed",
    "RateAt",
    "OperatingPoint",
    "score_operating_point",
    "ErrorCurve",
    "roc_curve",
    "det_curve",
    "EqualErrorRate",
    "equal_error_rate",
    "isc_micro_average_precision",
    "micro_average_precision_tie_grouped",
    "RecallAtPrecision",
    "recall_at_precision",
]


# --------------------------------------------------------------------------------------------
# calibration split and threshold choice
# --------------------------------------------------------------------------------------------


def split_calibration(
    n: int, seed: int, calibration_fraction: float = 0.5
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Split ``n`` images into ``(calibration_idx, held_out_idx)``, both sorted, disjoint.

    Deterministic for a given ``(n, seed)``. Split *images*, then form pairs within each part
    (``impostor_histogram(codes[calibration_idx])``): then no image, and so no pair, informs
    both the choice of a threshold and its score.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not 0.0 < calibration_fraction < 1.0:
        raise ValueError(f"calibration_fraction must be in (0, 1), got {calibration_fraction}")
    order = np.random.default_rng(seed).permutation(n)
    n_cal = int(round(n * calibration_fraction))
    return np.sort(order[:n_cal]).astype(np.int64), np.sort(order[n_cal:]).astype(np.int64)


def _histogram(h: npt.ArrayLike, what: str) -> np.ndarray:
    a = np.asarray(h)
    if a.ndim != 1 or a.size < 2 or a.dtype.kind not in "iu" or np.any(a < 0):
        raise ValueError(f"{what} must be a 1-D histogram of non-negative counts of length nbits + 1")
    return a.astype(np.int64)


def choose_threshold(
    impostor_hist_calib: npt.ArrayLike, target_fpr: float, *, conservative: bool = False, alpha: float = 0.05
) -> int | None:
    """Largest threshold whose per-pair FPR on the calibration pairs is ``<= target_fpr``.

    With ``conservative=True`` the exact one-sided ``1 - alpha`` *upper bound* of the FPR must
    be ``<= target_fpr`` instead of the point estimate. Returns ``None`` when even ``t = 0``
    exceeds the target (identical hashes of distinct images are already too common), or when
    there are no calibration pairs.

    With fewer than :func:`pairs_needed` calibration pairs, a zero count cannot show that the
    rate is below the target: the point-estimate choice is then the largest threshold with no
    false match in this sample, which says little about the target. Report it as such.
    """
    if not 0.0 <= target_fpr <= 1.0:
        raise ValueError(f"target_fpr must be in [0, 1], got {target_fpr}")
    hist = _histogram(impostor_hist_calib, "impostor_hist_calib")
    count = np.cumsum(hist)
    n = int(count[-1])
    if n == 0:
        return None
    if conservative:
        ok = np.asarray(clopper_pearson_upper(count, np.full_like(count, n), alpha)) <= target_fpr
    else:
        ok = count <= target_fpr * n  # count / n <= target without rounding the division
    # FPR(t) only grows with t, so the admissible thresholds are a prefix 0 .. t*.
    if not ok[0]:
        return None
    return int(np.flatnonzero(ok)[-1])


def pairs_needed(target_fpr: float, alpha: float = 0.05) -> int:
    """Fewest trials whose one-sided ``1 - alpha`` bound with zero events is ``<= target_fpr``.

    ``ln(alpha) / ln(1 - target)``, about ``3 / target`` at 95%: bounding a rate at 1 in 50
    billion (2e-11) needs about 1.5e11 impostor pairs with no false match among them.
    """
    if not 0.0 < target_fpr < 1.0:
        raise ValueError(f"target_fpr must be in (0, 1), got {target_fpr}")
    return int(math.ceil(math.log(alpha) / math.log1p(-target_fpr)))


@dataclass(frozen=True)
class RateAt:
    """``count`` events in ``n`` trials at one threshold, with the exact two-sided interval."""

    count: int
    n: int
    rate: float
    ci_low: float
    ci_high: float

    @classmethod
    def from_counts(cls, count: int, n: int, alpha: float = 0.05) -> RateAt:
        low, high = clopper_pearson(count, n, alpha)
        return cls(int(count), int(n), count / n if n else float("nan"), float(low), float(high))


@dataclass(frozen=True)
class OperatingPoint:
    """A threshold chosen on the calibration half and scored on the held-out half.

    ``threshold`` is ``None`` when no threshold meets the target on the calibration half; the
    held-out rates are then ``None`` too. ``resolvable`` says whether the calibration half has
    enough impostor pairs to show the target at all (:func:`pairs_needed`).
    """

    target_fpr: float
    threshold: int | None
    calibration_fpr: RateAt
    held_out_fpr: RateAt | None
    held_out_tpr: RateAt | None
    calibration_pairs_needed: int
    resolvable: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_operating_point(
    target_fpr: float,
    impostor_hist_calib: npt.ArrayLike,
    impostor_hist_held: npt.ArrayLike,
    genuine_held: npt.ArrayLike,
    *,
    conservative: bool = False,
    alpha: float = 0.05,
) -> OperatingPoint:
    """Choose a threshold for ``target_fpr`` on calibration pairs; score it on held-out pairs.

    ``genuine_held`` are the genuine distances of the held-out images only. The calibration
    half's genuine pairs play no part: the choice uses impostor pairs alone, as a deployment
    that fixes a false-positive budget would.
    """
    cal = _histogram(impostor_hist_calib, "impostor_hist_calib")
    held = _histogram(impostor_hist_held, "impostor_hist_held")
    if cal.size != held.size:
        raise ValueError(f"histograms differ in length: {cal.size} vs {held.size}")
    nbits = cal.size - 1
    gen_hist = _genuine_histogram(genuine_held, nbits)
    t = choose_threshold(cal, target_fpr, conservative=conservative, alpha=alpha)
    n_cal = int(cal.sum())
    cal_count = int(cal[: t + 1].sum()) if t is not None else int(cal[0])
    needed = pairs_needed(target_fpr, alpha) if 0 < target_fpr < 1 else 0
    held_fpr = held_tpr = None
    if t is not None:
        held_fpr = RateAt.from_counts(int(held[: t + 1].sum()), int(held.sum()), alpha)
        held_tpr = RateAt.from_counts(int(gen_hist[: t + 1].sum()), int(gen_hist.sum()), alpha)
    return OperatingPoint(
        target_fpr=float(target_fpr),
        threshold=t,
        calibration_fpr=RateAt.from_counts(cal_count, n_cal, alpha),
        held_out_fpr=held_fpr,
        held_out_tpr=held_tpr,
        calibration_pairs_needed=needed,
        resolvable=target_fpr > 0 and n_cal >= needed,
    )


# --------------------------------------------------------------------------------------------
# ROC, DET, EER
# --------------------------------------------------------------------------------------------


def _genuine_histogram(genuine: npt.ArrayLike, nbits: int) -> np.ndarray:
    d = np.asarray(genuine)
    if d.ndim != 1:
        raise ValueError(f"genuine distances must be 1-D, got shape {d.shape}")
    if d.size == 0:
        return np.zeros(nbits + 1, dtype=np.int64)
    if d.dtype.kind not in "iu" or d.min() < 0 or d.max() > nbits:
        raise ValueError(f"genuine distances must be integers in 0..{nbits}")
    return np.bincount(d.astype(np.int64), minlength=nbits + 1)


def _cumulative_rates(
    genuine: npt.ArrayLike, impostor_hist: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thresholds ``-1 .. nbits`` and the FPR and TPR at each (``t = -1``: nothing matches)."""
    imp = _histogram(impostor_hist, "impostor_hist")
    nbits = imp.size - 1
    gen = _genuine_histogram(genuine, nbits)
    n_imp, n_gen = int(imp.sum()), int(gen.sum())
    if n_imp == 0 or n_gen == 0:
        raise ValueError("need at least one genuine and one impostor pair")
    fpr = np.concatenate([[0.0], np.cumsum(imp) / n_imp])
    tpr = np.concatenate([[0.0], np.cumsum(gen) / n_gen])
    return np.arange(-1, nbits + 1, dtype=np.int64), fpr, tpr


@dataclass(frozen=True)
class ErrorCurve:
    """Error rates at thresholds ``-1 .. nbits`` (``-1`` is the "match nothing" end).

    ``y`` is the TPR for a ROC curve and the false-negative rate (``1 - TPR``) for a DET
    curve. DET plots draw both axes on a normal-deviate (probit) scale, for example
    ``scipy.stats.norm.ppf``; rates of exactly 0 or 1 have no place on that scale.
    """

    kind: str
    thresholds: npt.NDArray[np.int64]
    fpr: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "thresholds": self.thresholds.tolist(),
            "fpr": self.fpr.tolist(),
            "y": self.y.tolist(),
        }


def roc_curve(genuine: npt.ArrayLike, impostor_hist: npt.ArrayLike) -> ErrorCurve:
    """ROC points ``(FPR(t), TPR(t))`` for every threshold, from ``(0, 0)`` to ``(1, 1)``."""
    t, fpr, tpr = _cumulative_rates(genuine, impostor_hist)
    return ErrorCurve("roc", t, fpr, tpr)


def det_curve(genuine: npt.ArrayLike, impostor_hist: npt.ArrayLike) -> ErrorCurve:
    """DET points ``(FPR(t), FNR(t))`` for every threshold (``FNR = 1 - TPR``)."""
    t, fpr, tpr = _cumulative_rates(genuine, impostor_hist)
    return ErrorCurve("det", t, fpr, 1.0 - tpr)


@dataclass(frozen=True)
class EqualErrorRate:
    """Where the false-positive and false-negative rates are equal.

    Thresholds are whole distances, so the two rates rarely meet at one: the EER is read where
    the straight lines between the two thresholds that bracket the crossing meet, and
    ``threshold`` is that (fractional) distance.
    """

    rate: float
    threshold: float


def equal_error_rate(genuine: npt.ArrayLike, impostor_hist: npt.ArrayLike) -> EqualErrorRate:
    """Equal error rate from genuine distances and an impostor histogram."""
    t, fpr, tpr = _cumulative_rates(genuine, impostor_hist)
    fnr = 1.0 - tpr
    diff = fnr - fpr  # +1 at t = -1, -1 at t = nbits, never increasing
    k = int(np.flatnonzero(diff <= 0)[0])  # first threshold where FNR <= FPR; k >= 1
    x = diff[k - 1] / (diff[k - 1] - diff[k])
    rate = fpr[k - 1] + x * (fpr[k] - fpr[k - 1])
    return EqualErrorRate(float(rate), float(t[k - 1] + x))


# --------------------------------------------------------------------------------------------
# precision-based summaries (Image Similarity Challenge)
# --------------------------------------------------------------------------------------------


def isc_micro_average_precision(genuine: npt.ArrayLike, impostor_hist: npt.ArrayLike) -> float:
    """Micro-average precision under the Image Similarity Challenge 2021 rule, in closed form.

    ISC's scorer (Douze et al. 2021, ``isc/metrics.py`` of facebookresearch/isc2021) pools every
    prediction of every query, sorts them by decreasing score and breaks score ties
    *pessimistically*: non-matches first, so that giving many predictions the same score cannot
    raise the AP. AP is the mean, over the ground-truth matches, of the precision at the rank of
    each true positive (a ground-truth match never predicted adds 0). Here every genuine pair is a
    prediction scored ``-distance``, so the denominator is the number of genuine pairs, and every
    impostor pair a non-match; pairs with an image that failed to hash are outside both, as they
    are outside every rate of the report (failures are reported apart).

    Hamming distances tie massively: all pairs at one distance share one score. Within distance
    ``d``, the ``i_d`` impostor pairs come first, then the ``g_d`` genuine pairs; with ``a`` true
    positives and ``c`` impostors ranked at or before ``d``, the k-th genuine pair of the cell is
    at rank ``a + c + k`` with precision ``(a + k) / (a + c + k)``. The cell's sum is
    ``g_d - c * (H(a + c + g_d) - H(a + c))`` (``H``: harmonic numbers), so the value is exact
    at any number of pairs without sorting them. Taking each distance as one threshold instead
    (scikit-learn's rule) gives :func:`micro_average_precision_tie_grouped`, never lower. Like
    ISC's, the value depends on the ratio of impostor to genuine pairs: compare it only between
    matchers run on the same data.
    """
    imp = _histogram(impostor_hist, "impostor_hist")
    gen = _genuine_histogram(genuine, imp.size - 1)
    n_gen = int(gen.sum())
    if n_gen == 0:
        raise ValueError("need at least one genuine pair")
    cells = np.flatnonzero(gen)
    tp_before = (np.cumsum(gen) - gen)[cells]  # true positives ranked before the cell
    fp_through = np.cumsum(imp)[cells]  # impostors ranked before the cell's genuine pairs
    return float(_precision_sums(tp_before, fp_through, gen[cells]).sum() / n_gen)


#: Below this many earlier predictions the harmonic gap is read from digamma; above it from the
#: asymptotic series (truncation error under 1e-26 there, and no cancellation in log1p).
_ASYMPTOTIC_FROM = 10_000
#: A cell with fewer earlier predictions than :data:`_ASYMPTOTIC_FROM` and at most this many
#: genuine pairs is summed term by term (see :func:`_precision_sums`).
_DIRECT_UP_TO = 10_000


def _precision_sums(
    a: npt.NDArray[np.int64], c: npt.NDArray[np.int64], g: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """``sum((a + k) / (a + c + k) for k in 1..g)`` per cell: the precisions at a cell's genuine ranks.

    In closed form, ``g - c * (H(a + c + g) - H(a + c))``. When precision is low the two terms
    nearly cancel, and digamma's last-bit error, times ``c``, would then be most of the answer; a
    cell with few earlier predictions and few genuine pairs is therefore summed term by term (at
    most 2e4 terms over all cells: fewer than 1e4 earlier predictions bound the genuine pairs
    before the cell, and the cell adds at most :data:`_DIRECT_UP_TO`). Where earlier
    predictions are many the harmonic gap is accurate to the last bit (:func:`_harmonic_gap`),
    and where genuine pairs are many the sum is large enough that the cancellation costs nothing.
    """
    x = a + c
    out = g - c * _harmonic_gap(x, g)
    for i in np.flatnonzero((x < _ASYMPTOTIC_FROM) & (g <= _DIRECT_UP_TO)):
        k = np.arange(1, int(g[i]) + 1, dtype=np.float64)
        out[i] = np.sum((a[i] + k) / (x[i] + k))
    return out


def _harmonic_gap(x: npt.NDArray[np.int64], g: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """``sum(1 / (x + k) for k in 1..g) = H(x + g) - H(x)``, elementwise, to float precision.

    The difference of two large harmonic numbers (``x`` near 1e11 impostor pairs) loses all its
    digits when each is computed apart, so large ``x`` use the expansion of
    ``psi(v) - psi(u)`` (``u = x + 1``, ``v = x + g + 1``) whose leading term is
    ``log1p(g / u)``, accurate to the last bit; small ``x`` use scipy's digamma directly.
    """
    from scipy.special import digamma

    u = x.astype(np.float64) + 1.0
    gf = g.astype(np.float64)
    v = u + gf
    small = x < _ASYMPTOTIC_FROM
    out = np.empty_like(u)
    out[small] = digamma(v[small]) - digamma(u[small])
    ub, vb, gb = u[~small], v[~small], gf[~small]
    iu, iv = 1.0 / ub, 1.0 / vb
    out[~small] = (
        np.log1p(gb * iu)
        + gb / 2.0 * iu * iv
        + gb / 12.0 * (iu + iv) * iu * iv
        - gb / 120.0 * (iu + iv) * (iu * iv**3 + iu**3 * iv)
    )
    return out


def micro_average_precision_tie_grouped(genuine: npt.ArrayLike, impostor_hist: npt.ArrayLike) -> float:
    """Micro-average precision with every distance one threshold (scikit-learn's rule): NOT ISC's.

    ``sum_d g_d / G * precision(d)``, the precision of everything at distance ``<= d``: the
    value ``sklearn.metrics.average_precision_score`` gives on the expanded pairs. Every genuine
    pair of a distance gets the precision of the whole distance, where ISC ranks them one by one
    after that distance's impostors, so it is at least :func:`isc_micro_average_precision` (equal
    only when no distance holds two or more genuine pairs with an impostor pair at or below it).
    Kept, labelled, to compare with figures computed that way.
    """
    imp = _histogram(impostor_hist, "impostor_hist")
    gen = _genuine_histogram(genuine, imp.size - 1)
    n_gen = int(gen.sum())
    if n_gen == 0:
        raise ValueError("need at least one genuine pair")
    tp, predicted = np.cumsum(gen), np.cumsum(gen) + np.cumsum(imp)
    cells = np.flatnonzero(gen)
    return float(np.sum(gen[cells] * (tp[cells] / predicted[cells])) / n_gen)


@dataclass(frozen=True)
class RecallAtPrecision:
    """Highest recall among thresholds whose precision is at least ``min_precision``.

    ``threshold`` is ``None`` (and recall 0) when no threshold is that precise.
    """

    min_precision: float
    recall: float
    precision: float | None
    threshold: int | None


def recall_at_precision(
    genuine: npt.ArrayLike, impostor_hist: npt.ArrayLike, min_precision: float = 0.9
) -> RecallAtPrecision:
    """Recall at a precision floor (ISC's "recall at 90% precision"), from exact counts.

    Scored per threshold: a threshold ``t`` qualifies when the precision of all pairs at distance
    ``<= t`` is at least ``min_precision``, and the result is its recall (the smallest such ``t``
    among those with the highest recall). ISC's scorer checks every rank of its list sorted with
    the same pessimistic tie rule as :func:`isc_micro_average_precision` (non-matches first), and
    the two agree: inside one distance the impostors only lower precision at an unchanged recall,
    and along the genuine pairs that follow both precision and recall grow, so a rank that
    qualifies is never better than the end of its distance, which is the threshold.
    """
    if not 0.0 < min_precision <= 1.0:
        raise ValueError(f"min_precision must be in (0, 1], got {min_precision}")
    imp = _histogram(impostor_hist, "impostor_hist")
    gen = _genuine_histogram(genuine, imp.size - 1)
    n_gen = int(gen.sum())
    if n_gen == 0:
        raise ValueError("need at least one genuine pair")
    tp = np.cumsum(gen)
    fp = np.cumsum(imp)
    predicted = tp + fp
    # precision >= p  <=>  tp >= p * (tp + fp); thresholds with no prediction have no precision
    ok = (predicted > 0) & (tp >= min_precision * predicted)
    if not ok.any():
        return RecallAtPrecision(min_precision, 0.0, None, None)
    recall = np.where(ok, tp / n_gen, -1.0)
    t = int(np.argmax(recall))  # the first (smallest) threshold reaching the best recall
    return RecallAtPrecision(min_precision, float(tp[t] / n_gen), float(tp[t] / predicted[t]), t)
