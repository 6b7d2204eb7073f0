"""Composite matchers: "any" or "all" of several hashers, each at its own threshold.

A layered matcher (MD5 then PDQ, PDQ and pHash together) is scored on the same pairs as its
parts: genuine pairs hashed by every part, and impostor pairs among the images hashed by every
part, enumerated exactly with each part's range search and then united or intersected.

The impostor trial is the unordered pair of distinct images, as for every single matcher:
``n (n - 1) / 2`` trials whatever the parts. A pair matches a part when its distance is within
that part's threshold, for a dihedral part in either direction (one image's 8 variants against
the other's code, or the other way round); it matches ``a|b`` when it matches any part and
``a&b`` when it matches every part. Each image's number of matching pairs gives the composite
the same image-level fields as a single matcher.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, cast

import numpy as np
import numpy.typing as npt

from ..schema import Composite, ImageLevelFields
from .codes import Codes
from .image_level import image_level_interval
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
) -> Composite:
    """A composite matcher ("any" or "all" of several hashers, each at its threshold).

    ``parts``: (hasher, threshold, dihedral). ``genuine[h]``: per-query distance (-1 = not
    hashed). ``images[h]``: the impostor image set of each hasher, rows aligned (same images,
    :func:`composite_images`). Impostor pairs are unordered; a dihedral part matches a pair in
    either direction.
    """
    op = _check_op(op)
    n_img = len(images[parts[0][0]].codes)
    tp, n_genuine = _genuine_matches(op, parts, genuine)
    pair_sets = [_matching_pairs(images[h], t, dihedral) for h, t, dihedral in parts]
    merged = pair_sets[0]
    for ps in pair_sets[1:]:
        merged = np.union1d(merged, ps) if op == "any" else np.intersect1d(merged, ps)
    n_pairs = n_img * (n_img - 1) // 2
    out: Composite = {
        "op": op,
        "parts": {h: t for h, t, _ in parts},
        "pairs": "unordered",
        "tpr": rate_dict(tp, n_genuine, alpha),
        "fpr_per_pair": rate_dict(int(len(merged)), n_pairs, alpha),
    }
    if n_pairs:
        out.update(_image_level(merged, n_img, alpha))
    return out


def _image_level(pair_ids: npt.NDArray[np.int64], n_img: int, alpha: float) -> ImageLevelFields:
    """The image-level fields of the matching pairs ``q * n_img + i`` (``q < i``): each image's
    count is the number of matching pairs it is in."""
    per_image = np.bincount(pair_ids // n_img, minlength=n_img) + np.bincount(pair_ids % n_img, minlength=n_img)
    r = image_level_interval(per_image, n_img * (n_img - 1) // 2, alpha)
    fields = r.report_fields()
    fields["image_level_method"] = r.method
    return cast(ImageLevelFields, fields)


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


def _matching_pairs(c: Codes, t: int, dihedral: bool) -> npt.NDArray[np.int64]:
    """Every unordered impostor pair of ``c`` within distance ``t``, as sorted ids ``q * n + i``
    with ``q < i``.

    Plain distances are symmetric, so the range search finds each pair from both ends; a
    dihedral part's search (each image's variants against the listed codes) finds a pair from
    the end whose variant matches, which is the either-direction rule once ``(q, i)`` and
    ``(i, q)`` are folded into one pair.
    """
    from ..index import FlatIndex  # the index pulls in its numba kernels: only when measured

    n_img = len(c.codes)
    index = FlatIndex(8 * c.codes.shape[1])
    index.add(c.codes)
    if dihedral:
        v = c.variant_codes()
        lims, _, I = index.range_search(v.reshape(-1, v.shape[-1]), t, variants=v.shape[1])
    else:
        lims, _, I = index.range_search(c.codes, t)
    q = np.repeat(np.arange(n_img, dtype=np.int64), np.diff(lims))
    i = np.asarray(I, dtype=np.int64)
    keep = q != i
    lo, hi = np.minimum(q[keep], i[keep]), np.maximum(q[keep], i[keep])
    return np.unique(lo * n_img + hi)
