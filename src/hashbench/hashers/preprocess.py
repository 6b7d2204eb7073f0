"""Preprocessing before hashing, as its own matcher setting: ``pdq+unletterbox``.

python-threatexchange's ``tx hash photo --photo-preprocess unletterbox`` trims black borders
before PDQ, because PDQ of a letterboxed copy (a photo padded to a video's or a phone's aspect)
is far from PDQ of the photo. Here the same step is a hasher of its own (the registry idiom: one
name, one setting), so one run reports ``pdq`` and ``pdq+unletterbox`` side by side: the TPR
gained on padded copies and the FPR paid for it, over the same images and pairs.

What it does, as tx does it (``threatexchange/content_type/preprocess/unletterboxing.py``): from
each side, remove the rows (columns) whose every pixel has R, G and B all at most the black
threshold (tx's CLI default, 15), each side counted on the whole image. Two differences, said in
the hasher's description and docs/decoders.md: tx re-encodes the cropped image in its file format
before hashing (a JPEG is compressed again); here the decoded pixels are cropped and hashed
directly. And an image that is black all over is hashed as it is (tx's crop box would be empty).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .base import Hasher, HashOutput, ImageItem, register
from .pdq import PDQHasher, _pixels

__all__ = ["DEFAULT_BLACK_THRESHOLD", "unletterbox", "PDQUnletterboxHasher"]

#: tx's ``--black-threshold`` default: a channel at or below it counts as black.
DEFAULT_BLACK_THRESHOLD = 15


def unletterbox(pixels: npt.NDArray[np.uint8], black_threshold: int = DEFAULT_BLACK_THRESHOLD) -> npt.NDArray[np.uint8]:
    """``pixels`` without the black rows and columns at its edges (a view; the input is not copied).

    A row or column is black when every pixel in it has all three channels <= ``black_threshold``.
    An image black all over is returned whole, since nothing would be left to hash.
    """
    black = np.all(pixels <= black_threshold, axis=2)
    rows = np.flatnonzero(~black.all(axis=1))
    cols = np.flatnonzero(~black.all(axis=0))
    if rows.size == 0 or cols.size == 0:
        return pixels
    return pixels[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


@register("pdq+unletterbox")
class PDQUnletterboxHasher(Hasher):
    """PDQ of the image with its black borders trimmed (tx's --photo-preprocess unletterbox)."""

    name = "pdq+unletterbox"
    nbits = 256
    default_threshold = PDQHasher.default_threshold
    kind = "perceptual"
    has_quality = True
    library = "pdqhash"
    description = "PDQ after trimming black borders (rows/columns all <= 15), as tx --photo-preprocess unletterbox"
    black_threshold = DEFAULT_BLACK_THRESHOLD

    def __init__(self) -> None:
        self.pdq = PDQHasher()  # the same PDQ, backend and all, on the trimmed pixels

    def hash_one(self, item: ImageItem) -> HashOutput:
        cropped = np.ascontiguousarray(unletterbox(_pixels(item), self.black_threshold))
        return self.pdq.hash_one(ImageItem(id=item.id, pixels=cropped, data=item.data, path=item.path))

    def describe(self) -> dict[str, object]:
        return {
            **self.pdq.describe(),
            **super().describe(),
            "preprocess": {"name": "unletterbox", "black_threshold": self.black_threshold},
        }
