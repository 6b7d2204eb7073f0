"""Inputs shared by the benchmark suites and the README table (imported by plain module name,
like timing.py): photo-like images that cost nothing to make and are the same on every run."""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["photo_like"]


def photo_like(shape: tuple[int, int], n: int, seed: int = 0) -> list[np.ndarray]:
    """``n`` smooth random RGB images of ``shape`` (height, width): upsampled noise, deterministic
    from ``seed``, and photo-like enough for hash cost, which does not depend on content."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        small = Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
        out.append(np.asarray(small.resize((shape[1], shape[0]), Image.Resampling.BICUBIC)))
    return out
