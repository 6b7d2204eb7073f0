"""Rates as counts over trials, with exact (Clopper-Pearson) confidence intervals.

A false-positive rate is ``k`` events in ``n`` trials. It is always reported with both numbers
and an exact binomial interval, because the headline claims this tool exists to check ("1 in 50
billion") live where few or no events are seen and normal approximations fail. Zero events
still give an upper bound: about ``3 / n`` as a *one-sided* 95% bound (the *rule of three*,
:func:`clopper_pearson_upper`; exactly ``-ln(0.05) / n`` for large ``n``), while the top of the
two-sided 95% interval (:func:`clopper_pearson`) is about ``3.7 / n``. "At most 1 in X" is
always the one-sided bound.

Thresholds follow one convention everywhere in hashbench: a pair *matches* at threshold ``t``
when its Hamming distance is ``<= t`` (so ``t = 0`` means identical hashes only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "clopper_pearson",
    "clopper_pearson_upper",
    "RateCurve",
    "rate_curve",
    "fpr_curve",
    "tpr_curve",
]

FloatOrArray = float | npt.NDArray[np.float64]


def _counts(k: npt.ArrayLike, n: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    k_arr = np.asarray(k)
    n_arr = np.asarray(n)
    for name, a in (("k", k_arr), ("n", n_arr)):
        if a.dtype.kind not in "iuf" or not np.all(np.isfinite(a)) or np.any(a != np.floor(a)):
            raise ValueError(f"{name} must be whole numbers of events/trials, got {a!r}")
    k_f, n_f = np.broadcast_arrays(k_arr.astype(np.float64), n_arr.astype(np.float64))
    if np.any(k_f < 0) or np.any(k_f > n_f):
        raise ValueError("need 0 <= k <= n for every rate")
    return k_f, n_f


def _out(x: np.ndarray) -> FloatOrArray:
    return float(x) if x.ndim == 0 else x


def _beta_ppf(q: float, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The ``q`` quantile of Beta(a, b), checked against the forward function.

    scipy's inverse (boost's ``ibeta_inv``, also behind ``betaincinv``) loses its way for shape
    parameters in the thousands against ones near 1e12: ``beta.ppf(0.005, 1000, 1e12)`` gives
    1.49e-8, above the 0.995 quantile (1.08e-9), so a Clopper-Pearson interval came out inverted.
    Each quantile is therefore checked with ``betainc`` (which stays accurate there) and, where
    it is off, solved again by bracketed root finding on a log scale (relative precision ~1e-12).
    Values that pass the check are returned untouched, so no correct figure moves.
    """
    from scipy.optimize import brentq
    from scipy.special import betainc
    from scipy.stats import beta

    a_b, b_b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    x = np.array(beta.ppf(q, a_b, b_b), dtype=np.float64).reshape(a_b.shape)
    flat_x, flat_a, flat_b = x.reshape(-1), a_b.reshape(-1), b_b.reshape(-1)  # flat_x is a view of x
    off = np.flatnonzero(~(np.abs(betainc(flat_a, flat_b, flat_x) - q) <= 1e-6 * min(q, 1.0 - q)))

    def residual(log_x: float, a_i: float, b_i: float) -> float:
        return float(betainc(a_i, b_i, math.exp(log_x))) - q

    for i in off:
        args = (float(flat_a[i]), float(flat_b[i]))
        flat_x[i] = math.exp(brentq(residual, -745.0, 0.0, args=args, xtol=1e-13))
    return x
    x = np.array(x, dtype=np.float64)
    for idx in zip(*np.nonzero(np.atleast_1d(off))):
        ai, bi = float(np.atleast_1d(a_b)[idx]), float(np.atleast_1d(b_b)[idx])
        u = brentq(lambda v, ai=ai, bi=bi: betainc(ai, bi, np.exp(v)) - q, -745.0, 0.0, xtol=1e-13)
        np.atleast_1d(x)[idx] = np.exp(u)
    return x


def clopper_pearson(k: npt.ArrayLike, n: npt.ArrayLike, alpha: float = 0.05) -> tuple[FloatOrArray, FloatOrArray]:
    """Exact two-sided ``1 - alpha`` binomial interval ``(low, high)`` for ``k`` events in ``n``.

    ``low = Beta(alpha/2; k, n-k+1)`` and ``high = Beta(1-alpha/2; k+1, n-k)`` quantiles, with
    ``low = 0`` when ``k = 0`` and ``high = 1`` when ``k = n``. Vectorized: ``k`` and ``n``
    broadcast; scalars in, floats out. ``n = 0`` (no trials) gives the vacuous ``(0, 1)``.

    For ``k = 0`` the upper end is ``1 - (alpha/2)**(1/n)``, about ``3.69 / n`` at
    ``alpha = 0.05``: each tail of a two-sided 95% interval holds 2.5%. The familiar "3 / n"
    (rule of three) is the *one-sided* 95% bound, :func:`clopper_pearson_upper`.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    k_f, n_f = _counts(k, n)
    # Where a shape parameter would be 0 the end is fixed (0 or 1); 1 keeps beta.ppf quiet there.
    low = np.where(k_f > 0, _beta_ppf(alpha / 2, np.maximum(k_f, 1), n_f - k_f + 1), 0.0)
    high = np.where(k_f < n_f, _beta_ppf(1 - alpha / 2, k_f + 1, np.maximum(n_f - k_f, 1)), 1.0)
    # k = 0 has the closed form 1 - (alpha/2)**(1/n); expm1 keeps it exact for n ~ 1e11+.
    zero = (k_f == 0) & (n_f > 0)
    if np.any(zero):
        high = np.where(zero, -np.expm1(np.log(alpha / 2) / np.where(zero, n_f, 1.0)), high)
    return _out(np.asarray(low, dtype=np.float64)), _out(np.asarray(high, dtype=np.float64))


def clopper_pearson_upper(k: npt.ArrayLike, n: npt.ArrayLike, alpha: float = 0.05) -> FloatOrArray:
    """Exact *one-sided* ``1 - alpha`` upper bound on a rate with ``k`` events in ``n`` trials.

    ``Beta(1 - alpha; k+1, n-k)``; 1 when ``k = n``. With zero events this is
    ``1 - alpha**(1/n)``, about ``-ln(alpha) / n``: at ``alpha = 0.05`` that is ``2.996 / n``,
    the *rule of three*. Use it for claims of the form "the rate is at most x".
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    k_f, n_f = _counts(k, n)
    high = np.where(k_f < n_f, _beta_ppf(1 - alpha, k_f + 1, np.maximum(n_f - k_f, 1)), 1.0)
    zero = (k_f == 0) & (n_f > 0)
    if np.any(zero):
        high = np.where(zero, -np.expm1(np.log(alpha) / np.where(zero, n_f, 1.0)), high)
    return _out(np.asarray(high, dtype=np.float64))


@dataclass(frozen=True)
class RateCurve:
    """A rate at every threshold ``t = 0 .. nbits`` (a match is ``distance <= t``).

    ``count[t]`` events out of ``n`` trials, ``rate = count / n`` (NaN when ``n == 0``) and
    its exact two-sided ``1 - alpha`` interval ``[ci_low, ci_high]``. ``what`` names the rate in
    words (for example "per-pair false-positive rate") so no figure travels without saying
    which rate it is.
    """

    what: str
    thresholds: npt.NDArray[np.int64]
    count: npt.NDArray[np.int64]
    n: int
    rate: npt.NDArray[np.float64]
    ci_low: npt.NDArray[np.float64]
    ci_high: npt.NDArray[np.float64]
    alpha: float

    @property
    def nbits(self) -> int:
        return int(self.thresholds[-1])

    def at(self, threshold: int) -> dict[str, Any]:
        """The figures at one threshold, as plain Python numbers."""
        if not 0 <= threshold <= self.nbits:
            raise ValueError(f"threshold must be in 0..{self.nbits}, got {threshold}")
        return {
            "what": self.what,
            "threshold": int(threshold),
            "count": int(self.count[threshold]),
            "n": self.n,
            "rate": float(self.rate[threshold]),
            "ci_low": float(self.ci_low[threshold]),
            "ci_high": float(self.ci_high[threshold]),
            "confidence": 1.0 - self.alpha,
        }

    def as_dict(self) -> dict[str, Any]:
        """Lists of plain numbers (JSON-ready)."""
        return {
            "what": self.what,
            "thresholds": self.thresholds.tolist(),
            "count": self.count.tolist(),
            "n": self.n,
            "rate": [None if np.isnan(r) else float(r) for r in self.rate],
            "ci_low": self.ci_low.tolist(),
            "ci_high": self.ci_high.tolist(),
            "confidence": 1.0 - self.alpha,
        }


def rate_curve(histogram: npt.ArrayLike, what: str, alpha: float = 0.05) -> RateCurve:
    """Cumulative rate curve from a histogram of distances (``hist[d]`` trials at distance ``d``)."""
    hist = np.asarray(histogram)
    if hist.ndim != 1 or hist.size < 2:
        raise ValueError(f"expected a 1-D histogram of length nbits + 1, got shape {hist.shape}")
    if hist.dtype.kind not in "iu" or np.any(hist < 0):
        raise ValueError("a distance histogram holds non-negative integer counts")
    count = np.cumsum(hist, dtype=np.int64)
    n = int(count[-1])
    low, high = clopper_pearson(count, np.full_like(count, n), alpha)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = count / n if n else np.full(count.shape, np.nan)
    return RateCurve(
        what=what,
        thresholds=np.arange(hist.size, dtype=np.int64),
        count=count,
        n=n,
        rate=np.asarray(rate, dtype=np.float64),
        ci_low=np.asarray(low, dtype=np.float64),
        ci_high=np.asarray(high, dtype=np.float64),
        alpha=alpha,
    )


def fpr_curve(impostor_hist: npt.ArrayLike, alpha: float = 0.05) -> RateCurve:
    """Per-pair false-positive rate at every threshold, from an impostor distance histogram.

    ``count[t]`` is the number of impostor pairs at distance ``<= t`` and ``n`` the number of
    impostor pairs. This is a *per-pair* rate; the chance that a query wrongly matches anything
    in a list of ``L`` hashes is larger (:mod:`hashbench.evaluate.projection`).
    """
    return rate_curve(impostor_hist, "per-pair false-positive rate", alpha)


def tpr_curve(genuine: npt.ArrayLike, nbits: int, alpha: float = 0.05) -> RateCurve:
    """True-positive rate at every threshold from genuine-pair distances (one per pair)."""
    d = np.asarray(genuine)
    if d.ndim != 1:
        raise ValueError(f"genuine distances must be 1-D, got shape {d.shape}")
    if d.size and (d.dtype.kind not in "iu" or d.min() < 0 or d.max() > nbits):
        raise ValueError(f"genuine distances must be integers in 0..{nbits}")
    hist = np.bincount(d.astype(np.int64), minlength=nbits + 1) if d.size else np.zeros(nbits + 1, np.int64)
    return rate_curve(hist, "true-positive rate", alpha)
