"""The report's figures, drawn from a report dict with matplotlib's Agg backend.

Each ``plot_*`` function returns PNG bytes, so the same bytes go into ``plots/*.png`` and into
report.html (base64). Figures are built on :class:`matplotlib.figure.Figure` directly, never
through pyplot: no global state, no display needed, and nothing left open after a report.
The PNGs carry no date or version metadata, so re-rendering the same report gives the same bytes.

Rates come from :mod:`hashbench.report.metrics` and curves from :mod:`hashbench.evaluate`
(``roc_curve``, ``det_curve``), never from the images. An exact hasher (MD5, SHA-256: report.json
``exact``) has one operating point, distance 0, and no curve: its panels say "exact match only"
and give its counts at distance 0, and the ROC shows it as that one point.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..evaluate.operating import det_curve, roc_curve
from ..evaluate.rates import RateCurve
from ..schema import HasherEvaluation, HasherResult, Report
from . import format as f
from .metrics import fpr_curve_of, genuine_histogram, tpr_at, transform_names

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "PLOTS",
    "render_plots",
    "plot_distances",
    "plot_roc",
    "plot_det",
    "plot_tpr_heatmap",
    "plot_fpr_vs_threshold",
    "plot_throughput",
]

_DPI = 100
_COLOURS = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
]
_GENUINE = "#2c7fb8"
_IMPOSTOR = "#d95f0e"


def _colour(report: Report, hasher: str) -> str:
    return _COLOURS[list(report["hashers"]).index(hasher) % len(_COLOURS)]


def _figure(**kwargs: Any) -> Figure:
    """A new figure. matplotlib is imported here, when a plot is drawn, not when the module is:
    `import hashbench.report` (reading, comparing, summarising reports) then costs no matplotlib."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _png(fig: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    return buf.getvalue()


def _grid(n: int, *, ncols: int = 3, panel: tuple[float, float] = (4.2, 3.0)) -> tuple[Figure, list[Any]]:
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig = _figure(figsize=(panel[0] * ncols, panel[1] * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _distances(hist: np.ndarray) -> np.ndarray:
    """One distance per pair, from a histogram (the form ``roc_curve``/``det_curve`` take)."""
    return np.repeat(np.arange(hist.size, dtype=np.int64), hist)


def _usable(h: HasherEvaluation) -> bool:
    return int(np.sum(h["impostor"]["histogram"])) > 0 and int(genuine_histogram(h).sum()) > 0


#: What every figure says of an exact hasher in place of a curve.
EXACT_MATCH_ONLY = "exact match only"


def _exact(h: HasherResult) -> bool:
    return bool(h.get("exact"))


def _exact_panel(ax: Any, title: str, lines: list[str]) -> None:
    """A panel that says, in words, what an exact hasher measured: no axes to read a curve from."""
    ax.set_title(f"{title}, {EXACT_MATCH_ONLY}", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, "\n".join(lines), transform=ax.transAxes, ha="center", va="center", fontsize=9, wrap=True)


def _exact_counts(h: HasherResult) -> list[str]:
    """Identical genuine and impostor pairs: the only distance an exact hasher is read at."""
    gen = genuine_histogram(h)
    imp = np.asarray(h["impostor"]["histogram"], dtype=np.int64)
    return [
        "only identical hashes match (distance 0)",
        f"edited copies identical: {f.k_of_n(int(gen[0]), int(gen.sum()))}",
        f"impostor pairs identical: {f.k_of_n(int(imp[0]), int(imp.sum()))}",
    ]


def plot_distances(report: Report) -> bytes:
    """Genuine vs impostor distance distributions per hasher, as shares of pairs on a log axis."""
    names = list(report["hashers"])
    fig, axes = _grid(len(names))
    for ax, name in zip(axes, names):
        h = report["hashers"][name]
        nbits = int(h["nbits"])
        if _exact(h):
            _exact_panel(ax, f"{name} ({nbits} bits)", _exact_counts(h))
            continue
        edges = np.arange(nbits + 2) - 0.5
        shares = []
        for hist in (genuine_histogram(h), np.asarray(h["impostor"]["histogram"])):
            total = hist.sum()
            shares.append(hist / total if total else None)
        positive = [s[s > 0].min() for s in shares if s is not None and (s > 0).any()]
        floor = min(positive) / 3 if positive else 1e-6
        for share, label, colour in zip(
            shares, ("genuine (edited copy vs its original)", "impostor (distinct images)"), (_GENUINE, _IMPOSTOR)
        ):
            if share is None:
                continue
            # distances never seen sit on the floor of the log axis instead of breaking the line
            ax.stairs(np.maximum(share, floor), edges, baseline=floor, fill=True, color=colour, alpha=0.2, lw=0)
            ax.stairs(np.maximum(share, floor), edges, baseline=floor, color=colour, lw=1.1, label=label)
        top = max((float(s.max()) for s in shares if s is not None), default=1.0)
        ax.set_ylim(floor, min(1.0, top) * 1.6)
        ax.axvline(h["threshold"], color="black", ls="--", lw=1)
        ax.text(h["threshold"], 1.0, f" t={h['threshold']}", transform=ax.get_xaxis_transform(), va="top", fontsize=8)
        ax.set_yscale("log")
        ax.set_xlim(0, nbits)
        ax.set_title(f"{name} ({nbits} bits, {h['matching']})", fontsize=10)
        ax.set_xlabel("Hamming distance")
        ax.set_ylabel("share of pairs (log)")
        ax.grid(alpha=0.3)
    handles, labels = _legend_entries(axes)
    fig.legend(handles, labels, loc="outside upper center", ncols=2, frameon=False)
    return _png(fig)


def _legend_entries(axes: list[Any]) -> tuple[list[Any], list[str]]:
    """Every labelled line of the panels, once each (a panel may draw only some, or none)."""
    handles: list[Any] = []
    labels: list[str] = []
    for ax in axes:
        for hd, lb in zip(*ax.get_legend_handles_labels()):
            if lb not in labels:
                handles.append(hd)
                labels.append(lb)
    return handles, labels


def plot_fpr_vs_threshold(report: Report) -> bytes:
    """Per-pair FPR at every threshold with its 95% band; zero counts drawn as upper bounds."""
    names = list(report["hashers"])
    fig, axes = _grid(len(names))
    conf = 100 * (1 - float(report["config"].get("alpha", 0.05)))
    for ax, name in zip(axes, names):
        h = report["hashers"][name]
        c = fpr_curve_of(report, name)
        colour = _colour(report, name)
        if _exact(h):
            _exact_panel(ax, name, [*_exact_counts(h)[:1], _exact_fpr(c, conf)])
            continue
        ax.set_title(f"{name} ({c.n:,} pairs)", fontsize=10)
        if c.n:
            t = c.thresholds
            seen = c.count > 0
            ax.fill_between(
                t,
                np.where(seen, c.ci_low, np.nan),
                np.where(seen, c.ci_high, np.nan),
                color=colour,
                alpha=0.25,
                lw=0,
                label=f"two-sided {conf:.0f}% interval (pair-level)",
            )
            ax.plot(t[seen], c.rate[seen], color=colour, lw=1.4, label="per-pair FPR")
            zero = np.flatnonzero(~seen)
            if zero.size:
                every = max(1, zero.size // 30)
                ax.plot(
                    t[zero][::every],
                    c.ci_high[zero][::every],
                    ls="none",
                    marker="v",
                    ms=4,
                    color=colour,
                    mfc="white",
                    label="two-sided interval's upper end (0 seen)",
                )
        ax.axvline(h["threshold"], color="black", ls="--", lw=1)
        ax.text(h["threshold"], 1.0, f" t={h['threshold']}", transform=ax.get_xaxis_transform(), va="top", fontsize=8)
        ax.set_yscale("log")
        ax.set_xlim(0, int(h["nbits"]))
        ax.set_xlabel("threshold (match if distance ≤ t)")
        ax.set_ylabel("per-pair FPR (log)")
        ax.grid(alpha=0.3, which="both", lw=0.5)
    handles, labels = _legend_entries(axes)  # the first panel may show no zero-count markers
    fig.legend(handles, labels, loc="outside upper center", ncols=3, frameon=False)
    return _png(fig)


def _exact_fpr(c: RateCurve, conf: float) -> str:
    """An exact hasher's one per-pair FPR, at distance 0, with its two-sided interval."""
    if not c.n:
        return "no impostor pairs"
    ends = f.interval(float(c.ci_low[0]), float(c.ci_high[0]))
    return (
        f"per-pair FPR at distance 0: {f.small_rate(float(c.rate[0]))} ({f.k_of_n(int(c.count[0]), c.n)})\n"
        f"{conf:.0f}% two-sided interval {ends}"
    )


def _empty(message: str, size: tuple[float, float] = (8.5, 2.0)) -> bytes:
    """A small figure that says why there is nothing to draw (keeps plots/ complete)."""
    fig = _figure(figsize=size)
    fig.text(0.5, 0.5, message, ha="center", va="center", fontsize=11, color="#555555")
    return _png(fig)


_NO_GENUINE = "No edited copies in this run (a false-positive-only study): nothing to draw."


def plot_roc(report: Report) -> bytes:
    """ROC per hasher: TPR against per-pair FPR (log axis), with the named threshold marked."""
    if not any(_usable(h) for h in report["hashers"].values()):
        return _empty(_NO_GENUINE)
    fig = _figure(figsize=(8.5, 5.5), layout="constrained")
    ax = fig.subplots()
    lowest = 1.0
    for name, h in report["hashers"].items():
        if not _usable(h):
            continue
        colour = _colour(report, name)
        if _exact(h):  # one operating point, no curve: only its marker, labelled as such
            ax.plot([], [], marker="s", ls="none", color=colour, mec="black", label=f"{name} ({EXACT_MATCH_ONLY})")
        else:
            curve = roc_curve(_distances(genuine_histogram(h)), np.asarray(h["impostor"]["histogram"], dtype=np.int64))
            pos = curve.fpr > 0
            ax.plot(curve.fpr[pos], curve.y[pos], color=colour, lw=1.5, label=name, drawstyle="steps-post")
            if pos.any():
                lowest = min(lowest, float(curve.fpr[pos].min()))
        fpr = h["at_threshold"]["fpr_per_pair"]
        fpr_rate, fpr_high = fpr.get("rate"), fpr.get("ci_high")
        # a usable hasher has genuine pairs, so its TPR has a rate: the None check only tells mypy
        tpr_rate = h["at_threshold"]["tpr"].get("rate")
        shape = "s" if _exact(h) else "o"
        if fpr_rate and tpr_rate is not None:
            ax.plot(fpr_rate, tpr_rate, marker=shape, color=colour, ms=7, mec="black")
        elif fpr_high and tpr_rate is not None:
            # no false match at the named threshold: show where the rate is known to be below
            ax.plot(fpr_high, tpr_rate, marker="<", color=colour, ms=8, mec="black")
        for x in (fpr_rate, fpr_high):  # the marker too: an exact hasher has no curve to span it
            if x:
                lowest = min(lowest, float(x))
    ax.set_xscale("log")
    ax.set_xlim(max(lowest / 2, 1e-15), 1.0)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("per-pair false-positive rate (log)")
    ax.set_ylabel("true-positive rate (edited copies found)")
    ax.set_title(
        "ROC: ● named threshold, ◀ two-sided 95% upper end where no false match was seen, ■ exact hasher (one point)",
        fontsize=10,
    )
    ax.grid(alpha=0.3, which="both", lw=0.5)
    ax.legend(loc="best", fontsize=9)
    return _png(fig)


_PROBIT_TICKS = [1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99, 0.999]


def _tick_label(p: float) -> str:
    if p >= 0.01:
        return f"{100 * p:g}%"
    return f"{p:.0e}".replace("e-0", "e-")


def plot_det(report: Report) -> bytes:
    """DET per hasher: miss rate against per-pair FPR, both on probit (normal deviate) axes."""
    from scipy.stats import norm

    if not any(_usable(h) for h in report["hashers"].values()):
        return _empty(_NO_GENUINE)
    fig = _figure(figsize=(8.5, 6.0), layout="constrained")
    ax = fig.subplots()
    lo_x, lo_y = 0.5, 0.5
    exact = [name for name, h in report["hashers"].items() if _exact(h)]
    for name, h in report["hashers"].items():
        if not _usable(h) or _exact(h):
            continue
        curve = det_curve(_distances(genuine_histogram(h)), np.asarray(h["impostor"]["histogram"], dtype=np.int64))
        keep = (curve.fpr > 0) & (curve.fpr < 1) & (curve.y > 0) & (curve.y < 1)
        if not keep.any():
            continue
        ax.plot(
            norm.ppf(curve.fpr[keep]),
            norm.ppf(curve.y[keep]),
            color=_colour(report, name),
            lw=1.5,
            label=name,
            marker=".",
            ms=3,
        )
        lo_x = min(lo_x, float(curve.fpr[keep].min()))
        lo_y = min(lo_y, float(curve.y[keep].min()))
    xt = [p for p in _PROBIT_TICKS if lo_x / 3 <= p <= 0.999]
    yt = [p for p in _PROBIT_TICKS if lo_y / 3 <= p <= 0.999]
    ax.set_xticks(norm.ppf(xt), [_tick_label(p) for p in xt])
    ax.set_yticks(norm.ppf(yt), [_tick_label(p) for p in yt])
    ax.set_xlim(norm.ppf(max(lo_x / 3, 1e-12)), norm.ppf(0.999))
    ax.set_ylim(norm.ppf(max(lo_y / 3, 1e-12)), norm.ppf(0.999))
    ax.set_xlabel("per-pair false-positive rate (probit scale)")
    ax.set_ylabel("miss rate = 1 − TPR (probit scale)")
    ax.set_title("DET: lower left is better; rates of exactly 0 or 1 cannot be drawn on probit axes", fontsize=10)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right", fontsize=9)
    if exact:
        fig.text(0.01, 0.005, f"{', '.join(exact)}: {EXACT_MATCH_ONLY}, no curve", fontsize=8, color="#555555")
    return _png(fig)


def plot_tpr_heatmap(report: Report) -> bytes:
    """TPR per (transform, hasher) at each hasher's named threshold."""
    names = list(report["hashers"])
    transforms = transform_names(report)
    if not transforms:
        return _empty(_NO_GENUINE)
    values = np.full((len(transforms), len(names)), np.nan)
    for j, name in enumerate(names):
        for i, t in enumerate(transforms):
            if t in report["hashers"][name]["transforms"]:
                r = tpr_at(report, name, int(report["hashers"][name]["threshold"]), t)["rate"]
                values[i, j] = np.nan if r is None else r
    fig = _figure(figsize=(1.0 * len(names) + 3.2, max(0.27 * len(transforms) + 1.6, 3.0)), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(values, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(len(names)), [f"{n}\n{_threshold_label(report['hashers'][n])}" for n in names], fontsize=9)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(transforms)), transforms, fontsize=8)
    for i in range(len(transforms)):
        for j in range(len(names)):
            v = values[i, j]
            if np.isfinite(v):
                ax.text(
                    j,
                    i,
                    f"{100 * v:.0f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="black" if 0.25 < v < 0.85 else "white",
                )
    fig.colorbar(
        im, ax=ax, shrink=0.6, label="share of edited copies found (TPR)", format=lambda x, _: f"{100 * x:.0f}%"
    )
    return _png(fig)


def _threshold_label(h: HasherResult) -> str:
    return "exact match" if _exact(h) else f"t≤{h['threshold']}"


def plot_throughput(report: Report) -> bytes:
    """Hashing speed per core per hasher (with image making as a baseline) and index query speed."""
    timing = report.get("timing", {})
    hashing = timing.get("hashing", {})
    index = timing.get("index", {})
    fig = _figure(figsize=(11, 0.45 * max(len(report["hashers"]), 3) + 1.6), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    labels, rates, colours, notes = [], [], [], []
    make = timing.get("make_images_per_second_per_core")
    if make:
        labels.append("make images\n(decode/edit)")
        rates.append(make)
        colours.append("white")  # a baseline, not a hasher: drawn hollow and hatched below
        notes.append(f" {make:,.0f}")
    for name in report["hashers"]:
        rec = hashing.get(name)
        labels.append(name)
        rate = rec.get("images_per_second_per_core") if rec else None
        shared = rec.get("shared_with") if rec else None
        rates.append(rate or 0.0)
        colours.append(_colour(report, name))
        notes.append(
            f" computed with {shared}"
            if rate is None and shared
            else (" not measured" if rate is None else f" {rate:,.0f}")
        )
    y = np.arange(len(labels))[::-1]
    bars = ax1.barh(y, rates, color=colours)
    if make:
        bars[0].set(edgecolor="#555555", hatch="///")
    for yi, r, note in zip(y, rates, notes):
        ax1.text(r, yi, note, va="center", fontsize=8)
    ax1.set_yticks(y, labels, fontsize=9)
    ax1.set_xlabel("images per second per core (CPU time)")
    ax1.set_title("hashing", fontsize=10)
    ax1.set_xlim(0, max(rates + [1]) * 1.3)
    ax1.grid(axis="x", alpha=0.3)

    idx_names = [n for n in report["hashers"] if index.get(n, {}).get("flat")]
    yy = np.arange(len(idx_names))[::-1]
    kinds: tuple[tuple[Literal["flat", "mih"], str], ...] = (("flat", "#4c72b0"), ("mih", "#dd8452"))
    for k, (kind, colour) in enumerate(kinds):
        q = [index[n].get(kind, {}).get("queries_per_second") or 0.0 for n in idx_names]
        ax2.barh(
            yy + (0.2 if k == 0 else -0.2),
            q,
            height=0.4,
            color=colour,
            label={"flat": "flat scan", "mih": "multi-index hashing"}[kind],
        )
    if idx_names:
        listed = index[idx_names[0]].get("n_listed")
        ax2.set_yticks(yy, idx_names, fontsize=9)
        from matplotlib.ticker import EngFormatter

        ax2.xaxis.set_major_formatter(EngFormatter(sep=""))
        ax2.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=2, frameon=False)
        ax2.set_title(f"index range queries (list of {listed:,} hashes)", fontsize=10)
    else:
        ax2.set_title("index: not measured", fontsize=10)
    ax2.set_xlabel("queries per second")
    ax2.grid(axis="x", alpha=0.3)
    return _png(fig)


#: File name in ``plots/`` -> (function, caption). The order is the order of the report.
PLOTS: dict[str, tuple[Callable[[Report], bytes], str]] = {
    "fpr_vs_threshold.png": (
        plot_fpr_vs_threshold,
        "Per-pair false-positive rate at every threshold with its "
        "pair-level two-sided 95% interval; where no false match was seen, ▽ marks that interval's upper end "
        '(about 3.7 / n; the one-sided 95% bound quoted as "at most" is lower, about 3 / n).',
    ),
    "distances.png": (
        plot_distances,
        "Distances of genuine pairs (an edited copy and its original) and impostor "
        "pairs (two distinct images), as shares of each kind; dashed: the named threshold.",
    ),
    "roc.png": (
        plot_roc,
        "ROC curves: true-positive rate against per-pair false-positive rate; an exact hasher "
        "(exact match only) is its one point.",
    ),
    "det.png": (
        plot_det,
        "DET curves: miss rate against per-pair false-positive rate on probit axes (none for exact hashers).",
    ),
    "tpr_heatmap.png": (
        plot_tpr_heatmap,
        "Share of edited copies found (TPR, %) per transform at each hasher's named threshold.",
    ),
    "throughput.png": (plot_throughput, "Hashing speed per core, and range-query speed of the two indexes."),
}


def render_plots(report: Report) -> dict[str, bytes]:
    """Every figure of the report: file name -> PNG bytes."""
    return {name: fn(report) for name, (fn, _) in PLOTS.items()}
