"""ISC 2021 micro-AP and recall at 90% precision, checked against a port of ISC's ranking rule.

The port below is written from the definition in Douze et al., "The 2021 Image Similarity Dataset
and Challenge", and its reference scorer: every prediction is one (score, is_match) item; sort
by decreasing score, breaking ties pessimistically (non-matches first); AP is the sum, over the
true positives, of the precision at their rank, divided by the number of ground-truth matches;
recall at 90% precision is the highest recall at any rank whose precision is at least 0.9.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashbench.evaluate import operating
from hashbench.evaluate.operating import (
    _harmonic_gap,
    isc_micro_average_precision,
    micro_average_precision_tie_grouped,
    recall_at_precision,
)


def isc_ranked(genuine: list[int], impostor_hist: list[int]) -> list[tuple[int, bool]]:
    """Every pair as (score, is_match), score = -distance, in ISC's order: decreasing score,
    non-matches before matches at the same score."""
    items = [(-d, True) for d in genuine]
    items += [(-d, False) for d, c in enumerate(impostor_hist) for _ in range(c)]
    # sort ascending on (score, not match) then reverse, as the scorer does: at one score,
    # (s, True) [a non-match] sorts after (s, False) [a match] and so comes first once reversed
    items.sort(key=lambda it: (it[0], not it[1]))
    return items[::-1]


def isc_port_ap(genuine: list[int], impostor_hist: list[int]) -> Fraction:
    """ISC micro-AP by walking the ranked list, in exact fractions (every genuine pair is a
    ground-truth match and is predicted, so the denominator is their number)."""
    ranked = isc_ranked(genuine, impostor_hist)
    n_pos = len(genuine)
    tp, total = 0, Fraction(0)
    for rank, (_, match) in enumerate(ranked, start=1):
        if match:
            tp += 1
            total += Fraction(tp, rank)
    return total / n_pos


def isc_port_recall_at(genuine: list[int], impostor_hist: list[int], p: float) -> tuple[float | None, int | None]:
    """ISC's operating point: the first rank with the highest recall among ranks with precision >= p."""
    ranked = isc_ranked(genuine, impostor_hist)
    best: tuple[int, int] | None = None  # (tp, distance)
    tp = 0
    for rank, (score, match) in enumerate(ranked, start=1):
        tp += match
        if tp >= p * rank and (best is None or tp > best[0]):
            best = (tp, -score)
    if best is None:
        return None, None
    return best[0] / len(genuine), best[1]


cases = st.integers(1, 12).flatmap(
    lambda nbits: st.tuples(
        st.lists(st.integers(0, nbits), min_size=1, max_size=40),
        st.lists(st.integers(0, 15), min_size=nbits + 1, max_size=nbits + 1),
    )
)


@settings(max_examples=300, deadline=None)
@given(cases)
def test_isc_micro_ap_equals_the_port_of_isc_ranking(case):
    genuine, hist = case
    want = isc_port_ap(genuine, hist)
    got = isc_micro_average_precision(np.array(genuine), np.array(hist))
    assert got == pytest.approx(float(want), rel=1e-12, abs=1e-15)
    assert got <= micro_average_precision_tie_grouped(np.array(genuine), np.array(hist)) + 1e-12


@settings(max_examples=200, deadline=None)
@given(cases)
def test_closed_form_alone_equals_the_port(case):
    """The same with every cell in closed form (no term-by-term sums): digamma's last bit, times
    the impostors ranked before, is the only difference."""
    genuine, hist = case
    want = isc_port_ap(genuine, hist)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(operating, "_DIRECT_UP_TO", 0)
        got = isc_micro_average_precision(np.array(genuine), np.array(hist))
    assert got == pytest.approx(float(want), rel=1e-12, abs=1e-12)


def bulk_walk_ap(genuine: np.ndarray, hist: np.ndarray) -> Fraction:
    """ISC's walk with the impostors of a distance stepped over at once (they add no precision
    term), so billions of them cost nothing: exact fractions at every genuine rank."""
    total, tp, ranked = Fraction(0), 0, 0
    for d in range(hist.size):
        ranked += int(hist[d])  # this distance's impostors come first
        for _ in range(int((genuine == d).sum())):
            tp += 1
            ranked += 1
            total += Fraction(tp, ranked)
    return total / genuine.size


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(0, 16), min_size=1, max_size=60),
    st.lists(st.integers(0, 2 * 10**11), min_size=17, max_size=17),
)
def test_closed_form_at_fpr_50b_scale(genuine, hist):
    """Up to 2e11 impostor pairs per distance, the asymptotic branch against the exact walk."""
    g, h = np.array(genuine), np.array(hist, dtype=np.int64)
    assert isc_micro_average_precision(g, h) == pytest.approx(float(bulk_walk_ap(g, h)), rel=1e-12, abs=1e-15)


@settings(max_examples=300, deadline=None)
@given(cases)
def test_recall_at_90_precision_equals_isc_operating_point(case):
    genuine, hist = case
    recall, threshold = isc_port_recall_at(genuine, hist, 0.9)
    got = recall_at_precision(np.array(genuine), np.array(hist), 0.9)
    assert got.threshold == threshold
    assert got.recall == pytest.approx(0.0 if recall is None else recall, rel=1e-12)


def test_hand_worked_example():
    """Genuine pairs at distances 0, 1, 1; one impostor pair at 0 and one at 1.

    ISC order: (d0, imp) (d0, gen) (d1, imp) (d1, gen) (d1, gen). True positives at ranks 2, 4, 5
    with precision 1/2, 2/4, 3/5: AP = (1/2 + 1/2 + 3/5) / 3 = 8/15. Grouping ties instead:
    precision 1/2 for one third of the recall, 3/5 for two thirds: 1/6 + 2/5 = 17/30.
    """
    genuine, hist = np.array([0, 1, 1]), np.array([1, 1, 0, 0])
    assert isc_micro_average_precision(genuine, hist) == pytest.approx(8 / 15, rel=1e-15)
    assert micro_average_precision_tie_grouped(genuine, hist) == pytest.approx(17 / 30, rel=1e-15)
    assert isc_port_ap([0, 1, 1], [1, 1, 0, 0]) == Fraction(8, 15)
    # every pair at one distance: ISC ranks all impostors first, so one tied score cannot pay off
    tied = isc_micro_average_precision(np.zeros(2, np.int64), np.array([3, 0]))
    assert tied == pytest.approx((1 / 4 + 2 / 5) / 2, rel=1e-15)
    assert micro_average_precision_tie_grouped(np.zeros(2, np.int64), np.array([3, 0])) == pytest.approx(2 / 5)
    # no impostor shares a distance with a genuine pair, yet ISC ranks the two genuine pairs one by
    # one (precision 1/2 then 2/3) where the grouped rule gives both 2/3
    one_before = np.array([1, 0, 0])
    assert isc_micro_average_precision(np.array([1, 1]), one_before) == pytest.approx(7 / 12, rel=1e-15)
    assert micro_average_precision_tie_grouped(np.array([1, 1]), one_before) == pytest.approx(2 / 3, rel=1e-15)
    # no impostor before any genuine pair: perfect under both rules
    assert isc_micro_average_precision(np.zeros(10, np.int64), np.bincount([5] * 100, minlength=65)) == 1.0


@pytest.mark.parametrize("x", [0, 7, 9_999, 10_000, 123_456, 10**9, 1.5e11])
@pytest.mark.parametrize("g", [1, 2, 37, 500])
def test_harmonic_gap_at_every_scale(x, g):
    """Both branches (digamma below 1e4 earlier predictions, the asymptotic series above) against
    an exactly rounded sum, including an fpr-50b-sized number of impostor pairs."""
    x = int(x)
    want = math.fsum(1.0 / (x + k) for k in range(1, g + 1))
    got = _harmonic_gap(np.array([x], np.int64), np.array([g], np.int64))[0]
    assert got == pytest.approx(want, rel=1e-13)


def test_large_counts_keep_their_digits():
    """1.5e11 impostor pairs, a handful of genuine pairs behind most of them; a cell with many
    genuine pairs after few impostors (the digamma branch without term-by-term sums)."""
    hist = np.zeros(65, np.int64)
    hist[[0, 3, 10, 30]] = [2, 40, 10**6, 15 * 10**10]
    genuine = np.array([0, 0, 3, 10, 10, 30, 31, 64])
    assert isc_micro_average_precision(genuine, hist) == pytest.approx(float(bulk_walk_ap(genuine, hist)), rel=1e-12)
    many = np.repeat([1, 2], [30_000, 5])
    hist = np.bincount([0] * 50 + [2] * 7, minlength=65)
    assert isc_micro_average_precision(many, hist) == pytest.approx(float(bulk_walk_ap(many, hist)), rel=1e-12)


def test_errors():
    with pytest.raises(ValueError, match="genuine"):
        isc_micro_average_precision(np.array([], np.int64), np.array([1, 2]))
    with pytest.raises(ValueError, match="genuine"):
        micro_average_precision_tie_grouped(np.array([], np.int64), np.array([1, 2]))
