"""The report's "Impostor population" section: who the impostor images are, how they were made
distinct, and how the pooled false-positive rate depends on the mix of families.

Read from report.json only (``inputs["population"]`` and each hasher's ``population``), like every
other section; :mod:`hashbench.evaluate.population` computes the figures.
"""

from __future__ import annotations

from typing import Any

from ..schema import FamilyRate, Report
from . import format as f
from .document import Block, Heading, Paragraph, Table
from .metrics import alpha_of

__all__ = ["population_blocks"]


def _conf(report: Report) -> str:
    return f"{100 * (1 - alpha_of(report)):g}%"


def _families(report: Report) -> list[Block]:
    pop = report["inputs"].get("population")
    if pop is None:
        return []
    rows = []
    sets: list[tuple[str, dict[str, Any]]] = [
        ("references", dict(pop["references"])),
        ("distractors", dict(pop["distractors"])),
    ]
    total = sum(e["images"] for _, t in sets for e in t.values())
    for name, table in sets:
        for fam, e in sorted(table.items()):
            low = e.get("low_quality")
            rows.append(
                [
                    name,
                    fam,
                    f.count(e["images"]),
                    f.pct(e["images"] / total if total else None),
                    f.count(e["redrawn"]),
                    f.count(e["redraws"]),
                    f.DASH if low is None else f"{f.count(low)} ({f.pct(low / e['images'] if e['images'] else None)})",
                ]
            )
    how = (
        f"Synthetic draws are distinct: {pop['criterion']}; a draw that is the same picture as an earlier one "
        "is drawn again (a recorded redraw step), so no pair below counts a perceptual duplicate as a false match."
        if pop["distinct"]
        else "Synthetic draws were **not** made distinct (distinct = false): two draws may be the same picture."
    )
    return [
        Heading("Impostor population"),
        Paragraph(
            how + " The family weights (share of images) are a choice of the run, and the pooled rate depends on "
            "them: the tables after this one show each family's own rate and the pooled rate under other mixes."
        ),
        Table(
            ["set", "family", "images", "share", "redrawn", "redraws", "PDQ quality below the floor"],
            rows,
            align=["l", "l", "r", "r", "r", "r", "r"],
        ),
    ]


def _cell(r: FamilyRate | None) -> list[str]:
    if r is None:
        return [f.DASH] * 4
    ci = r.get("ci_image_level")
    return [
        f.k_of_n(r["count"], r["n"]),
        f.small_rate(r["rate"]),
        f.DASH if ci is None else f.interval(ci[0], ci[1]),
        f.small_rate(r.get("upper_one_sided")),
    ]


def _hasher_table(report: Report, name: str) -> list[Block]:
    pop = report["hashers"][name].get("population")
    if pop is None:
        return []
    t = report["hashers"][name]["threshold"]
    if not pop["complete"]:
        return [
            Paragraph(
                f"`{name}` ≤ {t}: no per-family breakdown: more false matches than listed (max_listed), and this "
                "report has no per-image counts by family (written before they were counted)."
            )
        ]
    rows = [[f"within {g}", *_cell(r)] for g, r in pop["by_group"].items()]
    rows.append(["all pairs (as measured)", *_cell(pop.get("pooled"))])
    for g, r in pop["without"].items():
        rows.append([f"without {g}", *_cell(r)])
    eq = pop.get("equal_weights_rate")
    if pop["without"]:
        rows.append(["all pairs, equal family weights", f.DASH, f.small_rate(eq), f.DASH, f.DASH])
    conf = _conf(report)
    return [
        Heading(f"`{name}` ≤ {t}: false matches by family", 3),
        Table(
            ["pairs", "false matches", "per-pair FPR", f"{conf} image-level CI (two-sided)", f"≤ (one-sided {conf})"],
            rows,
        ),
    ]


def _no_false_match(report: Report, name: str) -> bool:
    pop = report["hashers"][name].get("population")
    return pop is not None and pop["complete"] and pop.get("pooled", {}).get("count", 1) == 0


def population_blocks(report: Report) -> list[Block]:
    """The section: the families and redraws, then per hasher the per-family rates (image-level
    intervals), without each family, and under equal weights."""
    blocks = _families(report)
    quiet = [n for n in report["hashers"] if _no_false_match(report, n)]
    tables = [b for name in report["hashers"] if name not in quiet for b in _hasher_table(report, name)]
    if quiet:
        tables.append(
            Paragraph(
                ", ".join(f"`{n}` ≤ {report['hashers'][n]['threshold']}" for n in quiet)
                + ": no false match in any family (the upper bounds of each family and of the pooled rate are in "
                "report.json, `hashers.<hasher>.population`)."
            )
        )
    if not blocks and not tables:
        return []
    if tables:
        blocks.append(
            Paragraph(
                "Each row is a rate over all pairs of the images it names (within one family, all, or all but one "
                "family): false matches of k pairs, the two-sided image-level interval (the image is the sampling "
                "unit: one flat image can match many) and the one-sided upper bound. Equal family weights re-weight "
                "the measured rates of each pair of families as if every family had as many images (a point "
                "estimate). Dihedral matchers count unordered pairs here (a pair matches when either direction does).",
                note=True,
            )
        )
    return blocks + tables
