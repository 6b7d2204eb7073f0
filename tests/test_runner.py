"""`hashbench run` end to end on a tiny configuration: counts, exactness, determinism, resume."""

import json
import shutil

import numpy as np
import pytest

from hashbench.config import parse_config
from hashbench.runner import accuracy_differences, run

TINY = {
    "run": {"name": "tiny", "seed": 7, "chunk_size": 5},
    "references": [{"dataset": "synthetic", "family": "mixed", "count": 8, "size": 64, "seed": 0}],
    "distractors": [{"dataset": "synthetic", "family": "mixed", "count": 12, "size": 64, "seed": 1}],
    "transforms": {
        "custom": [
            {"kind": "hflip", "name": "hflip"},
            {"kind": "jpeg", "name": "jpeg_q50", "quality": 50},
            {"kind": "png", "name": "png"},
        ]
    },
    "hashers": {"names": ["pdq", "pdq8", "phash", "md5"], "composites": ["md5|pdq"]},
    "thresholds": {"pdq": 31, "pdq8": 31, "phash": 10},
    "statistics": {"target_fprs": [0.1, 1e-6]},
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    config = parse_config(TINY, origin="tiny")
    return config, run(config, out_root=out, workers=1, progress=False)


def test_counts_and_stage_sizes(tiny):
    config, outcome = tiny
    r = outcome.report
    assert (outcome.run_dir / "report.json").is_file()
    assert r["inputs"]["queries"]["count"] == 8 * 3
    assert r["inputs"]["failures"] == []
    for name in config.hashers:
        h = r["hashers"][name]
        assert h["counts"]["genuine_pairs"] == 24
        assert sum(sum(t["genuine_histogram"]) for t in h["transforms"].values()) == 24
        n = 8 + 12
        pairs = n * (n - 1) // 2  # unordered pairs for every matcher (dihedral: either direction)
        assert sum(h["impostor"]["histogram"]) == pairs
        assert sum(h["per_query"]["nearest_histogram"]) == 12


def test_exact_and_dihedral_behaviour(tiny):
    _, outcome = tiny
    hs = outcome.report["hashers"]
    # A lossless PNG re-encode keeps the pixels, so every perceptual hash stays at distance 0;
    # MD5 hashes the new file's bytes, which differ from the reference's, so it finds nothing.
    for name in ("pdq", "pdq8", "phash"):
        assert hs[name]["transforms"]["png"]["genuine_histogram"][0] == 8
    assert hs["md5"]["at_threshold"]["tpr"]["count"] == 0
    # Mirrored copies: plain PDQ far away, dihedral PDQ close.
    flip_plain = np.array(hs["pdq"]["transforms"]["hflip"]["genuine_histogram"])
    flip_dihedral = np.array(hs["pdq8"]["transforms"]["hflip"]["genuine_histogram"])
    assert flip_plain[:32].sum() < 8 and flip_dihedral[:32].sum() == 8
    comp = outcome.report["composites"]["md5|pdq"]
    assert comp["tpr"]["count"] == hs["pdq"]["at_threshold"]["tpr"]["count"]


def test_rates_have_exact_intervals(tiny):
    _, outcome = tiny
    fpr = outcome.report["hashers"]["pdq"]["at_threshold"]["fpr_per_pair"]
    from scipy.stats import beta

    k, n = fpr["count"], fpr["n"]
    high = beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
    assert fpr["ci_high"] == pytest.approx(high, rel=1e-9)
    ops = outcome.report["hashers"]["pdq"]["operating_points"]
    assert [o["target_fpr"] for o in ops] == [0.1, 1e-6]
    assert ops[1]["resolvable"] is False  # 95 calibration pairs cannot show 1e-6


def test_same_config_and_seed_give_identical_accuracy(tiny, tmp_path):
    config, first = tiny
    second = run(config, out_root=tmp_path, workers=2, progress=False)
    assert accuracy_differences(first.report, second.report) == []
    assert (
        json.loads((second.run_dir / "report.json").read_text())["hashers"]
        == json.loads((first.run_dir / "report.json").read_text())["hashers"]
    )


def test_resume_skips_saved_chunks_and_gives_the_same_result(tiny, tmp_path):
    config, first = tiny
    shutil.copytree(first.run_dir, tmp_path / first.run_dir.name)
    parts = sorted((tmp_path / first.run_dir.name / "parts" / "queries").glob("chunk-*.parquet"))
    for p in parts[::2]:
        p.unlink()  # as if the run had died before these chunks were written
    again = run(config, out_root=tmp_path, workers=1, progress=False)
    stage = again.report["timing"]["stages"]["queries"]
    assert stage["chunks"] == len(parts) and stage["resumed_chunks"] == len(parts) - len(parts[::2])
    assert accuracy_differences(first.report, again.report) == []


def test_impostor_pairs_are_also_counted_within_each_image_family(tiny):
    _, outcome = tiny
    imp = outcome.report["hashers"]["phash"]["impostor"]
    groups = imp["by_group"]
    assert set(groups) == {"dead-leaves", "fractal", "shapes", "text", "low-detail"}
    assert sum(g["n_images"] for g in groups.values()) == imp["n_images"] == 20
    for g in groups.values():
        n = g["n_images"]
        assert sum(g["histogram"]) == n * (n - 1) // 2
    dihedral = outcome.report["hashers"]["pdq8"]["impostor"]["by_group"]
    assert all(sum(g["histogram"]) == g["n_images"] * (g["n_images"] - 1) // 2 for g in dihedral.values())


def test_fpr_only_study_like_the_fpr_50b_preset(tmp_path):
    """The preset's shape (no edits, no distractors, groups) at a size that runs in seconds."""
    from hashbench.config import load_preset

    preset = load_preset("fpr-50b")
    assert preset.references[0].params["count"] == 550_000 and preset.suite == "none"
    assert 550_000 * 549_999 // 2 >= 1.5e11  # enough pairs to bound a rate at 2e-11
    small = preset.with_overrides(
        references=(
            preset.references[0].__class__("synthetic", {**preset.references[0].params, "count": 40, "size": 64}),
        ),
        chunk_size=16,
    )
    outcome = run(small, out_root=tmp_path, workers=1, progress=False)
    r = outcome.report
    assert r["inputs"]["queries"]["count"] == 0
    for h in r["hashers"].values():
        assert sum(h["impostor"]["histogram"]) == 40 * 39 // 2
        assert h["operating_points"] == [] and h["counts"]["genuine_pairs"] == 0
        assert [p["list_size"] for p in h["at_threshold"]["fpr_per_query_projected"]] == [1e6, 5e6]
        assert "text" in h["impostor"]["by_group"]


def _conforms(value, tp, path: str, errors: list[str]) -> None:
    """Check a report value against its type in hashbench.schema (TypedDicts, dicts, lists,
    literals, unions, plain JSON types); every mismatch is appended to ``errors`` by path."""
    import types
    import typing

    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is typing.Any:
        return
    if typing.is_typeddict(tp):
        if not isinstance(value, dict):
            errors.append(f"{path}: not an object")
            return
        hints = typing.get_type_hints(tp)
        missing = sorted(tp.__required_keys__ - set(value))
        unknown = sorted(set(value) - set(hints))
        errors.extend([f"{path}.{k}: missing" for k in missing] + [f"{path}.{k}: not in the schema" for k in unknown])
        for k, v in value.items():
            if k in hints:
                _conforms(v, hints[k], f"{path}.{k}", errors)
    elif origin is dict:
        for k, v in value.items():
            _conforms(v, args[1], f"{path}.{k}", errors)
    elif origin is list:
        for i, v in enumerate(value):
            _conforms(v, args[0], f"{path}[{i}]", errors)
    elif origin is typing.Literal:
        if value not in args:
            errors.append(f"{path}: {value!r} not one of {args}")
    elif origin in (typing.Union, types.UnionType):
        trial: list[list[str]] = []
        for a in args:
            trial.append([])
            _conforms(value, a, path, trial[-1])
        if all(trial):
            errors.append(f"{path}: {value!r} matches none of {args}")
    elif tp is type(None):
        if value is not None:
            errors.append(f"{path}: expected null")
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append(f"{path}: expected a number, got {value!r}")
    elif tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(f"{path}: expected an int, got {value!r}")
    elif not isinstance(value, tp):
        errors.append(f"{path}: expected {tp.__name__}, got {type(value).__name__}")


def test_report_matches_its_typed_schema(tiny):
    """Every key and value of a real report (gate, dihedral, groups, composite) has the type
    hashbench.schema declares, so readers annotated with those TypedDicts read what is there."""
    from hashbench.schema import Report

    _, outcome = tiny
    errors: list[str] = []
    _conforms(json.loads((outcome.run_dir / "report.json").read_text()), Report, "report", errors)
    assert errors == []
    assert outcome.report["hashers"]["pdq"]["quality"]["floor"] is not None  # the gated keys were checked too
    bad = json.loads((outcome.run_dir / "report.json").read_text())
    bad["hashers"]["pdq"]["at_threshold"]["tpr"]["count"] = "7"
    del bad["hashers"]["pdq"]["counts"]["queries"]
    errors = []
    _conforms(bad, Report, "report", errors)
    assert errors == [
        "report.hashers.pdq.counts.queries: missing",
        "report.hashers.pdq.at_threshold.tpr.count: expected an int, got '7'",
    ]


def test_timings_are_named_by_evaluation_step(tiny):
    _, outcome = tiny
    steps = ["genuine_s", "impostor_s", "operating_points_s", "per_query_s", "at_threshold_s", "curves_s"]
    for name, seconds in outcome.report["timing"]["evaluation_seconds"].items():
        assert list(seconds) == steps, name
        assert all(s >= 0 for s in seconds.values())


def test_reproduce_refuses_what_is_not_a_report(tmp_path):
    """reproduce reads the record through load_report: every bad file is one clear UsageError."""
    from hashbench.errors import UsageError
    from hashbench.runner import reproduce

    with pytest.raises(UsageError, match="no such file"):
        reproduce(tmp_path / "missing.json", out_root=tmp_path)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"schema": "something/2"}))
    with pytest.raises(UsageError, match="schema is 'something/2'"):
        reproduce(other, out_root=tmp_path)
    assert not any(tmp_path.glob("reproduce-*"))  # refused before anything ran


@pytest.mark.parametrize("workers", [1, 2])
def test_distinct_draws_are_settled_by_the_hash_stage_itself(tmp_path, workers):
    """The hash stage reports each first draw's signature and only the redrawn images are hashed
    again: the references' hashes, edits and redraw counts are those of the settled dataset hashed
    directly, with no separate search generating every image first; a resumed stage agrees."""
    from hashbench.datasets.synthetic import SyntheticDataset, distinct_redraws
    from hashbench.hashing import collect, hash_stream, resolve_hashers
    from hashbench.runner import _hash_stages, _inputs
    from hashbench.sources import DatasetSource

    spec = {"dataset": "synthetic", "family": "low-detail", "count": 300, "size": 32, "seed": 2}
    cfg = {
        "run": {"name": "settle", "seed": 3, "chunk_size": 64},
        "references": [spec],
        "transforms": {"custom": [{"kind": "hflip", "name": "hflip"}]},
        "hashers": {"names": ["md5", "phash"]},
        "thresholds": {"phash": 10},
    }
    config = parse_config(cfg, origin="settle")
    hashers = resolve_hashers(config.build_hashers())
    red = distinct_redraws("low-detail", 2, (32, 32), 300, workers=1)
    assert red.sum() > 0  # flat draws repeat at this count: some rows are really redrawn
    want_items = list(SyntheticDataset("low-detail", count=300, seed=2, size=32))
    want = collect(hash_stream([(it.id, DatasetSource(it)) for it in want_items], hashers, workers=1), hashers)
    for attempt in ("fresh", "resumed"):
        inputs, hashed = _hash_stages(_inputs(config), hashers, config, tmp_path, workers, False, None)
        assert [it.source.get("redraw", 0) for it in inputs.references] == red.tolist(), attempt
        assert hashed.references.ids == want.ids
        for name in ("md5", "phash"):
            np.testing.assert_array_equal(hashed.references.codes[name], want.codes[name], err_msg=attempt)
        assert [q for q, _ in inputs.queries] == [f"{it.id}#hflip" for it in want_items]
        assert [e.item.source.get("redraw", 0) for _, e in inputs.queries] == red.tolist()
    assert "references-redrawn" in hashed.stages
