"""Who the impostor images are, and how much the pooled rate owes to that choice.

An all-pairs false-positive rate over a mix of image families depends on the mix: with family
weights ``w``, pairs within family ``g`` make up about ``w_g**2`` of all pairs, so a family that
collides often (flat graphics) moves the pooled rate with the square of an arbitrary weight.
This step reports, per hasher, each family's own rate with its image-level interval (the image
is the sampling unit: a flat image matches many others) and a sensitivity table: the pooled rate
as measured, under equal family weights, and without each family.

Everything here is a function of one matrix the all-pairs kernel fills in the same pass as the
histogram (:attr:`~hashbench.evaluate.pairs.PairList.by_group`): ``C[i, h]``, the false matches
of image ``i`` with images of group ``h`` at the threshold. Within group ``g`` an image's count
is ``C[i, g]``; without ``g`` it is ``C[i, :].sum() - C[i, g]``; pooled, the row sum; and the
false matches between groups ``g`` and ``h`` are ``sum over i in g of C[i, h]`` (halved when
``g == h``, where every pair is seen from both ends). So the section is complete whatever the
number of false matches: the pair list (capped at ``max_listed``) is not needed. Without the
matrix (a pair counter that does not fill it) it is rebuilt from the pair list when that list
is whole, and otherwise the section says it is incomplete.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..schema import FamilyRate, Population
from .image_level import image_level_interval
from .impostor import group_codes
from .pairs import PairList
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


def _matrix(
    pairs: PairList, per_image: npt.NDArray[np.int64] | None, codes: npt.NDArray[np.int64], n_groups: int
) -> npt.NDArray[np.int64] | None:
    """``C[i, h]`` of the module docstring: the kernel's, else rebuilt from a whole pair list,
    else None. The kernel's must have a row per image and a column per group, and its row sums
    are the per-image counts (checked: a cheap guard that the group codes and the rows agree)."""
    c = pairs.by_group
    if c is not None:
        if c.shape != (len(codes), n_groups):
            raise RuntimeError(f"per-image counts by group of shape {c.shape}, expected {(len(codes), n_groups)}")
        if per_image is not None and not np.array_equal(c.sum(axis=1), per_image):
            raise RuntimeError("per-image counts by group do not add up to the per-image counts")
        return np.asarray(c, dtype=np.int64)
    if pairs.truncated:
        return None
    out = np.zeros((len(codes), n_groups), dtype=np.int64)
    np.add.at(out, (pairs.a, codes[pairs.b]), 1)
    np.add.at(out, (pairs.b, codes[pairs.a]), 1)
    return out


def population_step(
    pairs: PairList, per_image: npt.NDArray[np.int64] | None, labels: Sequence[str] | npt.ArrayLike, alpha: float
) -> Population:
    """Per-family rates with image-level intervals and the sensitivity table of one matcher.

    ``pairs`` and ``per_image``: the impostor step's false matches at the threshold (with the
    kernel's ``by_group`` when it was given the groups) and each image's count; ``labels[r]``:
    the family (group) of row ``r`` of the matcher's impostor set. ``complete`` is true whenever
    the per-image-by-group counts are known (from the kernel, or from a whole pair list), false
    only when neither is (then only the key and empty tables are written).
    """
    codes, n_groups = group_codes(labels)
    groups = sorted(set(np.asarray(labels, dtype=str).tolist()))  # the columns of group_codes
    c = _matrix(pairs, per_image, codes, n_groups)
    out: Population = {"complete": c is not None, "by_group": {}, "without": {}}
    if c is None:
        return out
    total = c.sum(axis=1)
    out["pooled"] = _rate(total, alpha)
    for k, g in enumerate(groups):
        inside = codes == k
        out["by_group"][g] = _rate(c[inside, k], alpha)
        if len(groups) > 1:
            out["without"][g] = _rate(total[~inside] - c[~inside, k], alpha)
    if len(groups) > 1:
        out["equal_weights_rate"] = _equal_weights(codes, c)
    return out


def _equal_weights(codes: npt.NDArray[np.int64], c: npt.NDArray[np.int64]) -> float | None:
    """The pooled rate had every family the same number of images: the mean, over ordered pairs of
    families (g, h), of the rate among pairs of one image of g and one of h (a point estimate,
    re-weighting the measured per-family-pair rates). ``k(g, h)``: the sum over images of ``g``
    of their matches with ``h``, halved for ``g == h`` (each pair counted from both ends)."""
    n_groups = c.shape[1]
    size = np.bincount(codes, minlength=n_groups)
    k = np.zeros((n_groups, n_groups), dtype=np.int64)
    np.add.at(k, codes, c)  # k[g, h] = sum over i in g of c[i, h]
    total = 0.0
    for g in range(n_groups):
        for h in range(n_groups):
            pairs = int(size[g]) * (int(size[g]) - 1) // 2 if g == h else int(size[g]) * int(size[h])
            if pairs == 0:
                return None
            total += (int(k[g, h]) // 2 if g == h else int(k[g, h])) / pairs
    return total / n_groups**2
