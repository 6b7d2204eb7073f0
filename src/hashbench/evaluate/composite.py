"""Composite matchers: "any" or "all" of several hashers, each at its own threshold.

A layered matcher (MD5 then PDQ, PDQ and pHash together) is scored on the same pairs as its
parts: genuine pairs hashed by every part, and impostor pairs among the images hashed by every
part, enumerated exactly with each part's range search and then united or intersected
(:func:`hashbench.evaluate.pairs.composite_pairs`).

The impostor trial is the unordered pair of distinct images, as for every single matcher:
``n (n - 1) / 2`` trials whatever the parts. A pair matches a part when its distance is within
that part's threshold, for a dihedral part in either direction (one image's 8 variants against
the other's code, or the other way round); it matches ``a|b`` when it matches any part and
``a&b`` when it matches every part. Each image's number of matching pairs gives the composite
the same image-level fields as a single matcher.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from ..schema import Composite
from .codes import Codes
from .image_level import image_level_fields
from .pairs import Evidence, composite_pairs
from .record import rate_dict

__all__ = ["composite_images", "study_composite"]

#: A part of a composite: (hasher, threshold, matches dihedrally).
Part = tuple[str, int, bool]


def composite_images(
    refs: Mapping[str, Codes], distractors: Mapping[str, Codes], names: Sequence[str], dihedral: Sequence[str]
) -> dict[str, Codes]:
    """The impostor set of a composite: references then distractors hashed by *every* part,
    rows aligned across parts (the same image in the same row); variants for the parts in
    ``dihedral``."""
    common_r = np.logical_and.reduce([refs[n].ok for n in names])
    common_d = np.logical_and.reduce([distractors[n].ok for n in names])
    images = {}
    for n in names:
        variants = None
        if n in dihedral:
            variants = np.concatenate([refs[n].variant_codes()[common_r], distractors[n].variant_codes()[common_d]])
        images[n] = Codes(
            codes=np.concatenate([refs[n].codes[common_r], distractors[n].codes[common_d]]),
            ok=np.ones(int(common_r.sum() + common_d.sum()), bool),
            variants=variants,
        )
    return images


def study_composite(
    op: str,
    parts: Sequence[Part],
    genuine: Mapping[str, npt.NDArray[np.int64]],
    images: Mapping[str, Codes],
    alpha: float,
    listed: Evidence | None = None,
) -> Composite:
    """A composite matcher ("any" or "all" of several hashers, each at its threshold).

    ``parts``: (hasher, threshold, dihedral). ``genuine[h]``: per-query distance (-1 = not
    hashed). ``images[h]``: the impostor image set of each hasher, rows aligned (same images,
    :func:`composite_images`). Impostor pairs are unordered; a dihedral part matches a pair in
    either direction. ``listed``: the composite's false matches on these images when they are
    already found (:func:`~hashbench.evaluate.pairs.composite_evidence`): their count and
    per-image counts are read from it instead of searching the pairs again.
    """
    op = _check_op(op)
    n_img = len(images[parts[0][0]].codes)
    tp, n_genuine = _genuine_matches(op, parts, genuine)
    if listed is not None and listed.pairs is not None and listed.per_image is not None:
        pairs, per_image = listed.pairs, listed.per_image
    else:
        pairs, per_image = composite_pairs([(images[h], t, dihedral) for h, t, dihedral in parts], op, 0)
    n_pairs = n_img * (n_img - 1) // 2
    out: Composite = {
        "op": op,
        "parts": {h: t for h, t, _ in parts},
        "pairs": "unordered",
        "tpr": rate_dict(tp, n_genuine, alpha),
        "fpr_per_pair": rate_dict(pairs.count, n_pairs, alpha),
    }
    if n_pairs:
        out.update(image_level_fields(per_image, pairs.count, n_pairs, alpha))
    return out


def _check_op(op: str) -> Literal["any", "all"]:
    """``op`` as the report's literal; anything else is a caller's mistake, said in words."""
    if op == "any":
        return "any"
    if op == "all":
        return "all"
    raise ValueError(f"a composite's op is 'any' or 'all', got {op!r}")


def _genuine_matches(
    op: Literal["any", "all"], parts: Sequence[Part], genuine: Mapping[str, npt.NDArray[np.int64]]
) -> tuple[int, int]:
    """(genuine pairs the composite matches, genuine pairs hashed by every part)."""
    n_q = len(next(iter(genuine.values())))
    usable = np.ones(n_q, dtype=bool)
    hits = []
    for h, t, _ in parts:
        g = genuine[h]
        usable &= g >= 0
        hits.append((g >= 0) & (g <= t))
    combine = np.logical_or if op == "any" else np.logical_and
    matched = hits[0]
    for x in hits[1:]:
        matched = combine(matched, x)
    return int((matched & usable).sum()), int(usable.sum())
