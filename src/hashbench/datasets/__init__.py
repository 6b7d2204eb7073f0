"""Benign image datasets: synthetic families, photos shipped in dependencies, and user folders.

``get(name, **params)`` builds a registered dataset (``synthetic``, ``sample``, ``folder``, and
``hashes``: precomputed hashes from a list, no pixels; a new
kind is a class decorated with ``@register("name", params={...})``, see docs/extending.md);
``from_spec("synthetic:family=text,count=100")`` does the same from one string (the CLI's form).
Every dataset yields items with a stable ``id``, a ``source`` dict and ``load()`` returning
(H, W, 3) uint8 RGB pixels; ``iter_arrays(workers=...)`` streams ``(id, pixels)`` in order.
"""

from __future__ import annotations

from .base import DATASETS, Dataset, DatasetInfo, Item, available, default_workers, from_spec, get, parse_spec, register
from .folder import FileItem, FolderDataset, read_id_list
from .hashes import HashListDataset, HashListItem
from .sample import SampleDataset, SampleItem
from .synthetic import (
    ALL_FAMILIES,
    FAMILIES,
    FAMILY_DESCRIPTIONS,
    SyntheticDataset,
    SyntheticItem,
    generate,
    image_rng,
    parse_size,
)

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetInfo",
    "Item",
    "available",
    "default_workers",
    "from_spec",
    "get",
    "parse_spec",
    "register",
    "ALL_FAMILIES",
    "FAMILIES",
    "FAMILY_DESCRIPTIONS",
    "SyntheticDataset",
    "SyntheticItem",
    "generate",
    "image_rng",
    "parse_size",
    "SampleDataset",
    "SampleItem",
    "FileItem",
    "FolderDataset",
    "read_id_list",
    "HashListDataset",
    "HashListItem",
]
