"""Evaluation step *impostor*: the exact histogram of every impostor pair, per group, gated.

The impostor set is every hashed reference and distractor (:func:`impostor_images`); each
unordered pair of distinct images of it is one trial that must not match (``n (n - 1) / 2`` of
them; for dihedral matching the pair matches if either direction does). Groups (a label per image, such as the
synthetic content family) add one histogram of the pairs within each group, because
false-positive rates depend on what the images look like.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..schema import GroupImpostor, Impostor
from .codes import Codes, ImpostorImages, PairCounting, impostor_images
from .pairs import PairList

__all__ = ["ImpostorStep", "impostor_step", "group_codes"]


@dataclass(frozen=True)
class ImpostorStep:
    """The impostor set, its histogram (as an array for later steps) and the report section.

    ``per_image`` (None without a threshold): for each image of the set, the number of others
    it matches at the named threshold, from the histogram's own kernel pass; the image-level
    interval needs it, because pairs sharing an image are not independent trials.
    ``per_image_ungated``: the same among the images that pass the quality gate, when gated.
    """

    images: ImpostorImages
    histogram: npt.NDArray[np.int64]
    section: Impostor
    per_image: npt.NDArray[np.int64] | None = None
    per_image_ungated: npt.NDArray[np.int64] | None = None
    pairs: PairList | None = None  # the false matches at the threshold, listed by the same pass
    labels: npt.NDArray[np.object_] | None = None  # each image's group, when the study has groups


def impostor_step(
    refs: Codes,
    distractors: Codes,
    count: PairCounting,
    *,
    floor: int | None,
    groups: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    threshold: int | None = None,
    max_listed: int | None = None,
) -> ImpostorStep:
    """Count the impostor pairs: all of them, within each group, and those that pass the gate.

    Every matcher counts unordered pairs (``count``; dihedral: either direction matches).
    ``floor``: the quality floor when this hasher is gated, else None. ``threshold``: also
    count each image's matches at it (same pass), and with ``max_listed`` list up to that many
    of the pairs within it (:mod:`.pairs`, from the same pass); with ``groups`` too, that pass
    also counts each image's matches with each group (``pairs.by_group``, columns in the order
    of :func:`group_codes`), which the per-family rates need whether or not the list is cut.
    """
    imp = impostor_images(refs, distractors, dihedral=count.dihedral, with_quality=floor is not None)
    images = imp.images
    rows = np.arange(len(imp))
    pairs = None
    labels = None if groups is None else imp.labels(groups)
    if max_listed is not None and threshold is not None:
        codes = None if labels is None else group_codes(labels)
        hist, counts, (pairs,) = count.with_pairs(images, rows, (threshold,), max_listed, codes)
        per_image: npt.NDArray[np.int64] | None = counts[0]
    else:
        hist, per_image = _count(count, images, rows, threshold, progress=True)
    section: Impostor = {
        "pairs": "unordered",
        "n_images": len(imp),
        "histogram": hist.tolist(),
    }
    if labels is not None:
        section["by_group"] = _by_group(imp, labels, count)
    per_image_ungated = None
    if floor is not None and images.quality is not None:
        keep = np.flatnonzero(images.quality >= floor)
        section["gated_images"] = int(len(imp) - len(keep))
        hist_ungated, per_image_ungated = _count(count, images, keep, threshold, progress=False)
        section["histogram_ungated"] = hist_ungated.tolist()
    return ImpostorStep(imp, hist, section, per_image, per_image_ungated, pairs, labels)


def group_codes(labels: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], int]:
    """Each label's code, ``0 .. G-1`` in sorted order of the distinct labels, and ``G``: the
    columns of :attr:`~hashbench.evaluate.pairs.PairList.by_group`."""
    names, codes = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
    return codes.astype(np.int64).reshape(-1), len(names)


def _count(
    count: PairCounting, images: Codes, rows: npt.NDArray[np.int64], threshold: int | None, *, progress: bool
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64] | None]:
    """The histogram of ``images[rows]`` and, with a threshold, each row's match count at it
    (one kernel pass for both)."""
    if threshold is None:
        return count(images, rows, progress=progress), None
    hist, counts = count.with_counts(images, rows, (threshold,), progress=progress)
    return hist, counts[0]


def _by_group(imp: ImpostorImages, labels: npt.NDArray[np.object_], count: PairCounting) -> dict[str, GroupImpostor]:
    """The histogram of the pairs within each group (pairs across groups are in none)."""
    return {
        str(g): {
            "n_images": int((labels == g).sum()),
            "histogram": count(imp.images, np.flatnonzero(labels == g)).tolist(),
        }
        for g in sorted(set(labels.tolist()))
    }
