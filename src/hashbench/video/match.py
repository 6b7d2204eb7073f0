"""Video-level match rules: frame hashes of two videos in, one decision (and both matched shares) out.

vPDQ's implementations agree on the idea (a bag of frame hashes; the share of frames of one video
that have a close frame in the other) and disagree on the details, so each variant is a named
:class:`MatchRule` and a report says which one produced a figure:

``readme``
    vpdq's README (ThreatExchange): quality >= 50, distance <= 31, unique frame hashes, match when
    >= 80% of the *compared* (listed) video's frames are matched; the query share is not required
    (P_q = 0%), so a listed clip found inside a longer upload matches.
``tx-index``
    python-threatexchange (``vpdq_brute_matcher`` with its index defaults
    ``VPDQ_QUERY_MATCH_THRESHOLD_PERCENT = 80``, ``VPDQ_INDEX_MATCH_THRESHOLD_PERCENT = 0``):
    quality >= 50, distance <= 31, unique hashes, >= 80% of the *query* video matched.
``cpp-brute``
    the vpdq C++ ``matchTwoHashBrute`` (used by its ``match-hashes-brute`` tool): quality >= 50,
    distance *strictly below* 31, no deduplication; the tool prints both shares and decides
    nothing, so this rule requires >= 80% of both, the reading of its README example.
``both-80``
    quality >= 50, distance <= 31, unique hashes, >= 80% of both videos: near-identical content.
``any-frame``
    the naive rule of ``pdq-keyframe``: quality >= 50, one frame pair within distance 31.
``exact``
    ``video-md5``: identical codes.
``tmk`` (in ``TMK_RULES``, apart from the frame-hash rules)
    TMK+PDQF (:mod:`hashbench.video.tmk`): level-1 score (cosine of the mean frame features)
    >= 0.7, then level-2 score (the best time-aligned kernel) >= 0.7, ThreatExchange's default
    thresholds (``tmk_default_thresholds.h``, used by ``tmk-clusterize``). Symmetric.
``tmk-level1``
    TMK+PDQF's level-1 score >= 0.7 alone (``tmk-clusterize --level-1-only``): the cheap pre-filter.

Query is the video being checked (an upload, an edited copy); target is the listed video. A video
with no frame of quality >= the floor cannot match anything (its share is undefined: the
references divide by zero there); such pairs are counted as non-matches and reported as gated.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import UsageError
from .hashers import VideoHash

__all__ = [
    "MatchRule",
    "RULES",
    "TMK_RULES",
    "ALL_RULES",
    "rule",
    "prepare",
    "matched_counts",
    "decide",
    "compare",
    "PairShares",
]


@dataclass(frozen=True)
class MatchRule:
    """One video-level rule. ``inclusive``: distance <= ``distance`` (else <). Shares in percent;
    0 means that side is not required. ``min_pairs``: the any-frame rule's one-pair criterion."""

    name: str
    quality_min: int = 50
    distance: int = 31
    inclusive: bool = True
    unique: bool = True
    query_percent: float = 0.0
    target_percent: float = 80.0
    any_frame: bool = False
    exact: bool = False
    source: str = ""
    #: TMK rules: compare TMK+PDQF features by score, level-2 None means level-1 alone decides.
    tmk: bool = False
    level1: float = 0.0
    level2: float | None = None

    @property
    def radius(self) -> int:
        """The largest distance that counts as a frame match."""
        return self.distance if self.inclusive else self.distance - 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


RULES: dict[str, MatchRule] = {
    r.name: r
    for r in (
        MatchRule("readme", target_percent=80.0, query_percent=0.0, source="vpdq README (ThreatExchange)"),
        MatchRule(
            "tx-index",
            target_percent=0.0,
            query_percent=80.0,
            source="python-threatexchange vpdq_brute_matcher + index defaults",
        ),
        MatchRule(
            "cpp-brute",
            inclusive=False,
            unique=False,
            target_percent=80.0,
            query_percent=80.0,
            source="vpdq C++ matchTwoHashBrute (< 31, no dedupe), 80% of both",
        ),
        MatchRule("both-80", target_percent=80.0, query_percent=80.0, source="symmetric: 80% of both videos"),
        MatchRule("any-frame", any_frame=True, target_percent=0.0, source="naive: one frame pair within 31"),
        MatchRule("exact", quality_min=0, distance=0, exact=True, target_percent=0.0, source="identical codes"),
    )
}

#: The TMK+PDQF rules: they compare features by score, not frame codes, so they are kept apart from
#: the frame-hash rules above (which every frame-hash step may iterate); :func:`rule` knows both.
TMK_RULES: dict[str, MatchRule] = {
    r.name: r
    for r in (
        MatchRule(
            "tmk",
            quality_min=0,
            unique=False,
            target_percent=0.0,
            tmk=True,
            level1=0.7,
            level2=0.7,
            source="TMK+PDQF: level-1 >= 0.7 then level-2 >= 0.7 (ThreatExchange tmk_default_thresholds.h)",
        ),
        MatchRule(
            "tmk-level1",
            quality_min=0,
            unique=False,
            target_percent=0.0,
            tmk=True,
            level1=0.7,
            source="TMK+PDQF level-1 alone >= 0.7 (tmk-clusterize --level-1-only)",
        ),
    )
}
ALL_RULES: dict[str, MatchRule] = {**RULES, **TMK_RULES}


def rule(name: str) -> MatchRule:
    """The rule called ``name``; a one-line UsageError naming the known ones otherwise."""
    try:
        return ALL_RULES[name]
    except KeyError:
        raise UsageError(f"unknown video match rule {name!r}; rules: {', '.join(ALL_RULES)}") from None


def prepare(h: VideoHash, r: MatchRule) -> npt.NDArray[np.uint8]:
    """The frame codes a rule compares: quality >= floor (where a quality exists), then unique codes
    in first-seen order when the rule deduplicates (filter first, so a low-quality duplicate cannot
    hide a usable frame)."""
    codes = h.codes
    if r.quality_min > 0:
        keep = (h.quality < 0) | (h.quality >= r.quality_min)
        codes = codes[keep]
    if r.unique and len(codes):
        _, first = np.unique(codes, axis=0, return_index=True)
        codes = codes[np.sort(first)]
    return np.ascontiguousarray(codes)


def _distances(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """All Hamming distances between rows of ``a`` and rows of ``b`` (small blocks; numpy popcount)."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)), dtype=np.int64)
    aw = a.view(np.uint8).reshape(len(a), -1)
    bw = b.view(np.uint8).reshape(len(b), -1)
    return np.bitwise_count(aw[:, None, :] ^ bw[None, :, :]).sum(axis=2, dtype=np.int64)


def matched_counts(q: npt.NDArray[np.uint8], t: npt.NDArray[np.uint8], radius: int) -> tuple[int, int]:
    """(frames of ``q`` with a frame of ``t`` within ``radius``, frames of ``t`` with one in ``q``)."""
    close = _distances(q, t) <= radius
    return int(close.any(axis=1).sum()), int(close.any(axis=0).sum())


@dataclass(frozen=True)
class PairShares:
    """The outcome of one (query, target) comparison under one rule."""

    query_frames: int
    target_frames: int
    query_matched: int
    target_matched: int
    match: bool
    #: TMK rules: (level-1, level-2) scores; None for frame-hash rules.
    scores: tuple[float, float] | None = None

    @property
    def gated(self) -> bool:
        return self.query_frames == 0 or self.target_frames == 0

    @property
    def query_share(self) -> float:
        return self.query_matched / self.query_frames if self.query_frames else float("nan")

    @property
    def target_share(self) -> float:
        return self.target_matched / self.target_frames if self.target_frames else float("nan")


def decide(r: MatchRule, nq: int, nt: int, qm: int, tm: int) -> bool:
    """The rule's decision from the counts (the references' float percentages, >= threshold)."""
    if nq == 0 or nt == 0:
        return False
    if r.exact or r.any_frame:
        return qm > 0
    return qm * 100.0 / nq >= r.query_percent and tm * 100.0 / nt >= r.target_percent


def compare(query: VideoHash, target: VideoHash, r: MatchRule) -> PairShares:
    """Compare two videos under rule ``r`` (brute force; the study uses the same counts in bulk)."""
    if r.tmk:
        return _compare_tmk(query, target, r)
    q, t = prepare(query, r), prepare(target, r)
    radius = 0 if r.exact else r.radius
    qm, tm = matched_counts(q, t, radius)
    return PairShares(len(q), len(t), qm, tm, decide(r, len(q), len(t), qm, tm))


def _compare_tmk(query: VideoHash, target: VideoHash, r: MatchRule) -> PairShares:
    """A TMK rule: both scores (a video with no frame has none: gated, no match); one "frame" a side."""
    from . import tmk

    a, b = tmk.features_of(query), tmk.features_of(target)
    na, nb = int(a.frames > 0), int(b.frames > 0)
    if not (na and nb):
        return PairShares(na, nb, 0, 0, False, (float("nan"), float("nan")))
    s1, s2 = tmk.level1_score(a, b), tmk.level2_score(a, b)
    match = s1 >= r.level1 and (r.level2 is None or s2 >= r.level2)
    return PairShares(1, 1, int(match), int(match), bool(match), (s1, s2))
