"""Evaluation step *per query*: innocent images queried against an index of the references.

This measures the per-query false-positive rate against a list of ``L`` hashes (``L`` the
hashed references) directly: the distance from each query to its nearest listed hash (dihedral:
over the query's variants) is recorded as a histogram. It does not assume that one query's
comparisons with the ``L`` listed hashes are independent; it does assume the *queries* are
independent draws (the rate's interval is binomial over queries), which clustered images such as
many near-identical flat ones can break too.

Who queries:

* **distractors** against the references, when the study has distractors;
* **leave-one-out** otherwise: each hashed reference against the other ``n - 1`` references
  (so ``L = n - 1``). For plain matching its rate at ``t`` is the share of references in at least
  one impostor match at ``t`` among the references.

With a quality gate, the same is measured among the images that pass it: a query below the floor
matches nothing, and only listed hashes that pass can be matched (the ``_ungated`` keys).
:func:`per_query_figures` turns the histograms into the rates at the named threshold, each beside
the model's projection ``1 - (1 - p)^L`` at the same ``L`` (a check of the model).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..schema import Impostor, LeaveOneOut, MeasuredPerQueryRate, PerQuery, PerQueryFields
from .codes import Codes, distance_histogram
from .projection import project_per_query_fpr
from .rates import clopper_pearson
from .record import projected_dict, rate_dict

__all__ = ["per_query_step", "per_query_figures", "nearest_other"]


def per_query_step(
    nbits: int, refs: Codes, distractors: Codes, *, dihedral: bool, floor: int | None = None
) -> PerQuery:
    """The nearest listed hash of every hashed distractor (no histogram when either set is
    empty); without distractors, each reference's nearest other reference (leave-one-out).

    ``floor``: the quality floor when this hasher is gated; adds the same among the images
    that pass it.
    """
    ref_rows = np.flatnonzero(refs.ok)
    dis_rows = np.flatnonzero(distractors.ok)
    section: PerQuery = {"list_size": int(len(ref_rows)), "n_queries": int(len(dis_rows))}
    if len(ref_rows) and len(dis_rows):
        nearest = _nearest(refs.codes[ref_rows], distractors, dis_rows, dihedral)
        section["nearest_histogram"] = distance_histogram(nearest, nbits).tolist()
        if floor is not None:
            keep_ref = ref_rows[refs.qualities()[ref_rows] >= floor]
            keep_dis = dis_rows[distractors.qualities()[dis_rows] >= floor]
            section["list_size_ungated"] = int(len(keep_ref))
            section["n_queries_ungated"] = int(len(keep_dis))
            hist = np.zeros(nbits + 1, dtype=np.int64)
            if len(keep_ref) and len(keep_dis):
                hist = distance_histogram(_nearest(refs.codes[keep_ref], distractors, keep_dis, dihedral), nbits)
            section["nearest_histogram_ungated"] = hist.tolist()
    elif len(ref_rows) >= 2 and not len(dis_rows):
        section["leave_one_out"] = _leave_one_out(nbits, refs, ref_rows, dihedral, floor)
    return section


def _leave_one_out(
    nbits: int, refs: Codes, ref_rows: npt.NDArray[np.int64], dihedral: bool, floor: int | None
) -> LeaveOneOut:
    """Each reference of ``ref_rows`` against the others (and, gated, the same among those
    that pass the floor)."""
    out: LeaveOneOut = {
        "list_size": int(len(ref_rows) - 1),
        "n_queries": int(len(ref_rows)),
        "nearest_histogram": distance_histogram(nearest_other(refs, ref_rows, dihedral), nbits).tolist(),
    }
    if floor is not None:
        keep = ref_rows[refs.qualities()[ref_rows] >= floor]
        out["n_queries_ungated"] = int(len(keep))
        hist = np.zeros(nbits + 1, dtype=np.int64)
        if len(keep) >= 2:
            hist = distance_histogram(nearest_other(refs, keep, dihedral), nbits)
        out["nearest_histogram_ungated"] = hist.tolist()
    return out


def nearest_other(codes: Codes, rows: npt.NDArray[np.int64], dihedral: bool) -> npt.NDArray[np.int64]:
    """Distance from each image of ``rows`` to the nearest *other* image of ``rows``.

    The index holds every code of ``rows`` and each query asks for its 2 nearest. The query's
    own code is one of its candidates: when it comes first, the second is the nearest other
    (the second smallest distance over all, with itself counted once); when another code comes
    first, that one is the nearest other. Ties need no care: either way the distance returned is
    the smallest over the others. Dihedral: the same for each of the query's variants, then the
    minimum over its variants.
    """
    from ..index import FlatIndex  # the index pulls in its numba kernels: only when measured

    listed = codes.codes[rows]
    index = FlatIndex(8 * listed.shape[1])
    index.add(listed)
    if dihedral:
        v = codes.variant_codes()[rows]
        xq, own = v.reshape(-1, v.shape[-1]), np.repeat(np.arange(len(rows)), v.shape[1])
    else:
        xq, own = listed, np.arange(len(rows))
    D, ids = index.search(xq, 2)
    other = np.where(ids[:, 0] == own, D[:, 1], D[:, 0]).astype(np.int64)
    return other.reshape(len(rows), -1).min(axis=1) if dihedral else other


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


def per_query_figures(per_query: PerQuery, impostor: Impostor, threshold: int, alpha: float) -> PerQueryFields:
    """The measured per-query rates at ``threshold``, each beside the projection at its own ``L``.

    The projection is ``1 - (1 - p)^L`` from the per-pair rate ``p`` of ``impostor`` (all pairs;
    with the gate the generalized gated rate, whose pairs with a gated image never match), its
    interval the pair-level one mapped through: sampling only, under the model's own assumption
    of independent comparisons. A gated query counts as not matched, so gated rates keep the
    denominator of every query.
    """
    hist, hist_ungated = impostor["histogram"], impostor.get("histogram_ungated")
    n_pairs = int(np.sum(hist))
    p_all = _within(hist, threshold)
    p_gated = None if hist_ungated is None else _within(hist_ungated, threshold)
    out: PerQueryFields = {}
    loo = per_query.get("leave_one_out")
    experiment: PerQuery | LeaveOneOut | None = per_query if "nearest_histogram" in per_query else loo
    if experiment is None:
        return out
    queries = "distractors" if experiment is per_query else "leave-one-out"
    n, L = experiment["n_queries"], experiment["list_size"]
    ungated = experiment.get("nearest_histogram_ungated")
    measured = _beside(
        _measured(experiment.get("nearest_histogram", []), threshold, n, L, queries, alpha), p_all, n_pairs, alpha
    )
    gated = None
    if ungated is not None and p_gated is not None:
        gated = _beside(_measured(ungated, threshold, n, L, queries, alpha), p_gated, n_pairs, alpha)
    if queries == "distractors":
        out["fpr_per_query_measured"] = measured
        if gated is not None:
            out["fpr_per_query_measured_gated"] = gated
    else:
        out["fpr_per_query_leave_one_out"] = measured
        if gated is not None:
            out["fpr_per_query_leave_one_out_gated"] = gated
    return out


def _within(hist: list[int], threshold: int) -> int:
    return int(np.sum(hist[: threshold + 1]))


def _measured(
    hist: list[int], threshold: int, n: int, list_size: int, queries: str, alpha: float
) -> MeasuredPerQueryRate:
    """The ``n`` queries whose nearest listed hash is within ``threshold`` (``hist``: nearest
    distances of the queries that can match; a gated query is in ``n`` only)."""
    rate: MeasuredPerQueryRate = {**rate_dict(_within(hist, threshold), n, alpha), "list_size": list_size}
    rate["queries"] = "leave-one-out" if queries == "leave-one-out" else "distractors"
    return rate


def _beside(rate: MeasuredPerQueryRate, count: int, n_pairs: int, alpha: float) -> MeasuredPerQueryRate:
    """Add the projection at ``rate``'s own list size from ``count`` of ``n_pairs`` pairs."""
    if n_pairs:
        low, high = clopper_pearson(count, n_pairs, alpha)
        pr = project_per_query_fpr(count / n_pairs, low, high, rate["list_size"])
        rate["projected_same_list_size"] = projected_dict(pr)
    return rate
