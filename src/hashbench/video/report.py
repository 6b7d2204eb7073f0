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

from ..atomic import atomic_write_bytes, atomic_write_text
from ..report.format import interval, pct, small_rate

__all__ = ["write_video_report", "markdown", "summary_lines", "plot_frame_distances"]


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
    lines += _frame_distance_lines(report)
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


def _within(block: dict[str, Any], radius: int) -> str:
    counts = block["counts"]
    return f"{sum(counts[: radius + 1])} / {block['frames']}"


def _frame_distance_lines(report: dict[str, Any]) -> list[str]:
    """The frame-level section of report.md: counts at or under 31 bits, and the plot."""
    fd = {n: h["frame_distances"] for n, h in report["hashers"].items() if "frame_distances" in h}
    if not fd:
        return []
    rows = [
        "",
        "## Frame-level distances",
        "",
        "Each frame of one video against the nearest frame of the other (frames as the hasher's first rule "
        "compares them: quality floor, unique codes). Frames of a video are alike, so these are distributions "
        "(counts of frames), not rates with intervals; the video-level rates above are the statistics.",
        "",
        "| hasher | frames as | impostor frames within 31 bits | genuine frames within 31 bits (all edits) |",
        "|---|---|---|---|",
    ]
    for name, d in fd.items():
        pooled = _pooled(d)
        rows.append(f"| {name} | {d['frames_as']['rule']} | {_within(d['impostor'], 31)} | {_within(pooled, 31)} |")
    rows += ["", "![frame-level distances](plots/frame_distances.png)", ""]
    return rows


def _pooled(d: dict[str, Any]) -> dict[str, Any]:
    """The genuine histograms of every edit added together."""
    counts = [sum(col) for col in zip(*(g["counts"] for g in d["genuine"].values()))] or [0] * (d["nbits"] + 1)
    return {"counts": counts, "frames": sum(counts)}


def plot_frame_distances(report: dict[str, Any]) -> bytes | None:
    """One panel per frame hasher: the share of frames at each nearest distance, genuine (every edit
    pooled) and impostor, on a log scale, with the rules' threshold (31). None when there is nothing to draw."""
    import numpy as np

    from ..report.plots import _GENUINE, _IMPOSTOR, _grid, _png

    fd = {n: h["frame_distances"] for n, h in report["hashers"].items() if "frame_distances" in h}
    if not fd:
        return None
    fig, axes = _grid(len(fd), ncols=2)
    for ax, (name, d) in zip(axes, fd.items()):
        edges = np.arange(d["nbits"] + 2) - 0.5
        kinds = (
            (_pooled(d), "genuine (edited copy vs its original)", _GENUINE),
            (d["impostor"], "impostor (distinct videos)", _IMPOSTOR),
        )
        most = max(1, *(int(b["frames"]) for b, _, _ in kinds))
        floor = 10.0 ** np.floor(np.log10(0.5 / most))  # under one frame's share: empty bins sit on it
        for block, label, colour in kinds:
            counts = np.asarray(block["counts"], dtype=float)
            if counts.sum():
                share = np.maximum(counts / counts.sum(), floor)
                ax.stairs(share, edges, baseline=floor, fill=True, color=colour, alpha=0.2, lw=0)
                ax.stairs(
                    share, edges, baseline=floor, color=colour, lw=1.1, label=f"{label}: {block['frames']} frames"
                )
        ax.set_ylim(floor, 1.5)
        ax.axvline(31.5, color="black", lw=0.8, ls="--", label="distance 31 (the rules' threshold)")
        ax.set_yscale("log")
        ax.set_xlim(-0.5, d["nbits"] + 0.5)
        ax.set_title(f"{name} (frames as {d['frames_as']['rule']})", fontsize=10)
        ax.set_xlabel("distance to the nearest frame of the other video (bits)")
        ax.set_ylabel("share of frames (log)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7.5, loc="upper right")
    return _png(fig)


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
    png = plot_frame_distances(report)
    if png is not None:
        (d / "plots").mkdir(exist_ok=True)
        atomic_write_bytes(d / "plots" / "frame_distances.png", png)
    return path


def _plain(x: Any) -> Any:
    if hasattr(x, "tolist"):
        return x.tolist()
    if hasattr(x, "item"):
        return x.item()
    raise TypeError(f"cannot write {type(x).__name__} to JSON")
