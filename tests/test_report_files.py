"""Report files from a real (tiny) run: every file is written, metrics.csv agrees with an
independent recomputation from the histograms, md/html carry the headline figures, `hashbench
report` re-renders byte for byte, and `hashbench compare` exits 0 / 1 / 2 as documented."""

from __future__ import annotations

import copy
import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.stats import beta

from hashbench import schema
from hashbench.cli import main
from hashbench.config import load_config
from hashbench.evaluate import clopper_pearson, clopper_pearson_upper, project_per_query_fpr
from hashbench.evaluate.study import rate_dict
from hashbench.report import REPORT_FILES, load_report, summary_table
from hashbench.report.document import build_document
from hashbench.report.format import interval, k_of_n, one_in, pct, small_rate
from hashbench.report.html import render_html
from hashbench.report.markdown import render_markdown
from hashbench.report.metrics import GROUP_METRICS_COLUMNS, METRICS_COLUMNS
from hashbench.report.plots import PLOTS
from hashbench.report.writers import ITEM_FILES
from hashbench.runner import run
from typed_shape import shape_errors

TINY = """\
[run]
name = "tiny-report"
seed = 5
chunk_size = 16
[[references]]
dataset = "synthetic"
family = "mixed"
count = 10
size = 64
seed = 0
[[distractors]]
dataset = "synthetic"
family = "mixed"
count = 20
size = 64
seed = 1
[[transforms.custom]]
name = "jpeg_q50"
kind = "jpeg"
quality = 50
[[transforms.custom]]
name = "hflip"
kind = "hflip"
[hashers]
names = ["pdq", "pdq8", "phash", "md5"]
composites = ["md5|pdq"]
"""


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A complete run (10 references x 2 edits, 20 distractors, 4 hashers) with its report files."""
    root = tmp_path_factory.mktemp("report_run")
    cfg = root / "tiny.toml"
    cfg.write_text(TINY)
    outcome = run(load_config(cfg), out_root=root / "results", workers=1, progress=False)
    return outcome.run_dir


@pytest.fixture(scope="module")
def report(tiny_run) -> dict:
    return load_report(tiny_run)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and p.name != "config.json"
        and "checkpoint" not in p.parts
        and not p.name.startswith(".")
        and p.suffix in (".json", ".csv", ".md", ".html", ".png")
    }


def test_every_report_file_is_written(tiny_run, report):
    for name in REPORT_FILES:
        assert (tiny_run / name).exists(), name
    for name in PLOTS:
        png = tiny_run / "plots" / name
        with Image.open(png) as im:
            assert im.format == "PNG" and im.width >= 600 and im.height >= 300, (name, im.size)
    assert (tiny_run / "failures.csv").read_text().splitlines()[0] == "stage,id,hasher,reason"
    assert len((tiny_run / "failures.csv").read_text().splitlines()) == 1 + len(report["inputs"]["failures"])


def _ci(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Clopper-Pearson from scipy's beta quantiles, written out independently of hashbench."""
    low = 0.0 if k == 0 else beta.ppf(alpha / 2, k, n - k + 1)
    high = 1.0 if k == n else beta.ppf(1 - alpha / 2, k + 1, n - k)
    return low, high


def _tabulated(h) -> range:
    """Every threshold, or only 0 for an exact hasher (md5: distances between digests mean nothing)."""
    return range(1) if h["exact"] else range(h["nbits"] + 1)


def test_metrics_by_group_csv_equals_rates_recomputed_from_group_histograms(tiny_run, report):
    with open(tiny_run / "metrics_by_group.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == GROUP_METRICS_COLUMNS
        rows = list(reader)
    groups = {g for h in report["hashers"].values() for g in h["impostor"].get("by_group", {})}
    assert len(groups) >= 2  # the tiny run's `mixed` images come from several content families
    index = {(r["hasher"], r["group"], int(r["threshold"])): r for r in rows}
    expected = 0
    for name, h in report["hashers"].items():
        for group, entry in h["impostor"]["by_group"].items():
            hist = np.asarray(entry["histogram"])
            n_pairs = int(hist.sum())
            fp = np.cumsum(hist)
            for thr in _tabulated(h):
                expected += 1
                row = index[(name, group, thr)]
                assert int(row["n_images"]) == entry["n_images"]
                assert int(row["fp"]) == fp[thr] and int(row["n_pairs"]) == n_pairs
                if n_pairs == 0:
                    assert row["fpr"] == row["fpr_ci_low"] == row["fpr_ci_high"] == ""
                    continue
                assert float(row["fpr"]) == pytest.approx(fp[thr] / n_pairs, rel=1e-12)
                lo, hi = _ci(int(fp[thr]), n_pairs)
                assert float(row["fpr_ci_low"]) == pytest.approx(lo, rel=1e-9, abs=1e-15)
                assert float(row["fpr_ci_high"]) == pytest.approx(hi, rel=1e-9)
    assert len(rows) == expected


def test_metrics_csv_equals_rates_recomputed_from_histograms(tiny_run, report):
    with open(tiny_run / "metrics.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == METRICS_COLUMNS
        rows = list(reader)
    transforms = ["jpeg_q50", "hflip"]
    expected_rows = sum((len(transforms) + 1) * len(_tabulated(h)) for h in report["hashers"].values())
    assert any(h["exact"] for h in report["hashers"].values())  # the tiny run has md5: one row per transform
    assert len(rows) == expected_rows
    index = {(r["hasher"], r["transform"], int(r["threshold"])): r for r in rows}
    for name, h in report["hashers"].items():
        imp = np.asarray(h["impostor"]["histogram"])
        n_pairs = int(imp.sum())
        n_img = h["impostor"]["n_images"]
        assert n_pairs == n_img * (n_img - 1) // 2  # unordered pairs for every matcher, dihedral too
        fp = np.cumsum(imp)
        gen = {t: np.asarray(h["transforms"][t]["genuine_histogram"]) for t in transforms}
        gen["all"] = sum(gen.values())
        for t in ["all", *transforms]:
            tp = np.cumsum(gen[t])
            n = int(gen[t].sum())
            for thr in _tabulated(h):
                row = index[(name, t, thr)]
                assert int(row["tp"]) == tp[thr] and int(row["n_genuine"]) == n
                assert float(row["tpr"]) == pytest.approx(tp[thr] / n, rel=1e-12)
                lo, hi = _ci(int(tp[thr]), n)
                assert float(row["tpr_ci_low"]) == pytest.approx(lo, rel=1e-9, abs=1e-15)
                assert float(row["tpr_ci_high"]) == pytest.approx(hi, rel=1e-9)
                assert int(row["fp"]) == fp[thr] and int(row["n_pairs"]) == n_pairs
                assert float(row["fpr"]) == pytest.approx(fp[thr] / n_pairs, rel=1e-12)
                lo, hi = _ci(int(fp[thr]), n_pairs)
                assert float(row["fpr_ci_low"]) == pytest.approx(lo, rel=1e-9, abs=1e-15)
                assert float(row["fpr_ci_high"]) == pytest.approx(hi, rel=1e-9)
        # The pooled row at the named threshold is what the study stored for that threshold.
        at = h["at_threshold"]
        row = index[(name, "all", h["threshold"])]
        assert (int(row["tp"]), int(row["n_genuine"])) == (at["tpr"]["count"], at["tpr"]["n"])
        assert (int(row["fp"]), int(row["n_pairs"])) == (at["fpr_per_pair"]["count"], at["fpr_per_pair"]["n"])
        assert float(row["tpr_ci_high"]) == pytest.approx(at["tpr"]["ci_high"], rel=1e-12)
        pq = at["fpr_per_query_measured"]
        assert float(row["fpr_per_query_measured"]) == pytest.approx(pq["rate"])
        assert float(row["fpr_per_query_ci_high"]) == pytest.approx(pq["ci_high"], rel=1e-12)
        assert (int(row["n_queries"]), int(row["list_size"])) == (pq["n"], pq["list_size"])
        if h["quality_floor"] is not None:  # the PDQ family: gated columns match the stored gated rates
            assert float(row["tpr_gated"]) == pytest.approx(at["tpr_gated"]["rate"], rel=1e-12)
            assert float(row["tpr_gated_ci_low"]) == pytest.approx(at["tpr_gated"]["ci_low"], rel=1e-12, abs=1e-15)
            assert float(row["fpr_gated"]) == pytest.approx(
                at["fpr_per_pair_gated_generalized"]["rate"], rel=1e-12, abs=0
            )  # the CSV's gated column keeps every pair in its denominator
        else:
            assert row["tpr_gated"] == "" and row["fpr_gated"] == ""


def test_markdown_and_html_carry_the_headline_figures(tiny_run, report):
    md = (tiny_run / "report.md").read_text()
    page = (tiny_run / "report.html").read_text()
    assert report["run_id"] in md and report["run_id"] in page
    for name, h in report["hashers"].items():
        at = h["at_threshold"]
        figures = [
            k_of_n(at["tpr"]["count"], at["tpr"]["n"]),
            pct(at["tpr"]["rate"]),
            k_of_n(at["fpr_per_pair"]["count"], at["fpr_per_pair"]["n"]),
        ]
        for text in figures:
            assert text in md, (name, text)
            assert text in page, (name, text)
        assert f"| `{name}` | ≤ {h['threshold']} | {pct(at['tpr']['rate'])} " in md
    # which per-query rate is which is said in words
    for doc in (md, page):
        assert "Per-query FPR, measured" in doc and "Per-query FPR, projected" in doc
        assert "calibration half" in doc and "held-out half" in doc
    assert "`md5\\|pdq`" in md  # a composite's pipe must not split its table cell


def test_html_is_self_contained(tiny_run):
    page = (tiny_run / "report.html").read_text()
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page), "the page must not load anything"
    assert "<link" not in page.lower()
    assert page.count('src="data:image/png;base64,') == len(PLOTS)


def test_html_escapes_what_comes_from_the_data(report):
    hostile = copy.deepcopy(report)
    hostile["inputs"]["failures"] = [
        {
            "stage": "references",
            "id": "<img src=x onerror=alert(1)>",
            "hasher": None,
            "reason": "bad <b>file</b> & worse",
        }
    ]
    page = render_html(build_document(hostile), {name: b"png" for name in PLOTS}, title="t")
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "bad &lt;b&gt;file&lt;/b&gt; &amp; worse" in page


def test_summary_table(report):
    text = summary_table(report)
    for name, h in report["hashers"].items():
        fpr = h["at_threshold"]["fpr_per_pair"]
        line = next(ln for ln in text.splitlines() if ln.startswith(name + " "))
        assert k_of_n(fpr["count"], fpr["n"]) in line and f"<= {h['threshold']}" in line
    assert "per-query FPR, measured" in text and "one-sided 95% upper bound" in text
    assert "image-level (first)" in text and "pair-level" in text and "upper end" not in text


def test_at_most_is_the_one_sided_bound_everywhere(tiny_run, report):
    """Every "at most" figure is clopper_pearson_upper (the rule of three at zero matches), said
    as one-sided 95%; never the top of the two-sided interval (about 3.7 / n)."""
    md = (tiny_run / "report.md").read_text()
    page = (tiny_run / "report.html").read_text()
    text = summary_table(report)
    for name, h in report["hashers"].items():
        at = h["at_threshold"]
        fpr = at["fpr_per_pair"]
        bound = float(clopper_pearson_upper(fpr["count"], fpr["n"]))
        line = next(ln for ln in text.splitlines() if ln.startswith(name + " "))
        if "upper_one_sided_95" in at:  # image-level; equal to the binomial bound without clustering
            assert at["design_effect"] == 1.0 and at["upper_one_sided_95"] == pytest.approx(bound, rel=1e-9)
            level = "image-level"
            assert small_rate(bound) in line and f"{small_rate(bound)} (pair)" not in line
        else:
            level = "pair-level"
            assert f"{small_rate(bound)} (pair)" in line
        if fpr["count"] == 0:
            assert bound == pytest.approx(-np.expm1(np.log(0.05) / fpr["n"]), rel=1e-12)  # 1 - 0.05^(1/n)
        cell = f"{one_in(bound)} ({level})"
        assert cell in md, (name, cell)
        assert f'{one_in(bound)}<br><span class="sub">({level})</span>' in page
        assert one_in(fpr["ci_high"]) not in md  # the two-sided top is never an "at most"
    for doc in (md, page):
        assert "one-sided 95%" in doc and "two-sided 95%" in doc and "rule of three" in doc
        assert "rule out" not in doc


def test_image_level_interval_is_printed_first(tiny_run, report):
    md = (tiny_run / "report.md").read_text()
    header = next(ln for ln in md.splitlines() if ln.startswith("| hasher | threshold |"))
    assert header.index("image-level, two-sided 95%") < header.index("pair-level, two-sided 95%")
    assert header.index("pair-level, two-sided 95%") < header.index("at most (one-sided 95%)")
    for name, h in report["hashers"].items():
        at = h["at_threshold"]
        if "ci_image_level" not in at:
            continue
        row = next(ln for ln in md.splitlines() if ln.startswith(f"| `{name}` | ≤ {h['threshold']} |"))
        image, pair = interval(*at["ci_image_level"]), interval(*at["ci_pair_level"])
        assert image in row and pair in row
        assert row.index(image) < row.rindex(pair)


def test_projection_at_the_measured_list_size_sits_beside_the_measured_rate(tiny_run, report):
    md = (tiny_run / "report.md").read_text()
    assert "The projection checked at the measured list size" in md and "sampling only, under the model" in md
    assert "needs no" not in md and "No assumption is needed" not in md
    checked = 0
    for name, h in report["hashers"].items():
        at = h["at_threshold"]
        fpr, m = at["fpr_per_pair"], at["fpr_per_query_measured"]
        assert m["list_size"] == h["per_query"]["list_size"] and m["queries"] == "distractors"
        low, high = clopper_pearson(fpr["count"], fpr["n"])
        expected = project_per_query_fpr(fpr["count"] / fpr["n"], low, high, m["list_size"])
        proj = m["projected_same_list_size"]
        assert (proj["rate"], proj["ci_low"], proj["ci_high"]) == pytest.approx(tuple(expected), rel=1e-12, abs=0)
        row = next(ln for ln in md.splitlines() if ln.startswith(f"| `{name}` | no gate | distractors |"))
        assert f"{small_rate(proj['rate'])} {interval(proj['ci_low'], proj['ci_high'])}" in row
        assert k_of_n(m["count"], m["n"]) in row
        checked += 1
        if h.get("quality_floor") is not None:
            g = at["fpr_per_query_measured_gated"]
            assert g["n"] == m["n"] and g["count"] <= m["count"]
            assert f"| `{name}` | with gate | distractors |" in md
    assert checked == len(report["hashers"])


def test_leave_one_out_and_failures_are_said(report):
    """Without distractors the per-query rate is leave-one-out, and says so; failed images are
    counted and said to be outside every denominator."""
    loo = copy.deepcopy(report)
    for h in loo["hashers"].values():
        at = h["at_threshold"]
        for gated in ("", "_gated"):
            m = at.pop(f"fpr_per_query_measured{gated}", None)
            if m is not None:
                at[f"fpr_per_query_leave_one_out{gated}"] = {**m, "queries": "leave-one-out", "list_size": 9}
    loo["inputs"]["failures"] = [
        {"stage": "references", "id": "r1", "hasher": None, "reason": "truncated"},
        {"stage": "distractors", "id": "d1", "hasher": None, "reason": "truncated"},
        {"stage": "distractors", "id": "d2", "hasher": "phash", "reason": "boom"},
    ]
    md = render_markdown(build_document(loo))
    assert "vs 9 listed (leave-one-out)" in md and "| each reference vs the others | 9 |" in md
    assert "1 of the references and 1 of the distractors could not be made or decoded; 1 hash failed" in md
    assert "outside the denominator of every rate" in md
    text = summary_table(loo)
    assert " loo" in text and "each reference vs the other n - 1" in text
    assert "failed: images 1 of the references, 1 of the distractors; hashes 1." in text
    assert "outside every denominator" in text


def test_report_command_rerenders_identically(tiny_run, tmp_path, capsys):
    copy_dir = tmp_path / "copy"
    copy_dir.mkdir()
    shutil.copy(tiny_run / "report.json", copy_dir / "report.json")
    # the gallery's thumbnails are the run's images (made by `run`, like the per-item files):
    # `report` re-renders them from thumbs/ as they are, and the pages byte for byte
    shutil.copytree(tiny_run / "thumbs", copy_dir / "thumbs")
    assert main(["report", str(copy_dir / "report.json")]) == 0
    assert "wrote" in capsys.readouterr().out
    original, again = _files(tiny_run), _files(copy_dir)
    for name in ITEM_FILES:  # the per-item files are the run's data, not renderings of report.json
        assert original.pop(name) and name not in again
    assert sorted(original) == sorted(again)
    different = [name for name in original if original[name] != again[name]]
    assert different == []


def _edited(report: dict, tmp_path: Path, name: str, edit) -> Path:
    r = copy.deepcopy(report)
    edit(r)
    folder = tmp_path / name
    folder.mkdir()
    (folder / "report.json").write_text(json.dumps(r))
    return folder


def _lose_matches(r: dict) -> str:
    """Move every genuine pair of the best perceptual hasher within its threshold far away."""
    name = max(("pdq", "phash"), key=lambda n: r["hashers"][n]["at_threshold"]["tpr"]["count"])
    h = r["hashers"][name]
    assert h["at_threshold"]["tpr"]["count"] > 0
    t = h["threshold"]
    for entry in h["transforms"].values():
        g = entry["genuine_histogram"]
        moved = sum(g[: t + 1])
        g[: t + 1] = [0] * (t + 1)
        g[-1] += moved
    h["at_threshold"]["tpr"] = rate_dict(0, h["at_threshold"]["tpr"]["n"], 0.05)
    return name


def test_compare_exit_codes(tiny_run, report, tmp_path, capsys):
    assert main(["compare", str(tiny_run), str(tiny_run / "report.json")]) == 0
    assert "OK: no figure of B is worse" in capsys.readouterr().out

    lost: list[str] = []
    worse_tpr = _edited(report, tmp_path, "worse_tpr", lambda r: lost.append(_lose_matches(r)))
    assert main(["compare", str(tiny_run), str(worse_tpr), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["regressed"] is True
    assert {(d["matcher"], d["metric"]) for d in out["regressions"]} >= {(lost[0], "tpr")}
    assert all(d["kind"] == "accuracy" for d in out["regressions"])
    # the baseline is the first argument: B better than A is no regression
    assert main(["compare", str(worse_tpr), str(tiny_run)]) == 0
    capsys.readouterr()

    def more_false_matches(r: dict) -> None:
        at = r["hashers"]["pdq"]["at_threshold"]
        at["fpr_per_pair"] = rate_dict(at["fpr_per_pair"]["count"] + 3, at["fpr_per_pair"]["n"], 0.05)

    worse_fpr = _edited(report, tmp_path, "worse_fpr", more_false_matches)
    assert main(["compare", str(tiny_run), str(worse_fpr), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert [(d["matcher"], d["metric"]) for d in out["regressions"]] == [("pdq", "fpr_per_pair_upper")]

    def slower(r: dict) -> None:
        rec = r["timing"]["hashing"]["phash"]
        rec["images_per_second_per_core"] *= 0.5

    slow = _edited(report, tmp_path, "slow", slower)
    # speed is judged only when asked for (issue 16, item 17): timing noise must not fail CI
    assert main(["compare", str(tiny_run), str(slow)]) == 0
    assert "not judged" in capsys.readouterr().out
    assert main(["compare", str(tiny_run), str(slow), "--speed"]) == 1
    assert "REGRESSED" in capsys.readouterr().out
    assert main(["compare", str(tiny_run), str(slow), "--tolerance-speed", "0.4"]) == 1
    capsys.readouterr()
    assert main(["compare", str(tiny_run), str(slow), "--tolerance-speed", "1"]) == 0
    capsys.readouterr()


def test_compare_usage_errors(tiny_run, report, tmp_path, capsys):
    fewer = _edited(report, tmp_path, "fewer", lambda r: r["hashers"].pop("md5"))
    assert main(["compare", str(tiny_run), str(fewer)]) == 2
    err = capsys.readouterr().err
    assert "different hashers" in err and "only in A" in err and "md5" in err
    assert main(["compare", str(tiny_run), str(tmp_path / "missing")]) == 2
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["compare", str(bad), str(tiny_run)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nothing-here")]) == 2


_PLACEHOLDER = {
    "hashers": "<hasher>",
    "composites": "<composite>",
    "stages": "<stage>",
    "evaluation_seconds": "<hasher>",
    "hashing": "<hasher>",
    "index": "<hasher>",
    "parts": "<hasher>",
    "thresholds": "<hasher>",
    "versions": "<package>",
    "by_group": "<group>",
}


def _key_paths(obj, path: str = "") -> set[str]:
    """Every key path of a report, with run-chosen keys replaced by their placeholder."""
    out: set[str] = set()
    if isinstance(obj, dict):
        last = path.rsplit(".", 1)[-1]
        for key, value in obj.items():
            name = _PLACEHOLDER.get(last) or ("<transform>" if path.endswith("<hasher>.transforms") else None) or key
            child = f"{path}.{name}" if path else name
            out.add(child)
            out |= _key_paths(value, child)
    elif isinstance(obj, list):
        for item in obj:
            out |= _key_paths(item, path + "[]")
    return out


def test_every_report_key_is_documented(report):
    doc = (Path(__file__).parents[1] / "docs" / "report-schema.md").read_text()
    documented: dict[str, str] = {}
    for line in doc.splitlines():
        m = re.match(r"\| `([^`]+)` \| ([^|]+) \|", line)
        if m:
            documented[m.group(1)] = m.group(2).strip()
    rate_fields = {"count", "n", "rate", "ci_low", "ci_high"}

    def covered(path: str) -> bool:
        if path in documented:
            return True
        parent, _, last = path.rpartition(".")
        if documented.get(parent, "").startswith(("rate", "projected")) and last in rate_fields:
            return True
        # inside an open object (dataset or transform parameters) any key is allowed
        return any(
            path.startswith(p + ".") or path.startswith(p + "[]") for p, t in documented.items() if "(open)" in t
        )

    missing = sorted(p for p in _key_paths(report) if not covered(p))
    assert missing == []


def test_false_positive_only_run_renders(tmp_path):
    """Suite "none": no edited copies, so no TPR, ROC or operating points; the report says so."""
    cfg = tmp_path / "fpr-only.toml"
    cfg.write_text(
        TINY.split("[[transforms.custom]]")[0]
        + '[transforms]\nsuite = "none"\n'
        + TINY[TINY.index("[hashers]") :]
        .replace('"pdq", "pdq8", "phash", "md5"', '"phash", "md5"')
        .replace('composites = ["md5|pdq"]', "")
    )
    outcome = run(load_config(cfg), out_root=tmp_path / "results", workers=1, progress=False)
    md = (outcome.run_dir / "report.md").read_text()
    assert "it measures false positives only" in md and "no edited copies" in md
    assert "False matches within each kind of image" in md
    report = load_report(outcome.run_dir)
    for h in report["hashers"].values():
        fpr = h["at_threshold"]["fpr_per_pair"]
        assert k_of_n(fpr["count"], fpr["n"]) in md
    with open(outcome.run_dir / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["transform"] for r in rows} == {"all"} and all(r["tpr"] == "" for r in rows)
    assert "–" in summary_table(report)
    assert shape_errors(report, schema.Report) == []  # the typed shape holds without genuine pairs too
    # Only the figures the page shows are written; a re-render removes one an earlier drew.
    shown = set(re.findall(r"\]\(plots/([a-z_]+\.png)\)", md))
    assert shown and not shown & {"roc.png", "det.png", "tpr_heatmap.png"}
    assert {p.name for p in (outcome.run_dir / "plots").iterdir()} == shown
    (outcome.run_dir / "plots" / "roc.png").write_bytes(b"stale")
    assert main(["report", str(outcome.run_dir)]) == 0
    assert {p.name for p in (outcome.run_dir / "plots").iterdir()} == shown


def test_a_fresh_report_has_exactly_the_typed_shape(report):
    """The writers write what hashbench.schema declares (readers are type-checked against it),
    here with a quality gate, image groups, composites and per-query figures all present."""
    assert shape_errors(report, schema.Report) == []
    pdq = report["hashers"]["pdq"]
    assert "quality" in pdq and {"by_group", "histogram_ungated"} <= set(pdq["impostor"]) and report["composites"]
    broken = copy.deepcopy(report)
    broken["hashers"]["pdq"]["at_threshold"]["tpr"]["misses"] = 1
    expected = "$.hashers[pdq].at_threshold.tpr: key 'misses' is not declared in Rate"
    assert shape_errors(broken, schema.Report) == [expected]


def test_readers_show_image_level_fields_wherever_they_are(report):
    """Matchers and composites that carry image-level fields (issue 14's shape for pdq8,
    composites, and the gated rate among pairs that can match) get them printed first, and the
    one-sided bound from them; nothing falls back to pair-level where image-level exists."""
    r = copy.deepcopy(report)
    fields = {
        "trials": 435,
        "images_involved": 7,
        "max_matches_per_image": 4,
        "design_effect": 3.25,
        "ci_image_level": [1.5e-3, 4.5e-2],
        "ci_pair_level": [2.0e-3, 2.0e-2],
        "upper_one_sided_95": 3.75e-2,
        "image_level_method": "test",
    }
    r["hashers"]["pdq8"]["at_threshold"].update(fields)
    r["composites"]["md5|pdq"].update(fields)
    at = r["hashers"]["pdq"]["at_threshold"]
    generalized = at.pop("fpr_per_pair_gated")
    at["fpr_per_pair_gated"] = {
        "count": 2,
        "n": 231,
        "rate": 2 / 231,
        "ci_low": 1e-3,
        "ci_high": 3e-2,
        **{**fields, "trials": 231, "upper_one_sided_95": 2.5e-2},
        "gated_images_share": 0.25,
        "gated_pairs_share": 0.5,
    }
    at["fpr_per_pair_gated_generalized"] = generalized
    md = render_markdown(build_document(r))
    image, bound = interval(1.5e-3, 4.5e-2), f"{one_in(3.75e-2)} (image-level)"
    pdq8_row = next(ln for ln in md.splitlines() if ln.startswith("| `pdq8` | ≤ 31 |"))
    comp_row = next(ln for ln in md.splitlines() if ln.startswith("| `md5\\|pdq` |"))
    for row, rate in (
        (pdq8_row, r["hashers"]["pdq8"]["at_threshold"]["fpr_per_pair"]),
        (comp_row, r["composites"]["md5|pdq"]["fpr_per_pair"]),
    ):
        assert image in row and bound in row and "not computed" not in row
        assert row.index(image) < row.index(interval(rate["ci_low"], rate["ci_high"]), row.index(image) + 1)
    gate_row = next(ln for ln in md.splitlines() if ln.startswith(f"| `pdq` | {small_rate(2 / 231)} |"))
    assert f"{one_in(2.5e-2)} (image-level)" in gate_row and "25.0%" in gate_row and "50.0%" in gate_row
    assert "2 of 231" in gate_row and k_of_n(generalized["count"], generalized["n"]) in gate_row
    assert "| `pdq8` | 7 | 4 | 3.25 |" in md  # the clustering figures of a matcher that has them
    line = next(ln for ln in summary_table(r).splitlines() if ln.startswith("pdq8 "))
    assert interval(1.5e-3, 4.5e-2) in line and small_rate(3.75e-2) in line and "(pair)" not in line


def test_figure_captions_are_written_from_the_run(tiny_run, report):
    from hashbench.report.plots import caption

    md = (tiny_run / "report.md").read_text()
    page = (tiny_run / "report.html").read_text()
    for name in PLOTS:
        text = caption(report, name)
        assert f"![{text}](plots/{name})" in md, name
    assert "max-width: 78ch" not in page  # the text uses the page's width
    assert "`pdq`" in caption(report, "distances.png").split("constant weight")[0]
