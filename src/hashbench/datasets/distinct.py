"""When two images are "the same picture", independently of every hasher under test.

An impostor pair is two *distinct* images. A generator can draw the same picture twice (two flat
images of one colour), and a false-positive rate over such draws counts perceptual duplicates
as false matches. So the criterion must not come from any hasher being measured; it is a plain
perceptual colour difference:

* each image is reduced to a :data:`GRID` x :data:`GRID` area (box) downscale of its 8-bit sRGB
  pixels, converted to CIELAB (D65), stored quantised to 8 bits (``L * 2.55``, ``a + 128``,
  ``b + 128``; at most 0.2 / 0.5 units off): the *signature*;
* two images are the same picture when the mean, over the grid cells, of the CIE76 colour
  difference (Delta E*ab) of their signatures is below :data:`FLOOR` = 2.3, about one
  just-noticeable difference (Sharma, *Digital Color Imaging Handbook*, 2003): the two pictures
  differ on average by less than a viewer can see at that scale. Two near-flat images of nearly
  the same colour are the same picture by this rule; two text pages with different words are
  not (the words change the cells' lightness by far more).

Checking a new image against all accepted ones must not cost O(n) at 550,000 images. The mean
Delta E is a metric, and the signature's mean colour and its quadrant means are 1- and
4-Lipschitz in it (``|mean(x) - mean(y)| <= D(x, y)``), so: a same picture of ``x`` has its mean
colour within :data:`FLOOR` of ``x``'s in every coordinate, i.e. in one of the 27 grid cells of
side :data:`FLOOR` around it (:class:`DistinctSet` keys accepted images by that cell, and by a
fourth coordinate, the distance to a fixed pivot picture, the same way); the candidates there
are filtered by their quadrant means, then checked exactly. No pair within the floor is missed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
from PIL import Image

__all__ = ["GRID", "FLOOR", "signature", "lab_of", "difference", "DistinctSet", "CRITERION"]

#: Cells per side of the signature (16 x 16 cells of 3 channels: 768 bytes an image).
GRID = 16
#: Mean Delta E*ab below which two signatures are the same picture (about one JND).
FLOOR = 2.3
#: The criterion in words, for reports.
CRITERION = (
    f"two images are the same picture when their {GRID}x{GRID} area downscales in CIELAB differ by a "
    f"mean Delta E*ab below {FLOOR} (about one just-noticeable difference)"
)

_WHITE = np.array([0.95047, 1.0, 1.08883])  # D65
_RGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)


def lab_of(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """CIELAB (D65) of 8-bit sRGB pixels ``(..., 3)``: the sRGB curve, the sRGB matrix, then Lab."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = lin @ _RGB_TO_XYZ.T / _WHITE
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def signature(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The image's quantised Lab signature: ``(GRID * GRID * 3,)`` uint8 (see the module doc)."""
    small = np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).resize((GRID, GRID), Image.Resampling.BOX))
    lab = lab_of(small).reshape(-1, 3)
    q = np.empty_like(lab)
    q[:, 0] = lab[:, 0] * 2.55
    q[:, 1:] = lab[:, 1:] + 128.0
    return np.clip(np.rint(q), 0, 255).astype(np.uint8).reshape(-1)


def _dequantised(sig: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """``(..., GRID * GRID, 3)`` Lab values of signatures."""
    s = np.asarray(sig, dtype=np.float32).reshape(*np.shape(sig)[:-1], GRID * GRID, 3)
    return s * np.array([1 / 2.55, 1.0, 1.0], np.float32) - np.array([0.0, 128.0, 128.0], np.float32)


def difference(sig_a: npt.NDArray[np.uint8], sig_b: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """Mean Delta E*ab between signatures (broadcast over leading axes): the criterion's distance."""
    d = _dequantised(sig_a) - _dequantised(sig_b)
    return np.sqrt((d * d).sum(axis=-1)).mean(axis=-1)


def _features(sig: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """Coordinates each within a known multiple of :func:`difference`: the mean colour (3,
    1-Lipschitz), the four quadrants' mean colours (12, 4-Lipschitz) and the difference to the
    pivot picture (1, 1-Lipschitz by the triangle inequality)."""
    lab = _dequantised(sig).reshape(GRID, GRID, 3)
    h = GRID // 2
    quads = [lab[:h, :h], lab[:h, h:], lab[h:, :h], lab[h:, h:]]
    pivot = float(difference(sig, _PIVOT))
    return np.concatenate([lab.reshape(-1, 3).mean(axis=0), *[q.reshape(-1, 3).mean(axis=0) for q in quads], [pivot]])


def _pivot() -> npt.NDArray[np.uint8]:
    """A fixed reference picture (a diagonal colour ramp): its distance spreads images that share
    a mean colour, such as text pages, over many keys."""
    y, x = np.mgrid[0:GRID, 0:GRID] / (GRID - 1)
    rgb = np.stack([x, y, 1 - (x + y) / 2], axis=-1) * 255
    return signature(np.rint(rgb).astype(np.uint8))


_PIVOT = _pivot()
# feature k may differ by at most _LIPSCHITZ[k] * D between two pictures at difference D
_LIPSCHITZ = np.array([1.0] * 3 + [4.0] * 12 + [1.0], np.float32)


class DistinctSet:
    """Accepted signatures and a search for a same picture among them (module doc).

    ``find(sig)`` returns the index of an accepted signature within :data:`FLOOR` (or -1);
    ``add(sig)`` accepts one. Memory: 768 bytes and 16 floats an image (0.45 GB at 550,000).
    """

    def __init__(self, floor: float = FLOOR) -> None:
        self.floor = float(floor)
        self._sigs = np.zeros((1024, GRID * GRID * 3), np.uint8)
        self._feats = np.zeros((1024, len(_LIPSCHITZ)), np.float32)
        self._n = 0
        self._cells: defaultdict[tuple[int, ...], list[int]] = defaultdict(list)

    def __len__(self) -> int:
        return self._n

    def _key(self, feats: npt.NDArray[np.float32]) -> tuple[int, ...]:
        """The cell of an image: its mean colour and pivot difference on a grid of side floor."""
        return tuple(int(v) for v in np.floor(feats[[0, 1, 2, 15]] / self.floor))

    def _neighbours(self, key: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
        for dl in (-1, 0, 1):
            for da in (-1, 0, 1):
                for db in (-1, 0, 1):
                    for dp in (-1, 0, 1):
                        yield (key[0] + dl, key[1] + da, key[2] + db, key[3] + dp)

    def find(self, sig: npt.NDArray[np.uint8]) -> int:
        """Index of an accepted same picture of ``sig`` (the first by index), else -1. Exact: every
        accepted signature within the floor is among the candidates."""
        feats = _features(sig)
        cand_lists = [self._cells[k] for k in self._neighbours(self._key(feats)) if k in self._cells]
        if not cand_lists:
            return -1
        cand = np.sort(np.concatenate([np.asarray(c, np.int64) for c in cand_lists]))
        close = np.all(np.abs(self._feats[cand] - feats) < _LIPSCHITZ * self.floor, axis=1)
        cand = cand[close]
        if len(cand) == 0:
            return -1
        same = cand[difference(self._sigs[cand], sig) < self.floor]
        return int(same[0]) if len(same) else -1

    def add(self, sig: npt.NDArray[np.uint8]) -> int:
        """Accept ``sig``; returns its index."""
        if self._n == len(self._sigs):
            self._sigs = np.concatenate([self._sigs, np.zeros_like(self._sigs)])
            self._feats = np.concatenate([self._feats, np.zeros_like(self._feats)])
        feats = _features(sig)
        self._sigs[self._n] = sig
        self._feats[self._n] = feats
        self._cells[self._key(feats)].append(self._n)
        self._n += 1
        return self._n - 1
