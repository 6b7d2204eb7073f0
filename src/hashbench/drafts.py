"""What draft decoding does to the hashes, measured: full and draft decodes of the same images compared.

``decode = "draft"`` lets libjpeg hand over a JPEG reduced in the DCT domain (1/2, 1/4 or 1/8 of
each side, no smaller than twice what any hasher reduces the image to). That is faster and
smaller, but the pixels are not those of a full decode, so a hash may move. hashbench never
does this silently: every output made with draft decoding carries the distribution of the
Hamming distances between each hasher's draft and full hash on (a seeded sample of) its own images,
measured here, and docs/decode.md holds the same table for the bundled sample photos
(``benchmarks/draft_table.py``).

The sampling unit is the image: the distribution is a count of images per distance.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from .errors import ImageDecodeError
from .hashers import Hasher, ImageItem
from .hashing import ItemTimeout, Source, _load, draft_side
from .imageio import DEFAULT_MAX_PIXELS, set_draft

__all__ = ["DEFAULT_SAMPLE", "draft_distances", "summarise"]

#: Images a draft run re-decodes in full to measure its own distances.
DEFAULT_SAMPLE = 32


def _hash_all(item: ImageItem, hashers: Sequence[Hasher]) -> dict[str, np.ndarray]:
    out = {}
    for h in hashers:
        batch = h.hash_many([item])
        if batch.errors[0] is None:
            out[h.name] = batch.codes[0]
    return out


def _decode(item_id: str, source: Source, side: int | None, max_pixels: int) -> ImageItem | None:
    set_draft(side)
    try:
        return _load(item_id, source, max_pixels)[0]
    except (ImageDecodeError, ItemTimeout):
        return None


def draft_distances(
    items: Sequence[tuple[str, Source]],
    hashers: Sequence[Hasher],
    *,
    sample: int = DEFAULT_SAMPLE,
    seed: int = 0,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    side: int | None = None,
) -> dict[str, object]:
    """Decode a seeded sample of ``items`` in full and in draft, hash both, count the distances.

    Returns ``{"images": n, "draft_side": side, "sampled_from": len(items), "reduced": k,
    "hashers": {name: {"histogram": {distance: images}, ...summary}}}`` (:func:`summarise`);
    ``reduced`` counts the sampled images the draft decode actually made smaller (only JPEGs
    large enough are). Images that fail to decode either way are left out. Runs in this
    process, and leaves its draft setting as it found none (full decoding). ``side`` replaces the
    hashers' draft side (the docs show what smaller sides would do).
    """
    side = draft_side(hashers)[0] if side is None else side
    picked = list(items)
    if len(picked) > sample:
        picked = random.Random(seed).sample(picked, sample)
    per_hasher: dict[str, list[int]] = {h.name: [] for h in hashers}
    n = reduced = 0
    try:
        for item_id, source in picked:
            full = _decode(item_id, source, None, max_pixels)
            draft = _decode(item_id, source, side, max_pixels)
            if full is None or draft is None or full.pixels is None or draft.pixels is None:
                continue
            n += 1
            reduced += draft.pixels.shape != full.pixels.shape
            a, b = _hash_all(full, hashers), _hash_all(draft, hashers)
            for name in per_hasher:
                if name in a and name in b:
                    per_hasher[name].append(int(np.unpackbits(a[name] ^ b[name]).sum()))
    finally:
        set_draft(None)
    return {
        "images": n,
        "sampled_from": len(items),
        "seed": seed,
        "draft_side": side,
        "reduced": reduced,
        "hashers": {name: summarise(d) for name, d in per_hasher.items()},
    }


def summarise(distances: Sequence[int]) -> dict[str, object]:
    """A distance distribution: images per distance, the share at distance 0, median and maximum."""
    d = np.asarray(distances, dtype=np.int64)
    if d.size == 0:
        return {"images": 0, "histogram": {}, "identical": 0, "median": None, "max": None}
    values, counts = np.unique(d, return_counts=True)
    return {
        "images": int(d.size),
        "histogram": {str(int(v)): int(c) for v, c in zip(values, counts)},
        "identical": int((d == 0).sum()),
        "median": float(np.median(d)),
        "max": int(d.max()),
    }
