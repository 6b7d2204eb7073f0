"""Report pieces that need no run: number formatting, loading report.json, escaping in Markdown
and HTML, and the tolerance rules of `compare` at their boundaries."""

from __future__ import annotations

import json

import pytest

from hashbench.cli import main
from hashbench.errors import UsageError
from hashbench.evaluate.study import rate_dict
from hashbench.report import SCHEMA, Tolerances, compare_reports, format_comparison, load_report, without_timing
from hashbench.report import format as f
from hashbench.report.document import Paragraph, Table
from hashbench.report.html import inline, render_html
from hashbench.report.markdown import render_markdown


def test_formatting_never_prints_nan_or_none():
    assert f.pct(0.5405405) == "54.1%" and f.pct(0) == "0%" and f.pct(1) == "100%"
    assert f.small_rate(0.000593273) == "5.93e-04" and f.small_rate(0.354) == "0.354" and f.small_rate(0) == "0"
    assert f.k_of_n(2199, 6216) == "2,199 of 6,216"
    assert f.one_in(0.000593273) == "1 in 1.69 thousand" and f.one_in(0) == "none"
    assert f.big(12.3e9) == "12.3 billion" and f.big(5e6) == "5 million"
    assert f.interval(0.0, 0.000593273) == "[0, 5.93e-04]"
    for fn in (f.pct, f.small_rate, f.count, f.big, f.one_in, f.seconds, f.per_second):
        assert fn(None) == f.DASH and fn(float("nan")) == f.DASH


def _mini_report(
    tpr: tuple[int, int] = (90, 100),
    fp: tuple[int, int] = (0, 1000),
    speed: float = 1000.0,
    hashers: tuple[str, ...] = ("phash",),
) -> dict:
    """The parts of a report that `compare` reads, with rates made by the study's own rate_dict."""
    nbits = 8
    gen = [0] * (nbits + 1)
    gen[0], gen[nbits] = tpr[0], tpr[1] - tpr[0]  # threshold 2: the first tpr[0] pairs match
    return {
        "schema": SCHEMA,
        "run_id": "mini",
        "config": {"alpha": 0.05, "seed": 0},
        "seed": 0,
        "environment": {"versions": {}, "machine": {}},
        "inputs": {"queries": {"transforms": [{"name": "jpeg", "kind": "jpeg", "params": {}}]}},
        "hashers": {
            name: {
                "nbits": nbits,
                "threshold": 2,
                "matching": "plain",
                "transforms": {"jpeg": {"genuine_histogram": list(gen), "failed": 0}},
                "at_threshold": {"threshold": 2, "tpr": rate_dict(*tpr, 0.05), "fpr_per_pair": rate_dict(*fp, 0.05)},
            }
            for name in hashers
        },
        "composites": {},
        "timing": {"hashing": {name: {"images_per_second_per_core": speed} for name in hashers}},
    }


def test_compare_tolerance_boundaries():
    base = _mini_report()
    assert not compare_reports(base, _mini_report()).regressed
    # one point lower is within the default TPR tolerance (0.01); two points is not
    assert not compare_reports(base, _mini_report(tpr=(89, 100))).regressed
    c = compare_reports(base, _mini_report(tpr=(88, 100)))
    assert {(d.metric, d.transform) for d in c.regressions} == {("tpr", None), ("tpr_transform", "jpeg")}
    assert compare_reports(base, _mini_report(tpr=(89, 100)), Tolerances(tpr=0)).regressed
    # FPR: a first false match lifts the upper bound from 3.7/n to 5.6/n, far beyond 10%
    c = compare_reports(base, _mini_report(fp=(1, 1000)))
    assert [d.metric for d in c.regressions] == ["fpr_per_pair_upper"]
    # fewer pairs with still no false match also weakens the bound: that is reported
    assert compare_reports(base, _mini_report(fp=(0, 800))).regressed
    assert not compare_reports(base, _mini_report(fp=(0, 800)), Tolerances(fpr=0.3)).regressed
    # speed, when asked for: 15% slower is within tolerance, 20% slower is not
    speed = Tolerances(speed=0.15)
    assert not compare_reports(base, _mini_report(speed=850.0), speed).regressed
    c = compare_reports(base, _mini_report(speed=800.0), speed)
    assert [(d.metric, d.kind) for d in c.regressions] == [("images_per_second_per_core", "speed")]
    text = format_comparison(c)
    assert "REGRESSED: 1 figure" in text and "images/CPU-s" in text


def test_compare_ignores_speed_unless_asked(monkeypatch, capsys):
    # Issue 16, item 17: runs that differ only in timing noise must not fail CI.
    base, slow = _mini_report(), _mini_report(speed=500.0)
    c = compare_reports(base, slow)
    assert not c.regressed
    (row,) = [d for d in c.differences if d.kind == "speed"]
    assert not row.judged and row.b == 500.0 and not row.improved
    text = format_comparison(c)
    assert "not judged" in text and "OK:" in text and "speed not judged" in text
    # The command line, on the same two reports (the mini reports hold only what compare reads).
    monkeypatch.setattr("hashbench.report.load_report", {"a": base, "b": slow}.__getitem__)
    assert main(["compare", "a", "b"]) == 0
    assert main(["compare", "a", "b", "--speed"]) == 1
    assert main(["compare", "a", "b", "--tolerance-speed", "0.6"]) == 0
    assert "speed -60%" in capsys.readouterr().out


def test_compare_refuses_different_hashers():
    with pytest.raises(UsageError, match=r"only in B \(mini\): dhash"):
        compare_reports(_mini_report(), _mini_report(hashers=("phash", "dhash")))
    with pytest.raises(UsageError):
        Tolerances(tpr=-0.1)


def test_load_report_errors_name_the_problem(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        load_report(tmp_path)  # a folder without report.json
    bad = tmp_path / "report.json"
    bad.write_text("[1, 2")
    with pytest.raises(UsageError, match="not valid JSON"):
        load_report(tmp_path)
    bad.write_text(json.dumps({"schema": "other/9"}))
    with pytest.raises(UsageError, match="schema is 'other/9'"):
        load_report(bad)
    r = _mini_report()
    del r["hashers"]["phash"]["matching"]
    bad.write_text(json.dumps(r))
    with pytest.raises(UsageError, match="hashers.phash lacks"):
        load_report(bad)


def test_without_timing_drops_only_timing():
    r = _mini_report()
    stripped = without_timing(r)
    assert "timing" not in stripped and stripped["hashers"] == r["hashers"] and "timing" in r
    assert "environment" not in without_timing(r, machine=True)


def test_markdown_escapes_pipes_in_cells():
    md = render_markdown([Table(["matcher", "tpr"], [["`md5|pdq`", "54%"]])])
    assert "| `md5\\|pdq` | 54% |" in md
    assert md.splitlines()[1] == "|---|---:|"


def test_html_inline_markup_and_escaping():
    assert inline("**TPR** of `a<b>` is *high* & 3 * 4") == (
        "<strong>TPR</strong> of <code>a&lt;b&gt;</code> is <em>high</em> &amp; 3 * 4"
    )
    page = render_html([Paragraph("x < y", note=True)], {}, title="<t>")
    assert '<p class="note">x &lt; y</p>' in page and "<title>&lt;t&gt;</title>" in page
