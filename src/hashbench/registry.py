"""One registry idiom for everything hashbench finds by name: hashers, transforms, datasets, indexes.

A :class:`Registry` maps a name to a factory (a class, or a function that returns the object) with
a one-line description and declared metadata. Adding a kind of thing is one new file that
registers itself with a decorator::

    from hashbench import hashers

    @hashers.register("myhash")
    class MyHash(hashers.Hasher): ...

Why one idiom: before it, hashers, transforms and datasets each had their own registration call
and error text, and indexes had none, so adding an index touched four or five files. Now every
registry answers the same way: ``get(name, ...)`` builds one, ``names()`` and ``available()``
list them, and an unknown name raises :class:`~hashbench.errors.UsageError` that names the
closest known ones ("did you mean 'pdq'?"), because a typo on the command line or in a run
configuration should be a one-line fix.

Plugins: every registry has an entry-point group (``hashbench.hashers``, ``hashbench.transforms``,
``hashbench.datasets``, ``hashbench.indexes``); an entry point names either a module (importing
it runs its decorators) or an object (registered under the entry point's name). Modules listed
in the ``HASHBENCH_PLUGINS`` environment variable (comma-separated) are imported too, so one file
on ``PYTHONPATH`` needs no packaging. Both are loaded lazily: the first time a listing is asked
for or a name is not found, never for a built-in looked up by its name.

This module sits at the bottom of the layers: it imports nothing of hashbench but its errors.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import inspect
import os
import types
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

from .errors import UsageError

__all__ = ["Entry", "Registry", "PLUGINS_ENV", "did_you_mean", "import_plugin_modules"]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

#: Environment variable naming extra plugin modules to import (comma-separated module names).
PLUGINS_ENV = "HASHBENCH_PLUGINS"

_plugin_modules_imported = False


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered name: its factory, a one-line description and declared metadata."""

    name: str
    factory: Callable[..., T]
    description: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest candidates (case-insensitive), or ``""``."""
    by_lower: dict[str, str] = {}
    for c in candidates:
        by_lower.setdefault(c.lower(), c)
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=3, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(by_lower[c]) for c in close) + "?"


def import_plugin_modules() -> None:
    """Import the modules named in ``HASHBENCH_PLUGINS`` (once per process).

    A module that cannot be imported is the user's to fix, so it raises :class:`UsageError`
    rather than being skipped: a silently missing plugin would make a run measure something else.
    """
    global _plugin_modules_imported
    if _plugin_modules_imported:
        return
    for name in (part.strip() for part in os.environ.get(PLUGINS_ENV, "").split(",")):
        if not name:
            continue
        try:
            importlib.import_module(name)
        except Exception as exc:
            raise UsageError(f"{PLUGINS_ENV}: cannot import plugin module {name!r}: {exc}") from exc
    _plugin_modules_imported = True


def _first_line(obj: object) -> str:
    """A factory's description: its declared ``description`` attribute, else its docstring's first line.

    The docstring is read from the object itself (``__doc__``), not inherited, so an undocumented
    subclass does not show its base class's text.
    """
    declared = getattr(obj, "description", None)
    text = declared if isinstance(declared, str) and declared.strip() else getattr(obj, "__doc__", None)
    if not isinstance(text, str) or not text.strip():
        return ""
    return inspect.cleandoc(text).splitlines()[0].strip()


class Registry(Generic[T]):
    """Names to factories for one kind of thing (``kind``: "hasher", "transform", ...).

    ``group`` is the entry-point group of its plugins. ``name_attr`` is the class attribute that
    holds the registered name (``Hasher.name``, ``Transform.kind``): a registered class that does
    not set it gets it, and one that sets another name is refused, so the two cannot disagree.
    ``base``, when given, is the class every registered factory must subclass.
    """

    def __init__(
        self,
        kind: str,
        group: str,
        *,
        plural: str | None = None,
        name_attr: str | None = None,
        base: type | None = None,
    ) -> None:
        self.kind = kind
        self.plural = plural or f"{kind}s"
        self.group = group
        self.name_attr = name_attr
        self.base = base
        self._entries: dict[str, Entry[T]] = {}
        self._plugins_loaded = False

    def __repr__(self) -> str:
        return f"<Registry of {self.plural}: {', '.join(self._entries)}>"

    # ------------------------------------------------------------------ registering
    @overload
    def register(
        self, name: str, /, *, description: str | None = None, replace: bool = False, **metadata: Any
    ) -> Callable[[F], F]: ...

    @overload
    def register(
        self, name: str, factory: F, /, *, description: str | None = None, replace: bool = False, **metadata: Any
    ) -> F: ...

    def register(
        self,
        name: str,
        factory: F | None = None,
        /,
        *,
        description: str | None = None,
        replace: bool = False,
        **metadata: Any,
    ) -> F | Callable[[F], F]:
        """Register under ``name``: ``@registry.register("name", **metadata)`` on a class or function.

        ``register(name, factory)`` does the same without decorator syntax. ``description``
        defaults to the factory's ``description`` attribute or its docstring's first line;
        ``metadata`` holds declared capabilities (read back as ``Entry.metadata``).
        ``replace=True`` overrides an existing entry (tests, deliberate shadowing).
        """

        def decorate(obj: F) -> F:
            self._add(name, obj, description, replace, metadata)
            return obj

        return decorate if factory is None else decorate(factory)

    def _add(
        self, name: str, obj: Callable[..., Any], description: str | None, replace: bool, metadata: Mapping[str, Any]
    ) -> None:
        if not isinstance(name, str) or not name or name != name.strip() or any(c in name for c in ":,"):
            raise ValueError(f"{self.kind} name must be a non-empty word without ':' or ',', got {name!r}")
        if not callable(obj):
            raise TypeError(f"a {self.kind} factory must be a class or a function, got {obj!r}")
        if self.base is not None and not (isinstance(obj, type) and issubclass(obj, self.base)):
            raise TypeError(f"a {self.kind} must be a subclass of {self.base.__name__}, got {obj!r}")
        existing = self._entries.get(name)
        if existing is not None and existing.factory is not obj and not replace:
            raise ValueError(f"a {self.kind} named {name!r} is already registered ({existing.factory!r})")
        self._bind_name(name, obj)
        self._entries[name] = Entry(name, obj, description or _first_line(obj), dict(metadata))

    def _bind_name(self, name: str, obj: Callable[..., Any]) -> None:
        """Make a registered class's own ``name_attr`` equal the registered name."""
        if self.name_attr is None or not isinstance(obj, type):
            return
        own = vars(obj).get(self.name_attr)
        if own is None or own == "":
            setattr(obj, self.name_attr, name)
        elif own != name:
            raise ValueError(
                f"{obj.__name__}.{self.name_attr} is {own!r} but it is registered as {name!r}; use one name"
            )

    # ------------------------------------------------------------------ plugins
    def load_plugins(self) -> None:
        """Import ``HASHBENCH_PLUGINS`` modules and this registry's entry points (once).

        Built-ins win: an entry point whose name is taken is skipped, so a plugin cannot silently
        replace ``pdq``. A broken entry point warns and is skipped, as a broken plugin must not
        break hashbench.
        """
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        import_plugin_modules()
        for ep in importlib.metadata.entry_points(group=self.group):
            if ep.name in self._entries:
                continue
            try:
                obj = ep.load()
                if ep.name in self._entries:
                    continue  # the module registered it with the decorator when imported
                if isinstance(obj, types.ModuleType):
                    raise ValueError(f"module {obj.__name__} registers no {self.kind} named {ep.name!r}")
                self._add(ep.name, obj, None, False, {})
            except Exception as exc:
                warnings.warn(f"{self.kind} plugin {ep.name!r} ({ep.value}) failed to load: {exc}", stacklevel=2)

    # ------------------------------------------------------------------ looking up
    def names(self) -> list[str]:
        """Every registered name, built-ins in registration order, then plugins."""
        self.load_plugins()
        return list(self._entries)

    def available(self, *, plugins: bool = True) -> list[Entry[T]]:
        """Every entry (name, factory, description, metadata), in the order of :meth:`names`.

        ``plugins=False`` lists what is registered so far without loading plugins (for use
        while a package is being imported).
        """
        if plugins:
            self.load_plugins()
        return list(self._entries.values())

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str) and name not in self._entries:
            self.load_plugins()
        return name in self._entries

    def entry(self, name: str) -> Entry[T]:
        """The entry of ``name``; :class:`UsageError` with the closest names if there is none."""
        found = self._entries.get(name)
        if found is None:
            self.load_plugins()
            found = self._entries.get(name)
        if found is None:
            raise UsageError(self.unknown_message(name))
        return found

    def get(self, name: str, /, *args: Any, **params: Any) -> T:
        """Build the ``name`` entry: ``factory(*args, **params)``."""
        return self.entry(name).factory(*args, **params)

    def unknown_message(self, name: str) -> str:
        """``unknown hasher 'pdqq'; did you mean 'pdq'? known hashers: ...``"""
        known = sorted(self.names())
        hint = did_you_mean(name, known) or ";"
        return f"unknown {self.kind} {name!r}{hint} known {self.plural}: {', '.join(known)}"
