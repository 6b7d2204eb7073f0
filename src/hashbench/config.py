"""The run configuration: a TOML file, validated with messages that say what to fix.

A configuration names everything a run needs — references, distractors, transform suite,
hashers, thresholds, statistics — so that `report.json` can record it whole and
`hashbench run --reproduce` can run it again. The embedded default (``data/default.toml``) is what
`hashbench run` uses with no ``--config``. Unknown keys are errors (with a "did you mean"), never
silently ignored: a typo in a threshold must not produce a plausible-looking wrong report.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import tomllib
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import UsageError

__all__ = [
    "DatasetSpec",
    "RunConfig",
    "load_config",
    "load_preset",
    "preset_names",
    "default_config_text",
    "parse_config",
    "config_from_dict",
]

_SECTIONS = {"run", "references", "distractors", "transforms", "hashers", "thresholds", "matching", "statistics"}
_KEYS = {
    "run": {"name", "seed", "workers", "chunk_size"},
    "transforms": {"suite", "custom"},
    "hashers": {"names", "composites"},
    "matching": {"mode", "quality_floor"},
    "statistics": {"alpha", "target_fprs", "list_sizes", "volume_per_year", "list_size"},
}


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset block: its registry name and keyword parameters (count, seed, family, ...)."""

    dataset: str
    params: dict[str, Any] = field(default_factory=dict)

    def label(self) -> str:
        inner = ",".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.dataset}:{inner}" if inner else self.dataset


@dataclass(frozen=True)
class RunConfig:
    """A validated run configuration. ``to_dict()`` is what report.json records."""

    name: str = "default"
    seed: int = 0
    workers: int = 0
    chunk_size: int = 32
    references: tuple[DatasetSpec, ...] = ()
    distractors: tuple[DatasetSpec, ...] = ()
    suite: str = "default"
    custom_transforms: tuple[dict[str, Any], ...] = ()
    hashers: tuple[str, ...] = ()
    composites: tuple[str, ...] = ()
    thresholds: dict[str, int] = field(default_factory=dict)
    matching: str = "dihedral"
    quality_floor: int = 50
    alpha: float = 0.05
    target_fprs: tuple[float, ...] = (1e-3, 1e-6, 1e-9, 2e-11)
    list_sizes: tuple[float, ...] = (1e3, 1e6, 1e7)
    volume_per_year: float = 12.3e9
    list_size: float = 5e6

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["references"] = [{"dataset": s.dataset, **s.params} for s in self.references]
        d["distractors"] = [{"dataset": s.dataset, **s.params} for s in self.distractors]
        return d

    def digest(self) -> str:
        """A short stable digest of the configuration (part of the run id)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def composite_parts(self, composite: str) -> tuple[str, list[str]]:
        """("any", [a, b]) for "a|b"; ("all", [a, b]) for "a&b"."""
        op = "any" if "|" in composite else "all"
        return op, [p.strip() for p in composite.replace("&", "|").split("|")]

    def with_overrides(self, **changes: Any) -> RunConfig:
        d = {**self.__dict__, **changes}
        return RunConfig(**d)


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


def load_config(path: str | Path | None = None) -> RunConfig:
    """Read and validate a TOML configuration; ``None`` gives the embedded default."""
    if path is None:
        return parse_config(tomllib.loads(default_config_text()), origin="the embedded default")
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read config {p}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{p} is not valid TOML: {exc}") from None
    return parse_config(data, origin=str(p))


def _unknown(keys: set[str], allowed: set[str], where: str, origin: str) -> None:
    for k in sorted(keys - allowed):
        close = difflib.get_close_matches(k, sorted(allowed), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(sorted(allowed))}"
        raise UsageError(f"{origin}: unknown key {k!r} in {where}{hint}")


def _int(value: Any, what: str, origin: str, lo: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{origin}: {what} must be a whole number, got {value!r}")
    if lo is not None and value < lo:
        raise UsageError(f"{origin}: {what} must be at least {lo}, got {value}")
    return value


def _positive(value: Any, what: str, origin: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise UsageError(f"{origin}: {what} must be a positive number, got {value!r}")
    return float(value)


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
        if name not in known:
            raise UsageError(f"{origin}: unknown dataset {name!r} in [[{where}]]; known datasets: {', '.join(known)}")
        _unknown(set(params), set(known[name].params), f"[[{where}]] dataset {name!r}", origin)
        if "count" in params:
            _int(params["count"], f"[[{where}]] count", origin, lo=0)
        out.append(DatasetSpec(name, params))
    return tuple(out)


def parse_config(data: dict[str, Any], origin: str = "config") -> RunConfig:
    """Validate a configuration already parsed from TOML (see ``data/default.toml``)."""
    from . import hashers as hashers_mod

    _unknown(set(data), _SECTIONS, "the top level", origin)
    for section, allowed in _KEYS.items():
        block = data.get(section, {})
        if not isinstance(block, dict):
            raise UsageError(f"{origin}: [{section}] must be a table")
        _unknown(set(block), allowed, f"[{section}]", origin)
    run = data.get("run", {})
    base = RunConfig()
    seed = _int(run.get("seed", base.seed), "[run] seed", origin, lo=0)
    workers = _int(run.get("workers", base.workers), "[run] workers", origin, lo=0)
    chunk_size = _int(run.get("chunk_size", base.chunk_size), "[run] chunk_size", origin, lo=1)
    name = str(run.get("name", base.name))
    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise UsageError(f"{origin}: [run] name {name!r} must be a plain name (it becomes part of a folder name)")

    references = _datasets(data.get("references"), "references", origin)
    distractors = _datasets(data.get("distractors"), "distractors", origin)
    if not references:
        raise UsageError(f"{origin}: at least one [[references]] dataset is needed")
    ref_labels = {s.label() for s in references}
    for s in distractors:
        if s.label() in ref_labels:
            raise UsageError(
                f"{origin}: distractor dataset {s.label()} is also a reference; distractors must be "
                "distinct images (use another seed or dataset)"
            )

    tr = data.get("transforms", {})
    suite = str(tr.get("suite", base.suite))
    custom = tuple(tr.get("custom", ()))
    for i, t in enumerate(custom):
        if not isinstance(t, dict) or "name" not in t:
            raise UsageError(
                f"{origin}: [[transforms.custom]] entry {i + 1} needs a 'name' (see `hashbench transforms`)"
            )

    hs = data.get("hashers", {})
    names = tuple(hs.get("names", ()))
    if not names:
        raise UsageError(f"{origin}: [hashers] names is empty; name at least one (see `hashbench hashers`)")
    known_hashers = set(hashers_mod.available())
    for n in names:
        if n.partition(":")[0] not in known_hashers:
            raise UsageError(
                f"{origin}: unknown hasher {n!r} in [hashers] names; known: {', '.join(sorted(known_hashers))}"
            )
    if len(set(names)) != len(names):
        raise UsageError(f"{origin}: a hasher is named twice in [hashers] names")
    composites = tuple(hs.get("composites", ()))
    for c in composites:
        if ("|" in c) == ("&" in c):
            raise UsageError(f"{origin}: composite {c!r} must join hashers with only '|' (any of) or only '&' (all of)")
        for part in c.replace("&", "|").split("|"):
            if part.strip() not in names:
                raise UsageError(f"{origin}: composite {c!r} uses {part.strip()!r}, which is not in [hashers] names")

    thresholds_in = data.get("thresholds", {})
    if not isinstance(thresholds_in, dict):
        raise UsageError(f"{origin}: [thresholds] must be a table of hasher = distance")
    thresholds: dict[str, int] = {}
    for hname, t in thresholds_in.items():
        if hname not in names:
            continue  # operating points for hashers this run does not use are harmless
        nbits = hashers_mod.get(hname).nbits if not hname.startswith("command") else None
        t = _int(t, f"[thresholds] {hname}", origin, lo=0)
        if nbits is not None and t > nbits:
            raise UsageError(f"{origin}: [thresholds] {hname} = {t} is more than its {nbits} bits")
        thresholds[hname] = t
    conventional = tomllib.loads(default_config_text())["thresholds"]
    for hname in names:
        if hname not in thresholds:  # the named operating point of the embedded default, else nbits/8
            h = hashers_mod.get(hname)
            thresholds[hname] = conventional.get(hname, 0 if h.exact else max(1, h.nbits // 8))

    m = data.get("matching", {})
    mode = str(m.get("mode", base.matching))
    if mode not in ("plain", "dihedral"):
        raise UsageError(f"{origin}: [matching] mode must be 'plain' or 'dihedral', got {mode!r}")
    quality_floor = _int(m.get("quality_floor", base.quality_floor), "[matching] quality_floor", origin, lo=0)
    if quality_floor > 100:
        raise UsageError(f"{origin}: [matching] quality_floor is a PDQ quality, 0-100; got {quality_floor}")

    st = data.get("statistics", {})
    alpha = float(st.get("alpha", base.alpha))
    if not 0 < alpha < 1:
        raise UsageError(f"{origin}: [statistics] alpha must be between 0 and 1, got {alpha}")
    target_fprs = tuple(
        _positive(v, "[statistics] target_fprs entries", origin) for v in st.get("target_fprs", base.target_fprs)
    )
    if any(v >= 1 for v in target_fprs):
        raise UsageError(f"{origin}: [statistics] target_fprs must be below 1")
    list_sizes = tuple(
        _positive(v, "[statistics] list_sizes entries", origin) for v in st.get("list_sizes", base.list_sizes)
    )
    return RunConfig(
        name=name,
        seed=seed,
        workers=workers,
        chunk_size=chunk_size,
        references=references,
        distractors=distractors,
        suite=suite,
        custom_transforms=custom,
        hashers=names,
        composites=composites,
        thresholds=thresholds,
        matching=mode,
        quality_floor=quality_floor,
        alpha=alpha,
        target_fprs=target_fprs,
        list_sizes=list_sizes,
        volume_per_year=_positive(
            st.get("volume_per_year", base.volume_per_year), "[statistics] volume_per_year", origin
        ),
        list_size=_positive(st.get("list_size", base.list_size), "[statistics] list_size", origin),
    )


def config_from_dict(d: dict[str, Any], origin: str = "report.json") -> RunConfig:
    """Rebuild a configuration from :meth:`RunConfig.to_dict` (as recorded in report.json).

    It goes through the same validation as a TOML file, so a hand-edited record is checked too.
    """
    try:
        data = {
            "run": {"name": d["name"], "seed": d["seed"], "workers": d["workers"], "chunk_size": d["chunk_size"]},
            "references": list(d["references"]),
            "distractors": list(d["distractors"]),
            "transforms": {
                "suite": d["suite"],
                **({"custom": list(d["custom_transforms"])} if d["custom_transforms"] else {}),
            },
            "hashers": {"names": list(d["hashers"]), "composites": list(d["composites"])},
            "thresholds": dict(d["thresholds"]),
            "matching": {"mode": d["matching"], "quality_floor": d["quality_floor"]},
            "statistics": {
                "alpha": d["alpha"],
                "target_fprs": list(d["target_fprs"]),
                "list_sizes": list(d["list_sizes"]),
                "volume_per_year": d["volume_per_year"],
                "list_size": d["list_size"],
            },
        }
    except (KeyError, TypeError) as exc:
        raise UsageError(f"{origin}: the recorded configuration is incomplete (missing {exc})") from None
    return parse_config(data, origin=origin)
