"""Small builders shared by several test files (imported by plain module name, like harness.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from hashbench.bits import codes_to_hex
from hashbench.store import SCHEMA, write_table


def write_hash_table(path: Path, hasher: str, nbits: int, codes: np.ndarray, *, quality: int | None = None) -> Path:
    """A hash table as ``hashbench hash`` writes it (:data:`hashbench.store.SCHEMA`), one row per
    code: ids ``img0``, ``img1``, ..., every row of ``hasher`` with ``quality``, no variants, no errors."""
    n = len(codes)
    table = pa.Table.from_pydict(
        {
            "id": [f"img{i}" for i in range(n)],
            "hasher": [hasher] * n,
            "nbits": [nbits] * n,
            "hash_hex": codes_to_hex(codes, nbits),
            "quality": [quality] * n,
            "variants_hex": [None] * n,
            "error": [None] * n,
        },
        schema=SCHEMA,
    )
    return write_table(table, path)
