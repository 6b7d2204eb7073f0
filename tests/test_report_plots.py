"""The report's figures say what the run contains: constant-weight hashers drawn without a comb,
a zoom on each named threshold, colour-blind-safe colours, an index chart only when it was timed,
and captions written from the report (no genuine pairs in a false-positive-only run)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from hashbench.report import plots
from hashbench.report.metrics import genuine_histogram

GOLDEN = Path(__file__).parent / "golden" / "report_small.json"


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def _figure(monkeypatch, fn, report):
    drawn = []
    monkeypatch.setattr(plots, "_png", lambda fig: drawn.append(fig) or b"")
    fn(report)
    [fig] = drawn
    return fig


def _with_histograms(report: dict, name: str, genuine: list[int], impostor: list[int]) -> dict:
    out = copy.deepcopy(report)
    h = out["hashers"][name]
    h["impostor"]["histogram"] = impostor
    for t in h["transforms"].values():
        t["genuine_histogram"] = [0] * len(genuine)
    next(iter(h["transforms"].values()))["genuine_histogram"] = genuine
    return out


def test_constant_weight_is_detected_from_the_histograms(golden):
    # PDQ and pHash set half their bits (a median threshold): nearly every distance even; dHash does not
    for name in ("pdq", "pdq8", "phash", "phash16"):
        assert plots.even_distances_only(golden["hashers"][name]), name
    assert not plots.even_distances_only(golden["hashers"]["dhash"])
    assert not plots.even_distances_only(golden["hashers"]["md5"])  # exact: no distances to bin
    # recomputed by brute force from the stored histograms
    for h in golden["hashers"].values():
        hist = genuine_histogram(h) + np.asarray(h["impostor"]["histogram"])
        odd = sum(int(hist[d]) for d in range(1, hist.size, 2))
        assert plots.odd_share(h) == pytest.approx(odd / int(hist[1:].sum()))
    # too few pairs is no evidence; one odd distance in ten is too many
    nbits = golden["hashers"]["phash"]["nbits"]
    few = [0] * (nbits + 1)
    few[4] = 5
    assert not plots.even_distances_only(_with_histograms(golden, "phash", few, few)["hashers"]["phash"])
    many = [0] * (nbits + 1)
    many[20], many[21] = 80, 20
    assert not plots.even_distances_only(_with_histograms(golden, "phash", few, many)["hashers"]["phash"])


@pytest.mark.parametrize("threshold", [10, 11])
def test_bins_of_two_keep_every_pair_and_end_at_the_threshold(golden, threshold):
    h = copy.deepcopy(golden["hashers"]["phash"])
    h["threshold"] = threshold
    edges, gen, imp, last = plots._bins(h, int(h["nbits"]))
    assert np.all(np.diff(edges) == 2)
    assert int(gen.sum()) == int(genuine_histogram(h).sum())
    assert int(imp.sum()) == int(np.sum(h["impostor"]["histogram"]))
    assert threshold in set(last.tolist())  # no bin holds both a match (≤ t) and a non-match
    raw = np.asarray(h["impostor"]["histogram"])
    assert int(imp[last <= threshold].sum()) == int(raw[: threshold + 1].sum())


def test_distances_has_a_zoom_panel_per_hasher_around_its_threshold(golden, monkeypatch):
    fig = _figure(monkeypatch, plots.plot_distances, golden)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    for name, h in golden["hashers"].items():
        if h.get("exact"):
            continue
        assert f"{name}: around t={h['threshold']}" in titles
        zoom = next(ax for ax in fig.axes if ax.get_title() == f"{name}: around t={h['threshold']}")
        lo, hi = plots.zoom_window(h)
        assert zoom.get_xlim() == (lo - 0.5, hi + 0.5) and lo <= h["threshold"] <= hi
        text = "\n".join(t.get_text() for t in zoom.texts)
        imp = np.asarray(h["impostor"]["histogram"])
        assert f"{int(imp[: h['threshold'] + 1].sum()):,} of {int(imp.sum()):,}" in text


def test_no_red_green_heat_map(golden, monkeypatch):
    fig = _figure(monkeypatch, plots.plot_tpr_heatmap, golden)
    [image] = fig.axes[0].get_images()
    assert image.get_cmap().name == plots.HEATMAP_CMAP in ("cividis", "viridis")
    assert "cividis" in plots.caption(golden, "tpr_heatmap.png")


def test_a_list_too_small_to_time_is_a_table_not_a_chart(golden, monkeypatch):
    small = copy.deepcopy(golden)
    index = small.setdefault("timing", {}).setdefault("index", {})
    index["pdq"] = {"n_listed": 200, "n_queries": 400, "radius": 31, "flat": {"queries_per_second": 2e5}}
    assert plots.timed_indexes(small) == []  # 2 ms of queries
    assert len(_figure(monkeypatch, plots.plot_throughput, small).axes) == 1
    assert "`pdq` are in the table above only" in plots.caption(small, "throughput.png")
    index["pdq"]["flat"]["queries_per_second"] = 1e3  # 0.4 s: worth a chart
    assert plots.timed_indexes(small) == ["pdq"]
    fig = _figure(monkeypatch, plots.plot_throughput, small)
    assert len(fig.axes) == 2 and fig.axes[1].get_xscale() == "log"
    assert "table above only" not in plots.caption(small, "throughput.png")


def test_captions_of_a_false_positive_only_run_name_no_genuine_pairs(golden):
    fpr_only = copy.deepcopy(golden)
    for h in fpr_only["hashers"].values():
        h["transforms"] = {}
    text = plots.caption(fpr_only, "distances.png")
    assert "genuine" not in text and "this run has no edited copies" in text
    assert "genuine pairs (an edited copy and its original)" in plots.caption(golden, "distances.png")
    for name in ("pdq", "phash"):  # constant weight is said, with the share of odd distances
        assert f"`{name}`" in text.split("have codes of constant weight")[0]
    assert "`dhash`" not in text.split("have codes of constant weight")[0]


def test_render_plots_draws_the_named_figures_from_any_iterable(golden):
    """The report files pass the figures their page shows; a generator must work as a list does."""
    names = ("throughput.png", "distances.png")
    assert set(plots.render_plots(golden, (n for n in names))) == set(names)
    assert set(plots.render_plots(golden)) == set(plots.PLOTS)
