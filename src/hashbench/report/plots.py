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
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..evaluate.operating import det_curve, roc_curve
from ..evaluate.rates import RateCurve
from ..schema import HasherEvaluation, HasherResult, Report
from . import format as f
from .metrics import alpha_of, fpr_curve_of, genuine_histogram, tpr_at, transform_names

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
    "caption",
    "even_distances_only",
    "zoom_window",
    "timed_indexes",
    "HEATMAP_CMAP",
]

_DPI = 100
#: Okabe-Ito: told apart under every common colour-vision deficiency (no red-green pair); the
#: yellow, weakest on white, comes last.
_COLOURS = [
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#000000",
    "#F0E442",
]
#: The sequential map of every heat map: cividis reads the same to most colour-blind readers
#: and in greyscale (a red-green map does neither).
HEATMAP_CMAP = "cividis"
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


def _odd_and_moved(h: HasherResult) -> tuple[int, int]:
    """Pairs (genuine and impostor) at an odd distance, and at any non-zero distance."""
    hist = genuine_histogram(h) + np.asarray(h["impostor"]["histogram"], dtype=np.int64)
    return int(hist[1::2].sum()), int(hist[1:].sum())


def odd_share(h: HasherResult) -> float | None:
    """The share of measured distances that are odd (None: no pair at a non-zero distance)."""
    odd, moved = _odd_and_moved(h)
    return odd / moved if moved else None


def even_distances_only(h: HasherResult) -> bool:
    """True when the hasher's codes have constant weight, read from its histograms (the report
    keeps no codes): at most :data:`ODD_SHARE_MAX` of the pairs at a non-zero distance are odd,
    among at least :data:`_PARITY_EVIDENCE` of them.

    PDQ (128 ones of 256) and pHash (32 of 64) threshold at a median, so a code has half its bits
    set except where pixels tie at the median (flat images): two codes of equal weight differ in an
    even number of bits, odd bins stay (nearly) empty and a histogram of single distances draws as a
    comb. Such a hasher is drawn with bins of two distances. A hasher of free weights (dHash, a
    digest) gives an odd distance to about half its pairs.
    """
    if _exact(h):
        return False
    odd, moved = _odd_and_moved(h)
    return moved >= _PARITY_EVIDENCE and odd / moved <= ODD_SHARE_MAX


#: Odd distances allowed in a hasher drawn with bins of two (ties at the median of flat images:
#: 5% for pHash over fpr-50b's raw low-detail draws; dHash, of free weight, has about 50%).
ODD_SHARE_MAX = 0.10
_PARITY_EVIDENCE = 20


_Bins = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _bins(h: HasherResult, nbits: int) -> _Bins:
    """Bin edges, genuine and impostor counts per bin and each bin's last distance: one distance
    per bin, or for a hasher of even distances (:func:`even_distances_only`) two, paired so that
    the named threshold is the last distance of its bin (no bin holds both a match and a non-match)."""
    gen = genuine_histogram(h).astype(np.int64)
    imp = np.asarray(h["impostor"]["histogram"], dtype=np.int64)
    if not even_distances_only(h):
        return np.arange(nbits + 2) - 0.5, gen, imp, np.arange(nbits + 1)
    start = 0 if int(h["threshold"]) % 2 else -1  # bins {start + 2j, start + 2j + 1}
    front = -start
    back = (front + nbits + 1) % 2
    gen2 = np.pad(gen, (front, back)).reshape(-1, 2).sum(axis=1)
    imp2 = np.pad(imp, (front, back)).reshape(-1, 2).sum(axis=1)
    edges = start - 0.5 + 2 * np.arange(gen2.size + 1)
    return edges, gen2, imp2, edges[1:] - 0.5


_KINDS = (("genuine (edited copy vs its original)", _GENUINE), ("impostor (distinct images)", _IMPOSTOR))


def _share_floor(binned: list[_Bins]) -> tuple[float, float]:
    """One log scale for every full panel (a share of pairs reads the same in each): the floor a
    third of the smallest share seen, the top above the largest."""
    smallest, largest = 1.0, 1e-6
    for _, gen, imp, _ in binned:
        for hist in (gen, imp):
            if hist.sum():
                share = hist / hist.sum()
                smallest = min(smallest, float(share[share > 0].min()))
                largest = max(largest, float(share.max()))
    return smallest / 3, min(1.0, largest) * 1.6


def _full_panel(ax: Any, name: str, h: HasherResult, bins: _Bins, ylim: tuple[float, float]) -> None:
    """Every distance, as shares of each kind of pair on one log scale shared by the full panels."""
    nbits = int(h["nbits"])
    edges, gen, imp, _ = bins
    floor = ylim[0]
    for hist, (label, colour) in zip((gen, imp), _KINDS):
        if not hist.sum():
            continue
        share = np.maximum(hist / hist.sum(), floor)  # never-seen distances sit on the floor
        ax.stairs(share, edges, baseline=floor, fill=True, color=colour, alpha=0.2, lw=0)
        ax.stairs(share, edges, baseline=floor, color=colour, lw=1.1, label=label)
    ax.set_ylim(*ylim)
    _threshold_line(ax, h)
    ax.set_yscale("log")
    ax.set_xlim(0, nbits)
    ax.set_title(f"{name} ({nbits} bits, {h['matching']})", fontsize=10)
    if edges[1] - edges[0] == 2:
        ax.text(0.98, 0.98, "bins of 2 distances", transform=ax.transAxes, ha="right", va="top", fontsize=7.5)
    ax.set_xlabel("Hamming distance")
    ax.set_ylabel("share of pairs (log)")
    ax.grid(alpha=0.3)


def _threshold_line(ax: Any, h: HasherResult, at_top: bool = True) -> None:
    """The named threshold, on the edge between the last matching distance and the next."""
    x = int(h["threshold"]) + 0.5
    ax.axvline(x, color="black", ls="--", lw=1)
    y, va = (1.0, "top") if at_top else (0.02, "bottom")
    ax.text(x, y, f" t={h['threshold']}", transform=ax.get_xaxis_transform(), va=va, fontsize=8)


def zoom_window(h: HasherResult) -> tuple[int, int]:
    """The distances the zoom panel spans: the named threshold ± a tenth of the bits (at least 6)."""
    nbits, t = int(h["nbits"]), int(h["threshold"])
    half = max(6, round(nbits / 10))
    return max(0, t - half), min(nbits, t + half)


def _zoom_panel(ax: Any, name: str, h: HasherResult, bins: _Bins) -> None:
    """The distances around the named threshold as counts of pairs (log), with how many of each
    kind fall on each side: where the full panel squeezes the region that decides a match."""
    lo, hi = zoom_window(h)
    edges, gen, imp, last = bins
    t = int(h["threshold"])
    for hist, (_, colour) in zip((gen, imp), _KINDS):
        if hist.sum():  # a distance never seen sits on the floor (half a pair) of the log axis
            ax.stairs(np.maximum(hist, 0.5), edges, baseline=0.5, color=colour, lw=1.1, fill=True, alpha=0.35)
    _threshold_line(ax, h, at_top=False)
    ax.set_yscale("log")
    window = (edges[1:] > lo) & (edges[:-1] < hi)
    top = max(float(gen[window].max(initial=0)), float(imp[window].max(initial=0)), 1.0)
    ax.set_ylim(0.5, top * 30)  # room above the bars for the counts
    ax.set_xlim(lo - 0.5, hi + 0.5)
    gen_in, imp_in = int(gen[last <= t].sum()), int(imp[last <= t].sum())
    lines = [f"impostor pairs ≤ t: {f.k_of_n(imp_in, int(imp.sum()))}"]
    if gen.sum():
        lines.insert(0, f"genuine ≤ t: {f.k_of_n(gen_in, int(gen.sum()))}")
    box = {"facecolor": "white", "alpha": 0.85, "lw": 0}
    ax.text(0.02, 0.97, "\n".join(lines), transform=ax.transAxes, va="top", fontsize=7.5, color="#333333", bbox=box)
    ax.set_title(f"{name}: around t={t}", fontsize=10)
    ax.set_xlabel("Hamming distance")
    ax.set_ylabel("pairs (log)")
    ax.grid(alpha=0.3)


def plot_distances(report: Report) -> bytes:
    """Genuine vs impostor distance distributions per hasher: each hasher's full range as shares of
    pairs on one log scale, beside a zoom on its named threshold as counts of pairs."""
    names = list(report["hashers"])
    fig, axes = _grid(2 * len(names), ncols=4, panel=(3.7, 2.9))
    hashers = report["hashers"]
    binned = {n: _bins(h, int(h["nbits"])) for n, h in hashers.items() if not _exact(h)}  # once per hasher
    ylim = _share_floor(list(binned.values()))
    for k, name in enumerate(names):
        h = hashers[name]
        full, zoom = axes[2 * k], axes[2 * k + 1]
        if name not in binned:  # exact
            _exact_panel(full, f"{name} ({int(h['nbits'])} bits)", _exact_counts(h))
            zoom.set_visible(False)
            continue
        _full_panel(full, name, h, binned[name], ylim)
        _zoom_panel(zoom, name, h, binned[name])
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
    conf = 100 * (1 - alpha_of(report))
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
    im = ax.imshow(values, cmap=HEATMAP_CMAP, vmin=0, vmax=1, aspect="auto", interpolation="nearest")
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
                    color="black" if v >= 0.5 else "white",  # cividis: dark blue at 0, pale yellow at 1
                )
    fig.colorbar(
        im, ax=ax, shrink=0.6, label="share of edited copies found (TPR)", format=lambda x, _: f"{100 * x:.0f}%"
    )
    return _png(fig)


def _threshold_label(h: HasherResult) -> str:
    return "exact match" if _exact(h) else f"t≤{h['threshold']}"


#: A flat scan of every query that took less than this is timer noise on a chart (microseconds on
#: a list of a few hundred hashes): the index speeds are then only a table.
MIN_TIMED_SECONDS = 0.05


def timed_indexes(report: Report) -> list[str]:
    """The hashers whose index timing is long enough to chart: a flat scan of all the queries took
    at least :data:`MIN_TIMED_SECONDS`. The others are in the report's index table only."""
    index = report.get("timing", {}).get("index", {})
    out = []
    for name in report["hashers"]:
        rec = index.get(name, {})
        qps, n_q = rec.get("flat", {}).get("queries_per_second"), rec.get("n_queries")
        if qps and n_q and n_q / qps >= MIN_TIMED_SECONDS:
            out.append(name)
    return out


def _hashing_panel(ax: Any, report: Report) -> None:
    """Images per second per core for each hasher, with image making as a hatched baseline."""
    timing = report.get("timing", {})
    hashing = timing.get("hashing", {})
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
    bars = ax.barh(y, rates, color=colours, edgecolor="#333333", lw=0.5)
    if make:
        bars[0].set(edgecolor="#555555", hatch="///")
    for yi, r, note in zip(y, rates, notes):
        ax.text(r, yi, note, va="center", fontsize=8)
    ax.set_yticks(y, labels, fontsize=9)
    ax.set_xlabel("images per second per core (CPU time)")
    ax.set_title("hashing", fontsize=10)
    ax.set_xlim(0, max(rates + [1]) * 1.3)
    ax.grid(axis="x", alpha=0.3)


def _index_panel(ax: Any, report: Report, names: list[str]) -> None:
    """Range queries per second of the flat scan and MIH, on a log axis (they differ by decades)."""
    index = report.get("timing", {}).get("index", {})
    yy = np.arange(len(names))[::-1]
    kinds: tuple[tuple[Literal["flat", "mih"], str], ...] = (("flat", "#0072B2"), ("mih", "#E69F00"))
    for k, (kind, colour) in enumerate(kinds):
        q = [index[n].get(kind, {}).get("queries_per_second") or np.nan for n in names]
        ax.barh(
            yy + (0.2 if k == 0 else -0.2),
            q,
            height=0.4,
            color=colour,
            label={"flat": "flat scan", "mih": "multi-index hashing"}[kind],
        )
    from matplotlib.ticker import EngFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.set_yticks(yy, names, fontsize=9)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=2, frameon=False)
    listed = index[names[0]].get("n_listed")
    ax.set_title(f"index range queries (list of {listed:,} hashes)", fontsize=10)
    ax.set_xlabel("queries per second (log)")
    ax.grid(axis="x", alpha=0.3, which="both", lw=0.5)


def plot_throughput(report: Report) -> bytes:
    """Hashing speed per core per hasher (with image making as a baseline) and, when the list was
    long enough to time (:func:`timed_indexes`), index query speed; else the index is a table only."""
    timed = timed_indexes(report)
    height = 0.45 * max(len(report["hashers"]), 3) + 1.6
    fig = _figure(figsize=(11 if timed else 7, height), layout="constrained")
    axes = fig.subplots(1, 2 if timed else 1, squeeze=False).ravel()
    _hashing_panel(axes[0], report)
    if timed:
        _index_panel(axes[1], report, timed)
    return _png(fig)


def _names(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def _has_genuine(report: Report) -> bool:
    return any(int(genuine_histogram(h).sum()) for h in report["hashers"].values())


def _fpr_caption(report: Report) -> str:
    conf = 100 * (1 - alpha_of(report))
    return (
        f"Per-pair false-positive rate at every threshold with its pair-level two-sided {conf:.0f}% interval; "
        "where no false match was seen, ▽ marks that interval's upper end (about 3.7 / n; the one-sided bound "
        'quoted as "at most" is lower, about 3 / n).'
    )


def _distances_caption(report: Report) -> str:
    kinds = (
        "genuine pairs (an edited copy and its original) and impostor pairs (two distinct images), as shares of "
        "each kind"
        if _has_genuine(report)
        else "impostor pairs (two distinct images; this run has no edited copies), as shares of pairs"
    )
    text = (
        f"Distances of {kinds}. Left of each pair of panels: every distance, on one log scale for all hashers; "
        "right: the named threshold (dashed) ± a tenth of the bits, as counts of pairs, with how many fall within it."
    )
    names = list(report["hashers"])
    even = [n for n in names if even_distances_only(report["hashers"][n])]
    if even:
        shares = ", ".join(f"`{n}` {f.pct(odd_share(report['hashers'][n]), 3)}" for n in even)
        text += (
            f" {_names(even)} have codes of constant weight (half the bits set), so two codes differ in an even "
            f"number of bits except where pixels tie (odd distances: {shares} of pairs): their bins hold two "
            "distances each, the named threshold the last of its bin, instead of a comb of empty odd bins."
        )
    exact = [n for n in names if _exact(report["hashers"][n])]
    if exact:
        text += f" {_names(exact)}: {EXACT_MATCH_ONLY}, identical pairs counted in words."
    return text


def _roc_caption(report: Report) -> str:
    exact = [n for n, h in report["hashers"].items() if _exact(h)]
    text = "ROC curves: true-positive rate against per-pair false-positive rate (log axis)."
    each = " each" if len(exact) > 1 else ""
    return text + (f" {_names(exact)} ({EXACT_MATCH_ONLY}): one point{each}." if exact else "")


def _det_caption(report: Report) -> str:
    exact = [n for n, h in report["hashers"].items() if _exact(h)]
    text = "DET curves: miss rate against per-pair false-positive rate on probit axes."
    return text + (f" None for {_names(exact)} ({EXACT_MATCH_ONLY})." if exact else "")


def _heatmap_caption(report: Report) -> str:
    del report  # the same words for every run that has edits
    return (
        "Share of edited copies found (TPR, %) per transform at each hasher's named threshold "
        f"({HEATMAP_CMAP} colour map, readable without red-green vision: dark blue 0%, pale yellow 100%)."
    )


def _throughput_caption(report: Report) -> str:
    index = report.get("timing", {}).get("index", {})
    untimed = [n for n in report["hashers"] if index.get(n, {}).get("flat") and n not in timed_indexes(report)]
    text = "Hashing speed per core (CPU time), with making the images as a baseline"
    if timed_indexes(report):
        text += "; range-query speed of the flat scan and of multi-index hashing (log axis)"
    text += "."
    if untimed:
        text += (
            f" The index speeds of {_names(untimed)} are in the table above only: a scan of all their queries took "
            f"under {MIN_TIMED_SECONDS:g} s, too little to time on a chart."
        )
    return text


#: File name in ``plots/`` -> (function, caption from the report). The order is the order of the
#: report. Captions say only what the run contains (no genuine pairs in a false-positive-only run).
PLOTS: dict[str, tuple[Callable[[Report], bytes], Callable[[Report], str]]] = {
    "fpr_vs_threshold.png": (plot_fpr_vs_threshold, _fpr_caption),
    "distances.png": (plot_distances, _distances_caption),
    "roc.png": (plot_roc, _roc_caption),
    "det.png": (plot_det, _det_caption),
    "tpr_heatmap.png": (plot_tpr_heatmap, _heatmap_caption),
    "throughput.png": (plot_throughput, _throughput_caption),
}


def caption(report: Report, name: str) -> str:
    """The caption of figure ``name`` (a file name in ``plots/``) for this report."""
    return PLOTS[name][1](report)


def render_plots(report: Report, names: Iterable[str] | None = None) -> dict[str, bytes]:
    """The figures ``names`` (every figure of :data:`PLOTS` by default): file name -> PNG bytes.

    The report files pass the figures their document shows, so a run without edited copies
    writes no ROC, DET or heat map PNG that no page links to."""
    wanted = set(PLOTS if names is None else names)  # once: ``names`` may be an iterator
    return {name: fn(report) for name, (fn, _) in PLOTS.items() if name in wanted}
