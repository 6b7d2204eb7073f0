import pytest

from hashbench.config import config_from_dict, default_config_text, load_config, parse_config
from hashbench.errors import UsageError

BASE = {
    "references": [{"dataset": "synthetic", "family": "shapes", "count": 3, "size": 64}],
    "hashers": {"names": ["pdq", "md5"]},
}


def cfg(**sections):
    data = {**BASE, **sections}
    return parse_config(data, origin="test")


def test_default_config_is_valid_and_round_trips():
    c = load_config()
    assert c.hashers == ("pdq", "pdq8", "phash", "phash16", "dhash", "ahash", "whash", "md5", "sha256")
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
