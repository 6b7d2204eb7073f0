"""Evaluation step *genuine*: the distance of every edited copy to its reference, per transform.

A genuine pair is evaluated when the copy and its reference were both hashed; with a quality
gate, a pair with an image below the floor is *gated* (counted as a miss by the gated TPR).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..schema import TransformEntry
from .codes import Codes, distance_histogram
from .distances import genuine_distances, min_distance_over_variants

__all__ = ["Genuine", "genuine_step"]


@dataclass(frozen=True)
class Genuine:
    """The genuine pairs of one hasher: arrays for later steps and the report's section.

    ``distances[i]``: distance of query ``i`` to its reference, -1 when the pair is not
    evaluated (``valid[i]`` False). ``gated[i]``: the pair has an image below the quality floor
    (all False without a gate). ``transforms``: ``report["hashers"][h]["transforms"]``.
    """

    distances: npt.NDArray[np.int64]
    valid: npt.NDArray[np.bool_]
    gated: npt.NDArray[np.bool_]
    transforms: dict[str, TransformEntry]


def genuine_step(
    nbits: int,
    refs: Codes,
    queries: Codes,
    query_ref: npt.NDArray[np.int64],
    query_transform: npt.ArrayLike | Sequence[str],
    *,
    dihedral: bool,
    floor: int | None,
) -> Genuine:
    """Distances of every hashed (copy, reference) pair and their histogram per transform.

    ``query_ref[i]``: the row in ``refs`` that query ``i`` was edited from (-1: unknown).
    ``floor``: the quality floor when this hasher is gated, else None.
    """
    qref = np.asarray(query_ref, dtype=np.int64)
    has_ref = qref >= 0
    valid = queries.ok & has_ref
    valid[has_ref] &= refs.ok[qref[has_ref]]
    vi = np.flatnonzero(valid)
    if dihedral:
        d_valid = min_distance_over_variants(queries.variant_codes()[vi], refs.codes[qref[vi]])
    else:
        d_valid = genuine_distances(queries.codes[vi], refs.codes[qref[vi]])
    distances = np.full(len(qref), -1, dtype=np.int64)
    distances[vi] = d_valid
    gated = np.zeros(len(qref), dtype=bool)
    if floor is not None:
        gated[vi] = (queries.qualities()[vi] < floor) | (refs.qualities()[qref[vi]] < floor)
    transforms = _per_transform(nbits, distances, valid, gated, np.asarray(query_transform, dtype=object), floor)
    return Genuine(distances, valid, gated, transforms)


def _per_transform(
    nbits: int,
    distances: npt.NDArray[np.int64],
    valid: npt.NDArray[np.bool_],
    gated: npt.NDArray[np.bool_],
    transforms: npt.NDArray[np.object_],
    floor: int | None,
) -> dict[str, TransformEntry]:
    """One histogram of genuine distances per transform (and without the gated pairs), so the
    report shows which edit a hasher survives."""
    out: dict[str, TransformEntry] = {}
    for name in sorted(set(transforms.tolist())):
        sel = transforms == name
        ok_sel = sel & valid
        entry: TransformEntry = {
            "genuine_histogram": distance_histogram(distances[ok_sel], nbits).tolist(),
            "failed": int((sel & ~valid).sum()),
        }
        if floor is not None:
            entry["gated"] = int((ok_sel & gated).sum())
            entry["genuine_histogram_ungated"] = distance_histogram(distances[ok_sel & ~gated], nbits).tolist()
        out[name] = entry
    return out
