"""The statistics of a hash-matching benchmark, as pure functions of distances and counts.

* :mod:`~hashbench.evaluate.distances`: genuine distances and exact impostor histograms
  (streaming numba kernel, memory independent of the number of codes).
* :mod:`~hashbench.evaluate.rates`: Clopper-Pearson intervals; FPR / TPR at every threshold.
* :mod:`~hashbench.evaluate.projection`: per-pair rate -> per-query rate against a list of ``L``
  hashes -> expected false matches a year, with the assumptions in words.
* :mod:`~hashbench.evaluate.operating`: calibration split, thresholds for target FPRs scored on
  held-out data, EER, ROC / DET, ISC micro-average precision, recall at a precision.

A pair matches at threshold ``t`` when its Hamming distance is ``<= t``.

Names are imported on first use (PEP 562): rates, projection and operating points are numpy and
scipy only, while distances and dihedral compile numba kernels. So ``from
hashbench.evaluate import clopper_pearson`` (as the report layer does) never imports numba.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the real imports, for type checkers; at run time see __getattr__
    from .distances import (
        DEFAULT_BLOCK,
        cross_histogram,
        genuine_distances,
        impostor_histogram,
        min_distance_over_variants,
    )
    from .operating import (
        EqualErrorRate,
        ErrorCurve,
        OperatingPoint,
        RateAt,
        RecallAtPrecision,
        choose_threshold,
        det_curve,
        equal_error_rate,
        isc_micro_average_precision,
        pairs_needed,
        recall_at_precision,
        roc_curve,
        score_operating_point,
        split_calibration,
    )
    from .projection import (
        DEFAULT_LIST_SIZE,
        DEFAULT_VOLUME_PER_YEAR,
        OperationalProjection,
        PerQueryRate,
        ProjectedRate,
        describe_projection,
        expected_false_matches,
        measured_per_query_fpr,
        project_per_query_fpr,
    )
    from .rates import RateCurve, clopper_pearson, clopper_pearson_upper, fpr_curve, rate_curve, tpr_curve

# Each public name and the submodule that defines it (numba-backed: distances).
_SUBMODULE_OF: dict[str, str] = {
    "DEFAULT_BLOCK": "distances",
    "cross_histogram": "distances",
    "genuine_distances": "distances",
    "impostor_histogram": "distances",
    "min_distance_over_variants": "distances",
    "EqualErrorRate": "operating",
    "ErrorCurve": "operating",
    "OperatingPoint": "operating",
    "RateAt": "operating",
    "RecallAtPrecision": "operating",
    "choose_threshold": "operating",
    "det_curve": "operating",
    "equal_error_rate": "operating",
    "isc_micro_average_precision": "operating",
    "pairs_needed": "operating",
    "recall_at_precision": "operating",
    "roc_curve": "operating",
    "score_operating_point": "operating",
    "split_calibration": "operating",
    "DEFAULT_LIST_SIZE": "projection",
    "DEFAULT_VOLUME_PER_YEAR": "projection",
    "OperationalProjection": "projection",
    "PerQueryRate": "projection",
    "ProjectedRate": "projection",
    "describe_projection": "projection",
    "expected_false_matches": "projection",
    "measured_per_query_fpr": "projection",
    "project_per_query_fpr": "projection",
    "RateCurve": "rates",
    "clopper_pearson": "rates",
    "clopper_pearson_upper": "rates",
    "fpr_curve": "rates",
    "rate_curve": "rates",
    "tpr_curve": "rates",
}


def __getattr__(name: str) -> Any:
    """Import a public name on first access, then keep it as a module global."""
    module = _SUBMODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    # distances
    "DEFAULT_BLOCK",
    "impostor_histogram",
    "cross_histogram",
    "genuine_distances",
    "min_distance_over_variants",
    # rates
    "clopper_pearson",
    "clopper_pearson_upper",
    "RateCurve",
    "rate_curve",
    "fpr_curve",
    "tpr_curve",
    # projection
    "DEFAULT_VOLUME_PER_YEAR",
    "DEFAULT_LIST_SIZE",
    "ProjectedRate",
    "PerQueryRate",
    "OperationalProjection",
    "project_per_query_fpr",
    "measured_per_query_fpr",
    "expected_false_matches",
    "describe_projection",
    # operating points
    "split_calibration",
    "choose_threshold",
    "pairs_needed",
    "RateAt",
    "OperatingPoint",
    "score_operating_point",
    "ErrorCurve",
    "roc_curve",
    "det_curve",
    "EqualErrorRate",
    "equal_error_rate",
    "isc_micro_average_precision",
    "RecallAtPrecision",
    "recall_at_precision",
]
