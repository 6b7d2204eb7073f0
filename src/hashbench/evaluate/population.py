"""Who the impostor images are, and how much the pooled rate owes to that choice.

An all-pairs false-positive rate over a mix of image families depends on the mix: with family
weights ``w``, pairs within family ``g`` make up about ``w_g**2`` of all pairs, so a family that
collides often (flat graphics) moves the pooled rate with the square of an arbitrary weight.
This step reports, per hasher, each family's own rate with its image-level interval (the image
is the sampling unit: a flat image matches many others) and a sensitivity table: the pooled rate
as measured, under equal family weights, and without each family.

Everything here is counted from the listed false matches (:mod:`.pairs`), so it needs the whole
list: when a matcher has more false matches than ``max_listed``, the section says so and gives
only what the histograms give.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..schema import FamilyRate, Population
from .image_level import image_level_interval
from .pairs import Evidence
from .rates import clopper_pearson

__all__ = ["population_step"]


def _rate(per_image: npt.NDArray[np.int64], alpha: float) -> FamilyRate:
    """Count, pairs, rate, exact pair-level and image-level intervals of all pairs of a set of
    images, from each image's matches within the set."""
    n = len(per_image)
    trials = n * (n - 1) // 2
    count = int(per_image.sum()) // 2
    out: FamilyRate = {"images": n, "count": count, "n": trials, "rate": count / trials if trials else None}
    if trials:
        low, high = clopper_pearson(count, trials, alpha)
        out["ci_pair_level"] = [float(low), float(high)]
        if count:
            r = image_level_interval(per_image, trials, alpha)
            out["ci_image_level"] = [float(r.ci_image_level[0]), float(r.ci_image_level[1])]
            out["upper_one_sided"] = float(r.upper_one_sided)
            out["design_effect"] = float(r.design_effect)
        else:  # no match: no clustering to correct for; the one-sided bound is the binomial one
            out["ci_image_level"] = out["ci_pair_level"]
            out["upper_one_sided"] = float(1.0 - alpha ** (1.0 / trials))
    return out


def _counts_within(
    keep: npt.NDArray[np.bool_], a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Per kept image, its matches with other kept images (``a``, ``b``: the matching pairs)."""
    both = keep[a] & keep[b]
    counts = np.bincount(a[both], minlength=len(keep)) + np.bincount(b[both], minlength=len(keep))
    return counts[keep].astype(np.int64)


def population_step(ev: Evidence, labels: Sequence[str], alpha: float) -> Population:
    """Per-family rates with image-level intervals and the sensitivity table of one matcher.

    ``labels[r]``: the family (group) of row ``r`` of the matcher's impostor set.
    """
    lab = np.asarray(labels, dtype=object)
    groups = sorted(set(lab.tolist()))
    assert ev.pairs is not None
    complete = not ev.pairs.truncated
    out: Population = {"complete": complete, "by_group": {}, "without": {}}
    if not complete:
        return out
    a, b = ev.pairs.a, ev.pairs.b
    everyone = np.ones(len(lab), dtype=bool)
    out["pooled"] = _rate(_counts_within(everyone, a, b), alpha)
    for g in groups:
        out["by_group"][g] = _rate(_counts_within(lab == g, a, b), alpha)
        if len(groups) > 1:
            out["without"][g] = _rate(_counts_within(lab != g, a, b), alpha)
    if len(groups) > 1:
        out["equal_weights_rate"] = _equal_weights(lab, groups, a, b)
    return out


def _equal_weights(
    lab: npt.NDArray[np.object_], groups: list[str], a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]
) -> float | None:
    """The pooled rate had every family the same number of images: the mean, over ordered pairs of
    families (g, h), of the rate among pairs of one image of g and one of h (a point estimate,
    re-weighting the measured per-family-pair rates)."""
    size = {g: int((lab == g).sum()) for g in groups}
    ga, gb = lab[a], lab[b]
    total = 0.0
    for g in groups:
        for h in groups:
            pairs = size[g] * (size[g] - 1) // 2 if g == h else size[g] * size[h]
            if pairs == 0:
                return None
            k = (
                int(((ga == g) & (gb == h)).sum() + ((ga == h) & (gb == g)).sum())
                if g != h
                else int(((ga == g) & (gb == g)).sum())
            )
            total += k / pairs
    return total / len(groups) ** 2
