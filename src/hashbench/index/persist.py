"""Saving and loading indexes: one versioned ``.npz`` file per index.

Only the codes and the constructor parameters are stored; derived structures (the column
layout, MIH tables) are rebuilt on load. That keeps the format small and stable across
kernel changes, and rebuilding costs about as much as reading the tables would.

File contents (numpy ``.npz``, no pickles): ``format`` = ``"hashbench-index"``,
``version`` (int, currently 1), ``kind`` (a registered index name: ``"flat"``, ``"mih"``), ``nbits``, ``codes``
``(ntotal, nbytes)`` uint8 in id order, ``params`` (JSON object of constructor arguments).
"""

from __future__ import annotations

import json
import zipfile
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from .base import Index

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "save_index", "read_index", "load_index"]

FORMAT_NAME = "hashbench-index"
FORMAT_VERSION = 1


def save_index(
    path: str | PathLike[str], *, kind: str, nbits: int, codes: npt.NDArray[np.uint8], params: dict[str, Any]
) -> None:
    """Write an index file at exactly ``path`` (no suffix is added)."""
    with open(Path(path), "wb") as fh:
        np.savez(
            fh,
            format=np.array(FORMAT_NAME),
            version=np.array(FORMAT_VERSION, dtype=np.int64),
            kind=np.array(kind),
            nbits=np.array(nbits, dtype=np.int64),
            codes=np.ascontiguousarray(codes, dtype=np.uint8),
            params=np.array(json.dumps(params, sort_keys=True)),
        )


def read_index(path: str | PathLike[str]) -> tuple[str, int, npt.NDArray[np.uint8], dict[str, Any]]:
    """``(kind, nbits, codes, params)`` from an index file; clear errors for foreign files."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no index file at {p}")
    if not zipfile.is_zipfile(p):
        raise ValueError(f"{p} is not a readable hashbench index file (not an .npz archive)")
    try:
        with np.load(p, allow_pickle=False) as data:
            fields = set(data.files)
            if "format" not in fields or str(data["format"]) != FORMAT_NAME:
                raise ValueError(f"{p} is not a hashbench index file")
            version = int(data["version"])
            if version != FORMAT_VERSION:
                raise ValueError(
                    f"{p} has index format version {version}; this hashbench reads version {FORMAT_VERSION}"
                )
            kind = str(data["kind"])
            nbits = int(data["nbits"])
            codes = np.array(data["codes"], dtype=np.uint8)
            params = json.loads(str(data["params"]))
    except (zipfile.BadZipFile, OSError, KeyError) as exc:
        raise ValueError(f"{p} is not a readable hashbench index file: {exc}") from None
    return kind, nbits, codes, params


def load_index(path: str | PathLike[str]) -> Index:
    """Load an index of whichever registered kind the file holds.

    The file's ``kind`` names a registry entry and its ``params`` are that entry's constructor
    keywords, so any registered index whose ``save`` writes them loads here with no table of
    classes to keep in step.
    """
    from .base import INDEXES

    kind, nbits, codes, params = read_index(path)
    if kind not in INDEXES:
        raise ValueError(f"{path} holds an index of unknown kind {kind!r}; known indexes: {', '.join(INDEXES.names())}")
    index = INDEXES.get(kind, nbits, **params)
    index.add(codes)
    return index
