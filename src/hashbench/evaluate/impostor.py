"""Evaluation step *impostor*: the exact histogram of every impostor pair, per group, gated.

The impostor set is every hashed reference and distractor (:func:`impostor_images`); each
distinct pair of it is a trial that must not match. Groups (a label per image, such as the
synthetic content family) add one histogram of the pairs within each group, because
false-positive rates depend on what the images look like.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..schema import GroupImpostor, Impostor
from .codes import Codes, ImpostorImages, PairCounting, impostor_images

__all__ = ["ImpostorStep", "impostor_step"]


@dataclass(frozen=True)
class ImpostorStep:
    """The impostor set, its histogram (as an array for later steps) and the report section."""

    images: ImpostorImages
    histogram: npt.NDArray[np.int64]
    section: Impostor


def impostor_step(
    refs: Codes,
    distractors: Codes,
    count: PairCounting,
    *,
    floor: int | None,
    groups: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
) -> ImpostorStep:
    """Count the impostor pairs: all of them, within each group, and those that pass the gate.

    Dihedral matching counts ordered (query, listed) pairs, plain matching unordered pairs
    (``count``). ``floor``: the quality floor when this hasher is gated, else None.
    """
    imp = impostor_images(refs, distractors, dihedral=count.dihedral, with_quality=floor is not None)
    images = imp.images
    hist = count(images, np.arange(len(imp)))
    section: Impostor = {
        "pairs": "ordered" if count.dihedral else "unordered",
        "n_images": len(imp),
        "histogram": hist.tolist(),
    }
    if groups is not None:
        section["by_group"] = _by_group(imp, imp.labels(groups), count)
    if floor is not None and images.quality is not None:
        keep = np.flatnonzero(images.quality >= floor)
        section["gated_images"] = int(len(imp) - len(keep))
        section["histogram_ungated"] = count(images, keep, progress=False).tolist()
    return ImpostorStep(imp, hist, section)


def _by_group(imp: ImpostorImages, labels: npt.NDArray[np.object_], count: PairCounting) -> dict[str, GroupImpostor]:
    """The histogram of the pairs within each group (pairs across groups are in none)."""
    return {
        str(g): {
            "n_images": int((labels == g).sum()),
            "histogram": count(imp.images, np.flatnonzero(labels == g)).tolist(),
        }
        for g in sorted(set(labels.tolist()))
    }
