"""numba kernels of PDQ, bit-identical to ``pdqhash`` 0.2.8 and linear in the number of pixels.

``pdqhash`` wraps Meta's C++ core: luma in float64 by numpy then rounded to float32, two passes of
a Jarosz tent filter (box along rows, box along columns, twice) over two full-size float buffers,
decimation to 64x64, a 16x64 / 16x16 DCT, Torben's median and a gradient quality. Its box filter
already keeps a running sum, but the column passes walk the image one column at a time with a
stride of a whole row, so every add misses the cache once images outgrow it: that, not the
window, is why its cost grows faster than the pixel count.

The kernels here compute the *same floats in the same order* and differ only in which of them
they keep and in what order independent values are visited:

* **Rows stream.** Luma and the first row pass go row by row. The first column pass keeps one
  running sum per column and consumes rows in order, so each output row is ready as soon as its
  window has been read; it goes straight into the second row pass. Every column's sum sees the
  same adds and subtracts in the same order as the C++ loop down that column.
* **Only what decimation reads.** The decimation keeps 64 columns and 64 rows. The second row
  pass still runs its running sum along the whole row (the sum at column ``j`` carries the
  rounding of every add before it), but only the 64 kept columns are stored; the second column
  pass then runs over those 64 columns and stores only the 64 kept rows.
* **No reassociation.** No ``fastmath``: LLVM may neither reorder nor contract (FMA) float32
  operations, so ``s = s + a; s = s - b`` rounds twice, as in C++. Every constant that meets a
  float32 is itself float32 (``np.float32(100)``), so numba never promotes a step to float64
  where the C++ stays in float.

Memory is one float32 image (4 bytes per pixel) beside the uint8 input, against pdqhash's
float64 temporaries and two float32 images.
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

# --------------------------------------------------------------------------------------------
# luma and 1-D box filter
# --------------------------------------------------------------------------------------------


@njit(nogil=True, cache=True)
def _luma_row(img, i, out):
    """Row ``i`` of pdqhash's luma: ``(r * 0.299 + g * 0.587) + b * 0.114`` in float64, to float32.

    pdqhash computes it with numpy on the uint8 planes (Python floats are float64), not in the
    C++ core's float32; the two differ on some images, and pdqhash is the reference.
    """
    for j in range(img.shape[1]):
        y = float(img[i, j, 0]) * 0.299 + float(img[i, j, 1]) * 0.587 + float(img[i, j, 2]) * 0.114
        out[j] = np.float32(y)


@njit(nogil=True, cache=True)
def _box1d(src, dst, window):
    """downscaling.cpp's box1DFloat on contiguous vectors: the same four phases, same order."""
    n = src.shape[0]
    half = (window + 2) // 2
    p1 = half - 1
    p2 = window - half + 1
    p3 = n - window
    p4 = half - 1
    li = 0
    ri = 0
    oi = 0
    s = np.float32(0.0)
    cws = 0
    for _ in range(p1):
        s += src[ri]
        cws += 1
        ri += 1
    for _ in range(p2):
        s += src[ri]
        cws += 1
        dst[oi] = s / np.float32(cws)
        ri += 1
        oi += 1
    for _ in range(p3):
        s += src[ri]
        s -= src[li]
        dst[oi] = s / np.float32(cws)
        li += 1
        ri += 1
        oi += 1
    for _ in range(p4):
        s -= src[li]
        cws -= 1
        dst[oi] = s / np.float32(cws)
        li += 1
        oi += 1


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


@njit(nogil=True, cache=True)
def _emit_row(sums, cws, row, tmp, window_rows, cols, mid, oi):
    """Output row ``oi`` of the first column pass (``sums / cws``), then the second row pass on
    it, keeping only the decimated columns in ``mid[oi]``."""
    w = np.float32(cws)
    for j in range(sums.shape[0]):
        row[j] = sums[j] / w
    _box1d(row, tmp, window_rows)
    for k in range(64):
        mid[oi, k] = tmp[cols[k]]


@njit(nogil=True, cache=True)
def _first_passes(img, window_rows, window_cols, cols):
    """Luma, row pass 1, column pass 1 and row pass 2 of jaroszFilterFloat; returns the (H, 64)
    result of row pass 2 at the decimated columns.

    Column pass 1 is box1DFloat down every column at once: ``sums[j]`` is column ``j``'s running
    sum, fed by rows in the order the C++ feeds that column's elements.
    """
    h, w = img.shape[0], img.shape[1]
    buf = np.empty((h, w), dtype=np.float32)
    lum = np.empty(w, dtype=np.float32)
    for i in range(h):
        _luma_row(img, i, lum)
        _box1d(lum, buf[i], window_rows)
    mid = np.empty((h, 64), dtype=np.float32)
    sums = np.zeros(w, dtype=np.float32)
    row = np.empty(w, dtype=np.float32)
    tmp = np.empty(w, dtype=np.float32)
    half = (window_cols + 2) // 2
    li = 0
    ri = 0
    oi = 0
    cws = 0
    for _ in range(half - 1):
        for j in range(w):
            sums[j] += buf[ri, j]
        cws += 1
        ri += 1
    for _ in range(window_cols - half + 1):
        for j in range(w):
            sums[j] += buf[ri, j]
        cws += 1
        _emit_row(sums, cws, row, tmp, window_rows, cols, mid, oi)
        ri += 1
        oi += 1
    for _ in range(h - window_cols):
        for j in range(w):
            sums[j] += buf[ri, j]
            sums[j] -= buf[li, j]
        _emit_row(sums, cws, row, tmp, window_rows, cols, mid, oi)
        li += 1
        ri += 1
        oi += 1
    for _ in range(half - 1):
        for j in range(w):
            sums[j] -= buf[li, j]
        cws -= 1
        _emit_row(sums, cws, row, tmp, window_rows, cols, mid, oi)
        li += 1
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
def _downsample64(img, blur_64):
    """pdqFloat256FromFloatLuma's 64x64 buffer. A 64x64 input is copied unfiltered unless
    ``blur_64`` (the dihedral entry point of the C++ has no such shortcut)."""
    h, w = img.shape[0], img.shape[1]
    if h == 64 and w == 64 and not blur_64:
        out = np.empty((64, 64), dtype=np.float32)
        for i in range(64):
            _luma_row(img, i, out[i])
        return out
    window_rows = (w + 127) // 128  # computeJaroszFilterWindowSize(numCols, 64)
    window_cols = (h + 127) // 128
    mid = _first_passes(img, window_rows, window_cols, _decimation_indices(w))
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
    a = _downsample64(img, False)
    q = _quality(a)
    _bits_into(_dct64to16(a, d), code)
    return q


@njit(nogil=True, cache=True)
def _pdq_dihedral(img, d, codes):
    a = _downsample64(img, True)
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
