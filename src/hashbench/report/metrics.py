"""Rates at every threshold, derived from the histograms in a report dict.

report.json stores counts (distance histograms), not rates, so that every rate can be recomputed
without the images. This module does that recomputation, always through
:mod:`hashbench.evaluate` (``rate_curve``, ``fpr_curve``, ``clopper_pearson``), and is the single
source of the rates in metrics.csv, the tables and the plots.

Conventions (as in :mod:`hashbench.evaluate.study`): a pair matches at threshold ``t`` when its
distance is ``<= t``; with the quality gate, gated genuine pairs count as misses and gated
impostor pairs as non-matches, so the gated rates keep the ungated denominators.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..evaluate.rates import RateCurve, clopper_pearson, clopper_pearson_upper, fpr_curve, rate_curve
from ..schema import GroupImpostor, HasherEvaluation, HasherResult, Rate, Report

__all__ = [
    "ALL_TRANSFORMS",
    "METRICS_COLUMNS",
    "FAILURE_COLUMNS",
    "GROUP_METRICS_COLUMNS",
    "group_metrics_rows",
    "evaluated_thresholds",
    "transform_names",
    "genuine_histogram",
    "tpr_curve_of",
    "fpr_curve_of",
    "per_query_curve_of",
    "GatedCurve",
    "gated_tpr_curve_of",
    "gated_fpr_curve_of",
    "has_gate",
    "tpr_at",
    "group_names",
    "group_fpr_at",
    "GroupRate",
    "PairRate",
    "pair_rate",
    "upper_one_sided_key",
    "gated_pair_rates",
    "failed_images",
    "failed_hashes",
    "measured_per_query",
    "alpha_of",
    "metrics_rows",
    "failure_rows",
]

#: The ``transform`` value of rows that pool the genuine pairs of every transform.
ALL_TRANSFORMS = "all"

METRICS_COLUMNS: tuple[str, ...] = (
    "hasher",
    "transform",
    "threshold",
    "tp",
    "n_genuine",
    "tpr",
    "tpr_ci_low",
    "tpr_ci_high",
    "fp",
    "n_pairs",
    "fpr",
    "fpr_ci_low",
    "fpr_ci_high",
    "fpr_per_query_measured",
    "fpr_per_query_ci_low",
    "fpr_per_query_ci_high",
    "n_queries",
    "list_size",
    "tpr_gated",
    "tpr_gated_ci_low",
    "tpr_gated_ci_high",
    "fpr_gated",
    "fpr_gated_ci_low",
    "fpr_gated_ci_high",
)

FAILURE_COLUMNS: tuple[str, ...] = ("stage", "id", "hasher", "reason")

GROUP_METRICS_COLUMNS: tuple[str, ...] = (
    "hasher",
    "group",
    "n_images",
    "threshold",
    "fp",
    "n_pairs",
    "fpr",
    "fpr_ci_low",
    "fpr_ci_high",
)


def transform_names(report: Report) -> list[str]:
    """Transforms that have results, in suite order (as the run applied them), then any others sorted."""
    present: set[str] = set()
    for h in report["hashers"].values():
        present.update(h.get("transforms", {}))
    ordered = [t["name"] for t in report.get("inputs", {}).get("queries", {}).get("transforms", [])]
    listed = [n for n in ordered if n in present]
    return listed + sorted(present - set(listed))


def genuine_histogram(h: HasherEvaluation, transform: str | None = None, *, gated: bool = False) -> np.ndarray:
    """Genuine-pair distance histogram of one transform, or pooled over all (``None``/"all").

    ``gated=True`` gives the pairs that pass the quality gate (``genuine_histogram_ungated``).
    """
    key: Literal["genuine_histogram", "genuine_histogram_ungated"] = (
        "genuine_histogram_ungated" if gated else "genuine_histogram"
    )
    nbits = int(h["nbits"])
    if transform not in (None, ALL_TRANSFORMS):
        entry = h["transforms"].get(transform)
        if entry is None or key not in entry:
            return np.zeros(nbits + 1, dtype=np.int64)
        return np.asarray(entry[key], dtype=np.int64)
    total = np.zeros(nbits + 1, dtype=np.int64)
    for entry in h["transforms"].values():
        if key in entry:
            total += np.asarray(entry[key], dtype=np.int64)
    return total


def alpha_of(report: Report) -> float:
    """The report's alpha: every interval is two-sided ``1 - alpha``, every bound one-sided ``1 - alpha``."""
    return float(report.get("config", {}).get("alpha", 0.05))


def tpr_curve_of(report: Report, hasher: str, transform: str | None = None) -> RateCurve:
    """TPR at every threshold for one hasher (and transform, or all pooled)."""
    return rate_curve(genuine_histogram(report["hashers"][hasher], transform), "true-positive rate", alpha_of(report))


def fpr_curve_of(report: Report, hasher: str) -> RateCurve:
    """Per-pair FPR at every threshold from the impostor histogram."""
    return fpr_curve(np.asarray(report["hashers"][hasher]["impostor"]["histogram"], dtype=np.int64), alpha_of(report))


def per_query_curve_of(report: Report, hasher: str) -> RateCurve | None:
    """Measured per-query FPR at every threshold: share of distractor queries whose nearest
    reference is within ``t``; ``None`` when the run could not measure it."""
    pq = report["hashers"][hasher].get("per_query", {})
    if "nearest_histogram" not in pq:
        return None
    return rate_curve(
        np.asarray(pq["nearest_histogram"], dtype=np.int64), "measured per-query false-positive rate", alpha_of(report)
    )


class GroupRate(Rate):
    """The per-pair FPR among the images of one group at one threshold (:func:`group_fpr_at`);
    recomputed from ``impostor.by_group``, not stored in the report."""

    n_images: int


@dataclass(frozen=True)
class GatedCurve:
    """A rate with the quality gate applied: ``count[t]`` of ``n`` with its exact interval."""

    count: np.ndarray
    n: int
    rate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray


def _gated(counts_hist: np.ndarray, n: int, alpha: float) -> GatedCurve:
    count = np.cumsum(counts_hist, dtype=np.int64)
    if n == 0:
        nan = np.full(count.shape, np.nan)
        return GatedCurve(count, 0, nan, nan, nan)
    low, high = clopper_pearson(count, np.full_like(count, n), alpha)
    return GatedCurve(count, n, count / n, np.asarray(low), np.asarray(high))


def has_gate(h: HasherEvaluation) -> bool:
    """Whether this hasher ran with a quality gate (PDQ family with a floor)."""
    return h.get("quality_floor") is not None


def gated_tpr_curve_of(report: Report, hasher: str, transform: str | None = None) -> GatedCurve | None:
    """TPR with the quality gate (gated pairs are misses); ``None`` without a gate."""
    h = report["hashers"][hasher]
    if not has_gate(h):
        return None
    n = int(genuine_histogram(h, transform).sum())
    return _gated(genuine_histogram(h, transform, gated=True), n, alpha_of(report))


def gated_fpr_curve_of(report: Report, hasher: str) -> GatedCurve | None:
    """Per-pair FPR with the quality gate (pairs with a gated image never match)."""
    h = report["hashers"][hasher]
    imp = h["impostor"]
    if not has_gate(h) or "histogram_ungated" not in imp:
        return None
    n = int(np.sum(imp["histogram"]))
    return _gated(np.asarray(imp["histogram_ungated"], dtype=np.int64), n, alpha_of(report))


def group_names(report: Report) -> list[str]:
    """Image groups (synthetic content family, else dataset) with their own impostor histogram."""
    names: set[str] = set()
    for h in report["hashers"].values():
        names.update(h["impostor"].get("by_group", {}))
    return sorted(names)


def _group_fpr_curve(report: Report, entry: GroupImpostor) -> RateCurve:
    """Per-pair FPR at every threshold among the pairs of one group (an ``impostor.by_group`` entry)."""
    return fpr_curve(np.asarray(entry["histogram"], dtype=np.int64), alpha_of(report))


def _rate_at(c: RateCurve, threshold: int) -> Rate:
    """``{count, n, rate, ci_low, ci_high}`` of a curve at one threshold, shaped as the report's
    rates are (so the tables format recomputed and stored rates alike); rate None if n = 0."""
    if c.n == 0:
        return {"count": 0, "n": 0, "rate": None, "ci_low": None, "ci_high": None}
    at = c.at(threshold)
    return {"count": at["count"], "n": at["n"], "rate": at["rate"], "ci_low": at["ci_low"], "ci_high": at["ci_high"]}


def group_fpr_at(report: Report, hasher: str, group: str, threshold: int) -> GroupRate | None:
    """Per-pair FPR among the pairs of images of one group, at one threshold (None: no such group)."""
    entry = report["hashers"][hasher]["impostor"].get("by_group", {}).get(group)
    if entry is None:
        return None
    return {**_rate_at(_group_fpr_curve(report, entry), threshold), "n_images": entry["n_images"]}


def tpr_at(report: Report, hasher: str, threshold: int, transform: str | None = None) -> Rate:
    """``{count, n, rate, ci_low, ci_high}`` of the TPR at one threshold (rate None if n = 0)."""
    return _rate_at(tpr_curve_of(report, hasher, transform), threshold)


def upper_one_sided_key(alpha: float) -> str:
    """The report.json key of the one-sided ``1 - alpha`` image-level bound: ``upper_one_sided_95``
    at ``alpha = 0.05`` (named for its level, as :mod:`hashbench.evaluate.image_level` writes it)."""
    return "upper_one_sided_" + f"{round(100 * (1 - alpha), 6):g}".replace(".", "_")


@dataclass(frozen=True)
class PairRate:
    """An all-pairs rate as every report prints it: the image-level two-sided interval first,
    the pair-level one after it, and the one-sided upper bound behind "at most 1 in X".

    ``image_level`` is None when the report has no image-level fields for this rate (reports
    from before issue 14, or a matcher without per-image counts); ``upper_one_sided`` is then
    the pair-level one-sided bound (:func:`clopper_pearson_upper`) and ``upper_is_image_level``
    says so, so no bound is printed without its level.
    """

    count: int
    n: int
    rate: float | None
    image_level: tuple[float, float] | None
    pair_level: tuple[float | None, float | None]
    upper_one_sided: float | None
    upper_is_image_level: bool
    design_effect: float | None
    images_involved: int | None
    max_matches_per_image: int | None


def pair_rate(rate: Mapping[str, Any] | None, fields: Mapping[str, Any] | None, alpha: float) -> PairRate | None:
    """The figures of an all-pairs ``rate`` (a report rate) with its image-level ``fields``.

    The image-level keys are read from ``fields`` (``at_threshold`` for ``fpr_per_pair``, a
    composite's own entry) or, where they sit inside the rate itself (a gated rate), from
    ``rate``. None without a rate.
    """
    if not rate:
        return None
    src = next((d for d in (fields, rate) if d and "ci_image_level" in d), None)
    count, n = int(rate.get("count") or 0), int(rate.get("n") or 0)
    pair = (rate.get("ci_low"), rate.get("ci_high"))
    if src is None:
        upper = float(clopper_pearson_upper(count, n, alpha)) if n else None
        return PairRate(count, n, rate.get("rate"), None, pair, upper, False, None, None, None)
    low, high = src["ci_image_level"]
    return PairRate(
        count,
        n,
        rate.get("rate"),
        (float(low), float(high)),
        pair,
        src.get(upper_one_sided_key(alpha)),
        True,
        src.get("design_effect"),
        src.get("images_involved"),
        src.get("max_matches_per_image"),
    )


def gated_pair_rates(at: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
    """``(among pairs that can match, generalized)``: the gated per-pair rates of an ``at_threshold``.

    The rate among pairs of two images that pass the gate is the one to print first; the
    generalized one keeps every pair in its denominator (ISO/IEC 19795-1). Reports of issue 14
    have both (``fpr_per_pair_gated`` among such pairs, with ``gated_pairs_share``, and
    ``fpr_per_pair_gated_generalized``); earlier ones only the generalized, as ``fpr_per_pair_gated``.
    """
    gated = at.get("fpr_per_pair_gated")
    if gated is not None and "gated_pairs_share" in gated:
        return gated, at.get("fpr_per_pair_gated_generalized")
    return None, gated


def measured_per_query(at: Mapping[str, Any], gated: bool = False) -> Mapping[str, Any] | None:
    """The measured per-query rate of an ``at_threshold``: against the references, else leave-one-out."""
    suffix = "_gated" if gated else ""
    return at.get(f"fpr_per_query_measured{suffix}") or at.get(f"fpr_per_query_leave_one_out{suffix}")


def failed_hashes(report: Report) -> int:
    """Hashes that failed (an image one hasher could not hash; the image itself was made)."""
    return sum(1 for r in failure_rows(report) if r["hasher"])


def failed_images(report: Report) -> dict[str, int]:
    """Images that could not be made or decoded, by stage (hash failures of one hasher are not
    counted here): each is outside the denominator of every rate."""
    out: dict[str, int] = {}
    for f in report.get("inputs", {}).get("failures", []):
        if f.get("hasher") is None:
            out[f["stage"]] = out.get(f["stage"], 0) + 1
    return out


def _num(x: Any) -> Any:
    """A CSV cell: NaN/None -> empty; numpy scalars -> Python numbers (full precision)."""
    if x is None:
        return ""
    if isinstance(x, (np.floating, float)):
        return "" if not np.isfinite(x) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


def evaluated_thresholds(h: HasherResult) -> range:
    """The thresholds a hasher is tabulated at: every ``0 .. nbits``, or only 0 for an exact hasher
    (MD5, SHA-256: distances between digests other than 0 mean nothing)."""
    return range(1) if h.get("exact") else range(int(h["nbits"]) + 1)


def metrics_rows(report: Report) -> list[dict[str, Any]]:
    """The long-format rows of metrics.csv: one per (hasher, transform, threshold).

    ``transform`` is each transform of the suite and ``"all"`` (every genuine pair pooled).
    The per-pair and per-query FPR columns do not depend on the transform: they are repeated on
    every row of a hasher so any filtered slice is complete. Gated columns are empty for
    hashers without a quality gate; per-query columns are empty where it was not measured.
    """
    rows: list[dict[str, Any]] = []
    transforms = transform_names(report)
    for name, h in report["hashers"].items():
        fpr = fpr_curve_of(report, name)
        pq = per_query_curve_of(report, name)
        fpr_g = gated_fpr_curve_of(report, name)
        list_size = h.get("per_query", {}).get("list_size")
        for transform in [ALL_TRANSFORMS, *transforms]:
            if transform != ALL_TRANSFORMS and transform not in h["transforms"]:
                continue
            tpr = tpr_curve_of(report, name, transform)
            tpr_g = gated_tpr_curve_of(report, name, transform)
            for t in evaluated_thresholds(h):
                row = {
                    "hasher": name,
                    "transform": transform,
                    "threshold": t,
                    "tp": int(tpr.count[t]),
                    "n_genuine": tpr.n,
                    "tpr": _num(tpr.rate[t]),
                    "tpr_ci_low": _num(tpr.ci_low[t] if tpr.n else None),
                    "tpr_ci_high": _num(tpr.ci_high[t] if tpr.n else None),
                    "fp": int(fpr.count[t]),
                    "n_pairs": fpr.n,
                    "fpr": _num(fpr.rate[t]),
                    "fpr_ci_low": _num(fpr.ci_low[t] if fpr.n else None),
                    "fpr_ci_high": _num(fpr.ci_high[t] if fpr.n else None),
                    "fpr_per_query_measured": "",
                    "fpr_per_query_ci_low": "",
                    "fpr_per_query_ci_high": "",
                    "n_queries": "",
                    "list_size": "",
                    "tpr_gated": "",
                    "tpr_gated_ci_low": "",
                    "tpr_gated_ci_high": "",
                    "fpr_gated": "",
                    "fpr_gated_ci_low": "",
                    "fpr_gated_ci_high": "",
                }
                if pq is not None and pq.n:
                    row.update(
                        fpr_per_query_measured=_num(pq.rate[t]),
                        fpr_per_query_ci_low=_num(pq.ci_low[t]),
                        fpr_per_query_ci_high=_num(pq.ci_high[t]),
                        n_queries=pq.n,
                        list_size=_num(list_size),
                    )
                if tpr_g is not None:
                    row.update(
                        tpr_gated=_num(tpr_g.rate[t]),
                        tpr_gated_ci_low=_num(tpr_g.ci_low[t]),
                        tpr_gated_ci_high=_num(tpr_g.ci_high[t]),
                    )
                if fpr_g is not None:
                    row.update(
                        fpr_gated=_num(fpr_g.rate[t]),
                        fpr_gated_ci_low=_num(fpr_g.ci_low[t]),
                        fpr_gated_ci_high=_num(fpr_g.ci_high[t]),
                    )
                rows.append(row)
    return rows


def group_metrics_rows(report: Report) -> list[dict[str, Any]]:
    """The rows of metrics_by_group.csv: one per (hasher, image group, threshold).

    The per-pair FPR among the pairs of distinct images of one group only (synthetic content
    family, else dataset), at every threshold, so false-positive rates can be compared by kind
    of image without parsing report.json. Pairs of images from different groups are in no row,
    so a hasher's groups do not add up to its metrics.csv figures. No rows when the run has a
    single group.
    """
    rows: list[dict[str, Any]] = []
    if len(group_names(report)) < 2:
        return rows
    for name, h in report["hashers"].items():
        for group, entry in sorted(h["impostor"].get("by_group", {}).items()):
            c = _group_fpr_curve(report, entry)
            for t in evaluated_thresholds(h):
                rows.append(
                    {
                        "hasher": name,
                        "group": group,
                        "n_images": int(entry["n_images"]),
                        "threshold": t,
                        "fp": int(c.count[t]),
                        "n_pairs": c.n,
                        "fpr": _num(c.rate[t]),
                        "fpr_ci_low": _num(c.ci_low[t] if c.n else None),
                        "fpr_ci_high": _num(c.ci_high[t] if c.n else None),
                    }
                )
    return rows


def failure_rows(report: Report) -> list[dict[str, Any]]:
    """Every recorded failure (an image that did not decode, or a hasher that failed on one)."""
    return [
        {k: ("" if f.get(k) is None else f.get(k)) for k in FAILURE_COLUMNS}
        for f in report.get("inputs", {}).get("failures", [])
    ]
