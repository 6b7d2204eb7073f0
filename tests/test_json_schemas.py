"""Issue 19 item 4: JSON Schemas of report.json and the run configuration, shipped and derived.

Every report the suite writes through ``write_report`` is validated as it is written (the
session fixture in conftest.py); here: the shipped files are exactly what the code derives (so
they cannot drift), every TypedDict key is in the report schema, every setting in the config
schema, and the committed reports and configurations validate.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import get_type_hints

import jsonschema
import pytest

from hashbench import schema as typed
from hashbench.cli import main
from hashbench.config import SETTINGS, default_config_text, preset_names
from hashbench.schemas import CONFIG_FILE, REPORT_FILE, config_schema, load, report_schema

ROOT = Path(__file__).resolve().parents[1]


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = load(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_shipped_schemas_are_what_the_code_derives():
    assert load(REPORT_FILE) == report_schema(), "run `python -m hashbench.schemas` after changing hashbench.schema"
    assert load(CONFIG_FILE) == config_schema(), "run `python -m hashbench.schemas` after changing the settings"


def _typeddicts() -> list[type]:
    return [t for t in vars(typed).values() if isinstance(t, type) and hasattr(t, "__required_keys__")]


def test_every_typeddict_key_is_in_the_report_schema_with_its_requiredness():
    schema = load(REPORT_FILE)
    entries = {**schema["$defs"], "Report": schema}
    for td in _typeddicts():
        keys = set(get_type_hints(td))
        # a base class (HasherEvaluation, ImageLevelFields) is in the schema through its subclasses
        assert any(keys <= set(e["properties"]) for e in entries.values()), f"{td.__name__}: keys missing"
        if td.__name__ in entries:
            entry = entries[td.__name__]
            assert set(entry["properties"]) == set(get_type_hints(td)), td.__name__
            assert set(entry.get("required", [])) == set(td.__required_keys__), td.__name__


def test_every_setting_has_a_typed_property_in_the_config_schema():
    props = load(CONFIG_FILE)["properties"]
    for s in SETTINGS:
        prop = props[s.key] if s.section is None else props[s.section]["properties"][s.key]
        assert prop.get("description") == s.help and ({"type", "enum", "$ref"} & set(prop)), s.field


def test_the_committed_reports_validate():
    v = _validator(REPORT_FILE)
    reports = sorted(ROOT.glob("results/*/report.json"))
    # the golden holds the accuracy part of a report only: its keys must match, none is missing
    partial = {**load(REPORT_FILE), "required": list(typed.ACCURACY_KEYS)}
    golden = jsonschema.Draft202012Validator(partial)
    assert reports
    for path, validator in [(ROOT / "tests/golden/report_small.json", golden), *((p, v) for p in reports)]:
        report = json.loads(path.read_text())
        errors = [f"{'/'.join(map(str, e.path))}: {e.message[:120]}" for e in validator.iter_errors(report)]
        assert not errors, f"{path.relative_to(ROOT)}: {errors[:3]}"


def test_the_default_config_and_presets_validate_and_bad_ones_do_not():
    v = _validator(CONFIG_FILE)
    v.validate(tomllib.loads(default_config_text()))
    folder = ROOT / "src/hashbench/data/presets"
    image_presets = 0
    for name in preset_names():
        preset = tomllib.loads((folder / f"{name}.toml").read_text())
        if preset.get("run", {}).get("kind") == "video":
            continue  # a video study's config (hashbench.video.config), which this schema does not describe
        v.validate(preset)
        image_presets += 1
    assert image_presets >= 1
    good = tomllib.loads(default_config_text())
    with_command = json.loads(json.dumps(good))
    with_command["hashers"]["commands"] = {"pd": {"program": "/opt/pd --fast", "nbits": 144, "protocol": "nul"}}
    v.validate(with_command)  # the fields of CommandSpec, derived
    for edit in (
        lambda c: c["statistics"].update(alpha=2),
        lambda c: c["run"].update(sed=1),
        lambda c: c["references"][0].update(dataset="nope"),
        lambda c: c["references"][0].update(colour=1),
        lambda c: c["matching"].update(mode="fuzzy"),
        lambda c: c["hashers"].update(commands={"pd": {"program": "x", "nbits": 0}}),
    ):
        bad = json.loads(json.dumps(good))
        edit(bad)
        with pytest.raises(jsonschema.ValidationError):
            v.validate(bad)


def test_run_prints_the_config_schema(capsys):
    assert main(["run", "--print-config-schema"]) == 0
    assert json.loads(capsys.readouterr().out) == load(CONFIG_FILE)


def test_the_session_hook_validates_reports_as_they_are_written():
    from hashbench import report
    from hashbench.report import writers

    assert writers.write_report.__name__ == report.write_report.__name__ == "checked"
