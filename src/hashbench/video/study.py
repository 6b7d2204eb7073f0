"""The video study: synthetic videos, their edited copies, video hashers, video-level statistics.

Steps (each a plain function of plain values):

1. :func:`prepare_video` (in worker processes, one video at a time): make reference video ``i``
   from its recipe, decode it once, make each edited copy of the suite, and hash the reference and
   every copy with every hasher (:func:`~hashbench.video.hashers.hash_file`: one decode pass per
   file feeds every frame hasher). Files already on disk are reused, so a stopped run resumes.
   A file that fails is recorded with its id and reason; the run goes on.
2. :func:`genuine_rates`: per hasher, rule and edit, how many edited copies match their reference
   (query = the copy, target = the reference): a rate over *videos*, one trial per video, with an
   exact two-sided Clopper-Pearson interval, plus the matched shares of frames as a distribution.
3. :func:`impostor_rates`: per hasher and rule, every unordered pair of distinct reference videos
   is one trial, a false match when the rule matches in either direction (query i against listed
   j, or j against i). Pairs sharing a video are not independent, so the interval is video-level
   (:func:`hashbench.evaluate.image_level.image_level_interval` with the video as the unit), and
   the "at most" figure is its one-sided upper bound.

Frame matches come in bulk from the Hamming index (:func:`hashbench.video.listmatch.pair_counts`:
every frame of every video range-searched against all, reduced to "frames of video i with a
frame of video j within the radius" for every (i, j)).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import UsageError
from ..evaluate.image_level import image_level_interval
from ..evaluate.rates import clopper_pearson
from ..parallel import ordered_chunked_map
from .config import VideoStudyConfig
from .decode import VideoError
from .edits import apply_edit, read_clip, suite
from .hashers import VideoHash, hash_file
from .listmatch import pair_counts
from .match import MatchRule, _distances, compare, prepare, rule
from .synthetic import VideoSource
from .tmk import features_of
from .tmk import match_matrix as tmk_match_matrix

__all__ = [
    "Prepared",
    "prepare_video",
    "pair_counts",
    "decide_matrix",
    "genuine_rates",
    "impostor_rates",
    "frame_distances",
    "genuine_frame_histogram",
    "impostor_frame_histogram",
    "run_study",
]


@dataclass
class Prepared:
    """Everything the study keeps of one reference video: hashes of it and of each edited copy."""

    index: int
    id: str
    recipe: dict[str, Any]
    hashes: dict[str, dict[str, VideoHash]] = field(default_factory=dict)  # hasher -> label -> hash ("" = ref)
    edits: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # hasher -> hashing seconds
    frames: dict[str, int] = field(default_factory=dict)  # hasher -> frames hashed


def _hash_all(p: Prepared, config: VideoStudyConfig, label: str, path: Path) -> None:
    """Hash one file with every hasher: one decode pass feeds the frame hashers (:func:`hash_file`)."""
    hashers = [config.hasher(name) for name in config.hashers]
    results, seconds = hash_file(hashers, path)
    for name, h, secs in zip(config.hashers, results, seconds):
        if isinstance(h, VideoError):
            p.failures.append({"id": f"{p.id}/{label or 'reference'}", "stage": f"hash:{name}", "reason": str(h)})
            continue
        p.seconds[name] = p.seconds.get(name, 0.0) + secs
        p.frames[name] = p.frames.get(name, 0) + int(h.info.get("decoded_frames", len(h)))  # tmk: frames hashed
        p.hashes.setdefault(name, {})[label] = h


def prepare_video(job: tuple[VideoStudyConfig, str, int, VideoSource]) -> Prepared:
    """Make (or find), edit and hash reference video ``i`` (see the module docstring, step 1)."""
    config, folder, i, source = job
    root = Path(folder)
    p = Prepared(i, source.id(i), {})
    try:
        ref, stem, p.recipe = source.reference(i, root)
        clip = read_clip(ref)
    except VideoError as exc:
        p.failures.append({"id": p.id, "stage": "make" if source.name == "synthetic" else "read", "reason": str(exc)})
        return p
    _hash_all(p, config, "", ref)
    for spec in suite(config.suite):
        out = root / "edited" / spec.label / f"{stem}.mp4"
        try:
            if not out.exists():
                tmp = out.with_suffix(".part.mp4")
                p.edits.append(apply_edit(ref, tmp, spec, seed=config.seed, video_id=p.id, clip=clip))
                tmp.rename(out)
            else:
                p.edits.append({"label": spec.label, "edit": spec.edit, "params": dict(spec.params), "reused": True})
        except (VideoError, ValueError, UsageError) as exc:
            p.failures.append({"id": f"{p.id}/{spec.label}", "stage": "edit", "reason": str(exc)})
            continue
        _hash_all(p, config, spec.label, out)
    return p


def _prepare_chunk(jobs: list[tuple[VideoStudyConfig, str, int, VideoSource]]) -> list[Prepared]:
    return [prepare_video(j) for j in jobs]


# ---------------------------------------------------------------------------------------------
# bulk frame matching


def decide_matrix(r: MatchRule, sizes: npt.NDArray[np.int64], c: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """``M[i, j]``: does query ``i`` match listed video ``j``; :func:`~hashbench.video.match.decide`
    for every ordered pair at once (the same float percentages), False on the diagonal."""
    usable = (sizes[:, None] > 0) & (sizes[None, :] > 0)
    if r.exact or r.any_frame:
        m = c > 0
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            q = c * 100.0 / sizes[:, None] >= r.query_percent
            t = c.T * 100.0 / sizes[None, :] >= r.target_percent
        m = q & t
    m &= usable
    np.fill_diagonal(m, False)
    return m


def impostor_rates(hashes: list[VideoHash | None], r: MatchRule, alpha: float) -> dict[str, Any]:
    """All unordered pairs of distinct videos under rule ``r`` (module docstring, step 3)."""
    if r.tmk:  # TMK compares features by score, not frame codes (video.tmk.match_matrix)
        feats = [features_of(h) for h in hashes if h is not None]
        sizes = np.array([int(f.frames > 0) for f in feats], dtype=np.int64)
        match = tmk_match_matrix(feats, r.level1, r.level2)[0]
    else:
        codes = [prepare(h, r) for h in hashes if h is not None]
        sizes = np.array([len(c) for c in codes], dtype=np.int64)
        match = decide_matrix(r, sizes, pair_counts(codes, 0 if r.exact else r.radius))
    n = len(sizes)
    either = np.triu(match | match.T, 1)
    per_video = (either | either.T).sum(axis=1)
    usable = sizes > 0
    gated = int(np.count_nonzero(~usable))
    res = image_level_interval(per_video, n_pairs=n * (n - 1) // 2, alpha=alpha)
    u = int(usable.sum())
    among: dict[str, Any] | None = None
    if u >= 2:  # the rate among pairs that can match (both videos have a frame of usable quality)
        ru = image_level_interval(per_video[usable], n_pairs=u * (u - 1) // 2, alpha=alpha)
        among = {"false_matches": ru.count, "pairs": ru.trials, "videos": u, "rate": ru.rate, **ru.report_fields()}
    return {
        "among_usable": among,
        "rule": r.name,
        "false_matches": res.count,
        "pairs": res.trials,
        "videos": n,
        "videos_without_usable_frames": gated,
        "rate": res.rate,
        **res.report_fields(),
        "interval": "two-sided video-level (effective-sample-size Clopper-Pearson); the video is the unit",
        "asymmetric_pairs": int(np.count_nonzero(np.triu(match != match.T, 1))),
    }


def genuine_rates(
    refs: list[VideoHash | None], copies: list[VideoHash | None], r: MatchRule, alpha: float
) -> dict[str, Any]:
    """Edited copies (query) against their references (target), one trial per video (step 2).

    ``tpr`` is over every video (a video without a usable frame counts as not found: the
    generalized rate); ``usable`` is the rate among pairs where both the copy and its reference
    have a frame of usable quality, and ``videos_without_usable_frames`` the share gated."""
    k = n = gated = 0
    q_share: list[float] = []
    t_share: list[float] = []
    scores: list[tuple[float, float]] = []
    for ref, copy in zip(refs, copies):
        if ref is None or copy is None:
            continue
        pair = compare(copy, ref, r)  # one small pair: numpy is enough
        n += 1
        k += pair.match
        if pair.gated:
            gated += 1
        else:
            q_share.append(pair.query_share)
            t_share.append(pair.target_share)
            if pair.scores is not None:
                scores.append(pair.scores)
    low, high = clopper_pearson(k, n, alpha) if n else (0.0, 1.0)
    u = n - gated
    u_low, u_high = clopper_pearson(k, u, alpha) if u else (0.0, 1.0)
    tmk_scores = {}
    if r.tmk:  # TMK: the two scores' distributions instead of (0/1) frame shares
        tmk_scores = {f"level{i + 1}_quartiles": _quartiles([s[i] for s in scores]) for i in (0, 1)}
    return {
        **tmk_scores,
        "usable": {"matched": k, "videos": u, "tpr": k / u if u else None, "ci": [float(u_low), float(u_high)]},
        "rule": r.name,
        "matched": k,
        "videos": n,
        "tpr": k / n if n else None,
        "videos_without_usable_frames": gated,
        "ci": [float(low), float(high)],
        "interval": "two-sided exact Clopper-Pearson over videos",
        "query_share_quartiles": _quartiles(q_share),
        "target_share_quartiles": _quartiles(t_share),
    }


def _skipped(source: VideoSource) -> list[dict[str, str]]:
    """Files of a video folder passed over when listing (other extensions, symlinked folders), by id."""
    return [{"id": vid, "reason": why} for vid, why in getattr(source, "skipped", [])]


def _quartiles(x: list[float]) -> list[float] | None:
    return [float(v) for v in np.quantile(x, [0.0, 0.25, 0.5, 0.75, 1.0])] if x else None


# ---------------------------------------------------------------------------------------------
# frame-level distance distributions


#: Bytes of XORed codes held at once while measuring impostor frame distances (rows per block).
_BLOCK_BYTES = 8_000_000


def _histogram(values: npt.NDArray[np.int64], nbits: int) -> npt.NDArray[np.int64]:
    return np.bincount(values, minlength=nbits + 1).astype(np.int64)


def genuine_frame_histogram(
    refs: list[VideoHash | None], copies: list[VideoHash | None], r: MatchRule, nbits: int
) -> dict[str, Any]:
    """For each frame of each edited copy (as rule ``r`` compares frames: quality floor, unique
    codes), its distance to the nearest frame of its own reference: ``counts[d]`` frames at ``d``.
    Pairs where either side has no usable frame have no nearest distance and are left out."""
    counts = np.zeros(nbits + 1, dtype=np.int64)
    pairs = 0
    for ref, copy in zip(refs, copies):
        if ref is None or copy is None:
            continue
        q, t = prepare(copy, r), prepare(ref, r)
        if len(q) and len(t):
            pairs += 1
            counts += _histogram(_distances(q, t).min(axis=1), nbits)
    return {"counts": counts.tolist(), "frames": int(counts.sum()), "pairs": pairs}


def impostor_frame_histogram(hashes: list[VideoHash | None], r: MatchRule, nbits: int) -> dict[str, Any]:
    """For every ordered pair (i, j) of distinct videos with usable frames, each frame of ``i``'s
    distance to the nearest frame of ``j``: ``counts[d]`` (frame, other video) pairs at ``d``.

    Exact and in bulk: blocks of frames against all frames, reduced to a minimum per video."""
    codes = [c for c in (prepare(h, r) for h in hashes if h is not None) if len(c)]
    counts = np.zeros(nbits + 1, dtype=np.int64)
    k = len(codes)
    if k >= 2:
        sizes = np.array([len(c) for c in codes], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        owner = np.repeat(np.arange(k), sizes)
        allc = np.concatenate(codes)
        block = max(1, _BLOCK_BYTES // max(1, allc.size))
        for a in range(0, len(allc), block):
            near = np.minimum.reduceat(_distances(allc[a : a + block], allc), starts, axis=1)
            near[np.arange(len(near)), owner[a : a + block]] = -1  # a frame's own video is not an impostor
            counts += _histogram(near[near >= 0], nbits)
    return {"counts": counts.tolist(), "frames": int(counts.sum()), "pairs": k * (k - 1)}


def frame_distances(
    refs: list[VideoHash | None], copies: dict[str, list[VideoHash | None]], r: MatchRule, nbits: int
) -> dict[str, Any]:
    """The distributions of per-frame nearest distances, impostor and per edit (``video_report.json``)."""
    return {
        "frames_as": {"rule": r.name, "quality_min": r.quality_min, "unique": r.unique},
        "nbits": nbits,
        "impostor": impostor_frame_histogram(refs, r, nbits),
        "genuine": {lab: genuine_frame_histogram(refs, c, r, nbits) for lab, c in copies.items()},
        "about": "counts of frames by the Hamming distance to the nearest frame of the other video "
        "(genuine: an edited copy's frames in its reference; impostor: every ordered pair of distinct "
        "videos); frames of one video are alike, so these describe distributions and are not trials",
    }


# ---------------------------------------------------------------------------------------------
# the whole study


def run_study(config: VideoStudyConfig, folder: str | Path, workers: int | None = None) -> dict[str, Any]:
    """Run every step into ``folder`` (videos, edited copies) and return the report as a dict."""
    t0 = time.perf_counter()
    for name in config.hashers:  # a TMK rule compares TMK features only, and TMK features only that
        for rname in config.rules_of(name):
            if rule(rname).tmk != (name == "tmk"):
                raise UsageError(f"rule {rname!r} cannot score hasher {name!r}: TMK rules go with tmk, and only them")
    source = config.source()
    jobs = [(config, str(folder), i, source) for i in range(len(source))]
    chunks = [jobs[a : a + 4] for a in range(0, len(jobs), 4)]
    prepared = list(ordered_chunked_map(_prepare_chunk, iter(chunks), workers))
    t_prepare = time.perf_counter() - t0
    labels = [s.label for s in suite(config.suite)]
    hashers: dict[str, Any] = {}
    for name in config.hashers:
        refs = [p.hashes.get(name, {}).get("") for p in prepared]
        per_rule: dict[str, Any] = {}
        for rname in config.rules_of(name):
            r = rule(rname)
            per_rule[rname] = {
                "impostor": impostor_rates(refs, r, config.alpha),
                "genuine": {
                    lab: genuine_rates(refs, [p.hashes.get(name, {}).get(lab) for p in prepared], r, config.alpha)
                    for lab in labels
                },
                "definition": r.as_dict(),
            }
        secs = sum(p.seconds.get(name, 0.0) for p in prepared)
        frames = sum(p.frames.get(name, 0) for p in prepared)
        hasher = config.hasher(name)
        hashers[name] = {
            "describe": hasher.describe(),
            "rules": per_rule,
            "timing": {"seconds": secs, "frames": frames, "frames_per_second": frames / secs if secs else None},
        }
        first = rule(config.rules_of(name)[0])
        if not (first.exact or first.tmk):  # frame hashers (vpdq, pdq-keyframe, commands): distances mean something
            copies = {lab: [p.hashes.get(name, {}).get(lab) for p in prepared] for lab in labels}
            hashers[name]["frame_distances"] = frame_distances(refs, copies, first, hasher.nbits)
    return {
        "kind": "video",
        "config": config.to_dict(),
        "videos": [{"id": p.id, "recipe": p.recipe, "edits": p.edits} for p in prepared],
        "failures": [f for p in prepared for f in p.failures],
        **({"skipped": _skipped(source)} if source.name == "folder" else {}),
        "hashers": hashers,
        "timing": {"prepare_and_hash_seconds": t_prepare, "total_seconds": time.perf_counter() - t0},
    }
