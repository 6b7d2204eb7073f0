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
from dataclasses import dataclass, field
from typing import Literal

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
from .metrics import GroupRate, failure_rows, group_fpr_at, group_names, has_gate, tpr_at, transform_names
from .plots import PLOTS

__all__ = ["Heading", "Paragraph", "Bullets", "Table", "Figure", "Code", "Block", "build_document", "slug"]


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


Block = Heading | Paragraph | Bullets | Table | Figure | Code


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


def _at_most(d: _Counted | None) -> str:
    if not d or d.get("ci_high") is None:
        return f.DASH
    return f.one_in(d["ci_high"])


def _gate_names(report: Report) -> list[str]:
    return [n for n, h in report["hashers"].items() if has_gate(h)]


def _conf(report: Report) -> str:
    return f"{100 * (1 - float(report['config'].get('alpha', 0.05))):.0f}%"


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
    dihedral = [n for n, h in report["hashers"].items() if h["matching"] == "dihedral"]
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
        f"Hashers: {', '.join(f'`{n}`' for n in names)}."
    )
    blocks: list[Block] = [Heading(f"hashbench report: {report['run_id']}", 1), Paragraph(text)]
    conf = _conf(report)
    bullets = [
        "A pair of images **matches** at threshold t when the Hamming distance between their hashes is at most t. "
        "Each hasher is shown at its **named threshold** (configured per hasher).",
        "**TPR** (true-positive rate): the share of edited copies whose hash matches the hash of their own original.",
        "**Per-pair FPR**: the share of pairs of distinct images (references and distractors) that match. "
        'It is printed with its count, "k of n pairs".',
        "**Per-query FPR, measured**: the share of distractor images that match at least one of the reference hashes, "
        "found by querying an index of the references. No assumption is needed, but the list is only as long as "
        "this run's references.",
        "**Per-query FPR, projected**: 1 − (1 − p)^L from the per-pair rate p, for lists of L hashes far longer than "
        "any measured here. It assumes independent comparisons, which real images are not.",
        f"Intervals are exact {conf} Clopper-Pearson intervals. When no false match was seen the rate is 0 and the "
        "upper end of the interval is the most the data can rule out (about 3.7 / n).",
    ]
    if dihedral:
        bullets.append(
            f"{', '.join(f'`{n}`' for n in dihedral)} match{'es' if len(dihedral) == 1 else ''} on the closest of 8 "
            f"rotations and flips of the query; {'its' if len(dihedral) == 1 else 'their'} impostor trials are "
            "still the n(n − 1)/2 unordered pairs, and a pair matches if either image, queried, matches the other."
        )
    blocks += [Heading("How to read this report"), Bullets(bullets)]
    return blocks


def _headline(report: Report) -> list[Block]:
    rows = []
    for name, h in report["hashers"].items():
        at = h["at_threshold"]
        pq = at.get("fpr_per_query_measured")
        rows.append(
            [
                f"`{name}`",
                f"≤ {at['threshold']}",
                _tpr(at.get("tpr")),
                _kn(at.get("tpr")),
                _fpr(at.get("fpr_per_pair")),
                _kn(at.get("fpr_per_pair")),
                _at_most(at.get("fpr_per_pair")),
                _fpr(pq) if pq else "not measured",
                f"{f.k_of_n(pq['count'], pq['n'])}\nvs {f.count(pq['list_size'])} listed" if pq else f.DASH,
            ]
        )
    conf = _conf(report)
    blocks: list[Block] = [
        Heading("Results at the named thresholds"),
        Table(
            [
                "hasher",
                "threshold",
                f"TPR [{conf} CI]",
                "edited copies found",
                f"per-pair FPR [{conf} CI]",
                "false matches / pairs",
                "per-pair FPR at most",
                f"per-query FPR, measured [{conf} CI]",
                "distractors matched / list",
            ],
            rows,
        ),
    ]
    gated = _gate_names(report)
    if gated:
        blocks.append(
            Paragraph(
                f"Figures above are without the quality gate; {', '.join(f'`{n}`' for n in gated)} "
                "with the gate are under *Quality gate*.",
                note=True,
            )
        )
    # projected per-query rates
    sizes: list[float] = []
    for h in report["hashers"].values():
        for p in h["at_threshold"].get("fpr_per_query_projected", []):
            if p["list_size"] not in sizes:
                sizes.append(p["list_size"])
    if sizes:
        prow = []
        for name, h in report["hashers"].items():
            by_size = {p["list_size"]: p for p in h["at_threshold"].get("fpr_per_query_projected", [])}
            cells = [_fpr(by_size[s]) if s in by_size else f.DASH for s in sizes]
            prow.append([f"`{name}`", f"≤ {h['threshold']}", *cells])
        blocks += [
            Heading("Per-query FPR projected to longer lists", 3),
            Paragraph(
                "The chance that one innocent image matches *anything* in a list of L hashes, projected from the "
                "per-pair rate as 1 − (1 − p)^L with each end of its interval projected the same way. These are "
                "projections, not measurements: compare them with the measured per-query column above, and "
                'read an upper end of 1 as "this run has too few pairs to say".'
            ),
            Table(["hasher", "threshold", *[f"L = {f.big(s)} [{conf} CI]" for s in sizes]], prow),
        ]
    blocks.append(Figure("fpr_vs_threshold.png", PLOTS["fpr_vs_threshold.png"][1]))
    return blocks


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
            "as `volume_per_year` and `list_size`)."
        ),
        Table(["hasher", "threshold", "chance one innocent image is flagged", "innocent images flagged a year"], rows),
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
            return []
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
    ]


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


def _summaries(report: Report) -> list[Block]:
    rows = []
    for name, h in report["hashers"].items():
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
    blocks: list[Block] = [
        Heading("Threshold-free summaries"),
        Paragraph(
            "The **equal error rate** is where the per-pair FPR equals the miss rate (1 − TPR), interpolated "
            "between whole distances. **Micro-average precision** and **recall at 90% precision** follow the "
            "Image Similarity Challenge: every genuine and impostor pair is one prediction ranked by distance. "
            "Both depend on how many impostor pairs there are per genuine pair, so compare them only between "
            "hashers of the same run."
        ),
        Table(["hasher", "equal error rate", "ISC micro-average precision", "recall at 90% precision"], rows),
        Figure("distances.png", PLOTS["distances.png"][1]),
        Figure("roc.png", PLOTS["roc.png"][1]),
        Figure("det.png", PLOTS["det.png"][1]),
    ]
    if not _has_genuine(report):
        return [
            blocks[0],
            Paragraph(
                "This run has no edited copies (genuine pairs), so there are no ROC or DET curves, equal "
                "error rates or precision figures; the impostor distances are below."
            ),
            Figure("distances.png", PLOTS["distances.png"][1]),
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
        Figure("tpr_heatmap.png", PLOTS["tpr_heatmap.png"][1]),
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
        rows.append(
            [
                f"`{name}`",
                rule,
                parts,
                _tpr(c.get("tpr")),
                _kn(c.get("tpr")),
                _fpr(c.get("fpr_per_pair")),
                _kn(c.get("fpr_per_pair")),
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
                f"TPR [{conf} CI]",
                "edited copies found",
                f"per-pair FPR [{conf} CI]",
                "false matches / pairs",
                "pairs",
            ],
            rows,
            ["l", "l", "l", "r", "r", "r", "r", "l"],
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
                f"{_kn(at.get('fpr_per_pair_gated'))}",
            ]
        )
    conf = _conf(report)
    return [
        Heading("Quality gate"),
        Paragraph(
            "PDQ reports a quality score for each hash; hashes below the floor are not matched (ThreatExchange "
            "recommends a floor of 50). A genuine pair with a gated image counts as a miss and an impostor pair "
            "with a gated image as a non-match, so the rates with the gate keep the same denominators."
        ),
        Table(
            [
                "hasher",
                "floor",
                "gated references",
                "gated edited copies",
                "gated genuine pairs",
                "gated images (impostor set)",
                f"TPR without gate [{conf} CI]",
                f"TPR with gate [{conf} CI]",
                "false matches without gate",
                "false matches with gate",
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
            f"**{len(rows)} failures** ({stages}). Failed items are left out of every rate. "
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
        Figure("throughput.png", PLOTS["throughput.png"][1]),
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


def build_document(report: Report) -> list[Block]:
    """Every block of the report, in order."""
    return [
        *_intro(report),
        *_headline(report),
        *_by_group(report),
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
