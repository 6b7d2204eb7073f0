"""Evaluation step *per query*: every distractor queried against an index of the references.

This measures the per-query false-positive rate against a list of ``L`` hashes (``L`` the
hashed references) directly, with no independence assumption: the distance from each query
to its nearest listed hash (dihedral: over the query's variants) is recorded as a histogram.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..schema import PerQuery
from .codes import Codes, distance_histogram

__all__ = ["per_query_step"]


def per_query_step(nbits: int, refs: Codes, distractors: Codes, *, dihedral: bool) -> PerQuery:
    """The nearest listed hash of every hashed distractor (no histogram when either set is
    empty)."""
    ref_rows = np.flatnonzero(refs.ok)
    dis_rows = np.flatnonzero(distractors.ok)
    section: PerQuery = {"list_size": int(len(ref_rows)), "n_queries": int(len(dis_rows))}
    if len(ref_rows) and len(dis_rows):
        nearest = _nearest(refs.codes[ref_rows], distractors, dis_rows, dihedral)
        section["nearest_histogram"] = distance_histogram(nearest, nbits).tolist()
    return section


def _nearest(
    listed: npt.NDArray[np.uint8], distractors: Codes, dis_rows: npt.NDArray[np.int64], dihedral: bool
) -> npt.NDArray[np.int64]:
    """Distance from each query to its nearest listed code, by the exact flat index."""
    from ..index import FlatIndex  # the index pulls in its numba kernels: only when measured

    index = FlatIndex(8 * listed.shape[1])
    index.add(listed)
    if dihedral:
        v = distractors.variant_codes()[dis_rows]
        D, _ = index.search(v.reshape(-1, v.shape[-1]), 1)
        return np.asarray(D[:, 0].reshape(len(dis_rows), -1).min(axis=1), dtype=np.int64)
    D, _ = index.search(distractors.codes[dis_rows], 1)
    return np.asarray(D[:, 0], dtype=np.int64)
