"""The dataset interface and the registry of dataset factories.

A dataset is an ordered, sized collection of *items*. Each item has a stable ``id`` (the key of
every result row), a ``source`` dict that says where the pixels come from (so a run can be
repeated and audited), and ``load()`` which returns the (H, W, 3) uint8 RGB pixels. Items are
small picklable values: a worker process receives the item, not the image, and loads it there.

Datasets are looked up by name (``get("synthetic", family="text", count=1000)``) in a registry of
factories (:mod:`hashbench.registry`), the way ann-benchmarks keys its datasets, so a run
configuration only names things; a dataset kind registers itself with ``@register("name")``.
Capabilities are declared as class attributes (``has_files``), never sniffed.
"""

from __future__ import annotations

import abc
import inspect
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from ..cpus import default_workers
from ..errors import UsageError
from ..parallel import chunked, ordered_chunked_map
from ..registry import Entry, Registry, did_you_mean

__all__ = [
    "Item",
    "Dataset",
    "DatasetInfo",
    "DATASETS",
    "register",
    "get",
    "available",
    "default_workers",
    "parse_spec",
    "from_spec",
]

RGBArray = npt.NDArray[np.uint8]


class Item(abc.ABC):
    """One image of a dataset: a stable ``id``, its ``source`` and a way to get its pixels.

    ``path`` is the file the pixels are decoded from, or ``None`` for generated images; callers
    that want file bytes (exact hashers) read ``path`` themselves.
    """

    id: str
    source: Mapping[str, Any]
    path: str | None = None

    @abc.abstractmethod
    def load(self) -> RGBArray:
        """Return the pixels, (H, W, 3) uint8 RGB, C-contiguous."""

    @property
    def pixels(self) -> RGBArray:
        """The pixels (an alias of :meth:`load`; each access loads them again)."""
        return self.load()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id!r})"


class Dataset(abc.ABC):
    """An ordered, sized, re-iterable collection of :class:`Item`.

    Subclasses implement ``__len__`` and ``item(i)``; iteration, ``describe()`` and the
    process-parallel ``iter_arrays`` come from here. ``iter_arrays`` streams: it keeps at most a
    few chunks of pixels in flight, so a dataset of any size passes through bounded memory.
    """

    #: registry name of the dataset kind ("synthetic", "sample", "folder")
    name: str = ""
    #: True when every item has a ``path`` to an encoded file (exact hashers can hash its bytes)
    has_files: bool = False

    @abc.abstractmethod
    def __len__(self) -> int: ...

    @abc.abstractmethod
    def item(self, index: int) -> Item:
        """The item at position ``index`` (0 <= index < len)."""

    @abc.abstractmethod
    def describe(self) -> dict[str, Any]:
        """The parameters that recreate this dataset (recorded in a run's report)."""

    def __iter__(self) -> Iterator[Item]:
        for i in range(len(self)):
            yield self.item(i)

    def __getitem__(self, index: int) -> Item:
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"item {index} out of range for a dataset of {n}")
        return self.item(index)

    @property
    def ids(self) -> list[str]:
        """Every item id, in order."""
        return [it.id for it in self]

    def iter_arrays(self, workers: int | None = None, chunk_size: int = 64) -> Iterator[tuple[str, RGBArray]]:
        """Yield ``(id, pixels)`` for every item, in order, loading in ``workers`` processes.

        ``workers=None`` uses every core (:func:`default_workers`), ``workers<=1`` loads in this
        process. Items are sent to the workers in chunks of ``chunk_size``; at most
        ``2 * workers`` chunks are in flight, which bounds memory whatever the dataset's size.
        An item that cannot be decoded raises :class:`hashbench.errors.ImageDecodeError`; to hash
        a file dataset while recording bad files instead, give its paths to
        :func:`hashbench.hashing.hash_files`.
        """
        items = iter(self)
        yield from ordered_chunked_map(_load_chunk, chunked(items, chunk_size), workers)


@dataclass(frozen=True)
class DatasetInfo:
    """A registry entry as listings and config validation read it: how to build a dataset kind,
    what it is for, and its keyword parameters with one-line help."""

    name: str
    factory: Callable[..., Dataset]
    description: str
    params: Mapping[str, str] = field(default_factory=dict)


#: Every dataset kind by name (the one idiom of :mod:`hashbench.registry`). Each entry declares
#: its keyword ``params`` (name -> one-line help) as metadata; config validation reads them.
DATASETS: Registry[Dataset] = Registry("dataset", "hashbench.datasets", name_attr="name")

DatasetFactory = TypeVar("DatasetFactory", bound=Callable[..., Dataset])


def register(
    name: str, /, *, description: str | None = None, params: Mapping[str, str] | None = None, replace: bool = False
) -> Callable[[DatasetFactory], DatasetFactory]:
    """Class decorator: ``@register("name", params={"count": "help", ...})`` adds a dataset kind.

    ``params`` maps each keyword of the factory to a one-line help; when omitted, the
    factory's keyword parameters are taken from its signature (with no help text).
    """

    def decorate(factory: DatasetFactory) -> DatasetFactory:
        declared = dict(params) if params is not None else _signature_params(factory)
        return DATASETS.register(name, factory, description=description, replace=replace, params=declared)

    return decorate


def _signature_params(factory: Callable[..., Any]) -> dict[str, str]:
    """Keyword parameters of ``factory`` (for plugins that declare none)."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name: "" for p in inspect.signature(factory).parameters.values() if p.kind in kinds}


def _info(entry: Entry[Dataset]) -> DatasetInfo:
    params = entry.metadata.get("params")
    if params is None:  # registered from an entry point without the decorator
        params = _signature_params(entry.factory)
    return DatasetInfo(entry.name, entry.factory, entry.description, params)


def available() -> list[DatasetInfo]:
    """Registered dataset kinds, in registration order (plugins last)."""
    return [_info(e) for e in DATASETS.available()]


def get(name: str, **params: Any) -> Dataset:
    """Build the dataset registered as ``name`` with keyword ``params``.

    Raises :class:`UsageError` for an unknown name or parameter, naming the closest ones, so
    the CLI can say which.
    """
    info = _info(DATASETS.entry(name))
    for key in params:
        if key not in info.params:
            raise UsageError(
                f"dataset {name!r} has no parameter {key!r}{did_you_mean(key, info.params) or ';'} "
                f"its parameters are: {', '.join(info.params) or '(none)'}"
            )
    return info.factory(**params)


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split ``"NAME:key=value,key=value"`` into a name and keyword parameters.

    Values that read as integers or floats become numbers; everything else stays a string.
    A spec naming an existing directory (``"photos/"``) means the ``folder`` dataset at that path.
    """
    text = spec.strip()
    if not text:
        raise UsageError("empty dataset spec")
    if os.path.isdir(text):
        return "folder", {"root": text}
    name, _, rest = text.partition(":")
    params: dict[str, Any] = {}
    if rest:
        for part in rest.split(","):
            key, eq, value = part.partition("=")
            if not eq or not key.strip():
                raise UsageError(f"bad dataset parameter {part!r} in {spec!r}: expected key=value")
            params[key.strip().replace("-", "_")] = _parse_value(value.strip())
    return name.strip(), params


def from_spec(spec: str) -> Dataset:
    """Build a dataset from a spec string (see :func:`parse_spec`)."""
    name, params = parse_spec(spec)
    return get(name, **params)


def _parse_value(value: str) -> Any:
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def _load_chunk(items: list[Item]) -> list[tuple[str, RGBArray]]:
    """Load a chunk of items (in a worker process, for :meth:`Dataset.iter_arrays`)."""
    return [(it.id, it.load()) for it in items]
