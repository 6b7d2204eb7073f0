"""The ``hashes`` dataset: precomputed hashes from a list, as references or distractors, no images.

Why: hashes made elsewhere (PhotoDNA or NeuralHash under a licence, a platform's PDQ list made
by python-threatexchange) can be measured without the images, or without hashbench's decoder.
A run then counts impostor pairs among those hashes exactly as if hashbench had made them; the
report says which sets came from a list, with each list's path, format and SHA-256
(``inputs.<set>.hash_lists``), and every item's ``source`` names its list and line.

A list has no pixels, so references from a list cannot be edited: such a run has no transform
suite (``[transforms] suite = "none"``). Each item carries its codes; the runner takes them
instead of hashing (:func:`precomputed_result`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ImageDecodeError, UsageError
from .base import Dataset, Item, RGBArray, register

if TYPE_CHECKING:
    from ..hashers import Hasher
    from ..hashing import HashResult

__all__ = [
    "HashListDataset",
    "HashListItem",
    "Precomputed",
    "precomputed_result",
    "listed_items",
    "hash_list_provenance",
]


@dataclass(frozen=True)
class Precomputed:
    """One item's hash from a list: packed code, quality (-1: none) and dihedral variants if any."""

    code: bytes
    quality: int = -1
    variants: bytes | None = None


@dataclass(frozen=True, repr=False)
class HashListItem(Item):
    """A hash from a list: an id, where it came from, and its code per hasher (no pixels)."""

    id: str
    source: Mapping[str, Any]
    hashes: Mapping[str, Precomputed] = field(default_factory=dict)
    failed: Mapping[str, str] = field(default_factory=dict)  # hasher -> why the list has no hash
    path: str | None = None

    def load(self) -> RGBArray:
        raise ImageDecodeError(self.id, "a hash from a list has no pixels")


@register(
    "hashes",
    description="precomputed hashes from a list (hashbench Parquet/CSV, tx, pdq-photo-hasher, perception, imagehash)",
    params={
        "path": "the hash list file",
        "hasher": "the hasher whose hashes a one-hasher list holds (default pdq); a hashbench table: comma-separated",
        "format": "auto (default), parquet, csv, lines, tx, perception or imagehash (docs/interop.md)",
        "skip_bad_rows": "use the sound rows of a list with bad ones (default: refuse it)",
    },
)
class HashListDataset(Dataset):
    """Every sound row of a hash list, in file order; ids from the list (``FILE:LINE`` if none)."""

    name = "hashes"
    has_files = False

    def __init__(
        self,
        path: str | os.PathLike[str],
        hasher: str = "pdq",
        format: str = "auto",
        skip_bad_rows: bool | int = False,
    ) -> None:
        """Read and check the list now: a bad list fails before anything is hashed."""
        from ..hashlists import read_hash_list

        if not isinstance(path, (str, os.PathLike)):
            raise UsageError(f"dataset 'hashes': path must be a file name, got {path!r}")
        names = [h.strip() for h in str(hasher).split(",") if h.strip()]
        if not names:
            raise UsageError("dataset 'hashes': hasher is empty")
        self.path = os.fspath(path)
        self.lists = [read_hash_list(self.path, h, format=format, skip_bad_rows=bool(skip_bad_rows)) for h in names]
        self._items = _items(self.lists)

    def __len__(self) -> int:
        return len(self._items)

    def item(self, index: int) -> HashListItem:
        return self._items[index]

    def describe(self) -> dict[str, Any]:
        return {"dataset": "hashes", "path": self.path, "lists": [hl.provenance() for hl in self.lists]}


def _items(lists: Sequence[Any]) -> list[HashListItem]:
    """One item per id in any list, in the first list's order; each holds every list's hash of it."""
    order: list[str] = []
    hashes: dict[str, dict[str, Precomputed]] = {}
    failed: dict[str, dict[str, str]] = {}
    rows: dict[str, str] = {}
    for hl in lists:
        for i, item_id in enumerate(hl.ids):
            if item_id not in hashes:
                order.append(item_id)
                hashes[item_id], failed[item_id] = {}, {}
                rows[item_id] = hl.rows[i]
            q = int(hl.quality[i]) if hl.quality is not None else -1
            v = hl.variants[i].tobytes() if hl.variants is not None else None
            hashes[item_id][hl.hasher] = Precomputed(hl.codes[i].tobytes(), q, v)
        for item_id, reason in hl.failed:
            if item_id not in hashes:
                order.append(item_id)
                hashes[item_id], failed[item_id] = {}, {}
                rows[item_id] = ""
            failed[item_id][hl.hasher] = reason
    first = lists[0]
    common = {"dataset": "hashes", "list": first.path, "list_sha256": first.sha256, "format": first.format}
    return [HashListItem(i, {**common, "row": rows[i]}, hashes[i], failed[i]) for i in order]


def listed_items(items: Sequence[Item], stage: str) -> list[HashListItem] | None:
    """The items when all came from hash lists, None when none did; a mix is refused (one line)."""
    listed = [it for it in items if isinstance(it, HashListItem)]
    if not listed:
        return None
    if len(listed) != len(items):
        raise UsageError(f"the {stage} mix images and hash lists; give each set from lists only or from images only")
    return listed


def hash_list_provenance(items: Sequence[Item]) -> list[dict[str, Any]]:
    """Each list the items came from, once: path, SHA-256, format and how many items it gave."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for it in items:
        if isinstance(it, HashListItem):
            key = (str(it.source["list"]), str(it.source["list_sha256"]))
            entry = seen.setdefault(
                key,
                {"path": key[0], "sha256": key[1], "format": it.source["format"], "hashers": [], "items": 0},
            )
            entry["items"] += 1
            for h in it.hashes:
                if h not in entry["hashers"]:
                    entry["hashers"].append(h)
    return list(seen.values())


def precomputed_result(ids: Sequence[str], items: Sequence[HashListItem], hashers: Sequence[Hasher]) -> HashResult:
    """The :class:`HashResult` of items from lists, as if hashed: their codes, nothing computed.

    Every hasher of the run must be in the lists (a list holds only the hashers it was made
    with); a hasher with dihedral variants (pdq8) needs them in the list (a hashbench table).
    """
    from ..hashing import HashResult

    n = len(items)
    codes, quality, variants, errors = {}, {}, {}, {}
    for h in hashers:
        if not any(h.name in it.hashes or h.name in it.failed for it in items):
            have = sorted({name for it in items for name in it.hashes})
            raise UsageError(
                f"hasher {h.name} is not in the hash lists of this run (they hold {', '.join(have) or 'nothing'}); "
                "a list holds only the hashers it was made with"
            )
        nbytes = -(-h.nbits // 8)
        c = np.zeros((n, nbytes), dtype=np.uint8)
        q = np.full(n, -1, dtype=np.int16)
        v = np.zeros((n, 8, nbytes), dtype=np.uint8) if h.variants > 1 else None
        errs: list[str | None] = [None] * n
        for i, it in enumerate(items):
            got = it.hashes.get(h.name)
            if got is None:
                errs[i] = it.failed.get(h.name, "not in the hash list")
                continue
            c[i] = np.frombuffer(got.code, dtype=np.uint8)
            q[i] = got.quality
            if v is not None:
                if got.variants is None:
                    raise UsageError(
                        f"{h.name} matches on 8 dihedral variants, and the list of {it.id!r} has none; "
                        "use a hashbench table with variants_hex, or the hasher without variants"
                    )
                v[i] = np.frombuffer(got.variants, dtype=np.uint8).reshape(8, nbytes)
        codes[h.name], variants[h.name], errors[h.name] = c, v, errs
        # a quality only when every listed row has one: a missing one must not read as "below the floor"
        listed = np.array([h.name in it.hashes for it in items], dtype=bool)
        quality[h.name] = q if h.has_quality and listed.any() and (q[listed] >= 0).all() else None
    return HashResult(
        ids=list(ids),
        hashers=list(hashers),
        codes=codes,
        quality=quality,
        variant_codes=variants,
        decode_errors=[None] * n,
        hasher_errors=errors,
        hash_seconds={h.name: 0.0 for h in hashers},
    )
