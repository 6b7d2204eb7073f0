"""The short table printed in the terminal at the end of ``hashbench run`` (and ``hashbench report``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..schema import Report
from . import format as f
from .metrics import PairRate, alpha_of, failed_hashes, failed_images, measured_per_query, pair_rate

__all__ = ["summary_table"]


def _align(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    cells = [header, *rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def _bound(p: PairRate | None) -> str:
    """The one-sided bound as a rate, marked ``(pair)`` when no image-level one exists."""
    if p is None or p.upper_one_sided is None:
        return f.DASH
    return f.small_rate(p.upper_one_sided) + ("" if p.upper_is_image_level else " (pair)")


def _per_query(at: Mapping[str, Any]) -> tuple[str, int | None]:
    """The measured per-query cell and the list size it was measured against."""
    pq = measured_per_query(at)
    if not pq:
        return "not measured", None
    loo = " loo" if pq.get("queries") == "leave-one-out" else ""
    return f"{f.k_of_n(pq['count'], pq['n'])} ({f.small_rate(pq['rate'])}){loo}", pq["list_size"]


def summary_table(report: Report) -> str:
    """One line per hasher at its named threshold: TPR, per-pair false matches k/n with the
    image-level interval first, the one-sided bound, the pair-level interval, the measured
    per-query FPR, and hashing speed per core.

    Every rate says which rate it is in its column name, and the lines under the table say what
    the bound, the intervals and the per-query figure mean, so the table can be pasted on its own.
    """
    alpha = alpha_of(report)
    conf = f"{100 * (1 - alpha):.0f}%"
    hashing = report.get("timing", {}).get("hashing", {})
    rows = []
    list_sizes: set[int] = set()
    loo = False
    for name, h in report["hashers"].items():
        at = h["at_threshold"]
        tpr, fpr = at.get("tpr") or {}, at.get("fpr_per_pair") or {}
        p = pair_rate(fpr, at, alpha)
        rec = hashing.get(name)
        speed = rec.get("images_per_second_per_core") if rec else None
        shared = rec.get("shared_with") if rec else None
        pq_cell, list_size = _per_query(at)
        if list_size is not None:
            list_sizes.add(list_size)
        loo = loo or pq_cell.endswith(" loo")
        rows.append(
            [
                name,
                f"<= {at['threshold']}",
                f"{f.pct(tpr.get('rate'))} {f.interval(tpr.get('ci_low'), tpr.get('ci_high'), f.pct)}",
                f.k_of_n(fpr.get("count"), fpr.get("n")),
                f.interval(*p.image_level) if p and p.image_level else f.DASH,
                _bound(p),
                f.interval(fpr.get("ci_low"), fpr.get("ci_high")),
                pq_cell,
                f"{speed:,.0f}" if speed else (f"with {shared}" if shared else f.DASH),
            ]
        )
    header = [
        "hasher",
        "threshold",
        f"TPR [{conf} CI]",
        "false matches / pairs",
        f"image-level {conf} CI",
        "per-pair FPR <=",
        f"pair-level {conf} CI",
        "per-query FPR, measured",
        "images/s/core",
    ]
    return _align(header, rows, right={2, 3, 4, 5, 6, 7, 8}) + "\n\n" + "\n".join(_notes(report, conf, list_sizes, loo))


def _notes(report: Report, conf: str, list_sizes: set[int], loo: bool) -> list[str]:
    """What each column means, and what failed and is outside the denominators."""
    notes = [
        f"intervals: two-sided {conf} Clopper-Pearson. image-level (first): the image as the sampling unit, since "
        "pairs that share an image are not independent; pair-level: as if they were (too narrow when matches "
        "cluster).",
        f"per-pair FPR <=: one-sided {conf} upper bound of (false matches / pairs of distinct images), image-level; "
        "'(pair)': pair-level, no image-level figures. 'at most 1 in X' in the reports is this bound.",
    ]
    lists = ", ".join(f.count(x) for x in sorted(list_sizes))
    if lists:
        who = "queries (distractors; 'loo': each reference vs the other n - 1)" if loo else "distractors"
        notes.append(
            f"per-query FPR, measured: {who} that matched any of the {lists} listed hashes "
            "(queries matched / queries). The model's value at the same list size and projections to longer "
            "lists are in report.md."
        )
    else:
        notes.append("per-query FPR: not measured; projections to lists of L hashes are in report.md.")
    notes.append("images/s/core: images hashed per CPU-second of the hasher alone (not wall time).")
    failed = failed_images(report)
    hashes = failed_hashes(report)
    if failed or hashes:
        images = ", ".join(f"{n:,} of the {s}" for s, n in failed.items()) or "none"
        notes.append(
            f"failed: images {images}; hashes {hashes:,}. They are outside every denominator above "
            "(failures.csv lists them)."
        )
    return notes
