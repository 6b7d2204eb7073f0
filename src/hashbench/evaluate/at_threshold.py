"""Evaluation step *at threshold*: every figure at the named threshold, and its projections.

TPR and per-pair FPR (with and without the quality gate), the measured per-query FPR, the
per-query FPR projected onto each list size and the operational projection (expected false
matches a year). Everything is read from the counts of the earlier steps, so nothing here
touches a code.

Every all-pairs rate here (plain, dihedral, gated) is over unordered pairs of distinct images
and carries its image-level fields, from the per-image match counts the impostor step's kernel
pass returns. With a quality gate there are two per-pair figures (ISO/IEC 19795-1 terms):

* ``fpr_per_pair_gated``, the headline: matches among the pairs of two images that both pass
  the gate, over those pairs only; these are the pairs that can match at all. Beside it, the
  share of images gated and the share of pairs that hold a gated image.
* ``fpr_per_pair_gated_generalized``: the same matches over *all* pairs, the gated ones counted
  as non-matches (a "generalized" rate: it folds the gate's refusals into the rate, so it falls
  as more images are gated, whatever the matcher does).
"""

from __future__ import annotations

from typing import cast

import numpy as np
import numpy.typing as npt

from ..schema import AtThreshold, GatedRate, Impostor, Operational, PerQuery, ProjectedAtListSize
from .genuine import Genuine
from .image_level import image_level_fields
from .per_query import per_query_figures
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
    per_image: npt.NDArray[np.int64] | None = None,
    per_image_ungated: npt.NDArray[np.int64] | None = None,
) -> AtThreshold:
    """The rates at ``s.threshold``; ``gated``: this hasher's pairs went through a quality gate.

    ``per_image`` (each image's matches at the threshold) adds the image-level fields of the
    per-pair rate; ``per_image_ungated`` (the same over the images that pass the gate) adds
    them to ``fpr_per_pair_gated``, the rate among pairs of two such images.
    """
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
            fp_gated = int(np.sum(impostor["histogram_ungated"][: t + 1]))
            at["fpr_per_pair_gated"] = _gated_rate(fp_gated, impostor, per_image_ungated, alpha)
            at["fpr_per_pair_gated_generalized"] = rate_dict(fp_gated, n_pairs, alpha)
    if per_image is not None and n_pairs:
        at.update(image_level_fields(per_image, fp, n_pairs, alpha))
    at.update(per_query_figures(per_query, impostor, t, alpha))
    if n_pairs:
        at["fpr_per_query_projected"], at["operational"] = _projections(fp, n_pairs, s)
    return at


def _gated_rate(count: int, impostor: Impostor, per_image: npt.NDArray[np.int64] | None, alpha: float) -> GatedRate:
    """The per-pair rate among pairs of two images that pass the quality gate (the pairs that
    can match at all), with the gated shares of images and of pairs beside it; image-level
    fields from ``per_image``, the counts over the images that pass."""
    n_images = impostor["n_images"]
    n_kept = n_images - impostor.get("gated_images", 0)
    n_pairs = n_kept * (n_kept - 1) // 2
    all_pairs = n_images * (n_images - 1) // 2
    out = cast(GatedRate, rate_dict(count, n_pairs, alpha))
    out["gated_images_share"] = (n_images - n_kept) / n_images if n_images else None
    out["gated_pairs_share"] = (all_pairs - n_pairs) / all_pairs if all_pairs else None
    if per_image is not None and n_pairs:
        if len(per_image) != n_kept:
            raise RuntimeError(f"{len(per_image)} per-image counts for {n_kept} images that pass the gate")
        out.update(image_level_fields(per_image, count, n_pairs, alpha))
    return out


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
