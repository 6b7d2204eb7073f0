"""numba kernels of PDQ, bit-identical to ``pdqhash`` 0.2.8 and linear in the number of pixels.

``pdqhash`` wraps Meta's C++ core: luma in float64 by numpy then rounded to float32, two passes of
a Jarosz tent filter (box along rows, box along columns, twice) over two full-size float buffers,
decimation to 64x64, a 16x64 / 16x16 DCT, Torben's median and a gradient quality. Its box filter
already keeps a running sum (O(pixels) whatever the window); what grows is the cost per pixel,
about 33 ns at 256x256 and 70 ns from 1024x768 up (measured here): the column passes walk one
column at a time with a stride of a whole row, which misses the cache once the float buffers
outgrow it, and the numpy luma (about a fifth of the time) makes float64 temporaries.

The kernels here compute the *same floats in the same order*; they differ only in which of them
they keep and in what order *independent* values are visited:

* **Rows stream.** Row pass 1 runs on LANES rows at a time, just ahead of column pass 1, into a
  ring of at least ``window + LANES`` rows. Column pass 1 keeps one running sum per column and
  consumes rows in order: each column's sum sees the adds and subtracts of the C++ loop down
  that column, in that order. Its output rows go straight on to row pass 2.
* **Side by side.** A running sum along a row is one long dependency chain. The row passes
  transpose LANES rows into a tile and run their LANES box filters as the lanes of vector
  operations, so each row still sees its own sequence of operations, but 8 rows advance per
  instruction (AVX2) instead of one add waiting on the last.
* **Only what decimation reads.** Decimation keeps 64 columns and 64 rows. Row pass 2 still
  filters whole rows (the sum at column ``j`` carries the rounding of every add before it) but
  keeps the 64 decimated columns; column pass 2 then runs on those 64 columns only and stores
  only the 64 decimated rows.
* **No reassociation.** No ``fastmath``: LLVM may neither reorder nor contract (FMA) float32
  operations, so ``s += a; s -= b`` rounds twice, as in C++. Every constant that meets a float32
  is itself float32 (``np.float32(100)``), so numba never promotes a step to float64 where the
  C++ stays in float; the luma is float64 rounded to float32, as pdqhash's numpy computes it.

Working memory is the ring and a few LANES-row tiles (about ``(H / 128 + 6 * LANES) * W``
floats) plus an (H, 64) column strip, against pdqhash's float64 luma temporaries and two
full-size float32 buffers.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["dct_matrix", "pdq_hash", "pdq_dihedral", "MIN_HASHABLE_DIM"]

#: pdqhashing.cpp: images with fewer rows or columns get the all-zero hash and quality 0.
MIN_HASHABLE_DIM = 5


def dct_matrix() -> np.ndarray:
    """The 16x64 float32 DCT matrix exactly as pdqhashing.cpp builds it.

    ``float scale = sqrt(2.0 / 64)`` (double rounded to float), then each entry is
    ``scale * cos((pi / 2.0 / 64.0) * (i + 1) * (2 * j + 1))`` in double, rounded to float.
    ``math.cos`` is the C library's, as in the C++.
    """
    scale = float(np.float32(math.sqrt(2.0 / 64.0)))
    d = np.empty((16, 64), dtype=np.float32)
    for i in range(16):
        for j in range(64):
            d[i, j] = np.float32(scale * math.cos((math.pi / 2.0 / 64.0) * float(i + 1) * float(2 * j + 1)))
    return d


_DCT = dct_matrix()
#: pdqhash's luma products: ``_LUTS[c, v] = v * (0.299, 0.587, 0.114)[c]`` in float64.
_LUTS = np.arange(256, dtype=np.float64)[None, :] * np.array([0.299, 0.587, 0.114])[:, None]

# --------------------------------------------------------------------------------------------
# luma and 1-D box filter
# --------------------------------------------------------------------------------------------


@njit(nogil=True, cache=True)
def _decimation_indices(n):
    """decimateFloat's sample positions: ``(int)(((k + 0.5) * n) / 64)`` in double, k < 64."""
    idx = np.empty(64, dtype=np.int64)
    for k in range(64):
        idx[k] = int(((k + 0.5) * n) / 64)
    return idx


# --------------------------------------------------------------------------------------------
# the tent filter and decimation, streamed
# --------------------------------------------------------------------------------------------


#: Image rows filtered side by side in a row pass, as the 16 lanes of a transposed tile.
LANES = 32


@njit(nogil=True, cache=True)
def _box_lanes(src, dst, window, s):
    """box1DFloat down axis 0 of ``src`` for every column at once: ``src[:, r]`` is vector ``r``.

    Column ``r`` sees exactly the adds, subtracts and divisions box1DFloat makes on its vector, in
    the same order; the loops over ``r`` are independent and contiguous, so LLVM vectorizes them
    (8 float32 lanes on AVX2) instead of waiting on one running-sum add after another. ``s`` is
    scratch of ``src.shape[1]`` floats. The row passes run it on transposed tiles of image rows.
    """
    n, m = src.shape[0], src.shape[1]
    half = (window + 2) // 2
    for r in range(m):
        s[r] = np.float32(0.0)
    li = 0
    ri = 0
    oi = 0
    cws = 0
    for _ in range(half - 1):
        for r in range(m):
            s[r] += src[ri, r]
        cws += 1
        ri += 1
    for _ in range(window - half + 1):
        cws += 1
        c = np.float32(cws)
        for r in range(m):
            s[r] += src[ri, r]
            dst[oi, r] = s[r] / c
        ri += 1
        oi += 1
    c = np.float32(cws)
    for _ in range(n - window):
        for r in range(m):
            s[r] += src[ri, r]
            s[r] -= src[li, r]
            dst[oi, r] = s[r] / c
        li += 1
        ri += 1
        oi += 1
    for _ in range(half - 1):
        cws -= 1
        c = np.float32(cws)
        for r in range(m):
            s[r] -= src[li, r]
            dst[oi, r] = s[r] / c
        li += 1
        oi += 1


@njit(nogil=True, cache=True)
def _transpose(rows, tile):
    """``tile[j, r] = rows[r, j]`` for a (LANES, w) block, by LANES x LANES squares whose constant
    bounds let LLVM unroll them (a runtime-bounded loop measured 5x slower); then the tail."""
    w = tile.shape[0]
    nb = w // LANES
    for b in range(nb):
        sq = tile[b * LANES : b * LANES + LANES]
        for r in range(LANES):
            src = rows[r, b * LANES : b * LANES + LANES]
            for jj in range(LANES):
                sq[jj, r] = src[jj]
    for r in range(LANES):
        for j in range(nb * LANES, w):
            tile[j, r] = rows[r, j]


@njit(nogil=True, cache=True)
def _untranspose(tile, rows):
    """``rows[r, j] = tile[j, r]``: the inverse of :func:`_transpose`."""
    w = tile.shape[0]
    nb = w // LANES
    for b in range(nb):
        sq = tile[b * LANES : b * LANES + LANES]
        for r in range(LANES):
            dst = rows[r, b * LANES : b * LANES + LANES]
            for jj in range(LANES):
                dst[jj] = sq[jj, r]
    for r in range(LANES):
        for j in range(nb * LANES, w):
            rows[r, j] = tile[j, r]


@njit(nogil=True, cache=True)
def _luma_rows(img, r0, count, l0, l1, l2, lum):
    """Luma of image rows ``r0 .. r0 + count - 1`` into ``lum`` rows: ``(r * 0.299 + g * 0.587) +
    b * 0.114`` in float64 rounded to float32, as pdqhash computes it with numpy; the products
    come from tables ``l0[v] = v * 0.299`` etc. (the very same doubles)."""
    w = img.shape[1]
    for r in range(count):
        px = img[r0 + r]  # a view: indexes below are non-negative loop counters (no wraparound code)
        out = lum[r]
        for j in range(w):
            out[j] = np.float32(l0[px[j, 0]] + l1[px[j, 1]] + l2[px[j, 2]])


@njit(nogil=True, cache=True)
def _first_passes(img, window_rows, window_cols, cols, luts):
    """Luma, row pass 1, column pass 1 and row pass 2 of jaroszFilterFloat; returns the (H, 64)
    result of row pass 2 at the decimated columns.

    Row pass 1 runs LANES rows at a time into a ring of at least ``window_cols + LANES`` rows (a
    multiple of LANES, so each block is contiguous), just ahead of column pass 1: the oldest row
    column pass 1 still reads (``ri - window_cols``) is never overwritten, and memory stays
    small whatever the height. Column pass 1 is box1DFloat down every column at once
    (``sums[j]`` is column ``j``'s running sum, fed rows in the C++'s order for that column).
    Its output rows gather LANES at a time for row pass 2.
    """
    h, w = img.shape[0], img.shape[1]
    nslots = ((window_cols + 2 * LANES - 1) // LANES) * LANES
    ring = np.empty((nslots, w), dtype=np.float32)
    lum = np.zeros((LANES, w), dtype=np.float32)  # lanes past the bottom: finite, never stored
    pending = np.zeros((LANES, w), dtype=np.float32)
    tile = np.empty((w, LANES), dtype=np.float32)
    boxed = np.empty((w, LANES), dtype=np.float32)
    s = np.empty(LANES, dtype=np.float32)
    mid = np.empty((h, 64), dtype=np.float32)
    sums = np.zeros(w, dtype=np.float32)
    half = (window_cols + 2) // 2
    li = 0
    ri = 0
    oi = 0
    cws = 0
    for step in range(h + half - 1):
        if ri < h and ri % LANES == 0:  # row pass 1 for the next LANES rows
            count = min(LANES, h - ri)
            _luma_rows(img, ri, count, luts[0], luts[1], luts[2], lum)
            _transpose(lum, tile)
            _box_lanes(tile, boxed, window_rows, s)
            base = ri % nslots
            _untranspose(boxed, ring[base : base + LANES])
        if step < window_cols:  # phases 1 and 2 of box1DFloat: add only
            a = ring[ri % nslots]
            for j in range(w):
                sums[j] += a[j]
            cws += 1
            ri += 1
        elif ri < h:  # phase 3: add and subtract
            a = ring[ri % nslots]
            d = ring[li % nslots]
            for j in range(w):
                sums[j] += a[j]
                sums[j] -= d[j]
            ri += 1
            li += 1
        else:  # phase 4: subtract only
            d = ring[li % nslots]
            for j in range(w):
                sums[j] -= d[j]
            cws -= 1
            li += 1
        if step >= half - 1:  # phases 2 to 4 write output row oi
            c = np.float32(cws)
            out = pending[oi % LANES]
            for j in range(w):
                out[j] = sums[j] / c
            if oi % LANES == LANES - 1 or oi == h - 1:
                count = oi % LANES + 1
                _transpose(pending, tile)
                _box_lanes(tile, boxed, window_rows, s)
                for r in range(count):
                    for k in range(64):
                        mid[oi + 1 - count + r, k] = boxed[cols[k], r]
            oi += 1
    return mid


@njit(nogil=True, cache=True)
def _emit_kept(sums, cws, rows, oi, out):
    """Store output row ``oi`` of the last column pass in every decimated row that samples it."""
    w = np.float32(cws)
    for k in range(64):
        if rows[k] == oi:
            for j in range(64):
                out[k, j] = sums[j] / w


@njit(nogil=True, cache=True)
def _last_pass(mid, window_cols, rows):
    """Column pass 2 over the 64 kept columns, stored only at the 64 decimated rows."""
    h = mid.shape[0]
    out = np.empty((64, 64), dtype=np.float32)
    sums = np.zeros(64, dtype=np.float32)
    half = (window_cols + 2) // 2
    li = 0
    ri = 0
    oi = 0
    cws = 0
    for _ in range(half - 1):
        for j in range(64):
            sums[j] += mid[ri, j]
        cws += 1
        ri += 1
    for _ in range(window_cols - half + 1):
        for j in range(64):
            sums[j] += mid[ri, j]
        cws += 1
        _emit_kept(sums, cws, rows, oi, out)
        ri += 1
        oi += 1
    for _ in range(h - window_cols):
        for j in range(64):
            sums[j] += mid[ri, j]
            sums[j] -= mid[li, j]
        _emit_kept(sums, cws, rows, oi, out)
        li += 1
        ri += 1
        oi += 1
    for _ in range(half - 1):
        for j in range(64):
            sums[j] -= mid[li, j]
        cws -= 1
        _emit_kept(sums, cws, rows, oi, out)
        li += 1
        oi += 1
    return out


@njit(nogil=True, cache=True)
def _downsample64(img, blur_64, luts):
    """pdqFloat256FromFloatLuma's 64x64 buffer. A 64x64 input is copied unfiltered unless
    ``blur_64`` (the dihedral entry point of the C++ has no such shortcut)."""
    h, w = img.shape[0], img.shape[1]
    if h == 64 and w == 64 and not blur_64:
        out = np.empty((64, 64), dtype=np.float32)
        _luma_rows(img, 0, 64, luts[0], luts[1], luts[2], out)
        return out
    window_rows = (w + 127) // 128  # computeJaroszFilterWindowSize(numCols, 64)
    window_cols = (h + 127) // 128
    mid = _first_passes(img, window_rows, window_cols, _decimation_indices(w), luts)
    return _last_pass(mid, window_cols, _decimation_indices(h))


# --------------------------------------------------------------------------------------------
# quality, DCT, median, bits
# --------------------------------------------------------------------------------------------


@njit(nogil=True, cache=True)
def _quality(a):
    """pdqImageDomainQualityMetric: ``int d = ((u - v) * 100) / 255`` in float, summed |d| / 90."""
    c100 = np.float32(100.0)
    c255 = np.float32(255.0)
    total = 0
    for i in range(63):
        for j in range(64):
            total += abs(int(((a[i, j] - a[i + 1, j]) * c100) / c255))
    for i in range(64):
        for j in range(63):
            total += abs(int(((a[i, j] - a[i, j + 1]) * c100) / c255))
    return min(total // 90, 100)


@njit(nogil=True, cache=True)
def _dct64to16(a, d):
    """dct64To16: ``T = D A`` then ``B = T D^T``, each sum accumulated over k = 0..63 in order."""
    t = np.empty((16, 64), dtype=np.float32)
    for i in range(16):
        for j in range(64):
            s = np.float32(0.0)
            for k in range(64):
                s += d[i, k] * a[k, j]
            t[i, j] = s
    b = np.empty((16, 16), dtype=np.float32)
    for i in range(16):
        for j in range(16):
            s = np.float32(0.0)
            for k in range(64):
                s += t[i, k] * d[j, k]
            b[i, j] = s
    return b


@njit(nogil=True, cache=True)
def _torben(m):
    """torben.cpp, on the 256 floats of a flattened 16x16 buffer."""
    n = m.shape[0]
    lo = m[0]
    hi = m[0]
    for i in range(1, n):
        if m[i] < lo:
            lo = m[i]
        if m[i] > hi:
            hi = m[i]
    two = np.float32(2.0)
    half = (n + 1) // 2
    while True:
        guess = (lo + hi) / two
        less = 0
        greater = 0
        equal = 0
        maxlt = lo
        mingt = hi
        for i in range(n):
            if m[i] < guess:
                less += 1
                if m[i] > maxlt:
                    maxlt = m[i]
            elif m[i] > guess:
                greater += 1
                if m[i] < mingt:
                    mingt = m[i]
            else:
                equal += 1
        if less <= half and greater <= half:
            break
        elif less > greater:
            hi = maxlt
        else:
            lo = mingt
    if less >= half:
        return maxlt
    elif less + equal >= half:
        return guess
    return mingt


@njit(nogil=True, cache=True)
def _bits_into(b, code):
    """pdqBuffer16x16ToBits, packed in hashbench's order: pdqhash's 256-bit vector is bit
    ``255 - m`` of the hash at position ``m`` (most significant first), and bit ``k`` is
    ``B.flat[k] > median``."""
    flat = b.ravel()
    med = _torben(flat)
    for byte in range(32):
        v = 0
        for p in range(8):
            v = (v << 1) | (1 if flat[255 - (8 * byte + p)] > med else 0)
        code[byte] = v


@njit(nogil=True, cache=True)
def _dihedral(a, which):
    """dct16OriginalTo*: variant ``which`` (1..7 in pdqhash's order) of the 16x16 DCT output."""
    b = np.empty((16, 16), dtype=np.float32)
    for i in range(16):
        for j in range(16):
            v = a[i, j]
            if which == 1:  # rotate 90
                b[j, i] = v if (j & 1) else -v
            elif which == 2:  # rotate 180
                b[i, j] = -v if ((i + j) & 1) else v
            elif which == 3:  # rotate 270
                b[j, i] = v if (i & 1) else -v
            elif which == 4:  # flip x
                b[i, j] = v if (i & 1) else -v
            elif which == 5:  # flip y
                b[i, j] = v if (j & 1) else -v
            elif which == 6:  # flip plus 1
                b[j, i] = v
            else:  # flip minus 1
                b[j, i] = -v if ((i + j) & 1) else v
    return b


# --------------------------------------------------------------------------------------------
# entry points
# --------------------------------------------------------------------------------------------


@njit(nogil=True, cache=True)
def _pdq_hash(img, d, code):
    a = _downsample64(img, False, _LUTS)
    q = _quality(a)
    _bits_into(_dct64to16(a, d), code)
    return q


@njit(nogil=True, cache=True)
def _pdq_dihedral(img, d, codes):
    a = _downsample64(img, True, _LUTS)
    q = _quality(a)
    b = _dct64to16(a, d)
    _bits_into(b, codes[0])
    for v in range(1, 8):
        _bits_into(_dihedral(b, v), codes[v])
    return q


def _check(img: np.ndarray) -> np.ndarray:
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"PDQ needs (H, W, 3) uint8 pixels, got {img.shape} {img.dtype}")
    if img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError(f"PDQ needs a non-empty image, got {img.shape}")  # pdqhash: IndexError
    return img if img.flags.c_contiguous else np.ascontiguousarray(img)


def pdq_hash(img: np.ndarray) -> tuple[np.ndarray, int]:
    """``pdqhash.compute`` of an (H, W, 3) uint8 array: the packed 32-byte code (the 256 bits of
    pdqhash's vector, most significant first) and the quality 0-100."""
    img = _check(img)
    code = np.zeros(32, dtype=np.uint8)
    if img.shape[0] < MIN_HASHABLE_DIM or img.shape[1] < MIN_HASHABLE_DIM:
        return code, 0
    return code, int(_pdq_hash(img, _DCT, code))


def pdq_dihedral(img: np.ndarray) -> tuple[np.ndarray, int]:
    """``pdqhash.compute_dihedral``: (8, 32) packed codes in pdqhash's variant order, and quality."""
    img = _check(img)
    codes = np.zeros((8, 32), dtype=np.uint8)
    if img.shape[0] < MIN_HASHABLE_DIM or img.shape[1] < MIN_HASHABLE_DIM:
        return codes, 0
    return codes, int(_pdq_dihedral(img, _DCT, codes))
