"""Check a JSON value against a TypedDict of :mod:`hashbench.schema`, key by key, at run time.

mypy checks that the report readers read only keys the schema declares; this checks the other
half, that real reports have exactly the declared shape: every required key present, no key
the schema does not declare, every value of the declared type (``NotRequired`` keys may be absent).
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, NotRequired, get_args, get_origin, get_type_hints


def _is_typeddict(t: Any) -> bool:
    return isinstance(t, type) and hasattr(t, "__required_keys__")


def shape_errors(value: Any, t: Any, path: str = "$") -> list[str]:
    """Every place where ``value`` (as read from JSON) does not have type ``t``; [] if it does."""
    origin = get_origin(t)
    if t is Any:
        return []
    if origin is NotRequired:
        return shape_errors(value, get_args(t)[0], path)
    if origin in (typing.Union, types.UnionType):
        if any(not shape_errors(value, a, path) for a in get_args(t)):
            return []
        return [f"{path}: {value!r:.60} is none of {t}"]
    if origin is Literal:
        return [] if value in get_args(t) else [f"{path}: {value!r} is not one of {get_args(t)}"]
    if _is_typeddict(t):
        return _typeddict_errors(value, t, path)
    if origin in (dict, list):
        return _container_errors(value, origin, get_args(t), path)
    if t is type(None):
        return [] if value is None else [f"{path}: expected null, got {value!r:.60}"]
    if t is float:  # JSON writes 2.0 as 2.0 but a whole-number float may come from Python as int
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, t) and not (t is int and isinstance(value, bool))
    return [] if ok else [f"{path}: expected {t.__name__}, got {type(value).__name__} {value!r:.60}"]


def _typeddict_errors(value: Any, t: Any, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected {t.__name__} (an object), got {type(value).__name__}"]
    hints = get_type_hints(t)
    out = [f"{path}: {t.__name__} lacks required key {k!r}" for k in sorted(t.__required_keys__) if k not in value]
    for key, item in value.items():
        if key not in hints:
            out.append(f"{path}: key {key!r} is not declared in {t.__name__}")
        else:
            out += shape_errors(item, hints[key], f"{path}.{key}")
    return out


def _container_errors(value: Any, origin: type, args: tuple[Any, ...], path: str) -> list[str]:
    if not isinstance(value, origin):
        return [f"{path}: expected {origin.__name__}, got {type(value).__name__}"]
    out: list[str] = []
    if origin is dict:
        for key, item in value.items():
            out += shape_errors(key, args[0], f"{path} key") + shape_errors(item, args[1], f"{path}[{key}]")
    else:
        for i, item in enumerate(value):
            out += shape_errors(item, args[0], f"{path}[{i}]")
    return out
