"""From a per-pair rate to what it means for a hash list and a year of traffic.

Three different numbers get called "the false-positive rate" of a hash matcher:

* the **per-pair** rate ``p``: one image against one listed hash (what the impostor histogram
  measures, :func:`hashbench.evaluate.fpr_curve`);
* the **per-query** rate against a list of ``L`` hashes: the chance that one innocent image
  matches *anything* in the list, ``1 - (1 - p)**L`` if the ``L`` comparisons were independent
  (:func:`project_per_query_fpr`), or measured directly by querying an index
  (:func:`measured_per_query_fpr`);
* the **operational** count: innocent images flagged per year at a volume ``V``
  (:func:`expected_false_matches`).

The projections assume that one image's comparisons with the ``L`` listed hashes are
independent trials at the per-pair rate ``p`` measured on this data. That assumption errs on the
safe side for a fixed ``p``: real false matches cluster (near-duplicates, flat images, templates
match each other), and positively associated matches fall on fewer images, so the chance that
an image is flagged is *at most* ``1 - (1 - p)**L`` and the projected number of flagged images
is an upper bound under that ``p``. The real unknown is whether ``p`` itself transfers to the
images a real service sees. The report therefore shows the projection at the list size that was
measured, beside the measured per-query rate (:mod:`.per_query`): a check of the model on this
data. :func:`describe_projection` says all this in words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from .rates import clopper_pearson, clopper_pearson_upper

__all__ = [
    "DEFAULT_VOLUME_PER_YEAR",
    "DEFAULT_LIST_SIZE",
    "ProjectedRate",
    "PerQueryRate",
    "OperationalProjection",
    "project_per_query_fpr",
    "measured_per_query_fpr",
    "expected_false_matches",
    "describe_projection",
]

#: Images matched a year in the default projection (12.3 billion).
DEFAULT_VOLUME_PER_YEAR = 12.3e9
#: Hashes in the list they are matched against in the default projection (5 million).
DEFAULT_LIST_SIZE = 5_000_000

FloatOrArray = float | npt.NDArray[np.float64]


class ProjectedRate(NamedTuple):
    """A projected rate and the projection of its interval ends."""

    rate: FloatOrArray
    low: FloatOrArray
    high: FloatOrArray


def _at_least_one(p: np.ndarray, trials: np.ndarray) -> np.ndarray:
    """``1 - (1 - p)**trials``, exact for tiny ``p`` and huge ``trials`` (log1p / expm1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        q = -np.expm1(trials * np.log1p(-p))
    q = np.where(trials == 0, 0.0, q)  # 0 * log(0) is NaN; no trials, no match
    q = np.where((p == 1.0) & (trials > 0), 1.0, q)
    return np.clip(q, 0.0, 1.0)


def _out(x: np.ndarray) -> FloatOrArray:
    return float(x) if np.ndim(x) == 0 else x


def _check_probability(name: str, x: npt.ArrayLike) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if np.any(~np.isfinite(a)) or np.any(a < 0) or np.any(a > 1):
        raise ValueError(f"{name} must be probabilities in [0, 1], got {x!r}")
    return a


def project_per_query_fpr(
    p: npt.ArrayLike, p_low: npt.ArrayLike, p_high: npt.ArrayLike, list_size: npt.ArrayLike
) -> ProjectedRate:
    """Per-query false-positive rate against a list of ``list_size`` hashes, projected.

    ``1 - (1 - p)**L``: the chance that at least one of ``L`` independent comparisons, each a
    false match with probability ``p``, matches. The map is increasing in ``p``, so the interval
    ``[p_low, p_high]`` maps to ``[q(p_low), q(p_high)]`` with the same confidence. Broadcasts
    over arrays (for example every threshold at once, or several list sizes).
    """
    pa = _check_probability("p", p)
    lo = _check_probability("p_low", p_low)
    hi = _check_probability("p_high", p_high)
    L = np.asarray(list_size, dtype=np.float64)
    if np.any(~np.isfinite(L)) or np.any(L < 0):
        raise ValueError(f"list_size must be >= 0, got {list_size!r}")
    if np.any(lo > pa) or np.any(pa > hi):
        raise ValueError("need p_low <= p <= p_high")
    return ProjectedRate(_out(_at_least_one(pa, L)), _out(_at_least_one(lo, L)), _out(_at_least_one(hi, L)))


@dataclass(frozen=True)
class PerQueryRate:
    """Measured per-query rate: ``k`` of ``n`` queries matched something in a list of ``list_size``."""

    k: int
    n: int
    list_size: int
    rate: float
    ci_low: float
    ci_high: float
    alpha: float

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "what": "measured per-query false-positive rate",
            "k": self.k,
            "n": self.n,
            "list_size": self.list_size,
            "rate": self.rate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "confidence": 1.0 - self.alpha,
        }


def measured_per_query_fpr(counts_within: npt.ArrayLike, list_size: int, alpha: float = 0.05) -> PerQueryRate:
    """Fraction of impostor queries with at least one match in a list, with its exact interval.

    ``counts_within[q]`` is how many of the ``list_size`` listed hashes query ``q`` matched
    (``index.count_within(xq, t)``); the queries must be images not in the list. This is the
    measured counterpart of :func:`project_per_query_fpr`: it does not assume that one query's
    comparisons with the list are independent, but its interval does assume that the *queries*
    are independent draws (a binomial over queries), which clustered queries can break too.
    """
    c = np.asarray(counts_within)
    if c.ndim != 1 or (c.size and (c.dtype.kind not in "iu" or c.min() < 0)):
        raise ValueError("counts_within must be a 1-D array of non-negative match counts")
    if list_size < 0:
        raise ValueError(f"list_size must be >= 0, got {list_size}")
    k = int(np.count_nonzero(c))
    n = int(c.size)
    low, high = clopper_pearson(k, n, alpha)
    return PerQueryRate(k, n, int(list_size), k / n if n else float("nan"), float(low), float(high), alpha)


@dataclass(frozen=True)
class OperationalProjection:
    """Expected false matches a year for ``volume`` images matched against ``list_size`` hashes.

    ``per_pair`` is the measured per-pair rate and interval it starts from, ``per_query`` the
    projected chance that one innocent image is flagged, ``flagged_per_year`` the expected
    number of innocent images flagged a year (``volume * per_query``) and
    ``pair_matches_per_year`` the expected number of (image, listed hash) false matches
    (``volume * list_size * p``; larger when one image matches several listed hashes).
    """

    volume: float
    list_size: float
    per_pair: ProjectedRate
    per_query: ProjectedRate
    flagged_per_year: ProjectedRate
    pair_matches_per_year: ProjectedRate


def expected_false_matches(
    volume_per_year: float = DEFAULT_VOLUME_PER_YEAR,
    list_size: float = DEFAULT_LIST_SIZE,
    p: float = 0.0,
    p_low: float = 0.0,
    p_high: float = 0.0,
) -> OperationalProjection:
    """Project a per-pair rate (and its interval) onto a year of matching.

    Assumes every (image, listed hash) comparison is an independent trial that falsely matches
    with the per-pair probability ``p`` measured here. Each end of the interval is projected
    the same way (every map here is increasing in ``p``).
    """
    if not np.isfinite(volume_per_year) or volume_per_year < 0:
        raise ValueError(f"volume_per_year must be >= 0, got {volume_per_year}")
    per_query = project_per_query_fpr(p, p_low, p_high, list_size)
    per_pair = ProjectedRate(float(p), float(p_low), float(p_high))
    flagged = ProjectedRate(*(volume_per_year * float(q) for q in per_query))
    pair_matches = ProjectedRate(*(volume_per_year * float(list_size) * float(x) for x in per_pair))
    return OperationalProjection(float(volume_per_year), float(list_size), per_pair, per_query, flagged, pair_matches)


def _words(x: float) -> str:
    """A count or rate in words people read: ``12.3 billion``, ``5 million``, ``3.1e-07``."""
    if x == 0:
        return "0"
    if x >= 1000:
        for value, name in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"), (1e3, "thousand")):
            if x >= value:
                return f"{x / value:.3g} {name}"
    if x >= 0.01:
        return f"{x:.3g}"
    return f"{x:.2g}"


def _one_in(p: float) -> str:
    return "never" if p <= 0 else f"1 in {_words(1.0 / p)}"


def describe_projection(
    projection: OperationalProjection,
    *,
    matcher: str,
    threshold: int,
    false_matches: int,
    impostor_pairs: int,
    confidence: float = 0.95,
) -> str:
    """The operational projection in plain words, with its assumptions and their direction.

    ``false_matches`` of ``impostor_pairs`` are the per-pair counts behind ``projection``. The
    "at most" figure is the one-sided upper bound (:func:`clopper_pearson_upper`) over pairs
    taken as independent trials, as the projection itself takes them; intervals are two-sided
    and labelled "sampling only, under the model".
    """
    pp, pq, fl = projection.per_pair, projection.per_query, projection.flagged_per_year
    pct = f"{100 * confidence:.0f}%"
    upper = float(clopper_pearson_upper(false_matches, impostor_pairs, 1 - confidence)) if impostor_pairs else 1.0
    measured = (
        f"At threshold {threshold}, {matcher} wrongly matched {false_matches:,} of {impostor_pairs:,} pairs of "
        f"distinct images in this benchmark: a per-pair false-positive rate of {_words(float(pp.rate))}, at most "
        f"about {_one_in(upper)} (one-sided {pct} upper bound, pair-level: pairs taken as independent trials, as "
        "this projection takes them; the report's image-level bound allows for clustered images)."
    )
    projected = (
        f"If {_words(projection.volume)} images a year were each matched against a list of "
        f"{_words(projection.list_size)} hashes, and each comparison were an independent trial at that rate, the "
        f"chance that one innocent image is flagged would be {_words(float(pq.rate))} and about "
        f"{_words(float(fl.rate))} innocent images would be flagged a year (two-sided {pct} intervals, sampling only, "
        f"under the model: {_words(float(pq.low))} to {_words(float(pq.high))}, and {_words(float(fl.low))} to "
        f"{_words(float(fl.high))})."
    )
    if false_matches == 0:
        projected += (
            " No false match was seen, so the lower end is 0 and the upper end is set only by how many pairs "
            "were tried: more distinct images tighten it."
        )
    assumptions = (
        "For a fixed per-pair rate, real false matches that cluster (near-duplicates, flat images, templates and "
        "screenshots match each other) fall on fewer images, so the chance that an image is flagged is at most "
        "what independence gives: this projection is an upper bound on flagged images at this rate. The real "
        "unknown is whether the per-pair rate measured on these images holds for the images a real service sees, "
        "which may be more or less alike, so the real count can be far higher or lower. The per-query rate "
        "measured at this benchmark's own list size, shown beside the model's value there, shows how far the "
        "model is off on this data."
    )
    return " ".join([measured, projected, assumptions])
