"""Evaluation step *curves*: threshold-free summaries of the genuine and impostor distances.

The equal error rate, ISC micro-average precision (ISC 2021's pessimistic tie rule; the
tie-grouped value beside it, labelled) and recall at 90% precision, over all pairs. Empty without
genuine pairs or without impostor pairs (nothing to trade off), and for an exact hasher (MD5,
SHA-256): a digest has one operating point, distance 0, and nothing to trade off either (a
distance of 1 and of 64 between two digests mean the same thing).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..schema import Summary
from .operating import (
    equal_error_rate,
    isc_micro_average_precision,
    micro_average_precision_tie_grouped,
    recall_at_precision,
)

__all__ = ["curves_step"]


def curves_step(
    genuine_distances: npt.NDArray[np.int64], impostor_hist: npt.NDArray[np.int64], *, exact: bool = False
) -> Summary:
    """``report["hashers"][h]["summary"]`` from the genuine distances (-1: not evaluated); empty
    for an ``exact`` hasher."""
    summary: Summary = {}
    gen_all = genuine_distances[genuine_distances >= 0]
    if exact or not len(gen_all) or not int(impostor_hist.sum()):
        return summary
    eer = equal_error_rate(gen_all, impostor_hist)
    summary["eer"] = {"rate": eer.rate, "threshold": eer.threshold}
    summary["isc_micro_ap"] = isc_micro_average_precision(gen_all, impostor_hist)
    summary["micro_ap_tie_grouped"] = micro_average_precision_tie_grouped(gen_all, impostor_hist)
    r90 = recall_at_precision(gen_all, impostor_hist, 0.9)
    summary["recall_at_90_precision"] = {
        "min_precision": float(r90.min_precision),
        "recall": float(r90.recall),
        "precision": None if r90.precision is None else float(r90.precision),
        "threshold": None if r90.threshold is None else int(r90.threshold),
    }
    return summary
