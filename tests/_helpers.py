"""Small builders shared by several test files (imported by plain module name, like harness.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
from PIL import Image

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


def noise_pngs(root: Path, n: int = 12, seed: int = 0) -> list[Path]:
    """``n`` 16 x 16 PNGs of random RGB noise, ``root/00.png``, ``01.png``, ... (``root`` is created)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = root / f"{i:02d}.png"
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    return paths


def write_audio_only(path: Path, container: str | None = None) -> Path:
    """A file with one short silent AAC stream and no video stream (``container``: PyAV's format
    name when the suffix does not say it, e.g. "mp4" for a ``.mp4`` file)."""
    import av

    with av.open(str(path), "w", format=container) as c:
        s = c.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), dtype=np.float32), format="fltp", layout="mono")
        frame.sample_rate = 8000
        for _ in range(4):
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path
