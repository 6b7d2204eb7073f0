"""One hasher's full evaluation from its codes: the numbers a report is made of.

Inputs are plain arrays (:class:`Codes` for references, edited queries and distractors); the
output is a JSON-ready :class:`~hashbench.schema.HasherEvaluation` holding *counts* (histograms)
rather than rates wherever possible, so that every rate, interval and curve in a report can be
recomputed from report.json alone.

:func:`study_hasher` is a composition of named steps, each in its own module, each returning one
typed section of the report and timed under its own key (``<step>_s``):

=================  ==================================================  ============================
step               what it measures                                    module
=================  ==================================================  ============================
genuine            genuine distances, per-transform histograms, gate   :mod:`.genuine`
impostor           impostor histogram, per group, gated                :mod:`.impostor`
operating_points   calibration split, thresholds for target FPRs       :mod:`.calibration`
per_query          measured per-query FPR (distractors vs references)  :mod:`.per_query`
at_threshold       rates at the named threshold, projections           :mod:`.at_threshold`
curves             EER, ISC micro-AP, recall at 90% precision          :mod:`.curves`
=================  ==================================================  ============================

Definitions used throughout (the report repeats them in words):

* **genuine pair**: an edited copy and the reference it was made from;
  TPR(t) = share of genuine pairs at distance <= t.
* **impostor pair**: two distinct images among references and distractors, as an unordered pair:
  n(n-1)/2 trials for every matcher. Dihedral matching (the query's 8 variants against the
  listed image's one hash) is not symmetric, so its pair's distance is the smaller of its two
  directions: the pair matches if either image, queried, would match the other.
* **per-pair FPR(t)**: share of impostor pairs at distance <= t, with an image-level interval (the
  image is the sampling unit: :mod:`.image_level`).
* **per-query FPR(t) against a list of L hashes**: share of queries that match at least one of L
  listed hashes. *Measured*: distractors queried against the references (L = their number).
  *Projected*: 1 - (1 - p)^L from the per-pair rate p, assuming independent pairs.
* **quality gate**: hashes whose PDQ quality is below the floor are never matched; gated genuine
  pairs count as misses. The gated per-pair FPR is over the pairs of two images that pass the
  gate; the "generalized" one keeps every pair in its denominator, gated pairs as non-matches.
* **operating points**: the threshold for a target FPR is chosen on the impostor pairs of a
  calibration half of the images and scored on the other half (genuine pairs follow their
  reference's half).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import numpy.typing as npt

from ..schema import Counts, HasherEvaluation, Quality
from .at_threshold import at_threshold_step
from .calibration import operating_points_step
from .codes import Codes, PairCounting
from .composite import composite_images, study_composite
from .curves import curves_step
from .genuine import Genuine, genuine_step
from .impostor import ImpostorStep, impostor_step
from .pairs import Evidence, record_evidence
from .per_query import per_query_step
from .population import population_step
from .record import rate_dict
from .settings import StudySettings

__all__ = [
    "Codes",
    "StudySettings",
    "study_hasher",
    "study_composite",
    "composite_images",
    "rate_dict",
    "timed",
]


@contextmanager
def timed(name: str, timings: dict[str, float]) -> Iterator[None]:
    """Time the block as step ``name``: ``timings[name + "_s"]`` = its wall seconds.

    Every evaluation step is timed this way and by nothing else, so no work runs outside a
    timer and no timer counts another step's work.
    """
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[f"{name}_s"] = time.perf_counter() - t0


def study_hasher(
    nbits: int,
    refs: Codes,
    queries: Codes,
    query_ref: npt.NDArray[np.int64],
    query_transform: npt.ArrayLike | Sequence[str],
    distractors: Codes,
    s: StudySettings,
    groups: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    evidence: Evidence | None = None,
) -> tuple[HasherEvaluation, npt.NDArray[np.int64], dict[str, float]]:
    """Evaluate one hasher: (its report section, genuine distance per query or -1, step timings).

    ``query_ref[i]`` is the row in ``refs`` that query ``i`` was edited from (-1: unknown).
    ``groups`` (a label per reference row and per distractor row, such as the image family)
    adds an impostor histogram of the pairs within each group: false-positive rates depend on
    what the images look like, and this shows by how much. ``evidence``, when given, is filled
    with the false matches, misses and per-image counts at the threshold (:mod:`.pairs`).
    """
    floor = _gate_floor(s, refs, queries)
    count = PairCounting(nbits, s.dihedral, s.progress, s.pair_histogram)
    tm: dict[str, float] = {}
    with timed("genuine", tm):
        gen = genuine_step(nbits, refs, queries, query_ref, query_transform, dihedral=s.dihedral, floor=floor)
    with timed("impostor", tm):
        listed = s.max_listed if evidence is not None else None
        imp = impostor_step(
            refs, distractors, count, floor=floor, groups=groups, threshold=s.threshold, max_listed=listed
        )
        if evidence is not None:  # the pairs, listed by the impostor step's own pass
            record_evidence(evidence, imp, gen, s.threshold, floor, s.max_listed)
            if imp.labels is not None and imp.pairs is not None:  # per-family rates, from the step's counts
                evidence.population = population_step(imp.pairs, imp.per_image, imp.labels, s.alpha)
    with timed("operating_points", tm):
        operating = operating_points_step(
            gen, query_ref, imp.images, count, s.target_fprs, seed=s.seed, alpha=s.alpha, exact=s.exact
        )
    with timed("per_query", tm):
        per_query = per_query_step(nbits, refs, distractors, dihedral=s.dihedral, floor=floor)
    with timed("at_threshold", tm):
        at = at_threshold_step(
            gen,
            imp.histogram,
            imp.section,
            per_query,
            s,
            gated=floor is not None,
            per_image=imp.per_image,
            per_image_ungated=imp.per_image_ungated,
        )
    with timed("curves", tm):
        curves = curves_step(gen.distances, imp.histogram, exact=s.exact)
    result: HasherEvaluation = {
        "nbits": nbits,
        "matching": "dihedral" if s.dihedral else "plain",
        "threshold": s.threshold,
        "quality_floor": floor,
        "counts": _counts(refs, queries, distractors, gen),
        "transforms": gen.transforms,
        "impostor": imp.section,
        "per_query": per_query,
        "at_threshold": at,
        "operating_points": operating,
        "summary": curves,
    }
    if floor is not None:
        result["quality"] = _quality(floor, refs, queries, gen, imp)
    return result, gen.distances, tm


def _gate_floor(s: StudySettings, refs: Codes, queries: Codes) -> int | None:
    """The quality floor when this hasher's pairs are gated: it has a floor and quality scores."""
    if s.quality_floor is None or queries.quality is None or refs.quality is None:
        return None
    return s.quality_floor


def _counts(refs: Codes, queries: Codes, distractors: Codes, gen: Genuine) -> Counts:
    """How many items of each kind there were and were hashed: the ``n`` behind every rate."""
    return {
        "references": int(len(refs.ok)),
        "references_hashed": int(refs.ok.sum()),
        "queries": int(len(queries.ok)),
        "queries_hashed": int(queries.ok.sum()),
        "genuine_pairs": int(gen.valid.sum()),
        "distractors": int(len(distractors.ok)),
        "distractors_hashed": int(distractors.ok.sum()),
    }


def _quality(floor: int, refs: Codes, queries: Codes, gen: Genuine, imp: ImpostorStep) -> Quality:
    """What the quality gate removed, so a gated rate can be read beside its share gated."""
    return {
        "floor": floor,
        "gated_genuine_pairs": int(gen.gated.sum()),
        "gated_references": int((refs.qualities()[refs.ok] < floor).sum()),
        "gated_queries": int((queries.qualities()[queries.ok] < floor).sum()),
        "gated_images_impostor": imp.section.get("gated_images"),
    }
