"""Exact hashers (MD5, SHA-256, command hashers declared ``exact = true``): one operating point at
distance 0, no EER, AP, curves or calibrated thresholds, and every reader says "exact match only".

Before: "md5 EER 50.2% at distance 63.5", an ISC AP and calibrated thresholds for a digest whose
distances other than 0 mean nothing.
"""

from __future__ import annotations

import copy
import csv
import json
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest

from _helpers import write_hash_table
from hashbench.cli import main
from hashbench.config import parse_config
from hashbench.errors import UsageError
from hashbench.evaluate.settings import StudySettings
from hashbench.hashers import Hasher, HashOutput, ImageItem, check_conformance
from hashbench.report import plots
from hashbench.report.document import Paragraph, Table, build_document
from hashbench.runner import run

# A digest of the file's bytes (16 hex digits of its sha1): an exact hash run as a command.
DIGEST = r"""
import hashlib, sys
for p in sys.stdin.buffer.read().split(b"\n")[:-1]:
    sys.stdout.write(hashlib.sha1(open(p, "rb").read()).hexdigest()[:16] + "\n")
"""

EXACT = ("md5", "sha256", "digest")


def _config(program: str, **extra_thresholds: int) -> dict:
    return {
        "run": {"name": "exact", "seed": 2, "chunk_size": 8},
        "references": [{"dataset": "synthetic", "family": "mixed", "count": 6, "size": 64, "seed": 0}],
        "distractors": [{"dataset": "synthetic", "family": "mixed", "count": 8, "size": 64, "seed": 1}],
        "transforms": {"custom": [{"kind": "png", "name": "png"}, {"kind": "jpeg", "name": "jpeg", "quality": 60}]},
        "hashers": {
            "names": ["phash", *EXACT],
            "composites": ["md5|phash"],
            "commands": {"digest": {"program": program, "nbits": 64, "exact": True}},
        },
        "thresholds": {"phash": 10, **extra_thresholds},
        "statistics": {"target_fprs": [0.1, 1e-3], "list_sizes": [100]},
    }


def _program(tmp_path: Path) -> str:
    script = tmp_path / "digest.py"
    script.write_text(DIGEST, encoding="utf-8")
    return shlex.join([sys.executable, str(script)])


@pytest.fixture(scope="module")
def exact_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("exact")
    program = _program(tmp)
    config = parse_config(_config(program), origin="exact", allowed_commands=[program])
    return run(config, out_root=tmp / "runs", workers=1, progress=False)


# --- the interface and the configuration ----------------------------------------------------


def test_a_command_hasher_declares_exact_and_gets_threshold_0(tmp_path):
    program = _program(tmp_path)
    config = parse_config(_config(program), origin="c", allowed_commands=[program])
    assert config.thresholds["digest"] == 0 and config.thresholds["md5"] == 0
    assert config.to_dict()["commands"]["digest"] == {
        "program": program,
        "nbits": 64,
        "protocol": "lines",
        "exact": True,
    }
    built = {h.name: h for h in config.build_hashers()}
    assert built["digest"].exact and built["md5"].exact and not built["phash"].exact
    assert built["digest"].default_threshold == 0 and built["digest"].describe()["exact"] is True
    # not declared exact: the base rule (nbits / 8), and the key left out of the recorded config
    plain = _config(program)
    del plain["hashers"]["commands"]["digest"]["exact"]
    config = parse_config(plain, origin="c", allowed_commands=[program])
    assert config.thresholds["digest"] == 8 and "exact" not in config.to_dict()["commands"]["digest"]


@pytest.mark.parametrize(
    "thresholds,message",
    [
        ({"md5": 3}, r"\[thresholds\] md5 = 3, but md5 is an exact hash: only identical hashes match"),
        ({"digest": 1}, r"\[thresholds\] digest = 1, but digest is an exact hash"),
    ],
)
def test_an_exact_hasher_refuses_any_threshold_but_0(tmp_path, thresholds, message):
    program = _program(tmp_path)
    with pytest.raises(UsageError, match=message):
        parse_config(_config(program, **thresholds), origin="c", allowed_commands=[program])
    assert parse_config(_config(program, md5=0, digest=0), origin="c", allowed_commands=[program])


def test_exact_must_be_a_boolean(tmp_path):
    program = _program(tmp_path)
    cfg = _config(program)
    cfg["hashers"]["commands"]["digest"]["exact"] = "yes"
    with pytest.raises(UsageError, match=r"\[hashers.commands.digest\] exact must be true or false"):
        parse_config(cfg, origin="c", allowed_commands=[program])


def test_study_settings_refuse_an_exact_hasher_off_distance_0():
    common = dict(
        name="md5",
        dihedral=False,
        quality_floor=None,
        seed=0,
        alpha=0.05,
        target_fprs=(),
        list_sizes=(),
        volume_per_year=1.0,
        list_size=1.0,
    )
    with pytest.raises(ValueError, match="exact hasher: only distance 0"):
        StudySettings(threshold=2, exact=True, **common)
    assert StudySettings(threshold=0, exact=True, **common).exact


def test_conformance_flags_an_exact_plugin_with_a_tolerance():
    class Loose(Hasher):
        name = "loose"
        nbits = 64
        exact = True
        default_threshold = 4

        def hash_one(self, item: ImageItem) -> HashOutput:
            return HashOutput(code=np.zeros(8, np.uint8))

    problems = check_conformance(Loose()).problems
    assert any("exact hashers match at distance 0 only" in p for p in problems)


# --- a run: what report.json holds --------------------------------------------------------------


def test_report_json_gives_exact_hashers_one_operating_point(exact_run):
    hs = exact_run.report["hashers"]
    for name in EXACT:
        h = hs[name]
        assert h["exact"] is True and h["threshold"] == 0 and h["at_threshold"]["threshold"] == 0
        assert h["summary"] == {}  # no eer, isc_micro_ap, micro_ap_tie_grouped, recall_at_90_precision
        assert h["operating_points"] == []
        # the one operating point is scored: identical pairs of all hashed pairs
        imp = h["impostor"]["histogram"]
        assert h["at_threshold"]["fpr_per_pair"]["count"] == imp[0] and h["at_threshold"]["fpr_per_pair"]["n"] == sum(
            imp
        )
        assert h["at_threshold"]["tpr"]["n"] == 12
    phash = hs["phash"]
    assert phash["exact"] is False and set(phash["summary"]) >= {"eer", "isc_micro_ap", "recall_at_90_precision"}
    assert len(phash["operating_points"]) == 2
    # a digest of the file bytes: the jpeg copies are never identical to their original
    assert hs["digest"]["transforms"]["jpeg"]["genuine_histogram"][0] == 0


def test_metrics_csv_has_only_threshold_0_for_exact_hashers(exact_run):
    with open(exact_run.run_dir / "metrics.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    thresholds = {name: {int(r["threshold"]) for r in rows if r["hasher"] == name} for name in ("phash", *EXACT)}
    assert thresholds["phash"] == set(range(65))
    for name in EXACT:
        assert thresholds[name] == {0}


# --- what report.md / report.html and the plots say ----------------------------------------------


def _section(blocks: list, heading: str) -> list:
    start = next(i for i, b in enumerate(blocks) if getattr(b, "text", None) == heading)
    end = next((i for i in range(start + 1, len(blocks)) if type(blocks[i]).__name__ == "Heading"), len(blocks))
    return blocks[start:end]


def test_document_leaves_exact_hashers_out_of_curves_and_says_why(exact_run):
    blocks = build_document(exact_run.report)
    summaries = _section(blocks, "Threshold-free summaries")
    [table] = [b for b in summaries if isinstance(b, Table)]
    assert [row[0] for row in table.rows] == ["`phash`"]
    notes = [b.text for b in summaries if isinstance(b, Paragraph) and "exact match only" in b.text]
    assert notes and all(f"`{n}`" in notes[0] for n in EXACT) and "no equal error rate" in notes[0]
    operating = _section(blocks, "Operating points for target false-positive rates")
    [table] = [b for b in operating if isinstance(b, Table)]
    assert {row[0] for row in table.rows} == {"`phash`"}
    assert any(isinstance(b, Paragraph) and "exact match only" in b.text for b in operating)
    md = (exact_run.run_dir / "report.md").read_text(encoding="utf-8")
    html = (exact_run.run_dir / "report.html").read_text(encoding="utf-8")
    assert "exact match only" in md and "exact match only" in html
    assert "md5` | " not in md.split("## Threshold-free summaries")[1].split("##")[0]  # no md5 row there


def _figure_texts(monkeypatch, fn, report) -> str:
    """Every string drawn on the figure ``fn`` makes (titles, labels, legends, panel text)."""
    from matplotlib.text import Text

    drawn = []
    monkeypatch.setattr(plots, "_png", lambda fig: drawn.append(fig) or b"")
    fn(report)
    [fig] = drawn
    return "\n".join(t.get_text() for t in fig.findobj(Text))


def test_plots_say_exact_match_only(exact_run, monkeypatch):
    report = exact_run.report
    distances = _figure_texts(monkeypatch, plots.plot_distances, report)
    fpr = _figure_texts(monkeypatch, plots.plot_fpr_vs_threshold, report)
    for name in EXACT:
        assert f"{name} ({report['hashers'][name]['nbits']} bits), exact match only" in distances
        assert f"{name}, exact match only" in fpr
    assert "phash (64 bits, plain)" in distances and "phash (" in fpr and "phash, exact" not in fpr
    assert "impostor pairs identical" in distances and "per-pair FPR at distance 0" in fpr
    roc = _figure_texts(monkeypatch, plots.plot_roc, report)
    assert all(f"{n} (exact match only)" in roc for n in EXACT)
    det = _figure_texts(monkeypatch, plots.plot_det, report)
    assert "md5, sha256, digest: exact match only, no curve" in det
    heat = _figure_texts(monkeypatch, plots.plot_tpr_heatmap, report)
    assert "md5\nexact match" in heat and "phash\nt≤10" in heat


def test_a_run_of_exact_hashers_only_renders(exact_run, monkeypatch):
    """No hasher has a curve: the summaries have no table, every plot still draws."""
    report = copy.deepcopy(exact_run.report)
    for name in ("phash", "sha256", "digest"):
        del report["hashers"][name]
    report["composites"] = {}
    blocks = build_document(report)
    summaries = _section(blocks, "Threshold-free summaries")
    assert not [b for b in summaries if isinstance(b, Table)]
    assert any(isinstance(b, Paragraph) and "`md5`: **exact match only**" in b.text for b in summaries)
    pngs = plots.render_plots(report)
    assert all(png.startswith(b"\x89PNG") for png in pngs.values())


# --- hashbench impostors -----------------------------------------------------------------------


def _table(tmp_path: Path, hasher: str, nbits: int, n: int) -> Path:
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 256, (n, nbits // 8), dtype=np.uint8)
    codes[1] = codes[0]  # one identical pair
    return write_hash_table(tmp_path / f"{hasher}.parquet", hasher, nbits, codes)


def test_impostors_on_an_exact_hasher_is_exact_match_only(tmp_path, capsys):
    path = _table(tmp_path, "md5", 128, 10)
    assert main(["impostors", str(path), "--hasher", "md5", "--json", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["exact"] is True and [r["threshold"] for r in out["at_threshold"]] == [0]
    assert out["at_threshold"][0]["count"] == 1 and out["n_pairs"] == 45
    assert main(["impostors", str(path), "--hasher", "md5", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "exact match only" in text and "closest pair" not in text
    assert main(["impostors", str(path), "--hasher", "md5", "--threshold", "0,4", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "md5 is an exact hash" in err and "--threshold can only be 0" in err and "Traceback" not in err
    phash = _table(tmp_path, "phash", 64, 10)
    assert main(["impostors", str(phash), "--hasher", "phash", "--json", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["exact"] is False
