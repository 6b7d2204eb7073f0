"""Evaluation step *operating points*: thresholds chosen on one half of the images, scored on
the other.

The images of the impostor set are split in two (:func:`split_calibration`); the threshold for
each target FPR is chosen on the impostor pairs of the calibration half and scored on the
held-out half, with the genuine pairs whose reference is held out. Without genuine pairs (an
FPR-only study) there is no TPR to score, so there are no operating points; nor for an exact
hasher (MD5, SHA-256), whose one operating point is distance 0, never a calibrated threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import numpy.typing as npt

from ..schema import OperatingPoint
from .codes import ImpostorImages, PairCounting
from .genuine import Genuine
from .operating import score_operating_point, split_calibration

__all__ = ["CALIBRATION_FRACTION", "operating_points_step"]

#: Share of the impostor images in the calibration half (recorded with every operating point).
CALIBRATION_FRACTION = 0.5


def operating_points_step(
    genuine: Genuine,
    query_ref: npt.NDArray[np.int64],
    imp: ImpostorImages,
    count: PairCounting,
    target_fprs: Sequence[float],
    *,
    seed: int,
    alpha: float,
    exact: bool = False,
) -> list[OperatingPoint]:
    """One operating point per target FPR; the split is seeded by ``seed`` (by image, never by
    pair, so no image informs both the choice and its score). None for an ``exact`` hasher."""
    if exact or not genuine.valid.any():
        return []
    cal, held = split_calibration(len(imp), seed, CALIBRATION_FRACTION)
    hist_cal = count(imp.images, cal)
    hist_held = count(imp.images, held)
    held_q = _held_out_queries(genuine, np.asarray(query_ref, dtype=np.int64), imp, held)
    genuine_held = genuine.distances[held_q].astype(np.int64)
    split = {"calibration_fraction": CALIBRATION_FRACTION, "calibration_images": len(cal), "held_out_images": len(held)}
    return [
        cast(
            OperatingPoint,
            {**score_operating_point(t, hist_cal, hist_held, genuine_held, alpha=alpha).as_dict(), **split},
        )
        for t in target_fprs
    ]


def _held_out_queries(
    genuine: Genuine, qref: npt.NDArray[np.int64], imp: ImpostorImages, held: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """The evaluated queries whose reference is in the held-out half: genuine pairs follow
    their reference."""
    in_held = np.zeros(len(imp), dtype=bool)
    in_held[held] = True
    held_q = np.flatnonzero(genuine.valid)
    # an evaluated query's reference was hashed, so it is in ref_rows (sorted): found exactly
    ref_pos = np.searchsorted(imp.ref_rows, qref[held_q])
    return held_q[in_held[ref_pos]]
