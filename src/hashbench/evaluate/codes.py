"""What every evaluation step reads: one hasher's codes for a set of images, and pair counting.

:class:`Codes` holds the codes of references, edited queries or distractors; the impostor set
(:class:`ImpostorImages`) is the hashed references followed by the hashed distractors, the
images whose distinct pairs are impostor trials. :class:`PairCounting` is the one place that
chooses how a set of impostor pairs is counted (plain or dihedral, here or on a cluster).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .dihedral import variant_impostor_histogram, variant_impostor_histogram_with_counts
from .distances import impostor_histogram, impostor_histogram_with_counts
from .pairs import PairList, impostor_pairs, variant_impostor_pairs

__all__ = ["Codes", "ImpostorImages", "PairCounter", "impostor_images", "PairCounting", "distance_histogram"]

#: ``f(codes, nbits, variants or None) -> histogram``: counts impostor pairs in place of
#: :func:`impostor_histogram` (or, with variants, ``variant_impostor_histogram``), e.g.
#: :func:`hashbench.cluster.pair_histogram_on`. Called as ``f(codes, nbits, variants or None,
#: thresholds=(...))`` it returns ``(histogram, per-image counts)`` as
#: :func:`~hashbench.evaluate.distances.impostor_histogram_with_counts` (or
#: ``variant_impostor_histogram_with_counts``) does, and with ``max_listed=k`` too
#: ``(histogram, per-image counts, pair lists)`` as :func:`~hashbench.evaluate.pairs.impostor_pairs`
#: (or ``variant_impostor_pairs``); a study with image groups also passes ``groups=(code per
#: image, number of groups)``, for the lists' ``by_group``. Either way the pairs are unordered.
PairCounter = Callable[..., npt.NDArray[np.int64]]


@dataclass
class Codes:
    """One hasher's codes for a set of images; ``ok`` marks rows that were hashed."""

    codes: npt.NDArray[np.uint8]
    ok: npt.NDArray[np.bool_]
    quality: npt.NDArray[np.int16] | None = None
    variants: npt.NDArray[np.uint8] | None = None

    def variant_codes(self) -> npt.NDArray[np.uint8]:
        """The (n, variants, nbytes) codes; dihedral matching cannot go on without them."""
        if self.variants is None:
            raise ValueError("dihedral matching needs the codes of every variant")
        return self.variants

    def qualities(self) -> npt.NDArray[np.int16]:
        """The quality of every row; a quality gate cannot go on without them."""
        if self.quality is None:
            raise ValueError("a quality gate needs a quality score for every code")
        return self.quality


@dataclass(frozen=True)
class ImpostorImages:
    """The impostor set: hashed references then hashed distractors, as one :class:`Codes`.

    ``ref_rows`` / ``dis_rows`` are the rows of the input sets that were kept, in order, so row
    ``k`` of ``images`` is reference ``ref_rows[k]`` for ``k < len(ref_rows)``.
    """

    images: Codes
    ref_rows: npt.NDArray[np.int64]
    dis_rows: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.images.codes)

    def labels(self, groups: tuple[npt.ArrayLike, npt.ArrayLike]) -> npt.NDArray[Any]:
        """Per-image labels of the set from a label per reference and per distractor row."""
        return np.concatenate(
            [np.asarray(groups[0], dtype=object)[self.ref_rows], np.asarray(groups[1], dtype=object)[self.dis_rows]]
        )


def impostor_images(refs: Codes, distractors: Codes, *, dihedral: bool, with_quality: bool) -> ImpostorImages:
    """The hashed references and distractors as one set (variants when dihedral, quality when
    gated and both sets have it): every distinct pair of it is one impostor trial."""
    ref_rows = np.flatnonzero(refs.ok)
    dis_rows = np.flatnonzero(distractors.ok)
    quality = None
    if with_quality and refs.quality is not None and distractors.quality is not None:
        quality = np.concatenate([refs.quality[ref_rows], distractors.quality[dis_rows]])
    variants = None
    if dihedral:
        variants = np.concatenate([refs.variant_codes()[ref_rows], distractors.variant_codes()[dis_rows]])
    images = Codes(
        codes=np.concatenate([refs.codes[ref_rows], distractors.codes[dis_rows]]),
        ok=np.ones(len(ref_rows) + len(dis_rows), dtype=bool),
        quality=quality,
        variants=variants,
    )
    return ImpostorImages(images, ref_rows, dis_rows)


@dataclass(frozen=True)
class PairCounting:
    """How one hasher's impostor pairs are counted: always the unordered pairs of distinct
    images, ``n (n - 1) / 2``; when ``dihedral`` a pair's distance is the smaller of its two
    directions (each image's 8 variants against the other's code: a pair matches if either
    direction does, :mod:`hashbench.evaluate.dihedral`). By ``counter`` (e.g. on a cluster) when
    one is given, else by the local kernels. Every impostor histogram of a study is counted by
    one of these, so all of them count the same way."""

    nbits: int
    dihedral: bool
    progress: bool = False
    counter: PairCounter | None = None

    def __call__(self, images: Codes, rows: npt.NDArray[np.int64], *, progress: bool = True) -> npt.NDArray[np.int64]:
        """Histogram of the impostor pairs among ``images[rows]`` (``progress=False``: never
        show a progress bar for this one)."""
        codes = images.codes[rows]
        if self.counter is not None:
            return self.counter(codes, self.nbits, images.variant_codes()[rows] if self.dihedral else None)
        if self.dihedral:
            return variant_impostor_histogram(images.variant_codes()[rows], codes, self.nbits)
        show = progress and self.progress and len(rows) > 20_000
        return impostor_histogram(codes, self.nbits, progress=show)

    def with_counts(
        self, images: Codes, rows: npt.NDArray[np.int64], thresholds: tuple[int, ...], *, progress: bool = True
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The histogram of :meth:`__call__` and, from the same pass, ``(len(thresholds),
        len(rows))`` per-image match counts: for each of ``images[rows]``, the other rows within
        each threshold (for dihedral matching, in either direction)."""
        codes = images.codes[rows]
        variants = images.variant_codes()[rows] if self.dihedral else None
        if self.counter is not None:
            hist, counts = self.counter(codes, self.nbits, variants, thresholds=tuple(thresholds))
            return np.asarray(hist, dtype=np.int64), np.asarray(counts, dtype=np.int64)
        if variants is not None:
            return variant_impostor_histogram_with_counts(variants, codes, self.nbits, tuple(thresholds))
        show = progress and self.progress and len(rows) > 20_000
        return impostor_histogram_with_counts(codes, self.nbits, tuple(thresholds), progress=show)

    def with_pairs(
        self,
        images: Codes,
        rows: npt.NDArray[np.int64],
        thresholds: tuple[int, ...],
        max_listed: int,
        groups: tuple[npt.NDArray[np.int64], int] | None = None,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[PairList]]:
        """:meth:`with_counts` and, from the same pass, per threshold the :class:`PairList` of its
        ``max_listed`` smallest pairs (rows of ``images[rows]``, in order of ``rows``); with
        ``groups = (group code per row, number of groups)`` each list's ``by_group`` too."""
        codes = images.codes[rows]
        variants = images.variant_codes()[rows] if self.dihedral else None
        if self.counter is not None:
            extra = {} if groups is None else {"groups": groups}  # a counter without groups still works
            hist, counts, lists = self.counter(
                codes, self.nbits, variants, thresholds=tuple(thresholds), max_listed=max_listed, **extra
            )
            return np.asarray(hist, dtype=np.int64), np.asarray(counts, dtype=np.int64), lists
        if variants is not None:
            return variant_impostor_pairs(variants, codes, self.nbits, thresholds, max_listed, groups)
        show = self.progress and len(rows) > 20_000
        return impostor_pairs(codes, self.nbits, thresholds, max_listed, progress=show, groups=groups)


def distance_histogram(d: npt.ArrayLike | Sequence[int], nbits: int) -> npt.NDArray[np.int64]:
    """``nbits + 1`` counts of the distances ``d`` (all in ``0 .. nbits``)."""
    return np.bincount(np.asarray(d, dtype=np.int64), minlength=nbits + 1)[: nbits + 1]
