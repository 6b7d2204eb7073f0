"""The transform interface, its registry, chains, and the seeded random streams they draw from.

A transform is a named edit with parameters: ``Transform.apply(image, rng) -> TransformOutput``.
Parameters may be fixed (``quality=50``) or a range ``(lo, hi)`` drawn from ``rng`` at apply
time; either way the output carries the *resolved* parameters (the ones actually used), so any
output can be reproduced exactly and every result row can say what was done to its image.

Randomness never depends on order or process: :func:`transform_rng` derives each (item,
transform) stream from ``SeedSequence([seed, h(item_id), h(transform_name)])`` with a stable
hash ``h`` (BLAKE2b, not Python's salted ``hash``). Encoding transforms (jpeg, webp, png)
return the encoded file bytes too, so exact hashers such as MD5 hash what a real re-upload
would contain.
"""

from __future__ import annotations

import abc
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar, cast, overload

import numpy as np
import numpy.typing as npt

from ..errors import UsageError
from ..registry import Registry

__all__ = [
    "RGBArray",
    "TransformOutput",
    "Transform",
    "Chain",
    "run_steps",
    "TRANSFORMS",
    "register",
    "get",
    "available",
    "transform_rng",
    "stable_hash",
    "format_value",
    "resolve_colour",
]

RGBArray = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class TransformOutput:
    """The result of one transform on one image.

    ``pixels``: (H, W, 3) uint8 RGB (for encode transforms, the decoded file). ``params``: the
    resolved parameters. ``data``/``format``: the encoded bytes and their format ("jpeg",
    "webp", "png") when the last step wrote a file, else ``None``. ``name``/``kind``: which
    transform made it.
    """

    pixels: RGBArray
    params: dict[str, Any]
    data: bytes | None = None
    format: str | None = None
    name: str = ""
    kind: str = ""


def stable_hash(text: str) -> int:
    """A 64-bit hash of ``text`` that is the same in every process and Python version."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def transform_rng(seed: int, item_id: str, transform_name: str) -> np.random.Generator:
    """The random stream for applying ``transform_name`` to ``item_id`` under ``seed``."""
    if seed < 0:
        raise UsageError(f"seed must be non-negative, got {seed}")
    ss = np.random.SeedSequence([int(seed), stable_hash(item_id), stable_hash(transform_name)])
    return np.random.Generator(np.random.PCG64(ss))


def format_value(value: Any) -> str:
    """Compact text for a parameter value, used in default transform names."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list)):
        return "-".join(format_value(v) for v in value)
    return str(value)


class Transform(abc.ABC):
    """A named, parameterised edit of an RGB image.

    Subclasses set ``kind`` (the registry key), ``description``, ``defaults`` (every parameter
    with its default) and ``param_help``, and implement :meth:`_apply`, which receives resolved
    parameters. Parameters given as a 2-item tuple/list ``(lo, hi)`` are ranges for numeric
    parameters listed in ``ranged``: each ``apply`` draws a value uniformly from them.
    """

    kind: ClassVar[str] = ""
    description: ClassVar[str] = ""
    defaults: ClassVar[Mapping[str, Any]] = {}
    param_help: ClassVar[Mapping[str, str]] = {}
    #: numeric parameters that may be given as a (lo, hi) range
    ranged: ClassVar[frozenset[str]] = frozenset()
    #: parameters drawn as integers when given as a range
    integer: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, name: str | None = None, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise UsageError(
                f"transform {self.kind!r} has no parameter {', '.join(map(repr, unknown))}; "
                f"parameters: {', '.join(self.defaults) or '(none)'}"
            )
        merged = {**self.defaults, **params}
        for key, value in merged.items():
            if isinstance(value, list):
                merged[key] = tuple(value)
            if isinstance(merged[key], tuple) and key in self.ranged and len(merged[key]) != 2:
                raise UsageError(f"{self.kind}: range for {key!r} must be (lo, hi), got {value!r}")
        self.params: dict[str, Any] = merged
        self.validate(merged)
        self.name = name or self.default_name(params)

    def default_name(self, given: Mapping[str, Any]) -> str:
        """``kind`` plus the explicitly given parameters, e.g. ``jpeg_quality50``."""
        parts = [self.kind] + [f"{k}{format_value(v)}" for k, v in given.items()]
        return "_".join(parts)

    def validate(self, params: Mapping[str, Any]) -> None:
        """Raise :class:`UsageError` for impossible parameters (override per transform)."""
        return None

    def resolve(self, rng: np.random.Generator) -> dict[str, Any]:
        """Parameters with every range replaced by a value drawn from ``rng``."""
        out: dict[str, Any] = {}
        for key, value in self.params.items():
            if key in self.ranged and isinstance(value, tuple):
                lo, hi = value
                if key in self.integer:
                    out[key] = int(rng.integers(int(lo), int(hi) + 1))
                else:
                    out[key] = float(rng.uniform(float(lo), float(hi)))
            else:
                out[key] = value
        return out

    def apply(self, image: RGBArray, rng: np.random.Generator) -> TransformOutput:
        """Apply to (H, W, 3) uint8 ``image`` with randomness from ``rng``; the input is not modified."""
        image = _check_image(image)
        params = self.resolve(rng)
        result = self._apply(image, params, rng)
        if isinstance(result, TransformOutput):
            return TransformOutput(
                _check_image(result.pixels), result.params, result.data, result.format, self.name, self.kind
            )
        return TransformOutput(_check_image(result), params, None, None, self.name, self.kind)

    @abc.abstractmethod
    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray | TransformOutput:
        """Do the edit; ``params`` are resolved and may be extended with derived values."""

    def describe(self) -> dict[str, Any]:
        """``{"name", "kind", "params"}`` with ranges as lists (JSON-ready)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "params": {k: list(v) if isinstance(v, tuple) else v for k, v in self.params.items()},
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}(name={self.name!r}{', ' if args else ''}{args})"


class Chain(Transform):
    """Several transforms applied in order; records each step's resolved parameters.

    Only the last step's encoded bytes survive: a JPEG in the middle of a chain is decoded and
    edited further, as happens when an image is saved, edited and shared again.
    """

    kind = "chain"
    description = "several transforms in sequence"
    defaults: ClassVar[Mapping[str, Any]] = {"steps": ()}
    param_help = {"steps": "the transforms, in order"}

    def __init__(self, steps: Sequence[Transform], name: str | None = None) -> None:
        if not steps:
            raise UsageError("a chain needs at least one step")
        self.steps = list(steps)
        self.params = {"steps": [t.describe() for t in self.steps]}
        self.name = name or "+".join(t.name for t in self.steps)

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> TransformOutput:
        return run_steps(self.steps, image, rng)

    def resolve(self, rng: np.random.Generator) -> dict[str, Any]:
        return {}


def run_steps(steps: Sequence[Transform], image: RGBArray, rng: np.random.Generator) -> TransformOutput:
    """Apply ``steps`` in order with one shared stream; the output lists every step."""
    record: list[dict[str, Any]] = []
    out: TransformOutput | None = None
    current = image
    for step in steps:
        out = step.apply(current, rng)
        record.append({"name": step.name, "kind": step.kind, "params": out.params})
        current = out.pixels
    assert out is not None
    return TransformOutput(current, {"steps": record}, out.data, out.format)


#: Every transform kind by name (the one idiom of :mod:`hashbench.registry`).
TRANSFORMS: Registry[Transform] = Registry("transform", "hashbench.transforms", name_attr="kind", base=Transform)

TransformClass = TypeVar("TransformClass", bound=type[Transform])


@overload
def register(target: TransformClass, /) -> TransformClass: ...


@overload
def register(target: str, /, **metadata: Any) -> Callable[[TransformClass], TransformClass]: ...


def register(
    target: TransformClass | str, /, **metadata: Any
) -> TransformClass | Callable[[TransformClass], TransformClass]:
    """Class decorator: ``@register("kind")`` makes the class available as ``get("kind", ...)``.

    The bare form ``@register`` takes the name from the class's ``kind`` attribute (the form the
    built-in modules use); ``@register("kind")`` sets ``kind`` when the class has none.
    """
    if isinstance(target, str):
        return TRANSFORMS.register(target, **metadata)
    if not target.kind:
        raise ValueError(f"{target.__name__} has no kind: use @register('kind')")
    return TRANSFORMS.register(target.kind, target)


def get(kind: str, name: str | None = None, **params: Any) -> Transform:
    """A transform of registered ``kind`` with ``params``; :class:`UsageError` (with the closest
    kinds) if there is none."""
    return TRANSFORMS.get(kind, name=name, **params)


def available() -> list[type[Transform]]:
    """Registered transform classes, in registration order (plugins last)."""
    return [cast(type[Transform], e.factory) for e in TRANSFORMS.available()]


def _check_image(image: Any) -> RGBArray:
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected (H, W, 3) uint8 pixels, got {arr.dtype} {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"empty image {arr.shape}")
    return np.ascontiguousarray(arr)


_NAMED_COLOURS = {
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "grey": (128, 128, 128),
    "gray": (128, 128, 128),
    "red": (220, 30, 30),
    "yellow": (250, 215, 0),
}


def resolve_colour(value: Any, rng: np.random.Generator) -> tuple[int, int, int]:
    """An RGB triple from a name (black, white, grey, red, yellow), ``#rrggbb``, a triple, or "random"."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "random":
            return tuple(int(v) for v in rng.integers(0, 256, 3))  # type: ignore[return-value]
        if text in _NAMED_COLOURS:
            return _NAMED_COLOURS[text]
        if text.startswith("#") and len(text) == 7:
            try:
                return (int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16))
            except ValueError:
                pass
        raise UsageError(f"unknown colour {value!r}: use a name, #rrggbb, [r, g, b] or 'random'")
    if isinstance(value, (tuple, list)) and len(value) == 3:
        return tuple(int(np.clip(int(v), 0, 255)) for v in value)  # type: ignore[return-value]
    raise UsageError(f"unknown colour {value!r}: use a name, #rrggbb, [r, g, b] or 'random'")
