"""Which pairs matched: the false matches at a threshold, named, with their true count.

A reviewer of a false-positive rate asks first to see the pairs. The all-pairs kernel counts
1.5e11 pairs but must not store them, so it keeps a *bounded* list per threshold: the
``max_listed`` pairs with the smallest (distance, image a, image b), which is the same list on
any number of threads, while the true count comes from the exact histogram (the list says when
it is cut short). Every matcher gets its list from the histogram's own pass (plain:
:func:`impostor_pairs`, dihedral: :func:`variant_impostor_pairs`); composites, which have no
histogram, from an exact pass through the Hamming index (:func:`composite_pairs`), which also
gives their per-image counts.

Pairs are unordered, ``a < b`` in the rows of the set they were counted in. A dihedral pair's
distance is the smaller of its two directions (either image's 8 variants against the other's
hash), the unordered-pair rule.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..schema import ListedItems, Population
from .dihedral import variant_pair_pass
from .distances import DEFAULT_BLOCK, _checked_codes, _columns, _histogram

if TYPE_CHECKING:  # the steps import this module: their types only, for the checker
    from .codes import Codes
    from .genuine import Genuine
    from .impostor import ImpostorStep

__all__ = [
    "DEFAULT_MAX_LISTED",
    "PairList",
    "decode_keys",
    "impostor_pairs",
    "variant_impostor_pairs",
    "cross_pairs",
    "variant_cross_pairs",
    "merge_pair_lists",
    "composite_pairs",
    "Evidence",
    "misses",
    "record_evidence",
    "listed_summary",
    "composite_evidence",
    "ItemNames",
    "false_match_rows",
    "miss_rows",
    "per_image_column",
]

#: Pairs listed per threshold unless asked otherwise (the true count is always kept).
DEFAULT_MAX_LISTED = 10_000

# Query images per range search of the exact pass: bounds the memory of one batch of results.
_QUERY_CHUNK = 4096


@dataclass(frozen=True)
class PairList:
    """The pairs within ``threshold``: ``count`` of them in truth, the first ``len(a)`` listed.

    ``a[k] < b[k]`` are rows of the image set; ``distance[k]`` their distance (for a composite,
    ``distance[k, p]`` is part ``p``'s). Listed in order of (distance, a, b).

    ``by_group`` (when the pass was given group codes, else None): ``by_group[r, h]`` is the
    number of *all* pairs within the threshold, listed or not, of image ``r`` with an image of
    group ``h``; rows are the images of the pass (for a block between two sets, those of ``a``
    then those of ``b``). Every per-family rate is a function of it
    (:mod:`hashbench.evaluate.population`), so it stays complete when the list is cut short.
    """

    threshold: int
    count: int
    a: npt.NDArray[np.int64]
    b: npt.NDArray[np.int64]
    distance: npt.NDArray[np.int64]
    by_group: npt.NDArray[np.int64] | None = None

    @property
    def listed(self) -> int:
        return int(len(self.a))

    @property
    def truncated(self) -> bool:
        """True when more pairs matched than are listed."""
        return self.count > self.listed

    def take(self, rows: npt.NDArray[np.int64]) -> PairList:
        """The same list with ``a`` and ``b`` mapped through ``rows`` (local row -> caller's row)."""
        return PairList(self.threshold, self.count, rows[self.a], rows[self.b], self.distance, self.by_group)


def decode_keys(keys: npt.NDArray[np.int64], n_key: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(distance, a, b)`` of the kernel's pair keys ``(d * n + a) * n + b``."""
    keys = np.asarray(keys, dtype=np.int64)
    n = np.int64(max(n_key, 1))
    return keys // (n * n), (keys // n) % n, keys % n


def impostor_pairs(
    codes: npt.ArrayLike,
    nbits: int | None,
    thresholds: Sequence[int],
    max_listed: int = DEFAULT_MAX_LISTED,
    *,
    block: int = DEFAULT_BLOCK,
    progress: bool = False,
    groups: tuple[npt.ArrayLike, int] | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[PairList]]:
    """The impostor histogram, per-image counts and a :class:`PairList` per threshold, from one
    kernel pass (plain, unordered pairs of the rows of ``codes``). ``groups = (group code per
    row, number of groups)`` fills each list's ``by_group`` from the same pass."""
    arr, nbits = _checked_codes(codes, nbits, "codes")
    cols = _columns(arr)
    thr = tuple(int(t) for t in thresholds)
    hist, counts, listed, by_group = _histogram(
        cols, cols, nbits, block, True, progress, "impostor pairs", thr, max_listed, groups
    )
    return hist, counts, _pair_lists(hist, thr, listed, len(arr), by_group=by_group)


def variant_impostor_pairs(
    variant_codes: npt.ArrayLike,
    codes: npt.ArrayLike,
    nbits: int,
    thresholds: Sequence[int],
    max_listed: int = DEFAULT_MAX_LISTED,
    groups: tuple[npt.ArrayLike, int] | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[PairList]]:
    """:func:`impostor_pairs` under dihedral matching, from the dihedral kernel's one pass
    (:func:`hashbench.evaluate.dihedral.variant_impostor_histogram_with_counts`): a pair's
    distance is the smaller of its two directions."""
    thr = tuple(int(t) for t in thresholds)
    hist, counts, listed, by_group = variant_pair_pass(variant_codes, codes, nbits, thr, max_listed, groups=groups)
    return hist, counts, _pair_lists(hist, thr, listed, len(np.asarray(codes)), by_group=by_group)


def _pair_lists(
    hist: npt.NDArray[np.int64],
    thresholds: tuple[int, ...],
    listed: list[npt.NDArray[np.int64]],
    n_key: int,
    n_a: int = 0,
    by_group: npt.NDArray[np.int64] | None = None,
) -> list[PairList]:
    """A :class:`PairList` per threshold from a kernel's listed keys (images numbered ``0 ..
    n_key``); the true count is the histogram's. ``n_a``: a block between two sets, whose ``b``
    images are numbered after the ``n_a`` of ``a`` (returned as rows of ``b``). ``by_group``:
    the kernel's ``(len(thresholds), n_images, G)`` per-image-by-group counts, if any."""
    cum = np.cumsum(hist)
    out = []
    for q, (t, keys) in enumerate(zip(thresholds, listed, strict=True)):
        d, a, b = decode_keys(keys, n_key)
        bg = None if by_group is None else by_group[q]
        out.append(PairList(t, int(cum[min(t, len(hist) - 1)]), a, b - n_a, d, bg))
    return out


def _range_pairs(
    images: Codes, rows: npt.NDArray[np.int64], threshold: int, dihedral: bool
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Every unordered pair ``a < b`` of ``images[rows]`` within ``threshold`` (local rows), with
    its distance: the smaller of the two directions when ``dihedral``. Queries go in chunks so
    one batch of results stays small; pairs are returned whole (callers cap them)."""
    from ..index import FlatIndex  # numba kernels of the index: only when pairs are listed this way

    codes = images.codes[rows]
    n = len(codes)
    index = FlatIndex(8 * codes.shape[1])
    index.add(codes)
    var = images.variant_codes()[rows] if dihedral else None
    qa, qb, qd = [], [], []
    for q0 in range(0, n, _QUERY_CHUNK):
        q1 = min(n, q0 + _QUERY_CHUNK)
        if var is not None:
            v = var[q0:q1]
            lims, D, I = index.range_search(v.reshape(-1, v.shape[-1]), threshold, variants=v.shape[1])
        else:
            lims, D, I = index.range_search(codes[q0:q1], threshold)
        q = np.repeat(np.arange(q0, q1, dtype=np.int64), np.diff(lims))
        i = np.asarray(I, dtype=np.int64)
        keep = q != i
        qa.append(np.minimum(q[keep], i[keep]))
        qb.append(np.maximum(q[keep], i[keep]))
        qd.append(np.asarray(D, dtype=np.int64)[keep])
    a, b, d = (np.concatenate(x) if x else np.zeros(0, np.int64) for x in (qa, qb, qd))
    # each unordered pair came out once per direction that matched: keep its smallest distance
    order = np.lexsort((d, b, a))
    a, b, d = a[order], b[order], d[order]
    first = np.ones(len(a), dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return a[first], b[first], d[first]


def composite_pairs(
    parts: Sequence[tuple[Codes, int, bool]], op: str, max_listed: int = DEFAULT_MAX_LISTED
) -> tuple[PairList, npt.NDArray[np.int64]]:
    """The pairs a composite matches ("any" or "all" of ``parts``: (codes, threshold, dihedral),
    rows aligned) and each image's number of matches. ``distance[k, p]`` is part ``p``'s
    distance (-1 where that part does not match the pair); listed in order of the distances."""
    n = len(parts[0][0].codes)
    rows = np.arange(n, dtype=np.int64)
    found = [_range_pairs(c, rows, t, dih) for c, t, dih in parts]
    keys = [a * n + b for a, b, _ in found]
    merged = keys[0]
    for k in keys[1:]:
        merged = np.union1d(merged, k) if op == "any" else np.intersect1d(merged, k)
    dist = np.full((len(merged), len(parts)), -1, dtype=np.int64)
    for p, (k, (_, _, d)) in enumerate(zip(keys, found, strict=True)):
        pos = np.searchsorted(k, merged)  # k is sorted: _range_pairs sorts by (a, b)
        hit = pos < len(k)
        hit[hit] = k[pos[hit]] == merged[hit]
        dist[hit, p] = d[pos[hit]]
    a, b = merged // max(n, 1), merged % max(n, 1)
    per_image = (np.bincount(a, minlength=n) + np.bincount(b, minlength=n)).astype(np.int64)
    order = np.lexsort((b, a, *[dist[:, p] for p in reversed(range(len(parts)))]))[:max_listed]
    return PairList(parts[0][1], int(len(merged)), a[order], b[order], dist[order]), per_image


@dataclass
class Evidence:
    """One matcher's per-item evidence, in rows of its own sets (the runner names them by id).

    ``pairs``: the false matches at ``threshold`` among the impostor set, rows of that set
    (``ref_rows`` / ``dis_rows`` say which reference or distractor each row is, as
    :class:`~hashbench.evaluate.codes.ImpostorImages`); ``per_image``: each row's number of false
    matches at ``threshold``; ``misses``: the queries whose genuine pair does not match (beyond
    the threshold, or gated), capped at ``max_listed``, of ``miss_count`` in all; ``floor``: the
    quality floor when the matcher is gated; ``population``: the per-family rates
    (:func:`~hashbench.evaluate.population.population_step`), when the study had groups. Filled
    by the study (``None`` until then).
    """

    threshold: int = 0
    max_listed: int = DEFAULT_MAX_LISTED
    pairs: PairList | None = None
    per_image: npt.NDArray[np.int64] | None = None
    ref_rows: npt.NDArray[np.int64] | None = None
    dis_rows: npt.NDArray[np.int64] | None = None
    misses: npt.NDArray[np.int64] | None = None
    miss_gated: npt.NDArray[np.bool_] | None = None
    miss_count: int = 0
    floor: int | None = None
    threshold_label: str = ""  # a composite's parts' thresholds, "31;10" (else the threshold)
    how: str = ""
    population: Population | None = None


def misses(
    distances: npt.NDArray[np.int64], valid: npt.NDArray[np.bool_], gated: npt.NDArray[np.bool_], threshold: int
) -> npt.NDArray[np.int64]:
    """The queries whose genuine pair was evaluated and does not match: beyond ``threshold``, or
    gated (a gated pair counts as a miss of the gated rate), in query order."""
    return np.flatnonzero(valid & ((distances > threshold) | gated)).astype(np.int64)


def record_evidence(
    ev: Evidence, imp: ImpostorStep, gen: Genuine, threshold: int, floor: int | None, max_listed: int
) -> None:
    """Fill ``ev`` from a study's impostor and genuine steps: the false matches and per-image
    counts the impostor step's kernel pass listed at ``threshold`` (it must have listed them).
    The list's per-image-by-group counts serve the per-family rates only (the study makes them
    from the step) and are not kept: the run holds every matcher's evidence until its item
    tables are written, and they are 26 MB a matcher at 550,000 images and 6 families."""
    if imp.pairs is None or imp.per_image is None:
        raise ValueError("the impostor step listed no pairs: give it the threshold and max_listed")
    images = imp.images
    ev.threshold, ev.max_listed, ev.floor = threshold, max_listed, floor
    ev.ref_rows, ev.dis_rows = images.ref_rows, images.dis_rows
    ev.pairs, ev.per_image = dataclasses.replace(imp.pairs, by_group=None), imp.per_image
    missed = misses(gen.distances, gen.valid, gen.gated, threshold)
    ev.miss_count = int(len(missed))
    ev.misses = missed[:max_listed]
    ev.miss_gated = gen.gated[ev.misses]


def composite_evidence(
    parts: Sequence[tuple[Codes, int, bool]],
    op: str,
    ref_rows: npt.NDArray[np.int64],
    dis_rows: npt.NDArray[np.int64],
    max_listed: int,
) -> Evidence:
    """A composite's false matches and per-image counts (:func:`composite_pairs`) on its image set:
    references ``ref_rows`` then distractors ``dis_rows``, hashed by every part. Misses are not
    listed for composites (each part's misses are)."""
    pairs, per_image = composite_pairs(parts, op, max_listed)
    return Evidence(
        threshold=parts[0][1],
        max_listed=max_listed,
        pairs=pairs,
        per_image=per_image,
        ref_rows=ref_rows,
        dis_rows=dis_rows,
        threshold_label=";".join(str(t) for _, t, _ in parts),
    )


def listed_summary(ev: Evidence) -> ListedItems:
    """The report.json record of what the per-item files list for one matcher."""
    assert ev.pairs is not None
    out: ListedItems = {
        "max_listed": ev.max_listed,
        "false_matches": ev.pairs.count,
        "false_matches_listed": ev.pairs.listed,
    }
    if not ev.threshold_label:
        out["threshold"] = ev.threshold
    if ev.misses is not None:
        out["misses"] = ev.miss_count
        out["misses_listed"] = int(len(ev.misses))
    return out


@dataclass(frozen=True)
class ItemNames:
    """What the runner knows about the rows of a study's sets: ids, groups and, per hasher,
    qualities (``None`` for a hasher without one), to turn :class:`Evidence` into table rows."""

    ref_ids: Sequence[str]
    dis_ids: Sequence[str]
    ref_groups: Sequence[str]
    dis_groups: Sequence[str]
    query_ids: Sequence[str]
    query_transform: Sequence[str]
    query_ref: npt.NDArray[np.int64]


def _cell(x: float | int | None) -> str:
    return "" if x is None else str(int(x))


def false_match_rows(
    name: str,
    ev: Evidence,
    names: ItemNames,
    quality: tuple[npt.NDArray[np.int16] | None, npt.NDArray[np.int16] | None] = (None, None),
) -> list[tuple[str, ...]]:
    """``false_matches.csv`` rows of one matcher: (hasher, threshold, id_a, id_b, distance,
    quality_a, quality_b, group_a, group_b, gated). ``quality``: per reference row and per
    distractor row. A composite's distance is its parts' distances joined by ``;`` (-1: that
    part does not match the pair)."""
    if ev.pairs is None or ev.ref_rows is None or ev.dis_rows is None:
        return []
    n_ref = len(ev.ref_rows)
    out: list[tuple[str, ...]] = []
    for a, b, d in zip(ev.pairs.a.tolist(), ev.pairs.b.tolist(), ev.pairs.distance.tolist(), strict=True):
        ends = [_describe_row(r, n_ref, ev, names, quality) for r in (a, b)]
        (id_a, g_a, q_a), (id_b, g_b, q_b) = ends
        dist = ";".join(str(x) for x in d) if isinstance(d, list) else str(d)
        gated = (
            ""
            if ev.floor is None
            else str(int(min(q_a, q_b) < ev.floor) if q_a is not None and q_b is not None else "")
        )
        out.append(
            (name, ev.threshold_label or str(ev.threshold), id_a, id_b, dist, _cell(q_a), _cell(q_b), g_a, g_b, gated)
        )
    return out


def _describe_row(
    r: int,
    n_ref: int,
    ev: Evidence,
    names: ItemNames,
    quality: tuple[npt.NDArray[np.int16] | None, npt.NDArray[np.int16] | None],
) -> tuple[str, str, int | None]:
    """(id, group, quality) of row ``r`` of an impostor set (references first, then distractors)."""
    assert ev.ref_rows is not None and ev.dis_rows is not None
    if r < n_ref:
        k = int(ev.ref_rows[r])
        q = quality[0]
        return names.ref_ids[k], names.ref_groups[k], None if q is None else int(q[k])
    k = int(ev.dis_rows[r - n_ref])
    q = quality[1]
    return names.dis_ids[k], names.dis_groups[k], None if q is None else int(q[k])


def miss_rows(
    name: str,
    ev: Evidence,
    names: ItemNames,
    distances: npt.NDArray[np.int64],
    query_quality: npt.NDArray[np.int16] | None,
) -> list[tuple[str, ...]]:
    """``misses.csv`` rows of one hasher: (hasher, threshold, transform, reference_id, query_id,
    distance, quality, gated); ``quality`` is the edited copy's, ``gated`` 1 when the pair has an
    image below the quality floor (a miss of the gated rate even within the threshold)."""
    if ev.misses is None or ev.miss_gated is None:
        return []
    out: list[tuple[str, ...]] = []
    for qi, g in zip(ev.misses.tolist(), ev.miss_gated.tolist(), strict=True):
        ref = int(names.query_ref[qi])
        q = None if query_quality is None else int(query_quality[qi])
        gated = "" if ev.floor is None else str(int(g))
        out.append(
            (
                name,
                str(ev.threshold),
                names.query_transform[qi],
                names.ref_ids[ref] if ref >= 0 else "",
                names.query_ids[qi],
                str(int(distances[qi])),
                _cell(q),
                gated,
            )
        )
    return out


def per_image_column(ev: Evidence, n_ref: int, n_dis: int) -> list[str]:
    """One matcher's ``per_image.csv`` column: each reference's then each distractor's number of
    false matches at the threshold ("" for an image this matcher did not hash)."""
    col = [""] * (n_ref + n_dis)
    if ev.per_image is None or ev.ref_rows is None or ev.dis_rows is None:
        return col
    counts = ev.per_image.tolist()
    for r, k in enumerate(ev.ref_rows.tolist()):
        col[k] = str(counts[r])
    for r, k in enumerate(ev.dis_rows.tolist()):
        col[n_ref + k] = str(counts[len(ev.ref_rows) + r])
    return col


def cross_pairs(
    codes_a: npt.ArrayLike,
    codes_b: npt.ArrayLike,
    nbits: int | None,
    thresholds: Sequence[int],
    max_listed: int = DEFAULT_MAX_LISTED,
    *,
    block: int = DEFAULT_BLOCK,
    groups: tuple[npt.ArrayLike, int] | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], list[PairList]]:
    """:func:`impostor_pairs` for the pairs between two sets (a block of the all-pairs count on a
    cluster): ``(hist, counts_a, counts_b, lists)``, ``a`` a row of ``codes_a``, ``b`` of ``codes_b``.
    ``groups``: the codes of ``a``'s rows then ``b``'s, and their number (``by_group`` rows alike)."""
    a_arr, nbits = _checked_codes(codes_a, nbits, "codes_a")
    b_arr, _ = _checked_codes(codes_b, nbits, "codes_b")
    thr = tuple(int(t) for t in thresholds)
    hist, counts, listed, by_group = _histogram(
        _columns(a_arr), _columns(b_arr), nbits, block, False, False, "cross pairs", thr, max_listed, groups
    )
    n_a = len(a_arr)
    lists = _pair_lists(hist, thr, listed, n_a + len(b_arr), n_a, by_group)
    return hist, counts[:, :n_a], counts[:, n_a:], lists


def variant_cross_pairs(
    variants_a: npt.ArrayLike,
    codes_a: npt.ArrayLike,
    variants_b: npt.ArrayLike,
    codes_b: npt.ArrayLike,
    nbits: int,
    thresholds: Sequence[int],
    max_listed: int = DEFAULT_MAX_LISTED,
    groups: tuple[npt.ArrayLike, int] | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], list[PairList]]:
    """:func:`cross_pairs` under dihedral matching: every unordered pair of one image of set
    ``a`` and one of set ``b``, either direction matching; ``hist`` sums to ``len(a) * len(b)``,
    ``counts_a[q, i]`` is the images of ``b`` that image ``i`` of ``a`` matches within
    ``thresholds[q]``, ``counts_b`` the other way round. ``groups`` as :func:`cross_pairs`."""
    thr = tuple(int(t) for t in thresholds)
    hist, counts, listed, by_group = variant_pair_pass(
        variants_a, codes_a, nbits, thr, max_listed, (variants_b, codes_b), groups
    )
    n_a = len(np.asarray(codes_a))
    lists = _pair_lists(hist, thr, listed, counts.shape[1], n_a, by_group)
    return hist, counts[:, :n_a], counts[:, n_a:], lists


def merge_pair_lists(parts: Sequence[PairList], max_listed: int) -> PairList:
    """One list from lists of disjoint sets of pairs (blocks, rows already global): counts add,
    and the ``max_listed`` smallest (distance, a, b) of all are kept. Each part holds its own
    smallest, so nothing that belongs in the merged list is missing. ``by_group`` is not merged
    here (its rows are each block's): the caller adds the blocks' rows into the whole set's."""
    a = np.concatenate([p.a for p in parts]) if parts else np.zeros(0, np.int64)
    b = np.concatenate([p.b for p in parts]) if parts else np.zeros(0, np.int64)
    d = np.concatenate([p.distance for p in parts]) if parts else np.zeros(0, np.int64)
    top = np.lexsort((b, a, d))[:max_listed]
    return PairList(parts[0].threshold if parts else 0, sum(p.count for p in parts), a[top], b[top], d[top])
