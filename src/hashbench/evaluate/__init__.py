"""The statistics of a hash-matching benchmark, as pure functions of distances and counts.

* :mod:`~hashbench.evaluate.distances`: genuine distances and exact impostor histograms
  (streaming numba kernel, memory independent of the number of codes).
* :mod:`~hashbench.evaluate.rates`: Clopper-Pearson intervals; FPR / TPR at every threshold.
* :mod:`~hashbench.evaluate.projection`: per-pair rate -> per-query rate against a list of ``L``
  hashes -> expected false matches a year, with the assumptions in words.
* :mod:`~hashbench.evaluate.operating`: calibration split, thresholds for target FPRs scored on
  held-out data, EER, ROC / DET, ISC micro-average precision, recall at a precision.

A pair matches at threshold ``t`` when its Hamming distance is ``<= t``.
"""

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
