"""JSON Schemas of report.json and of the run configuration, shipped in the package.

Why: a report is read by other tools (dashboards, notebooks, CI checks), and a schema they can
validate against is a contract they do not have to reverse-engineer from prose. The schemas are
*derived*: ``report.schema.json`` from the TypedDicts of :mod:`hashbench.schema` (the same types
mypy checks the writers and readers against) and ``config.schema.json`` from
:data:`hashbench.config.SETTINGS` and the dataset registry. The shipped files are what
:func:`report_schema` and :func:`config_schema` build; a test regenerates them and fails on any
difference, so the files cannot drift from the code. Regenerate after changing either::

    python -m hashbench.schemas

Conventions: a float may be null (report.json writes NaN and infinity as null); a TypedDict is an
object with exactly its keys (``additionalProperties: false``), its ``NotRequired`` keys optional.
"""

from __future__ import annotations

import json
import types
from importlib import resources
from pathlib import Path
from typing import Any, Literal, NotRequired, Required, Union, get_args, get_origin, get_type_hints

__all__ = ["REPORT_FILE", "CONFIG_FILE", "report_schema", "config_schema", "load", "write_all"]

REPORT_FILE = "report.schema.json"
CONFIG_FILE = "config.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def load(name: str) -> dict[str, Any]:
    """A shipped schema by file name (``report.schema.json`` or ``config.schema.json``)."""
    text = resources.files("hashbench.schemas").joinpath(name).read_text(encoding="utf-8")
    return dict(json.loads(text))


# --- report.json, from hashbench.schema -------------------------------------------------------


def report_schema() -> dict[str, Any]:
    """The JSON Schema of report.json: :class:`hashbench.schema.Report` and every TypedDict it uses."""
    from .. import schema

    defs: dict[str, Any] = {}
    root = _object_schema(schema.Report, defs)
    root["properties"]["schema"] = {"const": schema.SCHEMA}
    return {
        "$schema": DRAFT,
        "$id": "https://hashbench.invalid/schemas/" + REPORT_FILE,
        "title": f"hashbench report.json ({schema.SCHEMA})",
        "description": "Derived from hashbench.schema (python -m hashbench.schemas); docs/report-schema.md says what "
        "every key means. Floats may be null: NaN and infinity are written as null.",
        **root,
        "$defs": dict(sorted(defs.items())),
    }


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__required_keys__")


def _object_schema(td: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """A TypedDict as an object schema: its keys, the required ones, nothing else."""
    hints = get_type_hints(td, include_extras=True)
    props = {key: _type_schema(tp, defs) for key, tp in hints.items()}
    required = [k for k in hints if k in td.__required_keys__]
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    doc = (td.__doc__ or "").strip()
    if doc and not doc.startswith(f"{td.__name__}("):
        out["description"] = " ".join(doc.split())
    return out


def _type_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """One Python type as a schema (int, float, str, bool, None, Any, list, dict, Literal, unions, TypedDicts)."""
    origin = get_origin(tp)
    if origin in (NotRequired, Required):
        return _type_schema(get_args(tp)[0], defs)
    if tp is Any:
        return {}
    if tp is type(None) or tp is None:
        return {"type": "null"}
    simple = {bool: "boolean", int: "integer", str: "string"}
    if tp in simple:
        return {"type": simple[tp]}
    if tp is float:
        return {"type": ["number", "null"]}
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    if origin in (Union, types.UnionType):
        return {"anyOf": [_type_schema(a, defs) for a in get_args(tp)]}
    if origin is list:
        return {"type": "array", "items": _type_schema(get_args(tp)[0], defs)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _type_schema(get_args(tp)[1], defs)}
    if _is_typeddict(tp):
        if tp.__name__ not in defs:
            defs[tp.__name__] = {}  # placeholder first: a type may refer to itself
            defs[tp.__name__] = _object_schema(tp, defs)
        return {"$ref": f"#/$defs/{tp.__name__}"}
    raise TypeError(f"no JSON Schema for {tp!r}")  # pragma: no cover - a new kind of type in schema.py


# --- the run configuration, from hashbench.config.SETTINGS -----------------------------------


def config_schema() -> dict[str, Any]:
    """The JSON Schema of a run configuration as TOML (or JSON) holds it: one property per setting.

    Types and bounds are each setting's :attr:`~hashbench.config.Setting.schema`, declared beside
    its parser (which stays the judge: the schema is for editors and other tools); each dataset
    block names a registered dataset and its parameters.
    """
    from ..config import SETTINGS

    sections: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for s in SETTINGS:
        prop = {**s.schema, "description": s.help}
        if s.section is None:
            top[s.key] = prop
        else:
            sections.setdefault(s.section, {})[s.key] = prop
    for name, props in sections.items():
        top[name] = {"type": "object", "properties": props, "additionalProperties": False}
    return {
        "$schema": DRAFT,
        "$id": "https://hashbench.invalid/schemas/" + CONFIG_FILE,
        "title": "hashbench run configuration",
        "description": "Derived from hashbench.config.SETTINGS (python -m hashbench.schemas); "
        "`hashbench run --print-default-config` is an example. The configuration's own validation is the judge.",
        "type": "object",
        "properties": top,
        "additionalProperties": False,
        "$defs": {"dataset": _dataset_schema(), "command": _command_schema()},
    }


def _command_schema() -> dict[str, Any]:
    """A ``[hashers.commands.NAME]`` table: the fields of :class:`hashbench.config.CommandSpec` but its name."""
    import dataclasses

    from ..config import CommandSpec

    hints = get_type_hints(CommandSpec)
    fields = [f for f in dataclasses.fields(CommandSpec) if f.name != "name"]
    props = {f.name: _type_schema(hints[f.name], {}) for f in fields}
    if "nbits" in props:
        props["nbits"]["minimum"] = 1
    required = [f.name for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


def _dataset_schema() -> dict[str, Any]:
    """A ``[[references]]`` / ``[[distractors]]`` block: a registered dataset and its parameters."""
    from .. import datasets

    variants = []
    for info in datasets.available():
        props: dict[str, Any] = {"dataset": {"const": info.name}}
        props.update({p: {"description": text} if text else {} for p, text in info.params.items()})
        variants.append(
            {
                "type": "object",
                "description": info.description,
                "properties": props,
                "required": ["dataset"],
                "additionalProperties": False,
            }
        )
    return {"oneOf": variants}


def write_all(folder: str | Path | None = None) -> list[Path]:
    """Write both schemas (into the package folder by default); returns the files written."""
    target = Path(folder) if folder is not None else Path(__file__).parent
    out = []
    for name, schema in ((REPORT_FILE, report_schema()), (CONFIG_FILE, config_schema())):
        path = target / name
        path.write_text(json.dumps(schema, indent=1) + "\n", encoding="utf-8")
        out.append(path)
    return out
