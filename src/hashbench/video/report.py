"""The video study's report: ``video_report.json`` (every figure) and ``report.md`` (the tables).

The video report has its own file name, so the image report readers (``hashbench report``,
``compare``) never meet a file of another shape. Every rate is printed as a count over trials
with its interval and the population it is about; "at most" appears only beside the one-sided
bound.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from ..report.format import interval, pct, small_rate

__all__ = ["write_video_report", "markdown", "summary_lines"]


def _upper(block: dict[str, Any]) -> float:
    return float(next(v for k, v in block.items() if k.startswith("upper_one_sided_")))


def _impostor_table(report: dict[str, Any]) -> list[str]:
    rows = [
        "| hasher | rule | false matches / pairs | 95% CI (video-level, two-sided) | at most (one-sided 95%) | "
        "among usable videos: false / pairs, at most (one-sided 95%) |",
        "|---|---|---|---|---|---|",
    ]
    for name, h in report["hashers"].items():
        for rname, r in h["rules"].items():
            imp = r["impostor"]
            lo, hi = imp["ci_image_level"]
            au = imp.get("among_usable")
            usable = "-" if not au else f"{au['false_matches']} / {au['pairs']}, {small_rate(_upper(au))}"
            rows.append(
                f"| {name} | {rname} | {imp['false_matches']} / {imp['pairs']} | {interval(lo, hi)} | "
                f"{small_rate(_upper(imp))} | {usable} |"
            )
    return rows


def _genuine_table(report: dict[str, Any], usable: bool) -> list[str]:
    cols = [(n, rn) for n, h in report["hashers"].items() for rn in h["rules"]]
    rows = ["| edit | " + " | ".join(f"{n} ({rn})" for n, rn in cols) + " |", "|---|" + "---|" * len(cols)]
    labels = next(iter(next(iter(report["hashers"].values()))["rules"].values()))["genuine"].keys() if cols else []
    for lab in labels:
        cells = []
        for n, rn in cols:
            g = report["hashers"][n]["rules"][rn]["genuine"][lab]
            g = g["usable"] if usable else g
            lo, hi = g["ci"]
            cells.append(f"{g['matched']}/{g['videos']} = {pct(g['tpr'])} {interval(lo, hi, pct)}")
        rows.append(f"| {lab} | " + " | ".join(cells) + " |")
    return rows


def _what(report: dict[str, Any]) -> str:
    """The sentence saying which videos were studied (synthetic recipe, or a folder of the user's)."""
    c, v = report["config"], report["config"]["videos"]
    if v.get("dataset") == "folder":
        skipped = len(report.get("skipped", []))
        return (
            f"{len(report['videos'])} videos of the folder `{v['path']}` ({' '.join(v['extensions'])}; "
            f"{skipped} other files passed over, listed in video_report.json), each edited by the "
            f"`{c['suite']}` video suite (seed {c['seed']}). The video is the sampling unit of every interval."
        )
    return (
        f"{c['count']} synthetic videos ({v['kind']}, {v['width']}x{v['height']}, {v['fps']} fps, "
        f"{v['seconds']} s, {v['codec']} quality {v['quality']}, seed {c['seed']}), each edited by the "
        f"`{c['suite']}` video suite. The video is the sampling unit of every interval."
    )


def markdown(report: dict[str, Any]) -> str:
    """report.md: what was measured, on what, and the two tables."""
    c = report["config"]
    lines = [
        f"# Video study `{c['name']}`",
        "",
        _what(report),
        "",
        "## False matches between distinct videos",
        "",
        "Every unordered pair of distinct reference videos is one trial; it is a false match when the rule "
        "matches in either direction. Pairs that share a video are not independent, so the interval is "
        "video-level.",
        "",
        *_impostor_table(report),
        "",
        "## Edited copies found (TPR per edit, exact two-sided 95% Clopper-Pearson over videos)",
        "",
        "Query: the edited copy; listed: its reference video. Among usable pairs: both videos have a "
        "frame of quality >= 50 (PDQ gives low-detail frames a low quality and the rules skip them).",
        "",
        *_genuine_table(report, usable=True),
        "",
        "Over every video (a video without a usable frame counts as not found; the generalized rate):",
        "",
        *_genuine_table(report, usable=False),
        "",
        "## Hashing speed",
        "",
        "| hasher | frames | seconds | frames/s (decode + convert + hash) |",
        "|---|---|---|---|",
    ]
    for name, h in report["hashers"].items():
        t = h["timing"]
        fps = "-" if t["frames_per_second"] is None else f"{t['frames_per_second']:.0f}"
        lines.append(f"| {name} | {t['frames']} | {t['seconds']:.1f} | {fps} |")
    gated = {
        name: next(iter(h["rules"].values()))["impostor"]["videos_without_usable_frames"]
        for name, h in report["hashers"].items()
    }
    lines += [
        "",
        "Reference videos without a usable frame: " + ", ".join(f"{n} {g}" for n, g in gated.items()) + ".",
        f"Failures: {len(report['failures'])} (every one in video_report.json, by id and reason).",
        "",
    ]
    return "\n".join(lines)


def summary_lines(report: dict[str, Any]) -> list[str]:
    """A few lines for the terminal: per hasher and rule, impostor count and the TPR range over edits."""
    out = []
    for name, h in report["hashers"].items():
        for rname, r in h["rules"].items():
            imp = r["impostor"]
            tprs = [g["tpr"] for g in r["genuine"].values() if g["tpr"] is not None]
            span = f"TPR {pct(min(tprs))}..{pct(max(tprs))} over edits" if tprs else "no edits"
            out.append(f"{name:13s} {rname:10s} false matches {imp['false_matches']}/{imp['pairs']} pairs; {span}")
    return out


def write_video_report(report: dict[str, Any], run_dir: str | Path) -> Path:
    """Write video_report.json and report.md into ``run_dir``; returns the JSON path."""
    d = Path(run_dir)
    d.mkdir(parents=True, exist_ok=True)
    path = d / "video_report.json"
    atomic_write_text(path, json.dumps(report, indent=1, default=_plain) + "\n")
    atomic_write_text(d / "report.md", markdown(report))
    return path


def _plain(x: Any) -> Any:
    if hasattr(x, "tolist"):
        return x.tolist()
    if hasattr(x, "item"):
        return x.item()
    raise TypeError(f"cannot write {type(x).__name__} to JSON")
