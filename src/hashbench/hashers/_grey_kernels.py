"""Pillow's ``convert("L")`` and its LANCZOS ``resize`` of a grey image, in numba, pixel for pixel.

Every imagehash grey hasher starts with ``image.convert("L").resize(size, LANCZOS)``; on a
1024x768 photo those two Pillow calls cost more than PDQ does (issue 18: ``hashbench hash`` at
3x). Both are integer arithmetic in Pillow, so they can be reproduced exactly:

* **Grey** (``Convert.c``, ``rgb2l``): ``L = (R * 19595 + G * 38470 + B * 7471 + 0x8000) >> 16``,
  all integers. Pillow converts from its own 4-byte copy of the array; here the array is read
  directly, one pass, no copy. (Checked on all 2**24 colours by the tests.)
* **LANCZOS resize** (``Resample.c``, ``ImagingResampleInner``): the filter weights are doubles
  computed with the C library's ``sin`` (``math.sin`` here is the same function), normalised to
  sum 1 and rounded to integers of ``PRECISION_BITS`` = 22 fractional bits; a horizontal pass over
  the rows the vertical pass reads, rounded to uint8, then a vertical pass; every sum starts at
  ``1 << 21`` and is clipped to 0..255 after a shift by 22. The weights are computed here in
  Python, float for float as the C code does, and the passes are integer sums, which no order
  of addition changes (no overflow: at most 255 x 1.3 x 2**22 < 2**31), so LLVM may vectorize them.

Pillow 13 changed one thing: it runs the vertical pass first when the height shrinks much more
than the width (:func:`vertical_first`), and the pass rounded first changes the pixels, so the
same image hashes differently under Pillow 12 and 13. :func:`pillow_order` finds which order the
installed Pillow uses from probe images, once per process; the grey hashers use the kernels only
when one order reproduces every probe (:mod:`.imagehash_family`), else Pillow itself, so the
hashes stay imagehash's under any Pillow.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = [
    "ORDERS",
    "grey",
    "grey_resize",
    "transpose",
    "lanczos_resize",
    "lanczos_coefficients",
    "pillow_order",
    "vertical_first",
]

#: Resample.c: 8 bits of result, 2 bits of headroom for negative lobes and sums above 1.
PRECISION_BITS = 32 - 8 - 2
#: Resample.c's LANCZOS support (a = 3).
_SUPPORT = 3.0


# How each full-size loop is written decides whether LLVM vectorizes it (measured on 1024x768): grey
# over the flat bytes 0.35 ms, over (H, W, 3) indices 1.0 ms; see also the slices below.


@njit(nogil=True, cache=True)
def _grey_kernel(flat, out):
    """``out[i]`` = Pillow's L of pixel ``i`` of the flat RGB bytes ``flat`` (``Convert.c``, ``rgb2l``)."""
    for i in range(out.size):
        r = np.uint32(flat[3 * i])
        g = np.uint32(flat[3 * i + 1])
        b = np.uint32(flat[3 * i + 2])
        out[i] = np.uint8((r * np.uint32(19595) + g * np.uint32(38470) + b * np.uint32(7471) + 0x8000) >> 16)


#: Side of the square tiles the transposing kernel goes through.
_BLOCK = 16


@njit(nogil=True, cache=True)
def _transpose_kernel(src, out):
    """``out`` = ``src`` transposed, tile by tile (0.4 ms for 1024x768, numpy's copy 1.2 ms)."""
    h, w = src.shape
    for y0 in range(0, h, _BLOCK):
        y1 = min(h, y0 + _BLOCK)
        for x0 in range(0, w, _BLOCK):
            x1 = min(w, x0 + _BLOCK)
            tile = src[y0:y1, x0:x1]
            for x in range(x1 - x0):
                col = out[x0 + x, y0:y1]
                for y in range(y1 - y0):
                    col[y] = tile[y, x]


def grey(pixels: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The (H, W) uint8 of ``Image.fromarray(pixels).convert("L")`` for (H, W, 3) uint8 ``pixels``."""
    out = np.empty(pixels.shape[:2], dtype=np.uint8)
    _grey_kernel(np.ascontiguousarray(pixels).reshape(-1), out.reshape(-1))
    return out


def transpose(a: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """A C-contiguous copy of the (H, W) uint8 ``a`` transposed (faster than numpy's for uint8)."""
    out = np.empty(a.shape[::-1], dtype=np.uint8)
    _transpose_kernel(a, out)
    return out


def _sinc(x: float) -> float:
    if x == 0.0:
        return 1.0
    x = x * math.pi
    return math.sin(x) / x


def _lanczos(x: float) -> float:
    return _sinc(x) * _sinc(x / 3) if -3.0 <= x < 3.0 else 0.0


@functools.lru_cache(maxsize=64)
def lanczos_coefficients(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Resample.c's ``precompute_coeffs`` and ``normalize_coeffs_8bpc`` for a whole-image LANCZOS
    resize of ``in_size`` samples to ``out_size``: per output sample its first input sample and
    count (``bounds``, (out, 2) int64) and integer weights (``weights``, (out, ksize) int32, C's INT32).

    Python floats are C doubles and every step is written as the C orders it, so the weights are
    the same integers (the box is the whole image: ``in0 = 0``, ``in1 = in_size``).
    """
    scale = float(in_size) / out_size
    filterscale = max(scale, 1.0)
    support = _SUPPORT * filterscale
    ksize = int(math.ceil(support)) * 2 + 1
    inv = 1.0 / filterscale
    bounds = np.zeros((out_size, 2), dtype=np.int64)
    weights = np.zeros((out_size, ksize), dtype=np.int32)
    one = float(1 << PRECISION_BITS)
    for xx in range(out_size):
        center = 0.0 + (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size) - xmin
        k = [_lanczos((x + xmin - center + 0.5) * inv) for x in range(xmax)]
        ww = 0.0
        for w in k:
            ww += w
        if ww != 0.0:
            k = [w / ww for w in k]
        weights[xx, :xmax] = [int(-0.5 + w * one) if w < 0 else int(0.5 + w * one) for w in k]
        bounds[xx] = (xmin, xmax)
    return bounds, weights


@njit(nogil=True, cache=True)
def _clip8(ss):
    v = ss >> 22  # PRECISION_BITS; arithmetic shift, as C's on int
    return np.uint8(0 if v < 0 else 255 if v > 255 else v)


@njit(nogil=True, cache=True)
def _dot_pass(src, y0, out, bounds, weights):
    """``out[r, i]`` = the filtered sum along axis 1 of row ``y0 + r`` of ``src`` for output sample
    ``i``: Resample.c's horizontal pass, one dot product per output pixel (used on small arrays)."""
    for r in range(out.shape[0]):
        row = src[y0 + r]
        for i in range(out.shape[1]):
            start = bounds[i, 0]
            ss = np.int32(1 << 21)
            for t in range(bounds[i, 1]):
                ss = np.int32(ss + np.int32(row[start + t]) * weights[i, t])
            out[r, i] = _clip8(ss)


@njit(nogil=True, cache=True)
def _axpy_pass(src, c0, out, bounds, weights):
    """``out[i, :]`` = the filtered sum along axis 0 of columns ``c0 ..`` of ``src`` for output
    sample ``i``: Resample.c's vertical pass, a whole row of sums at a time (contiguous, so LLVM
    vectorizes it: 8 int32 lanes)."""
    n = out.shape[1]
    acc = np.empty(n, dtype=np.int32)
    for i in range(out.shape[0]):
        start = bounds[i, 0]
        for j in range(n):
            acc[j] = 1 << 21
        for t in range(bounds[i, 1]):
            k = weights[i, t]
            row = src[start + t, c0 : c0 + n]  # a slice: indexing row[c0 + j] was not vectorized
            for j in range(n):
                acc[j] += np.int32(row[j]) * k
        for j in range(n):
            out[i, j] = _clip8(acc[j])


#: The orders Pillow has run the two passes in: ``"horizontal"`` first always (Pillow 12 and
#: before); ``"pillow13"``: vertical first when the height shrinks by more pixels than twice the
#: width does (Pillow 13, ``ImagingResampleInner``). The pass rounded first changes the pixels.
ORDERS = ("pillow13", "horizontal")


def vertical_first(in_size: tuple[int, int], size: tuple[int, int], order: str) -> bool:
    """Whether Pillow's ``order`` runs the vertical pass first for (width, height) ``in_size`` to ``size``."""
    (w, h), (out_w, out_h) = in_size, size
    return order == "pillow13" and (h - out_h) > 0 and (h - out_h) > (w - out_w) * 2


def _vertical_then_horizontal(g: np.ndarray, size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """Pillow 13's order for images whose height shrinks most: both passes on the (H, W) grey."""
    (h, w), (out_w, out_h) = g.shape, size
    mid = np.empty((out_h, w), dtype=np.uint8)
    _axpy_pass(g, 0, mid, *lanczos_coefficients(h, out_h))
    if out_w == w:
        return mid
    out = np.empty((out_h, out_w), dtype=np.uint8)
    _dot_pass(mid, 0, out, *lanczos_coefficients(w, out_w))
    return out


def _horizontal_then_vertical(gt: np.ndarray, size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """The usual order, on the *transposed* (W, H) grey ``gt``: the horizontal pass (the big one:
    every row the vertical pass reads, at full width) becomes a vectorized pass along axis 0."""
    (w, h), (out_w, out_h) = gt.shape, size
    vb, vk = lanczos_coefficients(h, out_h)
    temp_t = gt
    if out_w != w:  # only the rows the vertical pass reads, as Pillow does
        first, last = int(vb[0, 0]), int(vb[-1, 0] + vb[-1, 1])
        temp_t = np.empty((out_w, last - first), dtype=np.uint8)
        _axpy_pass(gt, first, temp_t, *lanczos_coefficients(w, out_w))
        vb = vb.copy()
        vb[:, 0] -= first
    if out_h == h:
        return np.ascontiguousarray(temp_t.T)
    out_t = np.empty((out_w, out_h), dtype=np.uint8)
    _dot_pass(temp_t, 0, out_t, vb, vk)
    return np.ascontiguousarray(out_t.T)


def lanczos_resize(
    grey_pixels: npt.NDArray[np.uint8], size: tuple[int, int], order: str = "pillow13"
) -> npt.NDArray[np.uint8]:
    """``np.asarray(Image.fromarray(grey_pixels).resize(size, Image.Resampling.LANCZOS))``, for an
    (H, W) uint8 array and ``size`` = (width, height), as ``ImagingResampleInner`` computes it with
    Pillow's pass ``order`` (:data:`ORDERS`).

    The sums of a pass are added in another order than the C code's (a row of outputs at a time,
    on the transposed image for the horizontal pass): integer sums, so the same values.
    """
    h, w = grey_pixels.shape
    if tuple(size) == (w, h):
        return grey_pixels.copy()
    if vertical_first((w, h), size, order):
        return _vertical_then_horizontal(np.ascontiguousarray(grey_pixels), size)
    return _horizontal_then_vertical(transpose(grey_pixels), size)


def grey_resize(pixels: npt.NDArray[np.uint8], size: tuple[int, int], order: str = "pillow13") -> npt.NDArray[np.uint8]:
    """``Image.fromarray(pixels).convert("L").resize(size, LANCZOS)`` of (H, W, 3) uint8 ``pixels``,
    as an (height, width) uint8 array: the start of every imagehash grey hash but whash."""
    h, w = pixels.shape[:2]
    if tuple(size) == (w, h):
        return grey(pixels)
    if vertical_first((w, h), size, order):
        return _vertical_then_horizontal(grey(pixels), size)
    return _horizontal_then_vertical(transpose(grey(pixels)), size)


#: Probe shapes for :func:`pillow_order`: (H, W) of the input, (width, height) of the output. The
#: first two run the vertical pass first under Pillow 13 (and tell the orders apart).
_PROBES = (
    ((222, 79), (47, 2)),
    ((120, 29), (42, 8)),
    ((97, 131), (32, 32)),
    ((61, 70), (9, 8)),
    ((300, 200), (64, 64)),
    ((20, 9), (8, 8)),
    ((5, 7), (9, 8)),
)


@functools.lru_cache(maxsize=1)
def pillow_order() -> str | None:
    """The pass order (:data:`ORDERS`) with which :func:`lanczos_resize` and :func:`grey` give the
    installed Pillow's pixels on every probe image (seeded noise with columns of 0 and 255, which
    clip; down- and upscaling), or None when neither does. Computed once per process."""
    from PIL import Image

    rng = np.random.default_rng(18)
    refs = []
    for (h, w), size in _PROBES:
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        rgb[:, ::3] = rng.choice(np.array([0, 255], np.uint8), (h, len(range(0, w, 3)), 3))
        ref_grey = Image.fromarray(rgb).convert("L")
        g = grey(rgb)
        if not np.array_equal(g, np.asarray(ref_grey)):
            return None
        refs.append((g, size, np.asarray(ref_grey.resize(size, Image.Resampling.LANCZOS))))
    for order in ORDERS:
        if all(np.array_equal(lanczos_resize(g, size, order), ref) for g, size, ref in refs):
            return order
    return None
