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
colour within :data:`FLOOR` of ``x``'s in every coordinate, i.e. in one of the 27 grid cells
around it (:class:`DistinctSet` keys accepted images by that cell, and by a fourth coordinate,
the distance to a fixed pivot picture, the same way: 81 cells); the candidates there are
filtered by their quadrant means (each coordinate, then the mean over the quadrants of the norm
of their mean colours' difference, itself at most the difference by the triangle inequality),
then by their difference in float64, and only the survivors are decided by :func:`difference`
itself. No pair within the floor is missed, and the decision is the criterion's float32 value,
bit for bit:

* the search works on the exact Lab values the criterion dequantises (float32, widened), in
  float64, with a slack of :data:`MARGIN` = 0.01 everywhere (cell side ``FLOOR + MARGIN``,
  feature bounds ``L * FLOOR + MARGIN``, float64 prefilter ``D < FLOOR + MARGIN``). The
  criterion's float32 value is within 1e-4 of the exact mean (768 roundings of 2**-24 and a
  pairwise sum of 256 terms below 400), and a stored float32 feature within 3e-5 of its float64
  value, so a pair the criterion calls the same passes every filter with room to spare;
* the final check is :func:`difference` on the survivors, a row at a time the same expression
  as the brute force's (tests/test_distinct_search.py checks pairs one float32 ulp below, at and
  above the floor, and a crowded family, against checking every earlier signature).

Cost: the cells live in flat arrays (an open-addressing table of packed int64 keys, a linked list
of images per cell) searched by numba kernels (:mod:`._distinct_kernels`), and
:meth:`DistinctSet.add_distinct` accepts a whole batch of draws in one call up to the first one
with a suspect, so Python is entered only near the floor. Measured on cached first draws at
256 x 256, seed 0 (the search alone, redraws pre-generated, min of 2-3 runs in one process on a
shared 2-core machine): ``mixed``, 100,000 draws, 5.9 s against 153 s for the previous search (a
Python dict of lists keyed by tuples, one draw at a time): 59 us against 1.5 ms a draw, 26x;
20,000 draws of ``text`` 33x (127 us a draw: pages share their mean colours), ``low-detail`` 22x
(16% of draws redrawn, each through Python), ``shapes`` 69x; the same redraw counts and the same
accepted index for every same picture in all four. The previous search took about 55 minutes
(6 ms a draw) for the 550,000 draws of ``--preset fpr-50b``.
"""

from __future__ import annotations

from typing import Any

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


def _pivot() -> npt.NDArray[np.uint8]:
    """A fixed reference picture (a diagonal colour ramp): its distance spreads images that share
    a mean colour, such as text pages, over many keys."""
    y, x = np.mgrid[0:GRID, 0:GRID] / (GRID - 1)
    rgb = np.stack([x, y, 1 - (x + y) / 2], axis=-1) * 255
    return signature(np.rint(rgb).astype(np.uint8))


_PIVOT = _pivot()
# feature k may differ by at most _LIPSCHITZ[k] * D between two pictures at difference D
_LIPSCHITZ = np.array([1.0] * 3 + [4.0] * 12 + [1.0], np.float32)
#: Slack of the search's cells, feature filter and float64 prefilter over the floor (Delta E
#: units): far above the float rounding it covers (module doc), far below a visible difference.
MARGIN = 0.01
# lut[channel, byte]: the dequantised values of the criterion (float32), widened to float64
_LUT = _dequantised(np.repeat(np.arange(256, dtype=np.uint8), 3)).T.astype(np.float64).copy()
_PIVOT_LAB = _dequantised(_PIVOT).astype(np.float64)


class DistinctSet:
    """Accepted signatures and a search for a same picture among them (module doc).

    ``find(sig)`` returns the index of an accepted signature within :data:`FLOOR` (or -1);
    ``add(sig)`` accepts one; ``add_distinct(sigs)`` accepts a batch in order up to the first
    same picture (the fast path of a search where most draws are accepted). Memory: 768 bytes,
    16 float32 features and one int64 link an image (0.46 GB at 550,000), plus the table of
    cells (16 bytes a slot, at most 4 slots a cell).
    """

    def __init__(self, floor: float = FLOOR) -> None:
        from . import _distinct_kernels  # numba is loaded by a search, not by every generator

        self._k = _distinct_kernels
        self.floor = float(floor)
        self._side = self.floor + MARGIN
        self._bounds = _LIPSCHITZ.astype(np.float64) * self.floor + MARGIN
        self._limit = self.floor + MARGIN
        self._sigs = np.zeros((1024, GRID * GRID * 3), np.uint8)
        self._feats = np.zeros((1024, len(_LIPSCHITZ)), np.float32)
        self._nxt = np.full(1024, -1, np.int64)
        self._tkeys = np.full(2048, -1, np.int64)
        self._thead = np.full(2048, -1, np.int64)
        self._state = np.zeros(3, np.int64)  # accepted images, cells in the table, last suspects
        self._out = np.empty(256, np.int64)

    def __len__(self) -> int:
        return int(self._state[0])

    def _reserve(self, m: int) -> None:
        """Room for ``m`` more images, and a table at most half full after they are filed."""
        n, cells = int(self._state[0]), int(self._state[1])
        if n + m > len(self._sigs):
            grow = max(len(self._sigs), n + m - len(self._sigs))
            self._sigs = np.concatenate([self._sigs, np.zeros((grow, self._sigs.shape[1]), np.uint8)])
            self._feats = np.concatenate([self._feats, np.zeros((grow, self._feats.shape[1]), np.float32)])
            self._nxt = np.concatenate([self._nxt, np.full(grow, -1, np.int64)])
        if 2 * (cells + m) > len(self._tkeys):
            capacity = 1 << int(2 * (cells + m) - 1).bit_length()
            self._tkeys, self._thead = self._k.rehash(self._tkeys, self._thead, max(capacity, 2 * len(self._tkeys)))

    @property
    def _cells(self) -> tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]:
        """The accepted images and their cells, as the kernels take them: signatures, features,
        links, table keys, table heads (re-read each call: ``_reserve`` may replace them)."""
        return self._sigs, self._feats, self._nxt, self._tkeys, self._thead

    def _features(self, sig: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        return self._k.features(sig, _LUT, _PIVOT_LAB).astype(np.float32)

    def _suspects(self, sig: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
        """Increasing indices of the accepted images the criterion could call the same as ``sig``
        (a superset of those it does, by the margins of the module doc)."""
        f = self._features(sig)
        while True:
            args = (_LUT, self._side, self._bounds, self._limit, self._out)
            found = int(self._k.candidates(sig, f, *self._cells, *args))
            if found <= len(self._out):
                return np.sort(self._out[:found])
            self._out = np.empty(2 * found, np.int64)

    def _first_same(self, sig: npt.NDArray[np.uint8], cand: npt.NDArray[np.int64]) -> int:
        """The first of ``cand`` (increasing) that is the same picture as ``sig``: the criterion's
        own float32 expression decides, never the kernels' float64 prefilter."""
        if len(cand) == 0:
            return -1
        same = cand[difference(self._sigs[cand], sig) < self.floor]
        return int(same[0]) if len(same) else -1

    def find(self, sig: npt.NDArray[np.uint8]) -> int:
        """Index of an accepted same picture of ``sig`` (the first by index), else -1. Exact: every
        accepted signature within the floor is among the candidates."""
        sig = _flat(sig)
        return self._first_same(sig, self._suspects(sig))

    def add(self, sig: npt.NDArray[np.uint8]) -> int:
        """Accept ``sig``; returns its index."""
        sig = _flat(sig)
        self._reserve(1)
        n = len(self)
        self._sigs[n] = sig
        self._state[1] += self._k.insert(n, self._features(sig), *self._cells[1:], self._side)
        self._state[0] = n + 1
        return n

    def add_distinct(self, sigs: npt.NDArray[np.uint8]) -> int:
        """Accept ``sigs`` (n, 768) in order up to the first that is the same picture as an accepted
        one (earlier ``sigs`` included); returns how many were accepted (``len(sigs)``: all).
        The same as ``find`` then ``add`` one by one, in one kernel call while no draw is close."""
        sigs = np.ascontiguousarray(sigs, np.uint8).reshape(-1, GRID * GRID * 3)
        self._reserve(len(sigs))
        j = 0
        while j < len(sigs):
            j += int(
                self._k.scan(
                    sigs[j:],
                    *self._cells,
                    _LUT,
                    _PIVOT_LAB,
                    self._side,
                    self._bounds,
                    self._limit,
                    self._state,
                    self._out,
                )
            )
            if j == len(sigs):
                break
            found = int(self._state[2])
            cand = np.sort(self._out[:found]) if found <= len(self._out) else self._suspects(sigs[j])
            if self._first_same(sigs[j], cand) >= 0:
                return j
            self.add(sigs[j])
            j += 1
        return j


def _flat(sig: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    return np.ascontiguousarray(sig, np.uint8).reshape(GRID * GRID * 3)
