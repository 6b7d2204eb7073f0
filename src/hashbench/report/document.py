"""The content of report.md and report.html, built once as a list of blocks.

Both files say the same thing, so the words and tables are written here once, as plain blocks
(headings, paragraphs, tables, figures, bullet lists, code), and :mod:`.markdown` and :mod:`.html`
only render them. Inline markup in text is limited to ``**bold**`` and ```code```.

Every figure comes from the report dict: stored counts and rates for the named thresholds,
:mod:`.metrics` for anything recomputed from histograms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

from ..schema import (
    EqualErrorRate,
    HashingRate,
    IndexSpeed,
    IndexTiming,
    Projected,
    Rate,
    RateAt,
    RecallAtPrecision,
    Report,
    Timing,
    TransformInfo,
)
from . import format as f
from .metrics import (
    GroupRate,
    PairRate,
    alpha_of,
    failed_hashes,
    failed_images,
    failure_rows,
    gated_pair_rates,
    group_fpr_at,
    group_names,
    has_gate,
    measured_per_query,
    pair_rate,
    tpr_at,
    transform_names,
)
from .plots import caption

if TYPE_CHECKING:
    from .gallery import Gallery

__all__ = [
    "Heading",
    "Paragraph",
    "Bullets",
    "Table",
    "Figure",
    "Code",
    "Thumbnails",
    "Block",
    "build_document",
    "slug",
]


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2

    @property
    def anchor(self) -> str:
        return slug(self.text)


@dataclass(frozen=True)
class Paragraph:
    text: str
    note: bool = False  # a side remark (rendered smaller in HTML)


@dataclass(frozen=True)
class Bullets:
    items: list[str]
    fold: str = ""  # when set, HTML folds the list under this line


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]
    #: per column: "l" text or "r" numbers
    align: list[str] = field(default_factory=list)
    #: when set, HTML folds the table under this line (it repeats a figure shown just before)
    fold: str = ""

    def alignment(self) -> list[str]:
        return self.align or ["l"] + ["r"] * (len(self.header) - 1)


@dataclass(frozen=True)
class Figure:
    name: str  # file name in plots/
    caption: str


@dataclass(frozen=True)
class Code:
    text: str
    summary: str = ""  # HTML shows code blocks folded under this line


@dataclass(frozen=True)
class Thumbnails:
    """Gallery tiles (:mod:`.gallery`): each a caption, its images' files in ``thumbs/`` ("" for
    an image not shown) and their ids."""

    tiles: list[tuple[str, tuple[str, ...], tuple[str, ...]]]


Block = Heading | Paragraph | Bullets | Table | Figure | Code | Thumbnails


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# ------------------------------------------------------------------------------------------
# cells
# ------------------------------------------------------------------------------------------


# A rate and its interval are one cell; the newline lets HTML put the interval under the rate
# (keeping wide tables on screen) and becomes a space in Markdown.


# What a cell helper reads: a rate of the report (at a threshold, of an operating point, of a
# composite), a projected rate (no counts) or a per-group rate recomputed from the histograms.
_Counted = Rate | RateAt | GroupRate
_Interval = _Counted | Projected


def _tpr(d: _Counted | None) -> str:
    if not d or d.get("rate") is None:
        return f.DASH
    return f"{f.pct(d['rate'])}\n{f.interval(d['ci_low'], d['ci_high'], f.pct)}"


def _fpr(d: _Interval | None) -> str:
    if not d or d.get("rate") is None:
        return f.DASH
    return f"{f.small_rate(d['rate'])}\n{f.interval(d['ci_low'], d['ci_high'])}"


def _kn(d: _Counted | None) -> str:
    return f.k_of_n(d.get("count"), d.get("n")) if d else f.DASH


def _image_cell(p: PairRate | None) -> str:
    """The image-level two-sided interval, or why there is none."""
    if p is None or not p.n:
        return f.DASH
    return f.interval(*p.image_level) if p.image_level else "not computed"


def _pair_cell(p: PairRate | None) -> str:
    return f.DASH if p is None or not p.n else f.interval(*p.pair_level)


def _at_most(p: PairRate | None) -> str:
    """ "1 in X" from the one-sided bound, with the level it was computed at under it."""
    if p is None or p.upper_one_sided is None:
        return f.DASH
    return f"{f.one_in(p.upper_one_sided)}\n({'image-level' if p.upper_is_image_level else 'pair-level'})"


def _fpr_of(report: Report, rate: Mapping[str, Any] | None, fields: Mapping[str, Any] | None) -> PairRate | None:
    return pair_rate(rate, fields, alpha_of(report))


def _gate_names(report: Report) -> list[str]:
    return [n for n, h in report["hashers"].items() if has_gate(h)]


def _conf(report: Report) -> str:
    return f"{100 * (1 - alpha_of(report)):.0f}%"


# ------------------------------------------------------------------------------------------
# sections
# ------------------------------------------------------------------------------------------


def _intro(report: Report) -> list[Block]:
    cfg = report["config"]
    inputs = report["inputs"]
    n_ref = inputs["references"]["count"]
    n_dis = inputs["distractors"]["count"]
    n_q = inputs["queries"]["count"]
    n_t = len(inputs["queries"].get("transforms", [])) or len(transform_names(report))
    names = list(report["hashers"])
    created = report.get("timing", {}).get("created", f.DASH)
    edits = (
        f"were each edited by **{n_t} transforms** ({inputs['queries'].get('suite', '?')} suite) into "
        f"**{f.count(n_q)} edited copies**"
        if n_q
        else "were not edited (no transforms: a study of false positives only)"
    )
    text = (
        f"Run `{report['run_id']}` (configuration `{cfg.get('name', '?')}`, seed {report['seed']}, created {created}). "
        f"**{f.count(n_ref)} reference images** — the list a service would match against — {edits}; "
        f"**{f.count(n_dis)} distractor images**, distinct from every reference, stand for innocent images. "
        f"Hashers: {', '.join(f'`{n}`' for n in names)}. {_failed_sentence(report)}"
    )
    blocks: list[Block] = [Heading(f"hashbench report: {report['run_id']}", 1), Paragraph(text)]
    blocks += [Heading("How to read this report"), Bullets(_reading_bullets(report))]
    return blocks


def _failed_sentence(report: Report) -> str:
    """How many images failed, and that they are outside every denominator (said, not implied)."""
    failed = failed_images(report)
    hashes = failed_hashes(report)
    if not failed and not hashes:
        return "Every image was made, decoded and hashed."
    stage_names = {"queries": "edited copies"}
    parts = [f"{f.count(n)} of the {stage_names.get(stage, stage)}" for stage, n in failed.items()]
    said = f"{' and '.join(parts)} could not be made or decoded" if parts else ""
    if hashes:
        said += f"{'; ' if said else ''}{f.count(hashes)} hash{'es' if hashes != 1 else ''} failed"
    return (
        f"**{said[0].upper()}{said[1:]}** (listed under *Failures*): those images and hashes are outside the "
        "denominator of every rate below, which counts only what was hashed."
    )


def _reading_bullets(report: Report) -> list[str]:
    conf = _conf(report)
    bullets = [
        "A pair of images **matches** at threshold t when the Hamming distance between their hashes is at most t. "
        "Each hasher is shown at its **named threshold** (configured per hasher).",
        "**TPR** (true-positive rate): the share of edited copies whose hash matches the hash of their own original.",
        "**Per-pair FPR**: the share of pairs of distinct images (references and distractors) that match. "
        'It is printed with its count, "k of n pairs".',
        f"Intervals are exact **two-sided {conf}** Clopper-Pearson intervals. For a per-pair FPR the **image-level** "
        "interval comes first: pairs that share an image are not independent trials (a flat image matches every "
        "other flat image), so it takes the image as the sampling unit (a design effect from each image's match "
        "count; `docs/statistics.md`). The **pair-level** interval, as if the pairs were independent, follows it, "
        "labelled; where matches cluster it is far too narrow.",
        f"**At most 1 in X** is always a **one-sided {conf}** upper bound (image-level where the report has it, "
        "else pair-level, as labelled). With no false match in n pairs it is 1 − 0.05^(1/n), about 3.0 / n (the "
        f"rule of three). The upper end of a two-sided {conf} interval is a one-sided 97.5% bound (about 3.7 / n "
        'with no match) and is never quoted as "at most".',
        "**Per-query FPR, measured**: the share of distractor images that match at least one of the reference "
        "hashes, found by querying an index of the references (without distractors: each reference queried "
        "against the other n − 1, *leave-one-out*). It does not assume that a query's comparisons with the list "
        "are independent; its interval does take the queries as independent draws. The list is only as long as "
        "this run's references.",
        "**Per-query FPR, projected**: 1 − (1 − p)^L from the per-pair rate p, for lists of L hashes far longer than "
        "any measured here. It assumes independent comparisons. For a fixed p, clustered matches fall on fewer "
        "images, so they make the real chance that an image is flagged *at most* this: the projection errs high "
        "at that p. The real unknown is whether p measured on these images holds for others. Its interval is "
        "sampling only, under the model; at the measured list size it is shown beside the measured rate.",
    ]
    ordered = [n for n, h in report["hashers"].items() if h["impostor"].get("pairs") == "ordered"]
    dihedral = [n for n, h in report["hashers"].items() if h["matching"] == "dihedral"]
    if dihedral:
        names, one = ", ".join(f"`{n}`" for n in dihedral), len(dihedral) == 1
        pairs = (
            "its impostor pairs are ordered (query, listed): n(n − 1) pairs instead of n(n − 1)/2"
            if ordered
            else "an unordered pair of images matches when either image's variants match the other's hash: "
            "n(n − 1)/2 pairs, as for plain matching"
        )
        bullets.append(
            f"{names} match{'es' if one else ''} on the closest of 8 rotations and flips of the query, so {pairs}."
        )
    return bullets


def _per_query_cells(pq: Mapping[str, Any] | None) -> list[str]:
    """The measured per-query rate and what was queried against what (distractors or leave-one-out)."""
    if not pq:
        return ["not measured", f.DASH]
    who = " (leave-one-out)" if pq.get("queries") == "leave-one-out" else ""
    return [
        _fpr(cast(Rate, pq)),
        f"{f.k_of_n(pq['count'], pq['n'])}\nvs {f.count(pq['list_size'])} listed{who}",
    ]


def _headline(report: Report) -> list[Block]:
    rows, clusters = [], []
    for name, h in report["hashers"].items():
        at = h["at_threshold"]
        p = _fpr_of(report, at.get("fpr_per_pair"), at)
        rows.append(
            [
                f"`{name}`",
                f"≤ {at['threshold']}",
                _tpr(at.get("tpr")),
                _kn(at.get("tpr")),
                f.small_rate(p.rate) if p else f.DASH,
                _image_cell(p),
                _pair_cell(p),
                _kn(at.get("fpr_per_pair")),
                _at_most(p),
                *_per_query_cells(measured_per_query(at)),
            ]
        )
        if p and p.image_level:
            clusters.append(
                [
                    f"`{name}`",
                    f.count(p.images_involved),
                    f.count(p.max_matches_per_image),
                    f"{p.design_effect:.3g}" if p.design_effect is not None else f.DASH,
                ]
            )
    conf = _conf(report)
    blocks: list[Block] = [
        Heading("Results at the named thresholds"),
        Table(
            [
                "hasher",
                "threshold",
                f"TPR [two-sided {conf} CI]",
                "edited copies found",
                "per-pair FPR",
                f"image-level, two-sided {conf}",
                f"pair-level, two-sided {conf}",
                "false matches / pairs",
                f"per-pair FPR at most (one-sided {conf})",
                f"per-query FPR, measured [two-sided {conf} CI]",
                "queries matched / list",
            ],
            rows,
        ),
    ]
    if clusters:
        blocks.append(
            Table(
                ["hasher", "images in a false match", "most false matches of one image", "design effect"],
                clusters,
                fold="how clustered the false matches are (what widens the image-level interval)",
            )
        )
    gated = _gate_names(report)
    if gated:
        blocks.append(
            Paragraph(
                f"Figures above are without the quality gate; {', '.join(f'`{n}`' for n in gated)} "
                "with the gate are under *Quality gate*.",
                note=True,
            )
        )
    blocks += _model_check(report) + _projected(report)
    blocks.append(Figure("fpr_vs_threshold.png", caption(report, "fpr_vs_threshold.png")))
    return blocks


def _model_check(report: Report) -> list[Block]:
    """The projection at the list size that was measured, beside the measurement (with and
    without the gate): the one place the model can be checked against data."""
    conf = _conf(report)
    rows = []
    for name, h in report["hashers"].items():
        at = h["at_threshold"]
        for gated in (False, True):
            m = measured_per_query(at, gated)
            proj = m.get("projected_same_list_size") if m else None
            if not m or not proj:
                continue
            who = "each reference vs the others" if m.get("queries") == "leave-one-out" else "distractors"
            rows.append(
                [
                    f"`{name}`",
                    "with gate" if gated else "no gate",
                    who,
                    f.count(m["list_size"]),
                    _fpr(cast(Rate, m)),
                    _kn(cast(Rate, m)),
                    _fpr(cast(Projected, proj)),
                ]
            )
    if not rows:
        return []
    return [
        Heading("The projection checked at the measured list size", 3),
        Paragraph(
            "The model behind every projection, 1 − (1 − p)^L with each comparison an independent trial at the "
            "per-pair rate p (with the gate: the matches that pass it over every pair), evaluated at the list size "
            "this run measured, beside the measured per-query rate. For a fixed p, clustered matches fall on fewer "
            "queries, so the measured rate is expected at or below the model's; far below means the false matches "
            "cluster and the projections to longer lists overstate how many images are flagged at this p. The "
            "model's interval is sampling only, under the model."
        ),
        Table(
            [
                "hasher",
                "gate",
                "queries",
                "list size L",
                f"per-query FPR, measured [two-sided {conf}]",
                "queries matched",
                f"model 1 − (1 − p)^L [two-sided {conf}, sampling only, under the model]",
            ],
            rows,
            ["l", "l", "l", "r", "r", "r", "r"],
        ),
    ]


def _projected(report: Report) -> list[Block]:
    """The per-query rate projected onto the configured list sizes."""
    sizes: list[float] = []
    for h in report["hashers"].values():
        for p in h["at_threshold"].get("fpr_per_query_projected", []):
            if p["list_size"] not in sizes:
                sizes.append(p["list_size"])
    if not sizes:
        return []
    prow = []
    for name, h in report["hashers"].items():
        by_size = {p["list_size"]: p for p in h["at_threshold"].get("fpr_per_query_projected", [])}
        cells = [_fpr(by_size[s]) if s in by_size else f.DASH for s in sizes]
        prow.append([f"`{name}`", f"≤ {h['threshold']}", *cells])
    conf = _conf(report)
    return [
        Heading("Per-query FPR projected to longer lists", 3),
        Paragraph(
            "The chance that one innocent image matches *anything* in a list of L hashes, projected from the "
            "per-pair rate as 1 − (1 − p)^L with each end of its pair-level interval projected the same way. These "
            "are projections under a model of independent comparisons, not measurements: the intervals are sampling "
            "only, under the model. For a fixed p, clustered matches make the real value at most the projection; "
            "whether p holds for other images is the real unknown. Compare them with the measured per-query rates "
            'above, and read an upper end of 1 as "this run has too few pairs to say".'
        ),
        Table(
            [
                "hasher",
                "threshold",
                *[f"L = {f.big(s)} [two-sided {conf}, sampling only, under the model]" for s in sizes],
            ],
            prow,
        ),
    ]


def _operational(report: Report) -> list[Block]:
    ops = {n: o for n, h in report["hashers"].items() if (o := h["at_threshold"].get("operational"))}
    if not ops:
        return []
    any_op = next(iter(ops.values()))
    blocks: list[Block]
    rows = []
    for name, o in ops.items():
        pq, fl = o["per_query"], o["flagged_per_year"]
        rows.append(
            [
                f"`{name}`",
                f"≤ {report['hashers'][name]['threshold']}",
                f"{f.small_rate(pq['rate'])} {f.interval(pq['ci_low'], pq['ci_high'])}",
                f"{f.big(fl['rate'])} [{f.big(fl['ci_low'])}, {f.big(fl['ci_high'])}]",
            ]
        )
    blocks = [
        Heading("Operational projection"),
        Paragraph(
            f"What the per-pair rate would mean for **{f.big(any_op['volume_per_year'])} images a year**, "
            f"each matched against a list of **{f.big(any_op['list_size'])} hashes** (set in the configuration "
            "as `volume_per_year` and `list_size`), if every comparison were an independent trial at that rate. "
            "For a fixed rate, clustered matches make the number of images flagged at most this; whether the "
            "rate holds for the images a service sees is the real unknown."
        ),
        Table(
            [
                "hasher",
                "threshold",
                f"chance one innocent image is flagged [two-sided {_conf(report)}, sampling only, under the model]",
                f"innocent images flagged a year [two-sided {_conf(report)}, sampling only, under the model]",
            ],
            rows,
        ),
    ]
    own, shared = _split_common_ending([o["text"] for o in ops.values()])
    blocks.append(
        Bullets(
            [f"**{name}**: {text}" for name, text in zip(ops, own)], fold="the projection in words, hasher by hasher"
        )
    )
    if shared:
        blocks.append(Paragraph(f"**For every hasher:** {shared}"))
    return blocks


def _split_common_ending(texts: list[str]) -> tuple[list[str], str]:
    """Split texts into their own sentences and the figure-free sentences they all end with.

    The projection texts repeat the same assumptions word for word; the report says them once.
    With a single text nothing is split off.
    """
    if len(texts) < 2:
        return texts, ""
    split = [re.split(r"(?<=\.) (?=[A-Z])", t) for t in texts]
    k = 0
    # only sentences without figures are shared: every number stays with its hasher
    while (
        all(len(s) > k + 1 for s in split)
        and len({s[-1 - k] for s in split}) == 1
        and not re.search(r"\d", split[0][-1 - k])
    ):
        k += 1
    if k == 0:
        return texts, ""
    return [" ".join(s[:-k]) for s in split], " ".join(split[0][-k:])


def _has_genuine(report: Report) -> bool:
    return any((h["at_threshold"].get("tpr") or {}).get("n") for h in report["hashers"].values())


def _by_group(report: Report) -> list[Block]:
    groups = group_names(report)
    if len(groups) < 2:
        return []
    names = [n for n in report["hashers"] if report["hashers"][n]["impostor"].get("by_group")]
    rows = []
    for g in groups:
        cells, n_images = [], None
        for n in names:
            r = group_fpr_at(report, n, g, int(report["hashers"][n]["threshold"]))
            if r is None:
                cells.append(f.DASH)
                continue
            n_images = r["n_images"]
            cells.append(f"{f.small_rate(r['rate'])}\n({f.k_of_n(r['count'], r['n'])})" if r["n"] else f.DASH)
        rows.append([g, f.count(n_images), *cells])
    return [
        Heading("False matches within each kind of image", 3),
        Paragraph(
            "False matches depend on what the images look like. Each row is the per-pair FPR among the pairs of "
            "distinct images of one kind only (synthetic content family, or dataset), at each hasher's named "
            "threshold; pairs of images of different kinds are in no row."
        ),
        Table(["images", "count", *[f"`{n}` ≤ {report['hashers'][n]['threshold']}" for n in names]], rows),
    ]


def _operating_points(report: Report) -> list[Block]:
    rows = []
    for name, h in report["hashers"].items():
        for op in h.get("operating_points", []):
            t = op.get("threshold")
            rows.append(
                [
                    f"`{name}`",
                    f"{op['target_fpr']:g}",
                    f.DASH if t is None else f"≤ {t}",
                    _kn(op.get("calibration_fpr")),
                    f"{_fpr(op.get('held_out_fpr'))}" if op.get("held_out_fpr") else f.DASH,
                    _kn(op.get("held_out_fpr")),
                    _tpr(op.get("held_out_tpr")),
                    f.count(op.get("calibration_pairs_needed")),
                    "yes" if op.get("resolvable") else "no",
                ]
            )
    if not rows:
        if _has_genuine(report):
            note = _exact_note(report, _NO_CALIBRATION)
            return [Heading("Operating points for target false-positive rates"), *note] if note else []
        return [
            Heading("Operating points for target false-positive rates"),
            Paragraph(
                "None: this run has no edited copies, so a chosen threshold has no true-positive rate to "
                "score. The per-pair FPR at every threshold is in `metrics.csv`."
            ),
        ]
    conf = _conf(report)
    return [
        Heading("Operating points for target false-positive rates"),
        Paragraph(
            "For each target per-pair FPR, the threshold is chosen on a **calibration half** of the images (the "
            "largest threshold whose per-pair FPR there is at most the target) and then scored on the other, "
            "**held-out half**, so the reported rates are not flattered by the choice. Genuine pairs follow the "
            "half of their reference. **Enough pairs** says whether the calibration half held enough impostor "
            "pairs to show the target at all; where it says *no*, the chosen threshold is only the largest with "
            "no false match in this sample and says little about the target. A dash: no threshold met the "
            "target even at distance 0."
        ),
        Table(
            [
                "hasher",
                "target FPR",
                "threshold (calibration)",
                "calibration false matches",
                f"held-out FPR [{conf} CI]",
                "held-out false matches",
                f"held-out TPR [{conf} CI]",
                "pairs needed to show target",
                "enough pairs",
            ],
            rows,
        ),
        *_exact_note(report, _NO_CALIBRATION),
    ]


_NO_CALIBRATION = "is no threshold to calibrate"


def _eer_cell(eer: EqualErrorRate | None) -> str:
    """The equal error rate and where it is; a dash without one (no genuine or impostor pairs)."""
    threshold = eer.get("threshold") if eer else None
    if not eer or threshold is None:
        return f.DASH
    return f"{f.pct(eer.get('rate'))} at distance {threshold:.1f}"


def _recall_cell(r90: RecallAtPrecision | None) -> str:
    """Recall at 90% precision and its threshold; says so when no threshold reaches that precision."""
    threshold = r90.get("threshold") if r90 else None
    if not r90:
        return f.DASH
    if threshold is None:
        return "none reaches 90% precision"
    return f"{f.pct(r90.get('recall'))} at ≤ {threshold}"


def _exact_names(report: Report) -> list[str]:
    return [n for n, h in report["hashers"].items() if h.get("exact")]


def _exact_note(report: Report, what: str) -> list[Block]:
    """One line for the exact hashers a section leaves out (none: no block)."""
    names = _exact_names(report)
    if not names:
        return []
    listed = ", ".join(f"`{n}`" for n in names)
    return [
        Paragraph(
            f"{listed}: **exact match only**. Only identical hashes match, so the one operating point is "
            f"distance 0 (under *Results at the named thresholds*) and there {what}.",
            note=True,
        )
    ]


def _summaries(report: Report) -> list[Block]:
    rows = []
    for name, h in report["hashers"].items():
        if h.get("exact"):
            continue
        s = h.get("summary") or {}
        ap = s.get("isc_micro_ap")
        rows.append(
            [
                f"`{name}`",
                _eer_cell(s.get("eer")),
                f"{ap:.3f}" if ap is not None else f.DASH,
                _recall_cell(s.get("recall_at_90_precision")),
            ]
        )
    header = ["hasher", "equal error rate", "ISC micro-average precision", "recall at 90% precision"]
    table = [Table(header, rows)] if rows else []  # none when every hasher is exact
    blocks: list[Block] = [
        Heading("Threshold-free summaries"),
        Paragraph(
            "The **equal error rate** is where the per-pair FPR equals the miss rate (1 − TPR), interpolated "
            "between whole distances. **Micro-average precision** and **recall at 90% precision** follow the "
            "Image Similarity Challenge: every genuine and impostor pair is one prediction ranked by distance, "
            "impostors first among pairs at the same distance (ISC's tie rule). "
            "Both depend on how many impostor pairs there are per genuine pair, so compare them only between "
            "hashers of the same run."
        ),
        *table,
        *_exact_note(report, "is no equal error rate, precision figure, ROC or DET curve"),
        Figure("distances.png", caption(report, "distances.png")),
        Figure("roc.png", caption(report, "roc.png")),
        Figure("det.png", caption(report, "det.png")),
    ]
    if not _has_genuine(report):
        return [
            blocks[0],
            Paragraph(
                "This run has no edited copies (genuine pairs), so there are no ROC or DET curves, equal "
                "error rates or precision figures; the impostor distances are below."
            ),
            Figure("distances.png", caption(report, "distances.png")),
        ]
    return blocks


def _describe_transform(desc: TransformInfo | None) -> str:
    """``'jpeg quality=30'``; a chain as its steps in order; empty parameters left out."""
    if not desc:
        return ""
    params = desc.get("params", {})
    if desc.get("kind") == "chain" and isinstance(params.get("steps"), list):
        return "chain: " + " → ".join(str(step.get("name", step.get("kind", "?"))) for step in params["steps"])
    shown = ", ".join(f"{k}={v}" for k, v in params.items() if v not in ("", None))
    return f"{desc.get('kind', '')} {shown}".strip()


def _per_transform(report: Report) -> list[Block]:
    names = list(report["hashers"])
    transforms = transform_names(report)
    if not transforms:
        return [
            Heading("Robustness per transform"),
            Paragraph(
                "This run made no edited copies (transform suite "
                f"`{report['inputs']['queries'].get('suite', 'none')}`): it measures false positives only."
            ),
        ]
    kinds = {t["name"]: t for t in report["inputs"]["queries"].get("transforms", [])}
    ns: set[int] = set()
    rows = []
    for t in transforms:
        cells = []
        for n in names:
            h = report["hashers"][n]
            if t not in h["transforms"]:
                cells.append(f.DASH)
                continue
            r = tpr_at(report, n, int(h["threshold"]), t)
            ns.add(r["n"])
            failed = h["transforms"][t].get("failed", 0)
            cells.append(f.pct(r["rate"], 0) + (f" ({failed} failed)" if failed else ""))
        rows.append([f"`{t}`", _describe_transform(kinds.get(t)), *cells])
    n_text = (
        f"Each cell is the share of the {f.count(next(iter(ns)))} edited copies made by that transform"
        if len(ns) == 1
        else "Each cell is the share of the edited copies made by that transform"
    )
    return [
        Heading("Robustness per transform"),
        Paragraph(
            f"{n_text} whose hash matched their original's at the hasher's named threshold (TPR). Intervals and "
            "every other threshold are in `metrics.csv`."
        ),
        Figure("tpr_heatmap.png", caption(report, "tpr_heatmap.png")),
        Table(
            ["transform", "edit", *[f"`{n}` ≤ {report['hashers'][n]['threshold']}" for n in names]],
            rows,
            ["l", "l", *["r"] * len(names)],
            fold="the same figures as a table, with each edit's parameters",
        ),
    ]


def _composites(report: Report) -> list[Block]:
    comps = report.get("composites") or {}
    if not comps:
        return []
    conf = _conf(report)
    rows = []
    for name, c in comps.items():
        rule = "any part matches" if c["op"] == "any" else "every part matches"
        parts = ", ".join(f"`{h}` ≤ {t}" for h, t in c["parts"].items())
        p = _fpr_of(report, c.get("fpr_per_pair"), cast(Mapping[str, Any], c))
        rows.append(
            [
                f"`{name}`",
                rule,
                parts,
                _tpr(c.get("tpr")),
                _kn(c.get("tpr")),
                f.small_rate(p.rate) if p else f.DASH,
                _image_cell(p),
                _pair_cell(p),
                _kn(c.get("fpr_per_pair")),
                _at_most(p),
                c.get("pairs", f.DASH),
            ]
        )
    return [
        Heading("Composite matchers"),
        Paragraph(
            "Layered matchers as providers run them: `a|b` flags a pair when either hasher matches at its named "
            "threshold, `a&b` only when both do. Impostor pairs are enumerated exactly for each part and then "
            "united or intersected."
        ),
        Table(
            [
                "matcher",
                "rule",
                "parts",
                f"TPR [two-sided {conf} CI]",
                "edited copies found",
                "per-pair FPR",
                f"image-level, two-sided {conf}",
                f"pair-level, two-sided {conf}",
                "false matches / pairs",
                f"at most (one-sided {conf})",
                "pairs",
            ],
            rows,
            ["l", "l", "l", "r", "r", "r", "r", "r", "r", "r", "l"],
        ),
    ]


def _quality(report: Report) -> list[Block]:
    names = _gate_names(report)
    if not names:
        return []
    rows = []
    for name in names:
        h = report["hashers"][name]
        q = h.get("quality", {})
        at = h["at_threshold"]
        among, generalized = gated_pair_rates(cast(Mapping[str, Any], at))
        rows.append(
            [
                f"`{name}`",
                str(h["quality_floor"]),
                f.count(q.get("gated_references")),
                f.count(q.get("gated_queries")),
                f.count(q.get("gated_genuine_pairs")),
                f.count(q.get("gated_images_impostor")),
                _tpr(at.get("tpr")),
                _tpr(at.get("tpr_gated")),
                f"{_kn(at.get('fpr_per_pair'))}",
                _kn(cast(Rate, generalized or among)),
            ]
        )
    conf = _conf(report)
    return [
        Heading("Quality gate"),
        Paragraph(
            "PDQ reports a quality score for each hash; hashes below the floor are not matched (ThreatExchange "
            "recommends a floor of 50). A genuine pair with a gated image counts as a miss, so the TPR with the gate "
            "keeps its denominator."
        ),
        Table(
            [
                "hasher",
                "floor",
                "gated references",
                "gated edited copies",
                "gated genuine pairs",
                "gated images (impostor set)",
                f"TPR without gate [two-sided {conf} CI]",
                f"TPR with gate [two-sided {conf} CI]",
                "false matches without gate",
                "false matches with gate (of every pair)",
            ],
            rows,
        ),
        *_gated_fpr(report, names),
    ]


def _gated_fpr(report: Report, names: list[str]) -> list[Block]:
    """The per-pair FPR with the gate among the pairs that can match (both images pass), with
    the gated shares beside it and the generalized rate (every pair) after it."""
    conf = _conf(report)
    rows = []
    for name in names:
        h = report["hashers"][name]
        among, generalized = gated_pair_rates(cast(Mapping[str, Any], h["at_threshold"]))
        if among is None:
            continue
        p = _fpr_of(report, among, among)
        g = cast(Rate, generalized) if generalized else None
        rows.append(
            [
                f"`{name}`",
                f.small_rate(p.rate) if p else f.DASH,
                _image_cell(p),
                _pair_cell(p),
                _kn(cast(Rate, among)),
                _at_most(p),
                f.pct(among.get("gated_images_share")),
                f.pct(among.get("gated_pairs_share")),
                f"{f.small_rate(g['rate'])}\n({_kn(g)})" if g else f.DASH,
            ]
        )
    if not rows:
        return []
    return [
        Paragraph(
            "With the gate, an impostor pair with a gated image cannot match. The rate to read is among the pairs "
            "that can match (both images pass the gate), with the share of images and of pairs that the gate "
            "removed beside it; the **generalized** rate (ISO/IEC 19795-1) keeps every pair in its denominator and "
            "so mixes the gate's share into the rate."
        ),
        Table(
            [
                "hasher",
                "per-pair FPR with gate, among pairs that can match",
                f"image-level, two-sided {conf}",
                f"pair-level, two-sided {conf}",
                "false matches / pairs that can match",
                f"at most (one-sided {conf})",
                "images gated",
                "pairs with a gated image",
                "generalized (every pair)",
            ],
            rows,
        ),
    ]


def _failures(report: Report, limit: int = 10) -> list[Block]:
    rows = failure_rows(report)
    blocks: list[Block] = [Heading("Failures")]
    if not rows:
        blocks.append(Paragraph("No image failed to decode and no hasher failed on any image."))
        return blocks
    by_stage: dict[str, int] = {}
    for r in rows:
        by_stage[r["stage"]] = by_stage.get(r["stage"], 0) + 1
    stages = ", ".join(f"{n} in {s}" for s, n in by_stage.items())
    blocks.append(
        Paragraph(
            f"**{len(rows)} failures** ({stages}). Failed items are outside the denominator of every rate. "
            f"{'The first ' + str(limit) + ' are' if len(rows) > limit else 'They are'} listed here; "
            "the full list is in `failures.csv`."
        )
    )
    blocks.append(
        Table(
            ["stage", "id", "hasher", "reason"],
            [[r["stage"], f"`{r['id']}`", r["hasher"] or "(the image itself)", r["reason"]] for r in rows[:limit]],
            ["l", "l", "l", "l"],
        )
    )
    return blocks


def _hashing_rows(report: Report) -> list[list[str]]:
    """One row per hasher: images, CPU time, images/s per core and the rate relative to the fastest.

    A hasher computed as a by-product of another (pdq from pdq8's variant 0) has no time of its
    own, so its row names the hasher that made it rather than printing a rate of zero.
    """
    hashing = report.get("timing", {}).get("hashing", {})
    recs: dict[str, HashingRate | None] = {n: hashing.get(n) for n in report["hashers"]}
    rates = {n: rec.get("images_per_second_per_core") if rec else None for n, rec in recs.items()}
    fastest = max((r for r in rates.values() if r), default=None)
    rows = []
    for n, rec in recs.items():
        r = rates[n]
        shared_with = rec.get("shared_with") if rec else None
        shared = r is None and shared_with
        rows.append(
            [
                f"`{n}`",
                f.count(rec.get("images") if rec else None),
                f.DASH if shared else f.seconds(rec.get("cpu_seconds") if rec else None),
                f.per_second(r) if r else (f"computed with `{shared_with}`" if shared_with else f.DASH),
                f"{r / fastest:.2f}" if r and fastest else f.DASH,
            ]
        )
    return rows


def _machine_note(report: Report) -> Paragraph:
    """Where the timings come from, and why they are to be read only as ratios within one run."""
    timing = report.get("timing", {})
    return Paragraph(
        f"Timings are from this machine ({report['environment'].get('machine', {}).get('cpus_available', '?')} "
        f"CPUs, {timing.get('workers', '?')} workers) and may include other work running at the same time: "
        "compare them as ratios within one run. They are the only figures that differ between two runs of "
        "the same configuration and seed.",
        note=True,
    )


def _run_costs(timing: Timing) -> Paragraph:
    """The cost of the run around the hashers: making the images, wall time, peak memory."""
    memory = timing.get("peak_memory_mib", {})
    return Paragraph(
        f"Making the images (generating, decoding and editing them) ran at "
        f"**{f.per_second(timing.get('make_images_per_second_per_core'))} per core**; the whole run took "
        f"**{f.seconds(timing.get('wall_seconds'))}** of wall time. Peak memory: "
        f"{memory.get('main_process', f.DASH)} MiB in the main process, "
        f"{memory.get('largest_worker', f.DASH)} MiB in the largest worker."
    )


_INDEX_HEADER = (
    "hasher",
    "listed",
    "queries",
    "radius",
    "build flat",
    "build MIH",
    "queries/s flat",
    "queries/s MIH",
    "MIH ÷ flat",
    "bytes/code flat",
    "bytes/code MIH",
    "same results",
)


def _index_row(name: str, rec: IndexTiming, fl: IndexSpeed) -> list[str]:
    """The flat scan (``fl``, ``rec["flat"]``) and MIH side by side for one hasher; "NO" in the
    last cell flags an index bug. ``fl`` is passed apart because only records with one have a row."""
    mi = rec.get("mih", {})
    q_flat, q_mih = fl.get("queries_per_second"), mi.get("queries_per_second")
    ratio = q_mih / q_flat if q_mih and q_flat else None
    return [
        f"`{name}`",
        f.count(rec.get("n_listed")),
        f.count(rec.get("n_queries")),
        f"≤ {rec.get('radius')}",
        f.seconds(fl.get("build_seconds")),
        f.seconds(mi.get("build_seconds")),
        f.per_second(fl.get("queries_per_second")),
        f.per_second(mi.get("queries_per_second")),
        f"{ratio:.2f}" if ratio else f.DASH,
        f"{fl['bytes_per_code']:.0f}" if fl.get("bytes_per_code") is not None else f.DASH,
        f"{mi['bytes_per_code']:.0f}" if mi.get("bytes_per_code") is not None else f.DASH,
        "yes" if rec.get("identical_results") else "NO",
    ]


def _index_blocks(report: Report) -> list[Block]:
    """The index comparison, only for the hashers whose run timed a flat index (none: no blocks)."""
    index = report.get("timing", {}).get("index", {})
    rows = [_index_row(n, rec, fl) for n in report["hashers"] if (rec := index.get(n)) and (fl := rec.get("flat"))]
    if not rows:
        return []
    return [
        Paragraph(
            "Index: the references as the list, the distractors as range queries at the named threshold, "
            "with a flat scan and with multi-index hashing (MIH). Bytes per code include each index's "
            "overhead at this list size."
        ),
        Table(list(_INDEX_HEADER), rows),
    ]


def _stage_blocks(timing: Timing) -> list[Block]:
    """Per pipeline stage: how much was done, how much came back from a checkpoint, how long it took."""
    stages = timing.get("stages", {})
    if not stages:
        return []
    rows = [
        [
            s,
            f.count(v.get("items")),
            f.count(v.get("chunks")),
            f.count(v.get("resumed_chunks")),
            f.seconds(v.get("wall_seconds")),
        ]
        for s, v in stages.items()
    ]
    return [Table(["stage", "items", "chunks", "resumed from checkpoint", "wall time"], rows)]


def _throughput(report: Report) -> list[Block]:
    """The Throughput section: hashing speed, run costs, index speed, stages, the throughput plot."""
    timing = report.get("timing", {})
    return [
        Heading("Throughput"),
        _machine_note(report),
        Table(
            ["hasher", "images hashed", "CPU time", "images/s per core", "relative to fastest"],
            _hashing_rows(report),
        ),
        _run_costs(timing),
        *_index_blocks(report),
        *_stage_blocks(timing),
        Figure("throughput.png", caption(report, "throughput.png")),
    ]


def _provenance(report: Report) -> list[Block]:
    env = report.get("environment", {})
    inputs = report["inputs"]
    blocks: list[Block] = [
        Heading("Provenance"),
        Paragraph(
            f"Schema `{report['schema']}`, run `{report['run_id']}`, seed {report['seed']}. "
            "`hashbench run --reproduce report.json` runs the configuration below again from scratch and "
            "checks that every figure except the timings is the same (hashes can change with the versions of "
            "Pillow, pdqhash and imagehash listed here)."
        ),
    ]
    inrows = []
    keys: tuple[Literal["references", "distractors"], ...] = ("references", "distractors")
    for key in keys:
        d = inputs.get(key, {})
        inrows.append(
            [
                key,
                f.count(d.get("count")),
                "; ".join(f"`{x}`" for x in d.get("datasets", [])),
                f"`{d.get('digest', f.DASH)}`",
            ]
        )
    blocks.append(
        Table(["input", "images", "datasets", "digest (sha256 of ids and sources)"], inrows, ["l", "r", "l", "l"])
    )
    versions = env.get("versions", {})
    machine = env.get("machine", {})
    if versions:
        blocks.append(Paragraph("**Versions:** " + ", ".join(f"{k} {v}" for k, v in versions.items()) + "."))
    if machine:
        blocks.append(
            Paragraph(
                f"**Machine:** {machine.get('cpu', '?')}, {machine.get('cpus_available', '?')} CPUs available, "
                f"{machine.get('memory_gib', '?')} GiB memory, {machine.get('machine', '?')}, "
                f"{machine.get('platform', '?')}, "
                f"{machine.get('python_implementation', '?')}."
            )
        )
    libs = [
        [f"`{n}`", str(h.get("library", f.DASH)), str(h.get("library_version", f.DASH)), str(h.get("kind", f.DASH))]
        for n, h in report["hashers"].items()
    ]
    blocks.append(Table(["hasher", "library", "version", "kind"], libs, ["l", "l", "l", "l"]))
    config_lines = "\n".join(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in report["config"].items())
    blocks.append(Code(config_lines, summary="configuration (as recorded in report.json under `config`)"))
    tr = inputs.get("queries", {}).get("transforms", [])
    if tr:
        blocks.append(
            Code(
                "\n".join(
                    f"{t['name']}: {t.get('kind', '')} "
                    f"{json.dumps(t.get('params', {}), sort_keys=True, ensure_ascii=False)}"
                    for t in tr
                ),
                summary=f"the {len(tr)} transforms and their parameters",
            )
        )
    return blocks


def _gallery(gallery: Gallery | None) -> list[Block]:
    """The gallery's sections (none when the run made none: a report rendered without its files)."""
    if gallery is None or not gallery.sections:
        return []
    blocks: list[Block] = [
        Heading("Gallery"),
        Paragraph(
            "The images behind the figures, re-made from their recipes (files read from their paths) as small "
            "thumbnails in `thumbs/`; captions give each image's id and the pair's distance."
        ),
    ]
    for sec in gallery.sections:
        blocks += [
            Heading(sec.title, 3),
            Paragraph(sec.note, note=True),
            Thumbnails([(t.caption, t.thumbs, t.ids) for t in sec.tiles]),
        ]
    if gallery.notes:
        blocks.append(Bullets(gallery.notes, fold=f"{len(gallery.notes)} notes: images not shown"))
    return blocks


def build_document(report: Report, gallery: Gallery | None = None) -> list[Block]:
    """Every block of the report, in order; ``gallery``: the run's thumbnails (:mod:`.gallery`)."""
    from .population import population_blocks  # it builds blocks of this module

    return [
        *_intro(report),
        *_headline(report),
        *_by_group(report),
        *population_blocks(report),
        *_gallery(gallery),
        *_operational(report),
        *_operating_points(report),
        *_summaries(report),
        *_per_transform(report),
        *_composites(report),
        *_quality(report),
        *_failures(report),
        *_throughput(report),
        *_provenance(report),
    ]
