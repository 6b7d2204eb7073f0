"""Hashers behind one small interface, found by name.

    >>> from hashbench import hashers
    >>> h = hashers.get("pdq")
    >>> h.nbits, h.exact
    (256, False)

Built-ins: pdq, pdq8 (PDQ's 8 dihedral variants), pdq+unletterbox (black borders trimmed first),
phash, phash16, dhash, ahash, whash, colorhash (imagehash), md5, sha256 (exact baseline), command
(an external program). Each registers itself with ``@register("name")`` in its module; plugins register through the
entry-point group ``hashbench.hashers`` (see docs/extending.md).
"""

from __future__ import annotations

from . import crypto, external, imagehash_family, pdq, preprocess  # noqa: F401  (each module registers its hashers)
from .base import (
    ENTRY_POINT_GROUP,
    HASHERS,
    ConformanceReport,
    HashBatch,
    Hasher,
    HashOutput,
    ImageItem,
    available,
    check_conformance,
    get,
    register,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "HASHERS",
    "ConformanceReport",
    "HashBatch",
    "HashOutput",
    "Hasher",
    "ImageItem",
    "available",
    "check_conformance",
    "get",
    "register",
    "BUILTIN",
    "DEFAULT_HASHERS",
]

_KIND_ORDER = {"perceptual": 0, "cryptographic": 1, "external": 2}

#: Hashers registered by hashbench's own modules (plugins are not built-in): perceptual first,
#: then cryptographic, then external, each in registration order. ``--hasher all`` runs these.
BUILTIN: dict[str, type[Hasher]] = {
    cls.name: cls
    for cls in sorted(
        (
            f
            for f in (e.factory for e in HASHERS.available(plugins=False))
            if isinstance(f, type) and issubclass(f, Hasher)
        ),
        key=lambda c: _KIND_ORDER.get(c.kind, len(_KIND_ORDER)),
    )
    if cls.__module__.startswith(f"{__name__}.")
}

#: The hashers of the embedded default run (`hashbench run`, `make demo`).
DEFAULT_HASHERS: tuple[str, ...] = ("pdq", "pdq8", "phash", "phash16", "dhash", "ahash", "whash", "md5", "sha256")
