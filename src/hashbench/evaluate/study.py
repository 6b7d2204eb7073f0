"""One hasher's full evaluation from its codes: the numbers a report is made of.

Inputs are plain arrays (:class:`Codes` for references, edited queries and distractors); the
output is a JSON-ready dict holding *counts* (histograms) rather than rates wherever possible, so
that every rate, interval and curve in a report can be recomputed from report.json alone.

Definitions used throughout (the report repeats them in words):

* **genuine pair**: an edited copy and the reference it was made from;
  TPR(t) = share of genuine pairs at distance <= t.
* **impostor pair**: two distinct images among references and distractors. Plain matching counts
  unordered pairs (n(n-1)/2); dihedral matching counts ordered (query, listed) pairs (n(n-1)),
  because the query's 8 variants meet the listed image's one hash.
* **per-pair FPR(t)**: share of impostor pairs at distance <= t.
* **per-query FPR(t) against a list of L hashes**: share of queries that match at least one of L
  listed hashes. *Measured*: distractors queried against the references (L = their number).
  *Projected*: 1 - (1 - p)^L from the per-pair rate p, assuming independent pairs.
* **quality gate**: hashes whose PDQ quality is below the floor are never matched; gated genuine
  pairs count as misses and gated impostor pairs as non-matches.
* **operating points**: the threshold for a target FPR is chosen on the impostor pairs of a
  calibration half of the images and scored on the other half (genuine pairs follow their
  reference's half).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .dihedral import variant_impostor_histogram
from .distances import genuine_distances, impostor_histogram, min_distance_over_variants
from .operating import (
    equal_error_rate,
    isc_micro_average_precision,
    recall_at_precision,
    score_operating_point,
    split_calibration,
)
from .projection import describe_projection, expected_false_matches, project_per_query_fpr
from .rates import clopper_pearson

__all__ = ["Codes", "StudySettings", "study_hasher", "study_composite", "rate_dict"]


@dataclass
class Codes:
    """One hasher's codes for a set of images; ``ok`` marks rows that were hashed."""

    codes: npt.NDArray[np.uint8]
    ok: npt.NDArray[np.bool_]
    quality: npt.NDArray[np.int16] | None = None
    variants: npt.NDArray[np.uint8] | None = None


@dataclass(frozen=True)
class StudySettings:
    name: str
    threshold: int
    dihedral: bool
    quality_floor: int | None  # None: this hasher has no quality
    seed: int
    alpha: float
    target_fprs: tuple[float, ...]
    list_sizes: tuple[float, ...]
    volume_per_year: float
    list_size: float
    progress: bool = False
    # f(codes, nbits, variants or None) -> histogram in place of impostor_histogram (or, with
    # variants, variant_impostor_histogram), e.g. hashbench.cluster.pair_histogram_on
    pair_histogram: Callable[..., np.ndarray] | None = None


def rate_dict(count: int, n: int, alpha: float) -> dict[str, Any]:
    """``count`` of ``n`` with its exact interval, as report.json stores every rate."""
    low, high = clopper_pearson(count, n, alpha) if n else (float("nan"), float("nan"))
    return {
        "count": int(count),
        "n": int(n),
        "rate": (count / n) if n else None,
        "ci_low": float(low) if n else None,
        "ci_high": float(high) if n else None,
    }


def _hist(d: np.ndarray, nbits: int) -> np.ndarray:
    return np.bincount(np.asarray(d, dtype=np.int64), minlength=nbits + 1)[: nbits + 1]


def _pair_histogram(
    c: Codes,
    rows: np.ndarray,
    nbits: int,
    dihedral: bool,
    progress: bool = False,
    counter: Callable[..., np.ndarray] | None = None,
) -> np.ndarray:
    codes = c.codes[rows]
    if counter is not None:
        return counter(codes, nbits, c.variants[rows] if dihedral else None)
    if dihedral:
        return variant_impostor_histogram(c.variants[rows], codes, nbits)
    return impostor_histogram(codes, nbits, progress=progress and len(rows) > 20_000)


def study_hasher(
    nbits: int,
    refs: Codes,
    queries: Codes,
    query_ref: npt.NDArray[np.int64],
    query_transform: npt.NDArray[np.str_] | list[str],
    distractors: Codes,
    s: StudySettings,
    groups: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
) -> tuple[dict[str, Any], npt.NDArray[np.int64], dict[str, float]]:
    """Evaluate one hasher: (JSON-ready results, genuine distance per query or -1, timings).

    ``query_ref[i]`` is the row in ``refs`` that query ``i`` was edited from (-1: unknown).
    ``groups`` (a label per reference row and per distractor row, such as the image family)
    adds an impostor histogram of the pairs within each group: false-positive rates depend on
    what the images look like, and this shows by how much.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    qref = np.asarray(query_ref, dtype=np.int64)
    transforms = np.asarray(query_transform, dtype=object)
    has_ref = qref >= 0
    valid = queries.ok & has_ref
    valid[has_ref] &= refs.ok[qref[has_ref]]
    vi = np.flatnonzero(valid)
    if s.dihedral:
        d_valid = min_distance_over_variants(queries.variants[vi], refs.codes[qref[vi]])
    else:
        d_valid = genuine_distances(queries.codes[vi], refs.codes[qref[vi]])
    genuine = np.full(len(qref), -1, dtype=np.int64)
    genuine[vi] = d_valid

    gated_pair = np.zeros(len(qref), dtype=bool)
    gate = s.quality_floor is not None and queries.quality is not None and refs.quality is not None
    if gate:
        gated_pair[vi] = (queries.quality[vi] < s.quality_floor) | (refs.quality[qref[vi]] < s.quality_floor)

    per_transform: dict[str, Any] = {}
    for name in sorted(set(transforms.tolist())):
        sel = transforms == name
        ok_sel = sel & valid
        entry = {
            "genuine_histogram": _hist(genuine[ok_sel], nbits).tolist(),
            "failed": int((sel & ~valid).sum()),
        }
        if gate:
            entry["gated"] = int((ok_sel & gated_pair).sum())
            entry["genuine_histogram_ungated"] = _hist(genuine[ok_sel & ~gated_pair], nbits).tolist()
        per_transform[name] = entry
    timings["genuine_s"] = time.perf_counter() - t0

    # Impostor pairs among all distinct images: references then distractors, hashed rows only.
    t1 = time.perf_counter()
    ref_rows = np.flatnonzero(refs.ok)
    dis_rows = np.flatnonzero(distractors.ok)
    images = Codes(
        codes=np.concatenate([refs.codes[ref_rows], distractors.codes[dis_rows]]),
        ok=np.ones(len(ref_rows) + len(dis_rows), dtype=bool),
        quality=(
            np.concatenate([refs.quality[ref_rows], distractors.quality[dis_rows]])
            if gate and distractors.quality is not None
            else None
        ),
        variants=(np.concatenate([refs.variants[ref_rows], distractors.variants[dis_rows]]) if s.dihedral else None),
    )
    n_img = len(images.codes)
    all_rows = np.arange(n_img)
    imp = _pair_histogram(images, all_rows, nbits, s.dihedral, s.progress, s.pair_histogram)
    impostor: dict[str, Any] = {
        "pairs": "ordered" if s.dihedral else "unordered",
        "n_images": n_img,
        "histogram": imp.tolist(),
    }
    if groups is not None:
        labels = np.concatenate(
            [np.asarray(groups[0], dtype=object)[ref_rows], np.asarray(groups[1], dtype=object)[dis_rows]]
        )
        impostor["by_group"] = {
            str(g): {
                "n_images": int((labels == g).sum()),
                "histogram": _pair_histogram(
                    images, np.flatnonzero(labels == g), nbits, s.dihedral, s.progress, s.pair_histogram
                ).tolist(),
            }
            for g in sorted(set(labels.tolist()))
        }
    if gate and images.quality is not None:
        keep = np.flatnonzero(images.quality >= s.quality_floor)
        impostor["gated_images"] = int(n_img - len(keep))
        impostor["histogram_ungated"] = _pair_histogram(
            images, keep, nbits, s.dihedral, counter=s.pair_histogram
        ).tolist()
    timings["impostor_s"] = time.perf_counter() - t1

    # Calibration / held-out halves of the images; genuine pairs follow their reference. Without
    # genuine pairs (an FPR-only study) there is no TPR to score, so no operating points.
    operating = []
    if valid.any():
        cal, held = split_calibration(n_img, s.seed)
        hist_cal = _pair_histogram(images, cal, nbits, s.dihedral, s.progress, s.pair_histogram)
        hist_held = _pair_histogram(images, held, nbits, s.dihedral, s.progress, s.pair_histogram)
        ref_pos = np.full(len(refs.ok), -1, dtype=np.int64)
        ref_pos[ref_rows] = np.arange(len(ref_rows))  # row in refs -> row in images
        in_held = np.zeros(n_img, dtype=bool)
        in_held[held] = True
        held_q = np.flatnonzero(valid)
        held_q = held_q[in_held[ref_pos[qref[held_q]]]]
        for target in s.target_fprs:
            op = score_operating_point(target, hist_cal, hist_held, genuine[held_q].astype(np.int64), alpha=s.alpha)
            operating.append(op.as_dict())

    # Per-query FPR measured: every distractor queried against an index of the references.
    t2 = time.perf_counter()
    per_query: dict[str, Any] = {"list_size": int(len(ref_rows)), "n_queries": int(len(dis_rows))}
    if len(ref_rows) and len(dis_rows):
        from ..index import FlatIndex

        index = FlatIndex(8 * refs.codes.shape[1])
        index.add(refs.codes[ref_rows])
        if s.dihedral:
            v = distractors.variants[dis_rows]
            D, _ = index.search(v.reshape(-1, v.shape[-1]), 1)
            nearest = D[:, 0].reshape(len(dis_rows), -1).min(axis=1)
        else:
            D, _ = index.search(distractors.codes[dis_rows], 1)
            nearest = D[:, 0]
        per_query["nearest_histogram"] = _hist(nearest, nbits).tolist()
    timings["per_query_s"] = time.perf_counter() - t2

    # The named operating point.
    t = s.threshold
    n_gen = int(valid.sum())
    tp = int(((genuine >= 0) & (genuine <= t)).sum())
    n_pairs = int(imp.sum())
    fp = int(imp[: t + 1].sum())
    p = fp / n_pairs if n_pairs else float("nan")
    p_low, p_high = clopper_pearson(fp, n_pairs, s.alpha) if n_pairs else (float("nan"), float("nan"))
    at: dict[str, Any] = {
        "threshold": t,
        "tpr": rate_dict(tp, n_gen, s.alpha),
        "fpr_per_pair": rate_dict(fp, n_pairs, s.alpha),
    }
    if gate:
        tp_g = int(((genuine >= 0) & (genuine <= t) & ~gated_pair).sum())
        at["tpr_gated"] = rate_dict(tp_g, n_gen, s.alpha)
        if "histogram_ungated" in impostor:
            at["fpr_per_pair_gated"] = rate_dict(int(np.sum(impostor["histogram_ungated"][: t + 1])), n_pairs, s.alpha)
    if "nearest_histogram" in per_query:
        hits = int(np.sum(per_query["nearest_histogram"][: t + 1]))
        at["fpr_per_query_measured"] = {
            **rate_dict(hits, per_query["n_queries"], s.alpha),
            "list_size": per_query["list_size"],
        }
    if n_pairs:
        projected = []
        for L in s.list_sizes:
            pr = project_per_query_fpr(p, p_low, p_high, L)
            projected.append(
                {"list_size": L, "rate": float(pr.rate), "ci_low": float(pr.low), "ci_high": float(pr.high)}
            )
        at["fpr_per_query_projected"] = projected
        proj = expected_false_matches(s.volume_per_year, s.list_size, p, float(p_low), float(p_high))
        at["operational"] = {
            "volume_per_year": proj.volume,
            "list_size": proj.list_size,
            "per_query": _triple(proj.per_query),
            "flagged_per_year": _triple(proj.flagged_per_year),
            "pair_matches_per_year": _triple(proj.pair_matches_per_year),
            "text": describe_projection(
                proj, matcher=s.name, threshold=t, false_matches=fp, impostor_pairs=n_pairs, confidence=1 - s.alpha
            ),
        }
    curves: dict[str, Any] = {}
    gen_all = genuine[genuine >= 0]
    if len(gen_all) and n_pairs:
        eer = equal_error_rate(gen_all, imp)
        curves["eer"] = {"rate": eer.rate, "threshold": eer.threshold}
        curves["isc_micro_ap"] = isc_micro_average_precision(gen_all, imp)
        r90 = recall_at_precision(gen_all, imp, 0.9)
        curves["recall_at_90_precision"] = _plain(r90)
    timings["operating_s"] = time.perf_counter() - t2
    result = {
        "nbits": nbits,
        "matching": "dihedral" if s.dihedral else "plain",
        "threshold": t,
        "quality_floor": s.quality_floor if gate else None,
        "counts": {
            "references": int(len(refs.ok)),
            "references_hashed": int(refs.ok.sum()),
            "queries": int(len(queries.ok)),
            "queries_hashed": int(queries.ok.sum()),
            "genuine_pairs": n_gen,
            "distractors": int(len(distractors.ok)),
            "distractors_hashed": int(distractors.ok.sum()),
        },
        "transforms": per_transform,
        "impostor": impostor,
        "per_query": per_query,
        "at_threshold": at,
        "operating_points": operating,
        "summary": curves,
    }
    if gate:
        result["quality"] = {
            "floor": s.quality_floor,
            "gated_genuine_pairs": int(gated_pair.sum()),
            "gated_references": int((refs.quality[ref_rows] < s.quality_floor).sum()),
            "gated_queries": int((queries.quality[queries.ok] < s.quality_floor).sum()),
            "gated_images_impostor": impostor.get("gated_images"),
        }
    return result, genuine, timings


def _triple(x: Any) -> dict[str, float]:
    return {"rate": float(x.rate), "ci_low": float(x.low), "ci_high": float(x.high)}


def _plain(obj: Any) -> dict[str, Any]:
    """A dataclass or named tuple as a dict of plain floats/ints (JSON-ready)."""
    if hasattr(obj, "_asdict"):
        d = obj._asdict()
    elif hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        d = asdict(obj)
    else:
        d = dict(obj)
    out = {}
    for k, v in d.items():
        if isinstance(v, (np.floating, np.integer)):
            v = v.item()
        out[k] = v
    return out


def study_composite(
    op: str,
    parts: list[tuple[str, int, bool]],
    genuine: dict[str, npt.NDArray[np.int64]],
    images: dict[str, Codes],
    alpha: float,
) -> dict[str, Any]:
    """A composite matcher ("any" or "all" of several hashers, each at its threshold).

    ``parts``: (hasher, threshold, dihedral). ``genuine[h]``: per-query distance (-1 = not
    hashed). ``images[h]``: the impostor image set of each hasher, rows aligned (same images).
    Impostor pairs are enumerated exactly with the index's range search at each threshold, then
    united or intersected; ordered pairs when any part matches dihedrally.
    """
    from ..index import FlatIndex

    names = [p[0] for p in parts]
    n_q = len(next(iter(genuine.values())))
    usable = np.ones(n_q, dtype=bool)
    hits = []
    for h, t, _ in parts:
        g = genuine[h]
        usable &= g >= 0
        hits.append((g >= 0) & (g <= t))
    combine = np.logical_or if op == "any" else np.logical_and
    matched = hits[0]
    for x in hits[1:]:
        matched = combine(matched, x)
    tp = int((matched & usable).sum())
    ordered = any(p[2] for p in parts)
    pair_sets = []
    n_img = len(images[names[0]].codes)
    for h, t, dihedral in parts:
        c = images[h]
        index = FlatIndex(8 * c.codes.shape[1])
        index.add(c.codes)
        if dihedral:
            lims, _, I = index.range_search(
                c.variants.reshape(-1, c.variants.shape[-1]), t, variants=c.variants.shape[1]
            )
        else:
            lims, _, I = index.range_search(c.codes, t)
        q = np.repeat(np.arange(n_img, dtype=np.int64), np.diff(lims))
        i = np.asarray(I, dtype=np.int64)
        keep = q != i if ordered else q < i
        pairs = q[keep] * n_img + i[keep]
        if ordered and not dihedral:
            pass  # plain distances are symmetric: (q, i) and (i, q) both appear already
        pair_sets.append(np.unique(pairs))
    merged = pair_sets[0]
    for ps in pair_sets[1:]:
        merged = np.union1d(merged, ps) if op == "any" else np.intersect1d(merged, ps)
    n_pairs = n_img * (n_img - 1) if ordered else n_img * (n_img - 1) // 2
    return {
        "op": op,
        "parts": {h: t for h, t, _ in parts},
        "pairs": "ordered" if ordered else "unordered",
        "tpr": rate_dict(tp, int(usable.sum()), alpha),
        "fpr_per_pair": rate_dict(int(len(merged)), n_pairs, alpha),
    }
