"""The configuration of a video study (``kind = "video"`` in a run configuration's ``[run]``).

A video study has its own settings (how the synthetic videos are made, the video edit suite, the
video hashers and their match rules), so it is parsed here rather than by the image
configuration; ``hashbench run`` hands a file whose ``[run] kind`` is ``"video"`` to
:func:`load_video_config`. Unknown sections and keys are errors with a "did you mean", as for
images: a typo must not silently run another study.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import tomllib
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..config import (
    MAX_ITEMS,
    _allow,
    _alpha,
    _int,
    _Parsed,
    _plain_name,
    _positive,
    _safe_text,
    _strings,
    _unknown,
    _workers_count,
)
from ..errors import UsageError
from ..registry import did_you_mean
from .command import VideoCommandHasher
from .edits import SUITES
from .folder import VIDEO_EXTENSIONS, FolderVideos
from .hashers import VIDEO_HASHERS, VideoHasher
from .match import ALL_RULES, RULES
from .synthetic import SyntheticVideos, VideoRecipe, VideoSource

__all__ = ["VideoStudyConfig", "is_video_config", "load_video_config", "parse_video_config", "VIDEO_PRESETS"]

#: Embedded video presets (``hashbench run --preset NAME``), files under data/presets/.
VIDEO_PRESETS = ("video-default",)

#: The rules each hasher is scored under by default (its reference's rule first).
DEFAULT_RULES: dict[str, tuple[str, ...]] = {
    "vpdq": ("readme", "tx-index", "cpp-brute", "both-80"),
    "pdq-keyframe": ("any-frame", "readme"),
    "video-md5": ("exact",),
    "tmk": ("tmk", "tmk-level1"),
}

_KEYS: dict[str, set[str]] = {
    "run": {"kind", "name", "seed", "workers"},
    "videos": {"count", "kind", "width", "height", "fps", "seconds", "codec", "quality", "stills"}
    | {"dataset", "path", "extensions"},
    "transforms": {"suite"},
    "hashers": {"names", "params", "rules", "commands"},
    "statistics": {"alpha"},
}


@dataclass(frozen=True)
class VideoStudyConfig:
    """A validated video study. ``to_dict()`` is what the report records."""

    name: str = "video"
    seed: int = 0
    workers: int = 0
    count: int = 20
    videos: VideoRecipe = field(default_factory=VideoRecipe)
    suite: str = "default"
    hashers: tuple[str, ...] = ("vpdq", "pdq-keyframe", "video-md5")
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    rules: dict[str, tuple[str, ...]] = field(default_factory=dict)
    alpha: float = 0.05
    #: ``[videos] dataset = "folder"``: the folder of the user's videos ("" for synthetic ones),
    #: and the extensions taken (empty: the default list). ``count`` is then a limit (0: all).
    folder: str = ""
    extensions: tuple[str, ...] = ()
    #: ``[hashers.commands.NAME]``: program, nbits, rule, timeout of each command hasher (allowed
    #: on the command line when the config was read: nothing here runs a program).
    commands: dict[str, dict[str, Any]] = field(default_factory=dict)

    def hasher(self, name: str) -> VideoHasher:
        """Build the video hasher ``name``: a registered one with its [hashers.params], or a command."""
        c = self.commands.get(name)
        if c is not None:
            return VIDEO_HASHERS.get(
                "command", c["program"], nbits=c["nbits"], name=name, rule=c["rule"], timeout=c["timeout"]
            )
        return VIDEO_HASHERS.get(name, **self.params.get(name, {}))

    @property
    def dataset(self) -> str:
        return "folder" if self.folder else "synthetic"

    def source(self) -> VideoSource:
        """The reference videos (a folder is listed here, when the study starts)."""
        if self.folder:
            return FolderVideos(self.folder, self.extensions or VIDEO_EXTENSIONS, limit=self.count)
        return SyntheticVideos(self.videos, self.count, self.seed)

    def rules_of(self, hasher: str) -> tuple[str, ...]:
        if hasher in self.commands:
            return self.rules.get(hasher) or (self.commands[hasher]["rule"],)
        return self.rules.get(hasher) or DEFAULT_RULES.get(hasher) or (VIDEO_HASHERS.entry(hasher).factory.rule,)  # type: ignore[attr-defined]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        folder, exts = d.pop("folder"), d.pop("extensions")  # absent for synthetic videos: digests unchanged
        if not d["commands"]:
            del d["commands"]
        d["videos"] = self.videos.as_dict()
        if folder:
            d["videos"] = {"dataset": "folder", "path": folder, "extensions": list(exts or VIDEO_EXTENSIONS)}
        d["rules"] = {h: list(self.rules_of(h)) for h in self.hashers}
        return d

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]


def is_video_config(data: dict[str, Any]) -> bool:
    run = data.get("run")
    return isinstance(run, dict) and run.get("kind") == "video"


def _check(data: dict[str, Any], origin: str) -> None:
    _unknown(set(data), set(_KEYS), "the top level", origin)
    for section, block in data.items():
        if not isinstance(block, dict):
            raise UsageError(f"{origin}: [{section}] must be a table")
        _unknown(set(block), _KEYS[section], f"[{section}]", origin)


def _hasher_tables(hs: dict[str, Any], key: str, names: tuple[str, ...], origin: str) -> dict[str, Any]:
    """``[hashers.params]`` or ``[hashers.rules]``: a table per hasher named in ``names``."""
    table = hs.get(key, {})
    if not isinstance(table, dict):
        raise UsageError(f"{origin}: [hashers.{key}] must be a table")
    for h in table:
        if h not in names:
            raise UsageError(f"{origin}: [hashers.{key}] {h!r} is not in [hashers] names{did_you_mean(h, names)}")
    return table


def _folder(vids: dict[str, Any], origin: str) -> tuple[str, tuple[str, ...]]:
    """``[videos] dataset``, ``path`` and ``extensions`` (popped from ``vids``): ("", ()) for synthetic
    videos; for a folder, its path and extensions, and no recipe key may be given (they would mean nothing)."""
    dataset = vids.pop("dataset", "synthetic")
    path, exts = vids.pop("path", None), vids.pop("extensions", None)
    if dataset == "synthetic":
        if path is not None or exts is not None:
            raise UsageError(f'{origin}: [videos] path and extensions are for dataset = "folder"')
        return "", ()
    if dataset != "folder":
        hint = did_you_mean(str(dataset), ("synthetic", "folder"))
        raise UsageError(f"{origin}: [videos] dataset must be 'synthetic' or 'folder'{hint}")
    if path is None or (isinstance(path, str) and not path.strip()):
        raise UsageError(f'{origin}: [videos] dataset = "folder" needs path = "/folder/of/videos"')
    path = _safe_text(path, "[videos] path", origin)
    recipe_keys = sorted(set(vids) - {"count"})
    if recipe_keys:
        raise UsageError(f"{origin}: [videos] {', '.join(recipe_keys)} describe synthetic videos, not a folder")
    extensions: tuple[str, ...] = ()
    if exts is not None:
        extensions = tuple("." + e.lower().lstrip(".") for e in _strings(exts, "[videos] extensions", origin))
    return path, extensions


def _commands(value: Any, names: tuple[str, ...], ctx: _Parsed) -> dict[str, dict[str, Any]]:
    """``[hashers.commands.NAME]`` tables (program, nbits, rule, timeout), each program allowed on the
    command line (``--allow-command``, exactly as written) and each NAME listed in [hashers] names.
    Nothing is run here: the width is declared, never probed."""
    origin = ctx.origin
    if not isinstance(value, dict):
        raise UsageError(f"{origin}: [hashers.commands] must be tables [hashers.commands.NAME] with program and nbits")
    out: dict[str, dict[str, Any]] = {}
    for name, block in value.items():
        at = f"[hashers.commands.{name}]"
        _safe_text(name, at, origin)
        if name in VIDEO_HASHERS or not name or any(c in name for c in ":|&#/\\ "):
            raise UsageError(f"{origin}: {at} needs a plain name that is not a built-in video hasher's")
        if not isinstance(block, dict) or "program" not in block or "nbits" not in block:
            raise UsageError(f"{origin}: {at} needs program and nbits (nothing is run to find them)")
        _unknown(set(block), {"program", "nbits", "rule", "timeout"}, at, origin)
        program = _safe_text(block["program"], f"{at} program", origin)
        try:
            if not shlex.split(program):
                raise ValueError("empty")
        except ValueError as exc:
            raise UsageError(f"{origin}: {at} program {program!r} cannot be split into arguments ({exc})") from None
        _allow(program, at, ctx)
        if name not in names:
            raise UsageError(f"{origin}: {at} is declared but {name!r} is not in [hashers] names")
        spec = {
            "program": program,
            "nbits": _int(block["nbits"], f"{at} nbits", origin, lo=1, hi=4096),
            "rule": block.get("rule", VideoCommandHasher.rule),
            "timeout": _positive(block.get("timeout", 600.0), f"{at} timeout", origin),
        }
        if spec["rule"] not in RULES:
            raise UsageError(f"{origin}: {at} rule: unknown rule {spec['rule']!r}; rules: {', '.join(RULES)}")
        out[name] = spec
    return out


def parse_video_config(
    data: dict[str, Any], origin: str = "config", *, allowed_commands: frozenset[str] = frozenset()
) -> VideoStudyConfig:
    """Validate a parsed TOML table whose ``[run] kind`` is ``"video"`` (the image configuration's
    value parsers, so a value is refused in the same words as there)."""
    _check(data, origin)
    ctx = _Parsed(origin, allowed_commands=frozenset(allowed_commands))
    run, vids, hs = data.get("run", {}), dict(data.get("videos", {})), data.get("hashers", {})
    folder, extensions = _folder(vids, origin)
    count = _int(vids.pop("count", 0 if folder else 20), "[videos] count", origin, lo=0 if folder else 2, hi=MAX_ITEMS)
    try:
        recipe = VideoRecipe(**vids)
    except (TypeError, ValueError, UsageError) as exc:
        raise UsageError(f"{origin}: [videos]: {exc}") from None
    names = _strings(hs.get("names", VideoStudyConfig.hashers), "[hashers] names", origin)
    commands = _commands(hs.get("commands", {}), names, ctx)
    for n in names:
        if n not in VIDEO_HASHERS and n not in commands:
            raise UsageError(f"{origin}: [hashers] names: {VIDEO_HASHERS.unknown_message(n)}")
    if len(set(names)) != len(names):
        raise UsageError(f"{origin}: a hasher is named twice in [hashers] names")
    params = {h: dict(p) for h, p in _hasher_tables(hs, "params", names, origin).items()}
    for h, p in params.items():
        if h in commands:
            raise UsageError(
                f"{origin}: [hashers.params.{h}]: a command hasher's settings go in [hashers.commands.{h}]"
            )
        try:
            VIDEO_HASHERS.get(h, **p)  # a misspelt or out-of-range parameter fails here, not in a worker
        except (TypeError, ValueError) as exc:
            raise UsageError(f"{origin}: [hashers.params.{h}]: {exc}") from None
    rules = {
        h: _strings(r, f"[hashers.rules] {h}", origin) for h, r in _hasher_tables(hs, "rules", names, origin).items()
    }
    for h, rs in rules.items():
        for r in rs:
            if r not in ALL_RULES:
                raise UsageError(f"{origin}: [hashers.rules] {h}: unknown rule {r!r}; rules: {', '.join(ALL_RULES)}")
    suite = data.get("transforms", {}).get("suite", "default")
    if suite not in SUITES:
        raise UsageError(f"{origin}: unknown video suite {suite!r}; suites: {', '.join(SUITES)}")
    return VideoStudyConfig(
        name=_plain_name(run.get("name", "video"), "[run] name", ctx),
        seed=_int(run.get("seed", 0), "[run] seed", origin, lo=0),
        workers=_workers_count(run.get("workers", 0), "[run] workers", ctx),
        count=count,
        videos=recipe,
        suite=suite,
        hashers=names,
        params=params,
        rules=rules,
        alpha=_alpha(data.get("statistics", {}).get("alpha", 0.05), "[statistics] alpha", ctx),
        folder=folder,
        extensions=extensions,
        commands=commands,
    )


def load_video_config(
    path: str | Path | None = None, *, preset: str | None = None, allowed_commands: frozenset[str] = frozenset()
) -> VideoStudyConfig:
    """A video study from a TOML file, or from an embedded preset (``video-default``); a command
    hasher's program must be in ``allowed_commands`` (``--allow-command``)."""
    if preset is not None:
        text = resources.files("hashbench").joinpath(f"data/presets/{preset}.toml").read_text(encoding="utf-8")
        return parse_video_config(tomllib.loads(text), origin=f"preset {preset}")
    if path is None:
        raise UsageError("a video study needs a configuration file or --preset video-default")
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read config {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    return parse_video_config(data, origin=str(path), allowed_commands=allowed_commands)
