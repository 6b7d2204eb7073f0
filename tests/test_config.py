import json
import tomllib
from pathlib import Path

import pytest

from hashbench import hashers
from hashbench.config import (
    SETTINGS,
    Composite,
    RunConfig,
    config_from_dict,
    default_config_text,
    load_config,
    load_preset,
    parse_config,
)
from hashbench.errors import UsageError
from hashbench.hashers.base import Hasher, HashOutput, ImageItem
from hashbench.hashers.external import CommandHasher

ROOT = Path(__file__).resolve().parents[1]

BASE = {
    "references": [{"dataset": "synthetic", "family": "shapes", "count": 3, "size": 64}],
    "hashers": {"names": ["pdq", "md5"]},
}


def cfg(**sections):
    data = {**BASE, **sections}
    return parse_config(data, origin="test")


def test_default_config_is_valid_and_round_trips():
    c = load_config()
    assert c.hashers == ("pdq", "pdq8", "phash", "phash16", "dhash", "ahash", "md5", "sha256")
    assert c.thresholds["pdq"] == 31 and c.quality_floor == 50 and c.volume_per_year == 12.3e9
    assert sum(s.params.get("count", 0) for s in c.distractors) == 5000
    assert config_from_dict(c.to_dict()) == c
    assert "[[references]]" in default_config_text()


def test_missing_thresholds_get_the_named_operating_points():
    c = cfg()
    assert c.thresholds == {"pdq": 31, "md5": 0}
    c = cfg(hashers={"names": ["colorhash", "phash"]}, thresholds={"phash": 6})
    assert c.thresholds == {"colorhash": 4, "phash": 6}


@pytest.mark.parametrize(
    "sections,needle",
    [
        ({"run": {"seeed": 1}}, "unknown key 'seeed' in \\[run\\]; did you mean 'seed'"),
        ({"hashers": {"names": ["pdqq"]}}, "unknown hasher 'pdqq'"),
        ({"hashers": {"names": []}}, "names is empty"),
        ({"hashers": {"names": ["pdq"], "composites": ["pdq|md5"]}}, "not in \\[hashers\\] names"),
        ({"hashers": {"names": ["pdq", "md5"], "composites": ["pdq|md5&pdq"]}}, "only '\\|'"),
        ({"thresholds": {"pdq": 300}}, "more than its 256 bits"),
        ({"thresholds": {"pdq": -1}}, "at least 0"),
        ({"matching": {"mode": "rotated"}}, "'plain' or 'dihedral'"),
        ({"matching": {"quality_floor": 101}}, "0-100"),
        ({"statistics": {"alpha": 2}}, "between 0 and 1"),
        ({"statistics": {"target_fprs": [0]}}, "positive number"),
        ({"references": []}, "at least one \\[\\[references\\]\\]"),
        ({"references": [{"dataset": "nope"}]}, "unknown dataset 'nope'"),
        ({"references": [{"dataset": "synthetic", "famly": "x"}]}, "did you mean 'family'"),
        ({"references": [{"dataset": "synthetic", "count": "ten"}]}, "whole number"),
        ({"distractors": [{"dataset": "synthetic", "family": "shapes", "count": 3, "size": 64}]}, "also a reference"),
        ({"run": {"name": "../x"}}, "plain name"),
        ({"oops": {}}, "unknown key 'oops' in the top level"),
    ],
)
def test_bad_configs_say_what_to_fix(sections, needle):
    with pytest.raises(UsageError, match=needle):
        cfg(**sections)


def test_file_errors(tmp_path):
    with pytest.raises(UsageError, match="cannot read config"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[run\nname=1")
    with pytest.raises(UsageError, match="not valid TOML"):
        load_config(bad)


# ---------------------------------------------------------------------------------------------
# Settings declared once


def test_every_setting_is_declared_once_and_to_dict_follows_the_declarations():
    c = load_config()
    # An optional setting (added after reports were first recorded) is recorded only when it is set.
    assert [s.field for s in SETTINGS if not s.optional] == list(c.to_dict())
    assert [s.field for s in SETTINGS if s.optional] == [
        "decode",
        "max_pixels",
        "decode_profile",
        "commands",
        "max_listed",
    ]
    assert len({(s.section, s.key) for s in SETTINGS}) == len(SETTINGS)
    assert all(s.help for s in SETTINGS)
    assert "composite_specs" not in c.to_dict()  # derived, not a setting


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.section], ids=lambda s: s.where)
def test_a_typo_in_any_section_key_gets_did_you_mean(setting):
    with pytest.raises(UsageError, match=f"unknown key '{setting.key}x' in \\[{setting.section}\\]; did you mean"):
        cfg(**{setting.section: {setting.key + "x": 1}})


def test_recorded_form_keeps_its_keys_order_and_types():
    """report.json records to_dict(); its digest names the results folder, so its form is pinned."""
    c = cfg(hashers={"names": ["pdq", "md5"], "composites": ["pdq|md5"]}, statistics={"list_sizes": [10]})
    assert c.to_dict() == {
        "name": "default",
        "seed": 0,
        "workers": 0,
        "chunk_size": 32,
        "references": [{"dataset": "synthetic", "family": "shapes", "count": 3, "size": 64}],
        "distractors": [],
        "suite": "default",
        "custom_transforms": (),
        "hashers": ("pdq", "md5"),
        "composites": ("pdq|md5",),
        "thresholds": {"pdq": 31, "md5": 0},
        "matching": "dihedral",
        "quality_floor": 50,
        "alpha": 0.05,
        "target_fprs": (1e-3, 1e-6, 1e-9, 2e-11),
        "list_sizes": (10.0,),
        "volume_per_year": 12.3e9,
        "list_size": 5e6,
    }
    assert [type(v) for v in c.to_dict()["list_sizes"]] == [float]


def test_digests_of_the_shipped_configs_are_unchanged():
    """The digest is part of the run id: these are the values before settings were declared once
    (the default's changed once on purpose since: whash left its hasher list)."""
    assert load_config().digest() == "4b44a1179b3c"
    assert load_config(ROOT / "benchmarks" / "ci-accuracy.toml").digest() == "7ea7369b8516"
    assert load_preset("fpr-50b").digest() == "7c1391deefc5"


def test_recorded_config_reads_back_through_json():
    c = load_config(ROOT / "tests" / "golden" / "report_small.toml")
    back = config_from_dict(json.loads(json.dumps(c.to_dict())))
    assert back == c and back.digest() == c.digest() and back.to_dict() == c.to_dict()
    recorded = c.to_dict()
    del recorded["thresholds"]
    with pytest.raises(UsageError, match="incomplete \\(missing 'thresholds'\\)"):
        config_from_dict(recorded)


def test_a_missing_setting_takes_its_runconfig_default():
    c, base = cfg(), RunConfig()
    for name in ("seed", "chunk_size", "suite", "matching", "quality_floor", "alpha", "target_fprs", "list_size"):
        assert getattr(c, name) == getattr(base, name)


# ---------------------------------------------------------------------------------------------
# Composites as a value object


def test_composites_are_parsed_once_into_value_objects():
    c = cfg(hashers={"names": ["pdq", "md5", "phash"], "composites": ["md5|pdq", "pdq & phash"]})
    assert c.composite_specs == (
        Composite("md5|pdq", "any", ("md5", "pdq")),
        Composite("pdq & phash", "all", ("pdq", "phash")),
    )
    assert c.composites == ("md5|pdq", "pdq & phash")  # the text, as written, names it in reports
    assert [str(spec) for spec in c.composite_specs] == list(c.composites)
    assert Composite.parse("pdq & phash") == Composite("pdq & phash", "all", ("pdq", "phash"))
    changed = c.with_overrides(composites=("phash|md5",))
    assert changed.composite_specs == (Composite("phash|md5", "any", ("phash", "md5")),)
    assert changed.name == c.name and changed.hashers == c.hashers


@pytest.mark.parametrize("text", ["pdq", "pdq|md5&phash"])
def test_a_composite_needs_exactly_one_kind_of_operator(text):
    with pytest.raises(UsageError, match="only '\\|' \\(any of\\) or only '&' \\(all of\\)"):
        Composite.parse(text)


# ---------------------------------------------------------------------------------------------
# Hasher.default_threshold


def _old_rule(name, h):
    """The rule before Hasher.default_threshold: default.toml's [thresholds], else nbits / 8."""
    conventional = tomllib.loads(default_config_text())["thresholds"]
    return conventional.get(name, 0 if h.exact else max(1, h.nbits // 8))


def test_every_registered_hasher_declares_the_operating_point_it_had():
    names = [n for n in hashers.available() if n != "command"]  # command needs a program
    assert {"pdq", "pdq8", "phash", "phash16", "dhash", "ahash", "whash", "colorhash", "md5", "sha256"} <= set(names)
    for name in names:
        h = hashers.get(name)
        assert h.default_threshold == _old_rule(name, h), name
    declared = {n: hashers.get(n).default_threshold for n in ("pdq", "pdq8", "phash", "phash16", "colorhash", "md5")}
    assert declared == {"pdq": 31, "pdq8": 31, "phash": 10, "phash16": 40, "colorhash": 4, "md5": 0}


class _Plugin(Hasher):
    name = "plugin"
    nbits = 96

    def hash_one(self, item: ImageItem) -> HashOutput:
        raise NotImplementedError


class _ExactPlugin(_Plugin):
    exact = True


def test_hashers_without_a_declaration_get_the_base_rule():
    assert _Plugin().default_threshold == 12 and _ExactPlugin().default_threshold == 0
    assert CommandHasher("true", nbits=64).default_threshold == 8  # nbits known per instance
    assert CommandHasher("true", nbits=4).default_threshold == 1  # never 0 for a perceptual hash
    assert Hasher.threshold_rule(256, exact=False) == 32 and Hasher.threshold_rule(256, exact=True) == 0


def test_missing_thresholds_come_from_the_hasher_not_from_default_toml(monkeypatch):
    monkeypatch.setattr(hashers.get("phash").__class__, "default_threshold", 7)
    assert cfg(hashers={"names": ["phash", "md5"]}).thresholds == {"phash": 7, "md5": 0}
