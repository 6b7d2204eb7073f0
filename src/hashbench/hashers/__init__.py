"""Hashers behind one small interface, found by name.

    >>> from hashbench import hashers
    >>> h = hashers.get("pdq")
    >>> h.nbits, h.exact
    (256, False)

Built-ins: pdq, pdq8 (PDQ's 8 dihedral variants), phash, phash16, dhash, ahash, whash,
colorhash (imagehash), md5, sha256 (exact baseline), command (an external program). Plugins
register through the entry-point group ``hashbench.hashers``.
"""

from __future__ import annotations

from .base import (
    ENTRY_POINT_GROUP,
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
from .crypto import MD5Hasher, SHA256Hasher
from .external import CommandHasher
from .imagehash_family import AHash, ColorHash, DHash, PHash, PHash16, WHash
from .pdq import PDQDihedralHasher, PDQHasher

__all__ = [
    "ENTRY_POINT_GROUP",
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

#: Built-in hashers in the order listings show them.
BUILTIN: dict[str, type[Hasher]] = {
    cls.name: cls
    for cls in (
        PDQHasher,
        PDQDihedralHasher,
        PHash,
        PHash16,
        DHash,
        AHash,
        WHash,
        ColorHash,
        MD5Hasher,
        SHA256Hasher,
        CommandHasher,
    )
}
for _name, _cls in BUILTIN.items():
    register(_name, _cls)

#: The hashers of the embedded default run (`hashbench run`, `make demo`).
DEFAULT_HASHERS: tuple[str, ...] = ("pdq", "pdq8", "phash", "phash16", "dhash", "ahash", "whash", "md5", "sha256")
