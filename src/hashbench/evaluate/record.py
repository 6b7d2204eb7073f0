"""How report.json records a measured rate or a projection: plain JSON values, typed.

Every evaluation step writes its rates through these helpers, so a rate has one shape
everywhere (:class:`hashbench.schema.Rate`): the count and the number of trials it was counted
over, then the rate and its exact interval, ``None`` when there were no trials.
"""

from __future__ import annotations

from ..schema import Projected, Rate
from .projection import ProjectedRate
from .rates import clopper_pearson

__all__ = ["rate_dict", "projected_dict"]


def rate_dict(count: int, n: int, alpha: float) -> Rate:
    """``count`` of ``n`` with its exact interval, as report.json stores every rate."""
    if not n:
        return {"count": int(count), "n": int(n), "rate": None, "ci_low": None, "ci_high": None}
    low, high = clopper_pearson(count, n, alpha)
    return {"count": int(count), "n": int(n), "rate": count / n, "ci_low": float(low), "ci_high": float(high)}


def projected_dict(x: ProjectedRate) -> Projected:
    """A projected rate  as plain floats."""
    return {"rate": float(x.rate), "ci_low": float(x.low), "ci_high": float(x.high)}
