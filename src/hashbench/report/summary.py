"""The short table printed in the terminal at the end of ``hashbench run`` (and ``hashbench report``)."""

from __future__ import annotations

from ..schema import Report
from . import format as f

__all__ = ["summary_table"]


def _align(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    cells = [header, *rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def summary_table(report: Report) -> str:
    """One line per hasher at its named threshold: TPR, per-pair false matches k/n with the upper
    bound of the per-pair FPR, measured per-query FPR, and hashing speed per core.

    Every rate says which rate it is in its column name, and the lines under the table say what
    the bound and the per-query figure mean, so the table can be pasted on its own.
    """
    conf = f"{100 * (1 - float(report['config'].get('alpha', 0.05))):.0f}%"
    hashing = report.get("timing", {}).get("hashing", {})
    rows = []
    list_sizes = set()
    for name, h in report["hashers"].items():
        at = h["at_threshold"]
        tpr, fpr, pq = at.get("tpr") or {}, at.get("fpr_per_pair") or {}, at.get("fpr_per_query_measured")
        rec = hashing.get(name)
        speed = rec.get("images_per_second_per_core") if rec else None
        shared = rec.get("shared_with") if rec else None
        if pq:
            list_sizes.add(pq["list_size"])
        rows.append(
            [
                name,
                f"<= {at['threshold']}",
                f"{f.pct(tpr.get('rate'))} {f.interval(tpr.get('ci_low'), tpr.get('ci_high'), f.pct)}",
                f.k_of_n(fpr.get("count"), fpr.get("n")),
                f.small_rate(fpr.get("ci_high")),
                f"{f.k_of_n(pq['count'], pq['n'])} ({f.small_rate(pq['rate'])})" if pq else "not measured",
                f"{speed:,.0f}" if speed else (f"with {shared}" if shared else f.DASH),
            ]
        )
    header = [
        "hasher",
        "threshold",
        f"TPR [{conf} CI]",
        "false matches / pairs",
        "per-pair FPR <=",
        "per-query FPR, measured",
        "images/s/core",
    ]
    lists = ", ".join(f.count(x) for x in sorted(list_sizes))
    notes = [f"per-pair FPR <=: upper end of the {conf} interval of (false matches / pairs of distinct images)."]
    if lists:
        notes.append(
            f"per-query FPR, measured: distractors that matched any of the {lists} reference hashes "
            "(queries matched / queries). Projections to longer lists are in report.md."
        )
    else:
        notes.append(
            "per-query FPR: not measured (this run has no distractors); projections to lists of "
            "L hashes are in report.md."
        )
    notes.append("images/s/core: images hashed per CPU-second of the hasher alone (not wall time).")
    return _align(header, rows, right={2, 3, 4, 5, 6}) + "\n\n" + "\n".join(notes)
