"""The run configuration: a TOML file, validated with messages that say what to fix.

A configuration names everything a run needs — references, distractors, transform suite,
hashers, thresholds, statistics — so that `report.json` can record it whole and
`hashbench run --reproduce` can run it again. The embedded default (``data/default.toml``) is what
`hashbench run` uses with no ``--config``. Unknown keys are errors (with a "did you mean"), never
silently ignored: a typo in a threshold must not produce a plausible-looking wrong report.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import shlex
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import UsageError
from .registry import did_you_mean

if TYPE_CHECKING:
    from .hashers import Hasher

__all__ = [
    "CommandSpec",
    "Composite",
    "DatasetSpec",
    "RunConfig",
    "MAX_COMMAND_NBITS",
    "MAX_ITEMS",
    "SETTINGS",
    "Setting",
    "load_config",
    "load_preset",
    "preset_names",
    "default_config_text",
    "parse_config",
    "config_from_dict",
]


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset block: its registry name and keyword parameters (count, seed, family, ...)."""

    dataset: str
    params: dict[str, Any] = field(default_factory=dict)

    def label(self) -> str:
        inner = ",".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.dataset}:{inner}" if inner else self.dataset


@dataclass(frozen=True)
class Composite:
    """A composite matcher, parsed once from its text: ``"a|b"`` matches when any part matches,
    ``"a&b"`` when all do. ``text`` is kept as written: it names the composite in reports."""

    text: str
    op: Literal["any", "all"]
    names: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Composite:
        """Split ``text`` on its one operator; mixing ``|`` and ``&`` (or using neither) is an error."""
        if ("|" in text) == ("&" in text):
            raise UsageError(f"composite {text!r} must join hashers with only '|' (any of) or only '&' (all of)")
        op: Literal["any", "all"] = "any" if "|" in text else "all"
        return cls(text, op, tuple(p.strip() for p in text.replace("&", "|").split("|")))

    def __str__(self) -> str:
        return self.text


#: The widest hash a command hasher may declare: 16 times PDQ, and a bound on memory per code
#: (also the widest a hash table may declare for a hasher not installed here: table_check).
MAX_COMMAND_NBITS = 4096


@dataclass(frozen=True)
class CommandSpec:
    """A hasher that runs an external program, declared in ``[hashers.commands.NAME]``.

    The config names it (``NAME`` is how reports, thresholds and composites call it) and gives its
    width, so nothing has to run the program to learn them: validating a config never starts a
    program. ``protocol`` is ``"lines"`` (paths and answers one per line) or ``"nul"`` (each
    NUL-terminated, for file names that hold newlines); see :mod:`hashbench.hashers.external`.
    ``exact`` declares a digest whose only meaningful match is an identical hash (its threshold is 0
    and it gets no curves: :attr:`hashbench.hashers.Hasher.exact`).
    """

    name: str
    program: str
    nbits: int
    protocol: Literal["lines", "nul"] = "lines"
    exact: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The spec as report.json records it; ``exact`` only when true, so the configs (and run ids)
        of command hashers declared before the key existed are unchanged."""
        out: dict[str, Any] = {"program": self.program, "nbits": self.nbits, "protocol": self.protocol}
        if self.exact:
            out["exact"] = True
        return out


# ---------------------------------------------------------------------------------------------
# Settings: each one is declared once, on its RunConfig field; the allowed keys, parsing with
# validation, to_dict() and reading back are all derived from these declarations.


@dataclass
class _Parsed:
    """What a setting's parser may see: where the config came from, the settings parsed before it,
    and the programs the user allowed on the command line (``--allow-command``)."""

    origin: str
    values: dict[str, Any] = field(default_factory=dict)
    allowed_commands: frozenset[str] = frozenset()


#: A setting's parser: (value as written, its name for messages, context) -> validated value.
Parse = Callable[[Any, str, _Parsed], Any]


@dataclass(frozen=True)
class Setting:
    """One setting of the TOML file and the :class:`RunConfig` field that holds it.

    ``section`` is the TOML table holding ``key``; ``None`` when ``key`` is itself a top-level
    table or array of tables (``[thresholds]``, ``[[references]]``). ``dump`` turns the field's
    value into its report.json form; the parser reads that form back. An ``optional`` setting
    (added after reports were first recorded) is left out of that form while it holds its
    default, so configs that do not use it keep their digest and old reports read back.
    ``schema`` is the JSON Schema of the written form (type and bounds, for editors and other
    tools: :func:`hashbench.schemas.config_schema`); the parser stays the judge.
    """

    section: str | None
    key: str
    parse: Parse
    help: str
    schema: dict[str, Any]
    dump: Callable[[Any], Any] = copy.deepcopy
    field: str = ""  # the RunConfig field, filled in from the dataclass
    optional: bool = False

    @property
    def where(self) -> str:
        """The setting's name in messages: ``[run] seed``; a top-level table is named by its key."""
        return f"[{self.section}] {self.key}" if self.section else self.key

    def read(self, data: dict[str, Any], default: Any) -> Any:
        block = data.get(self.section, {}) if self.section else data
        return block.get(self.key, default)

    def write(self, data: dict[str, Any], value: Any) -> None:
        block = data.setdefault(self.section, {}) if self.section else data
        block[self.key] = value


def _unknown(keys: set[str], allowed: set[str], where: str, origin: str) -> None:
    for k in sorted(keys - allowed):
        hint = did_you_mean(k, sorted(allowed)) or f"; allowed: {', '.join(sorted(allowed))}"
        raise UsageError(f"{origin}: unknown key {k!r} in {where}{hint}")


#: The most items one dataset block may ask for (``count``). Checked before any item is built:
#: ten million images already make 5e13 pairs, far beyond a run that could finish, and a typo such
#: as ``count = 1000000000000`` must fail in one line instead of filling memory with an item list.
MAX_ITEMS = 10_000_000


def _int(value: Any, what: str, origin: str, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{origin}: {what} must be a whole number, got {value!r}")
    if lo is not None and value < lo:
        raise UsageError(f"{origin}: {what} must be at least {lo}, got {value}")
    if hi is not None and value > hi:
        raise UsageError(f"{origin}: {what} must be at most {hi:,}, got {value:,}")
    return value


def _number(value: Any, what: str, origin: str) -> float:
    """A finite real number; TOML strings, lists and booleans are refused rather than coerced."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UsageError(f"{origin}: {what} must be a number, got {value!r}")
    return float(value)


def _positive(value: Any, what: str, origin: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise UsageError(f"{origin}: {what} must be a positive number, got {value!r}")
    return float(value)


def _list(value: Any, what: str, origin: str) -> list[Any]:
    """A TOML array (a tuple as ``to_dict`` records it); a bare value is refused, not iterated."""
    if not isinstance(value, (list, tuple)):
        raise UsageError(f"{origin}: {what} must be a list (write [{value!r}]), got {value!r}")
    return list(value)


def _strings(value: Any, what: str, origin: str) -> tuple[str, ...]:
    items = _list(value, what, origin)
    for v in items:
        if not isinstance(v, str):
            raise UsageError(f"{origin}: {what} must be a list of names in quotes, got {v!r}")
    return tuple(items)


def _safe_text(value: Any, what: str, origin: str) -> str:
    """Text that becomes part of a path or an id: a string with no control character (NUL, newline)."""
    if not isinstance(value, str):
        raise UsageError(f"{origin}: {what} must be text in quotes, got {value!r}")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise UsageError(f"{origin}: {what} {value!r} holds a control character (NUL, newline, ...)")
    return value


def _folder(value: Any, what: str, origin: str) -> str:
    """A dataset folder that exists now, so a bad root fails before a run folder is created."""
    text = _safe_text(value, what, origin)
    p = Path(text)
    if p.is_symlink() and not p.exists():
        raise UsageError(f"{origin}: {what} {text!r} is a broken symbolic link")
    if not p.is_dir():
        raise UsageError(f"{origin}: {what} {text!r} is not a folder")
    return text


def _dataset_param(key: str, value: Any, where: str, origin: str) -> None:
    """Check the parameters every dataset kind shares the meaning of; the dataset checks the rest."""
    what = f"[[{where}]] {key}"
    if key == "count":
        _int(value, what, origin, lo=0, hi=MAX_ITEMS)
    elif key in ("seed", "size"):
        _int(value, what, origin, lo=0)
    elif key == "root":
        _folder(value, what, origin)
    elif key in ("file_list", "exclude", "manifest", "family"):
        _safe_text(value, what, origin)


def _datasets(blocks: Any, where: str, origin: str) -> tuple[DatasetSpec, ...]:
    from . import datasets as datasets_mod

    if blocks is None:
        return ()
    if not isinstance(blocks, list):
        raise UsageError(f"{origin}: [[{where}]] must be a list of tables (write [[{where}]])")
    known = {d.name: d for d in datasets_mod.available()}
    out = []
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or "dataset" not in block:
            raise UsageError(f"{origin}: [[{where}]] block {i + 1} needs a 'dataset' key ({', '.join(known)})")
        name = block["dataset"]
        params = {k: v for k, v in block.items() if k != "dataset"}
        if not isinstance(name, str) or name not in known:
            raise UsageError(f"{origin}: unknown dataset {name!r} in [[{where}]]; known datasets: {', '.join(known)}")
        _unknown(set(params), set(known[name].params), f"[[{where}]] dataset {name!r}", origin)
        for key, value in params.items():
            _dataset_param(key, value, where, origin)
        out.append(DatasetSpec(name, params))
    return tuple(out)


def _dump_datasets(specs: tuple[DatasetSpec, ...]) -> list[dict[str, Any]]:
    """Dataset blocks as written in TOML: ``{"dataset": name, **params}``."""
    return [{"dataset": s.dataset, **s.params} for s in specs]


# Parsers, one per kind of setting. Each returns the validated value or raises a one-line
# UsageError that names the file and the setting.


def _whole(lo: int) -> Parse:
    def parse(value: Any, where: str, ctx: _Parsed) -> int:
        return _int(value, where, ctx.origin, lo=lo)

    return parse


def _workers_count(value: Any, where: str, ctx: _Parsed) -> int:
    """``[run] workers`` by the one ``--workers`` rule (:mod:`hashbench.cli.options`): N >= 1 worker
    processes, 0 every CPU this process may use (resolved when the run starts, so the same config
    fits any machine), a negative count refused in the same words as on the command line."""
    n = _int(value, where, ctx.origin)
    if n < 0:
        raise UsageError(f"{ctx.origin}: {where} must be 0 (all CPUs) or a positive count, got {n}")
    return n


def _text(value: Any, where: str, ctx: _Parsed) -> str:
    return _safe_text(value, where, ctx.origin)


def _choice(*options: str) -> Parse:
    def parse(value: Any, where: str, ctx: _Parsed) -> str:
        text = str(value)
        if text not in options:
            raise UsageError(f"{ctx.origin}: {where} must be {' or '.join(map(repr, options))}, got {text!r}")
        return text

    return parse


def _decode_profile(value: Any, where: str, ctx: _Parsed) -> str:
    """A decoder profile's name (:mod:`hashbench.decoders`), checked against the registered ones."""
    from .decoders import PROFILES

    name = _safe_text(value, where, ctx.origin)
    if name not in PROFILES:
        raise UsageError(f"{ctx.origin}: {where}: {PROFILES.unknown_message(name)}")
    return name


def _positive_number(value: Any, where: str, ctx: _Parsed) -> float:
    return _positive(value, where, ctx.origin)


def _positive_numbers(value: Any, where: str, ctx: _Parsed) -> tuple[float, ...]:
    return tuple(_positive(v, f"{where} entries", ctx.origin) for v in _list(value, where, ctx.origin))


def _plain_name(value: Any, where: str, ctx: _Parsed) -> str:
    """The run name becomes part of a folder name, so it may not climb out of the results folder."""
    name = _safe_text(value, where, ctx.origin)
    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise UsageError(f"{ctx.origin}: {where} {name!r} must be a plain name (it becomes part of a folder name)")
    return name


def _references(value: Any, where: str, ctx: _Parsed) -> tuple[DatasetSpec, ...]:
    specs = _datasets(value, where, ctx.origin)
    if not specs:
        raise UsageError(f"{ctx.origin}: at least one [[references]] dataset is needed")
    return specs


def _distractors(value: Any, where: str, ctx: _Parsed) -> tuple[DatasetSpec, ...]:
    """Distractors are false-positive trials: a reference among them would be a genuine pair."""
    specs = _datasets(value, where, ctx.origin)
    ref_labels = {s.label() for s in ctx.values["references"]}
    for s in specs:
        if s.label() in ref_labels:
            raise UsageError(
                f"{ctx.origin}: distractor dataset {s.label()} is also a reference; distractors must be "
                "distinct images (use another seed or dataset)"
            )
    return specs


def _custom_transforms(value: Any, where: str, ctx: _Parsed) -> tuple[dict[str, Any], ...]:
    """Custom edits, built once here so a bad kind, parameter or name fails before the run starts.

    A name becomes the part of a query id after ``#`` (``<image id>#<edit name>``), so it may not
    hold ``#`` itself, nor a control character.
    """
    from . import transforms as transforms_mod

    custom = tuple(_list(value, where, ctx.origin))
    for i, t in enumerate(custom):
        if not isinstance(t, dict) or "name" not in t:
            raise UsageError(
                f"{ctx.origin}: [[transforms.custom]] entry {i + 1} needs a 'name' (see `hashbench transforms`)"
            )
        name = _safe_text(t["name"], f"{where} name", ctx.origin)
        if "#" in name:
            raise UsageError(f"{ctx.origin}: {where} name {name!r} may not hold '#' (it separates image and edit)")
    try:
        transforms_mod.build_suite(list(custom))
    except (UsageError, TypeError, ValueError) as exc:
        raise UsageError(f"{ctx.origin}: {where}: {exc}") from None
    return custom


def _allow(program: str, where: str, ctx: _Parsed) -> None:
    """A program named in a config or a report runs only when the user named it on the command line.

    Configs and reports are untrusted input (anyone can hand over a report.json); the exact
    command string must be passed to ``--allow-command``.
    """
    if program not in ctx.allowed_commands:
        raise UsageError(
            f"{ctx.origin}: {where} would run the program {program!r}; programs named in a config or report "
            f"run only when allowed on the command line: --allow-command {shlex.quote(program)}"
        )


def _commands(value: Any, where: str, ctx: _Parsed) -> tuple[CommandSpec, ...]:
    """``[hashers.commands.NAME]`` tables: program, nbits, protocol, exact. Each program must be allowed."""
    from . import hashers as hashers_mod

    if not isinstance(value, dict):
        raise UsageError(f"{ctx.origin}: {where} must be tables [hashers.commands.NAME] with program and nbits")
    registered = set(hashers_mod.available())
    out = []
    for name, block in value.items():
        at = f"[hashers.commands.{name}]"
        _safe_text(name, at, ctx.origin)
        if name in registered or not name or any(c in name for c in ":|&#/\\ "):
            raise UsageError(f"{ctx.origin}: {at} needs a plain name that is not a built-in hasher's")
        if not isinstance(block, dict):
            raise UsageError(f"{ctx.origin}: {at} must be a table with program and nbits")
        _unknown(set(block), {"program", "nbits", "protocol", "exact"}, at, ctx.origin)
        if "program" not in block or "nbits" not in block:
            raise UsageError(f"{ctx.origin}: {at} needs both program and nbits (nothing is run to find them)")
        program = _safe_text(block["program"], f"{at} program", ctx.origin)
        if not program.strip():
            raise UsageError(f"{ctx.origin}: {at} program is empty")
        try:
            shlex.split(program)  # as the command hasher will split it
        except ValueError as exc:
            raise UsageError(f"{ctx.origin}: {at} program {program!r} cannot be split into arguments: {exc}") from None
        nbits = _int(block["nbits"], f"{at} nbits", ctx.origin, lo=1, hi=MAX_COMMAND_NBITS)
        protocol = _choice("lines", "nul")(block.get("protocol", "lines"), f"{at} protocol", ctx)
        exact = block.get("exact", False)
        if not isinstance(exact, bool):
            raise UsageError(f"{ctx.origin}: {at} exact must be true or false, got {exact!r}")
        _allow(program, at, ctx)
        out.append(CommandSpec(name, program, nbits, protocol, exact))
    return tuple(out)


def _dump_commands(specs: tuple[CommandSpec, ...]) -> dict[str, dict[str, Any]]:
    return {c.name: c.to_dict() for c in specs}


def _hasher_names(value: Any, where: str, ctx: _Parsed) -> tuple[str, ...]:
    """Registered hashers and declared command hashers. ``command:PROGRAM`` written inline is
    refused (after the allow check): its name and width would only be known by running it."""
    from . import hashers as hashers_mod

    names = _strings(value, where, ctx.origin)
    if not names:
        raise UsageError(f"{ctx.origin}: {where} is empty; name at least one (see `hashbench hashers`)")
    known = set(hashers_mod.available()) - {"command"}
    declared = {c.name for c in ctx.values["commands"]}
    for n in names:
        if n.startswith("command:"):
            _allow(n.partition(":")[2], where, ctx)
            raise UsageError(
                f"{ctx.origin}: declare the command hasher {n!r} as [hashers.commands.NAME] with program and "
                f"nbits, and list NAME in {where}"
            )
        if n not in known and n not in declared:
            hint = did_you_mean(n, sorted(known | declared)) or f"; known: {', '.join(sorted(known | declared))}"
            raise UsageError(f"{ctx.origin}: unknown hasher {n!r} in {where}{hint}")
    if len(set(names)) != len(names):
        raise UsageError(f"{ctx.origin}: a hasher is named twice in {where}")
    return names


def _composites(value: Any, where: str, ctx: _Parsed) -> tuple[str, ...]:
    """Composite texts as written; each must parse (see :class:`Composite`) and use only named hashers."""
    texts = _strings(value, where, ctx.origin)
    for text in texts:
        try:
            parts = Composite.parse(text).names
        except UsageError as exc:
            raise UsageError(f"{ctx.origin}: {exc}") from None
        for part in parts:
            if part not in ctx.values["hashers"]:
                raise UsageError(f"{ctx.origin}: composite {text!r} uses {part!r}, which is not in [hashers] names")
    return texts


def _thresholds(value: Any, where: str, ctx: _Parsed) -> dict[str, int]:
    """The named operating point of every hasher of the run: as written, else its default_threshold.

    A key must name a hasher of this run or a registered one: a config may keep the thresholds of
    hashers it does not run (the embedded default lists colorhash), but a typo (``pqd = 20``) is
    an error with a "did you mean", never a silently ignored line.
    """
    from . import hashers as hashers_mod

    if not isinstance(value, dict):
        raise UsageError(f"{ctx.origin}: [thresholds] must be a table of hasher = distance")
    names, commands = ctx.values["hashers"], ctx.values["commands"]
    run = dict(zip(names, _hasher_objects(names, commands), strict=True))
    known = set(hashers_mod.available()) | {c.name for c in commands}
    thresholds: dict[str, int] = {}
    for hname, t in value.items():
        if hname not in known:
            hint = did_you_mean(hname, sorted(known)) or f"; this run's hashers: {', '.join(names)}"
            raise UsageError(f"{ctx.origin}: unknown hasher {hname!r} in [thresholds]{hint}")
        t = _int(t, f"[thresholds] {hname}", ctx.origin, lo=0)
        hasher = run.get(hname)
        if hasher is None:
            continue  # operating points of known hashers this run does not use are harmless
        if t > hasher.nbits:
            raise UsageError(f"{ctx.origin}: [thresholds] {hname} = {t} is more than its {hasher.nbits} bits")
        if t and hasher.exact:
            raise UsageError(
                f"{ctx.origin}: [thresholds] {hname} = {t}, but {hname} is an exact hash: only identical hashes "
                "match, so its threshold is 0"
            )
        thresholds[hname] = t
    for hname, hasher in run.items():
        thresholds.setdefault(hname, hasher.default_threshold)
    return thresholds


def _quality_floor(value: Any, where: str, ctx: _Parsed) -> int:
    floor = _int(value, where, ctx.origin, lo=0)
    if floor > 100:
        raise UsageError(f"{ctx.origin}: {where} is a PDQ quality, 0-100; got {floor}")
    return floor


def _alpha(value: Any, where: str, ctx: _Parsed) -> float:
    alpha = _number(value, where, ctx.origin)
    if not 0 < alpha < 1:
        raise UsageError(f"{ctx.origin}: {where} must be between 0 and 1, got {alpha}")
    return alpha


def _target_fprs(value: Any, where: str, ctx: _Parsed) -> tuple[float, ...]:
    fprs = _positive_numbers(value, where, ctx)
    if any(v >= 1 for v in fprs):
        raise UsageError(f"{ctx.origin}: {where} must be below 1")
    return fprs


def _setting(
    section: str | None,
    key: str,
    default: Any = dataclasses.MISSING,
    *,
    parse: Parse,
    schema: dict[str, Any],
    help: str,
    factory: Callable[[], Any] | None = None,
    dump: Callable[[Any], Any] = copy.deepcopy,
    optional: bool = False,
) -> Any:
    """A RunConfig field that is also a setting of the TOML file (the one place it is declared)."""
    meta = {"setting": Setting(section, key, parse, help, schema, dump, optional=optional)}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class RunConfig:
    """A validated run configuration. ``to_dict()`` is what report.json records.

    Every field but ``composite_specs`` is one setting of the TOML file, declared right here with
    its section, key, type, default, parser, JSON Schema and help; :data:`SETTINGS` lists them in order.
    """

    name: str = _setting(
        "run",
        "name",
        "default",
        parse=_plain_name,
        schema={"type": "string", "minLength": 1},
        help="the run's name: the first part of its id",
    )
    seed: int = _setting(
        "run",
        "seed",
        0,
        parse=_whole(0),
        schema={"type": "integer", "minimum": 0},
        help="seed of the edits and the calibration split",
    )
    workers: int = _setting(
        "run",
        "workers",
        0,
        parse=_workers_count,
        schema={"type": "integer", "minimum": 0},
        help="worker processes; 0: every CPU available",
    )
    chunk_size: int = _setting(
        "run",
        "chunk_size",
        32,
        parse=_whole(1),
        schema={"type": "integer", "minimum": 1},
        help="images per checkpointed chunk",
    )
    decode: str = _setting(
        "run",
        "decode",
        "full",
        parse=_choice("full", "draft"),
        schema={"enum": ["full", "draft"]},
        optional=True,
        help="full: every pixel; draft: JPEGs reduced by libjpeg to twice what the hashers need (docs/decode.md)",
    )
    max_pixels: int = _setting(
        "run",
        "max_pixels",
        0,
        parse=_whole(0),
        schema={"type": "integer", "minimum": 0},
        optional=True,
        help="refuse images with more pixels; 0: what each worker's share of the memory can decode and hash",
    )
    decode_profile: str = _setting(
        "run",
        "decode_profile",
        "hashbench",
        parse=_decode_profile,
        # a string, not an enum: a plugin may register more profiles (entry point hashbench.decode_profiles)
        schema={"type": "string", "minLength": 1},
        optional=True,
        help="whose pixels are hashed: hashbench, threatexchange-cpp or python-threatexchange (docs/decoders.md)",
    )
    references: tuple[DatasetSpec, ...] = _setting(
        None,
        "references",
        (),
        parse=_references,
        schema={"type": "array", "items": {"$ref": "#/$defs/dataset"}, "minItems": 1},
        dump=_dump_datasets,
        help="the known images, each edited",
    )
    distractors: tuple[DatasetSpec, ...] = _setting(
        None,
        "distractors",
        (),
        parse=_distractors,
        schema={"type": "array", "items": {"$ref": "#/$defs/dataset"}},
        dump=_dump_datasets,
        help="distinct images that must not match",
    )
    suite: str = _setting(
        "transforms", "suite", "default", parse=_text, schema={"type": "string"}, help="the transform suite (or none)"
    )
    custom_transforms: tuple[dict[str, Any], ...] = _setting(
        "transforms",
        "custom",
        (),
        parse=_custom_transforms,
        schema={"type": "array", "items": {"type": "object", "required": ["name"]}},
        help="custom edits; when given they replace the suite",
    )
    commands: tuple[CommandSpec, ...] = _setting(
        "hashers",
        "commands",
        (),
        parse=_commands,
        schema={"type": "object", "additionalProperties": {"$ref": "#/$defs/command"}},
        dump=_dump_commands,
        optional=True,
        help="hashers that run a program: [hashers.commands.NAME] program, nbits, protocol (needs --allow-command)",
    )
    hashers: tuple[str, ...] = _setting(
        "hashers",
        "names",
        (),
        parse=_hasher_names,
        schema={"type": "array", "items": {"type": "string"}},
        help="hashers, in report order",
    )
    composites: tuple[str, ...] = _setting(
        "hashers",
        "composites",
        (),
        parse=_composites,
        schema={"type": "array", "items": {"type": "string"}},
        help="composite matchers: 'a|b' any of, 'a&b' all of",
    )
    thresholds: dict[str, int] = _setting(
        None,
        "thresholds",
        factory=dict,
        parse=_thresholds,
        schema={"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
        help="named operating point per hasher",
    )
    matching: str = _setting(
        "matching",
        "mode",
        "dihedral",
        parse=_choice("plain", "dihedral"),
        schema={"enum": ["plain", "dihedral"]},
        help="dihedral: closest of 8 variants",
    )
    quality_floor: int = _setting(
        "matching",
        "quality_floor",
        50,
        parse=_quality_floor,
        schema={"type": "integer", "minimum": 0, "maximum": 100},
        help="PDQ hashes below this quality do not match",
    )
    alpha: float = _setting(
        "statistics",
        "alpha",
        0.05,
        parse=_alpha,
        schema={"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        help="1 - confidence of every interval",
    )
    target_fprs: tuple[float, ...] = _setting(
        "statistics",
        "target_fprs",
        (1e-3, 1e-6, 1e-9, 2e-11),
        parse=_target_fprs,
        schema={"type": "array", "items": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}},
        help="per-pair FPRs of the operating points chosen on a calibration half",
    )
    list_sizes: tuple[float, ...] = _setting(
        "statistics",
        "list_sizes",
        (1e3, 1e6, 1e7),
        parse=_positive_numbers,
        schema={"type": "array", "items": {"type": "number", "exclusiveMinimum": 0}},
        help="list sizes of per-query FPR",
    )
    volume_per_year: float = _setting(
        "statistics",
        "volume_per_year",
        12.3e9,
        parse=_positive_number,
        schema={"type": "number", "exclusiveMinimum": 0},
        help="images matched a year (projection)",
    )
    list_size: float = _setting(
        "statistics",
        "list_size",
        5e6,
        parse=_positive_number,
        schema={"type": "number", "exclusiveMinimum": 0},
        help="hashes in the list of the projection",
    )
    max_listed: int = _setting(
        "statistics",
        "max_listed",
        10_000,
        parse=_whole(0),
        schema={"type": "integer", "minimum": 0},
        optional=True,
        help="false matches and misses listed per matcher in the run folder (the true count is always stated)",
    )
    #: ``composites`` parsed once, in the same order (derived, not a setting).
    composite_specs: tuple[Composite, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "composite_specs", tuple(Composite.parse(c) for c in self.composites))

    def to_dict(self) -> dict[str, Any]:
        """Every setting by field name, in declaration order, tuples kept (JSON writes lists);
        an optional setting only when it differs from its default."""
        return {s.field: s.dump(getattr(self, s.field)) for s in SETTINGS if not _left_out(s, self)}

    def digest(self) -> str:
        """A short stable digest of the configuration (part of the run id)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def with_overrides(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(self, **changes)

    def build_hashers(self) -> list[Hasher]:
        """The hasher objects of this run, in report order (see :func:`_hasher_objects`)."""
        return _hasher_objects(self.hashers, self.commands)


def _hasher_objects(names: tuple[str, ...], commands: tuple[CommandSpec, ...]) -> list[Hasher]:
    """The hashers ``names`` name, in order: registered ones by name, declared command hashers from
    their :class:`CommandSpec` (their program starts only when images are hashed, never here)."""
    from . import hashers as hashers_mod
    from .hashers.external import CommandHasher

    declared = {c.name: c for c in commands}
    out: list[Hasher] = []
    for name in names:
        c = declared.get(name)
        out.append(
            CommandHasher(c.program, name=c.name, nbits=c.nbits, protocol=c.protocol, exact=c.exact)
            if c
            else hashers_mod.get(name)
        )
    return out


def _left_out(setting: Setting, config: RunConfig) -> bool:
    return setting.optional and getattr(config, setting.field) == _DEFAULTS[setting.field]


#: Every setting, in RunConfig field order (which is also the order they are validated in).
SETTINGS: tuple[Setting, ...] = tuple(
    dataclasses.replace(f.metadata["setting"], field=f.name)
    for f in dataclasses.fields(RunConfig)
    if "setting" in f.metadata
)
#: The default of every setting, as a RunConfig field holds it.
_DEFAULTS: dict[str, Any] = {s.field: getattr(RunConfig(), s.field) for s in SETTINGS}


def default_config_text() -> str:
    """The embedded default configuration, as TOML text."""
    return resources.files("hashbench").joinpath("data/default.toml").read_text(encoding="utf-8")


def preset_names() -> list[str]:
    """Names of the embedded presets (``hashbench run --preset NAME``)."""
    folder = resources.files("hashbench").joinpath("data/presets")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_preset(name: str) -> RunConfig:
    """An embedded preset configuration, such as ``fpr-50b``."""
    if name not in preset_names():
        raise UsageError(f"unknown preset {name!r}; presets: {', '.join(preset_names())}")
    text = resources.files("hashbench").joinpath(f"data/presets/{name}.toml").read_text(encoding="utf-8")
    return parse_config(tomllib.loads(text), origin=f"preset {name}")


def load_config(path: str | Path | None = None, *, allowed_commands: frozenset[str] = frozenset()) -> RunConfig:
    """Read and validate a TOML configuration; ``None`` gives the embedded default.

    ``allowed_commands``: the exact programs the user allowed on the command line
    (``--allow-command``); a command hasher naming any other program is refused.
    """
    if path is None:
        return parse_config(tomllib.loads(default_config_text()), origin="the embedded default")
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read config {p}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"config {p} is not UTF-8 text (byte {exc.start}); TOML files must be UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{p} is not valid TOML: {exc}") from None
    return parse_config(data, origin=str(p), allowed_commands=allowed_commands)


def _check_keys(data: dict[str, Any], origin: str) -> None:
    """Unknown sections and keys are errors with a "did you mean": a typo must not be ignored."""
    sections = list(dict.fromkeys(s.section for s in SETTINGS if s.section))
    top_level = set(sections) | {s.key for s in SETTINGS if not s.section}
    _unknown(set(data), top_level, "the top level", origin)
    for section in sections:
        block = data.get(section, {})
        if not isinstance(block, dict):
            raise UsageError(f"{origin}: [{section}] must be a table")
        _unknown(set(block), {s.key for s in SETTINGS if s.section == section}, f"[{section}]", origin)


def parse_config(
    data: dict[str, Any], origin: str = "config", *, allowed_commands: frozenset[str] = frozenset()
) -> RunConfig:
    """Validate a configuration already parsed from TOML (see ``data/default.toml``).

    Settings are parsed in declaration order, so a setting may check itself against those before
    it (composites against hasher names). A missing setting takes its RunConfig default, in the
    written form the parser reads (what ``to_dict`` gives). Nothing here runs a program: a command
    hasher declares its name and width, and its program must be in ``allowed_commands``.
    """
    _check_keys(data, origin)
    defaults = {s.field: s.dump(_DEFAULTS[s.field]) for s in SETTINGS}
    ctx = _Parsed(origin, allowed_commands=frozenset(allowed_commands))
    for s in SETTINGS:
        ctx.values[s.field] = s.parse(s.read(data, defaults[s.field]), s.where, ctx)
    return RunConfig(**ctx.values)


def config_from_dict(
    d: dict[str, Any], origin: str = "report.json", *, allowed_commands: frozenset[str] = frozenset()
) -> RunConfig:
    """Rebuild a configuration from :meth:`RunConfig.to_dict` (as recorded in report.json).

    It goes through the same validation as a TOML file, so a hand-edited record is checked too:
    a report is untrusted input, and its command hashers run only if their programs are in
    ``allowed_commands`` (``hashbench run --reproduce REPORT --allow-command PROGRAM``).
    """
    if not isinstance(d, dict):
        raise UsageError(f"{origin}: the recorded configuration is not a table")
    data: dict[str, Any] = {}
    for s in SETTINGS:
        if s.field not in d and s.optional:
            continue
        if s.field not in d:
            raise UsageError(f"{origin}: the recorded configuration is incomplete (missing {s.field!r})")
        s.write(data, d[s.field])
    return parse_config(data, origin=origin, allowed_commands=allowed_commands)
