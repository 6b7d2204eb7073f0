"""Evaluation step *at threshold*: every figure at the named threshold, and its projections.

TPR and per-pair FPR (with and without the quality gate), the measured per-query FPR, the
per-query FPR projected onto each list size and the operational projection (expected false
matches a year). Everything is read from the counts of the earlier steps, so nothing here
touches a code.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..schema import AtThreshold, Impostor, Operational, PerQuery, ProjectedAtListSize
from .genuine import Genuine
from .projection import describe_projection, expected_false_matches, project_per_query_fpr
from .rates import clopper_pearson
from .record import projected_dict, rate_dict
from .settings import StudySettings

__all__ = ["at_threshold_step"]


def at_threshold_step(
    genuine: Genuine,
    impostor_hist: npt.NDArray[np.int64],
    impostor: Impostor,
    per_query: PerQuery,
    s: StudySettings,
    *,
    gated: bool,
) -> AtThreshold:
    """The rates at ``s.threshold``; ``gated``: this hasher's pairs went through a quality gate."""
    t, alpha = s.threshold, s.alpha
    d = genuine.distances
    n_gen = int(genuine.valid.sum())
    n_pairs = int(impostor_hist.sum())
    fp = int(impostor_hist[: t + 1].sum())
    at: AtThreshold = {
        "threshold": t,
        "tpr": rate_dict(int(((d >= 0) & (d <= t)).sum()), n_gen, alpha),
        "fpr_per_pair": rate_dict(fp, n_pairs, alpha),
    }
    if gated:
        at["tpr_gated"] = rate_dict(int(((d >= 0) & (d <= t) & ~genuine.gated).sum()), n_gen, alpha)
        if "histogram_ungated" in impostor:
            at["fpr_per_pair_gated"] = rate_dict(int(np.sum(impostor["histogram_ungated"][: t + 1])), n_pairs, alpha)
    if "nearest_histogram" in per_query:
        hits = int(np.sum(per_query["nearest_histogram"][: t + 1]))
        at["fpr_per_query_measured"] = {
            **rate_dict(hits, per_query["n_queries"], alpha),
            "list_size": per_query["list_size"],
        }
    if n_pairs:
        at["fpr_per_query_projected"], at["operational"] = _projections(fp, n_pairs, s)
    return at


def _projections(fp: int, n_pairs: int, s: StudySettings) -> tuple[list[ProjectedAtListSize], Operational]:
    """The per-pair rate ``fp / n_pairs`` projected onto each list size and onto a year of
    matching; models, assuming independent pairs, shown beside the measurement."""
    p = fp / n_pairs
    p_low, p_high = clopper_pearson(fp, n_pairs, s.alpha)
    projected: list[ProjectedAtListSize] = []
    for L in s.list_sizes:
        pr = project_per_query_fpr(p, p_low, p_high, L)
        projected.append({"list_size": L, "rate": float(pr.rate), "ci_low": float(pr.low), "ci_high": float(pr.high)})
    proj = expected_false_matches(s.volume_per_year, s.list_size, p, float(p_low), float(p_high))
    operational: Operational = {
        "volume_per_year": proj.volume,
        "list_size": proj.list_size,
        "per_query": projected_dict(proj.per_query),
        "flagged_per_year": projected_dict(proj.flagged_per_year),
        "pair_matches_per_year": projected_dict(proj.pair_matches_per_year),
        "text": describe_projection(
            proj,
            matcher=s.name,
            threshold=s.threshold,
            false_matches=fp,
            impostor_pairs=n_pairs,
            confidence=1 - s.alpha,
        ),
    }
    return projected, operational
