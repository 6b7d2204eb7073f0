"""numba kernels of the evaluator (numba only; no Python objects, no I/O).

The one hot loop here is the exact impostor histogram: the Hamming distance of every pair of
distinct codes, counted per distance. At 1.5e11 pairs (what bounding a rate at 1 in 50 billion
needs) nothing but a streaming kernel will do. How it is built, and why:

* **Column-major words.** ``cols[w, j]`` is 64-bit word ``w`` of code ``j``. The inner loop over
  ``j`` then reads ``nwords`` contiguous streams, which LLVM vectorizes (AVX-512 ``vpopcntq``
  where the CPU has it, ``vpshufb`` nibble tables on AVX2). The words of the fixed code ``i``
  are held in locals (specialised for 1, 2 and 4 words; a generic path covers any other width).
* **Two phases.** Incrementing a histogram bin cannot be vectorized (two lanes may hit the same
  bin), and a loop that contains the increment is not vectorized at all. So the distances of a
  row (or two) of a tile are first computed in a branch-free vector loop into a small scratch
  buffer, then a scalar loop does the increments. The scalar loop sits in the kernel itself,
  where numba knows the scratch buffer and the table (both allocated there) do not alias.
* **Half the increments.** The scalar increment is the bottleneck (about one per cycle). The
  vector phase takes two rows ``i`` and ``i + 1`` against the same columns (each column word
  loaded once serves both) and writes one index ``d(i, j) * (nbits + 1) + d(i + 1, j)`` per
  column; the scalar phase then makes one increment in a 2-D histogram per *two* pairs. (On
  diagonal tiles, where rows differ in length, one row pairs its first half of columns with
  its second.) The 1-D histogram is recovered at the end as the row sums plus the column sums
  of the 2-D one. The 2-D table has ``(nbits + 1)**2`` cells per thread, counted in int32
  (264 KB at 256 bits) and folded into int64 long before a cell could overflow; random and
  near-duplicate codes touch only a narrow band of it, which stays in L1.
* **Tiles and balanced threads.** Pairs ``i < j`` are cut into square tiles of ``block`` codes
  (upper triangle, diagonal tiles included), so one tile's columns stay in L1 while all of its
  rows pass over them. Tiles are numbered row-major and found from their number (no list of
  tiles, which would grow as N**2); the numbers are cut into one contiguous run per thread *by
  pair count* (diagonal and edge tiles hold fewer pairs), so every thread does the same work.
  Each thread owns a private 2-D histogram, summed once at the end. Memory is independent of N.

Numba note: every loop index here starts at 0 (``range(m)`` over slices). A loop over
``range(j0, j1)`` with a runtime ``j0`` makes numba emit negative-index wraparound code, which
LLVM turns into gathers: that measured 8x slower here.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..popcount import popcount64

# --------------------------------------------------------------------------------------------
# phase 1: one row against a run of columns -> pair indices d1 * stride + d2 (vectorized)
# --------------------------------------------------------------------------------------------


@njit(nogil=True, cache=True)
def _row_pair_index(a_cols, i, b_cols, js, half, stride, idx, dist):  # type: ignore[no-untyped-def]
    """Write ``idx[k] = d(i, js + k) * stride + d(i, js + half + k)`` for ``k < half``.

    ``a_cols`` holds code ``i``; ``b_cols`` the columns. ``dist`` is int32 scratch of at least
    ``2 * half`` used only by the generic (any word count) path. ``idx`` is uint32: numba
    indexes with an unsigned integer without the negative-index wraparound it adds for signed
    ones (four more instructions per increment in the scalar phase).
    """
    nw = a_cols.shape[0]
    lo = js
    mid = js + half
    hi = js + 2 * half
    if nw == 4:
        a0 = a_cols[0, i]
        a1 = a_cols[1, i]
        a2 = a_cols[2, i]
        a3 = a_cols[3, i]
        b0 = b_cols[0, lo:mid]
        b1 = b_cols[1, lo:mid]
        b2 = b_cols[2, lo:mid]
        b3 = b_cols[3, lo:mid]
        c0 = b_cols[0, mid:hi]
        c1 = b_cols[1, mid:hi]
        c2 = b_cols[2, mid:hi]
        c3 = b_cols[3, mid:hi]
        for k in range(half):
            d1 = popcount64(a0 ^ b0[k]) + popcount64(a1 ^ b1[k]) + popcount64(a2 ^ b2[k]) + popcount64(a3 ^ b3[k])
            d2 = popcount64(a0 ^ c0[k]) + popcount64(a1 ^ c1[k]) + popcount64(a2 ^ c2[k]) + popcount64(a3 ^ c3[k])
            idx[k] = np.uint32(d1 * stride + d2)
    elif nw == 1:
        a0 = a_cols[0, i]
        b0 = b_cols[0, lo:mid]
        c0 = b_cols[0, mid:hi]
        for k in range(half):
            idx[k] = np.uint32(popcount64(a0 ^ b0[k]) * stride + popcount64(a0 ^ c0[k]))
    elif nw == 2:
        a0 = a_cols[0, i]
        a1 = a_cols[1, i]
        b0 = b_cols[0, lo:mid]
        b1 = b_cols[1, lo:mid]
        c0 = b_cols[0, mid:hi]
        c1 = b_cols[1, mid:hi]
        for k in range(half):
            d1 = popcount64(a0 ^ b0[k]) + popcount64(a1 ^ b1[k])
            d2 = popcount64(a0 ^ c0[k]) + popcount64(a1 ^ c1[k])
            idx[k] = np.uint32(d1 * stride + d2)
    else:
        m = 2 * half
        d = dist[:m]
        for k in range(m):
            d[k] = 0
        for w in range(nw):
            aw = a_cols[w, i]
            bw = b_cols[w, lo:hi]
            for k in range(m):
                d[k] += np.int32(popcount64(aw ^ bw[k]))
        d_lo = dist[:half]
        d_hi = dist[half:m]
        for k in range(half):
            idx[k] = np.uint32(d_lo[k] * stride + d_hi[k])


@njit(nogil=True, cache=True)
def _two_rows_pair_index(a_cols, i, b_cols, j0, m, stride, idx, dist):  # type: ignore[no-untyped-def]
    """Write ``idx[k] = d(i, j0 + k) * stride + d(i + 1, j0 + k)`` for ``k < m``.

    Two rows against the same columns: each column word loaded serves two distances, which
    measured about 40% faster than pairing the two halves of one row. ``dist`` is int32 scratch
    of at least ``2 * m``, used only by the generic (any word count) path.
    """
    nw = a_cols.shape[0]
    j1 = j0 + m
    if nw == 4:
        a0 = a_cols[0, i]
        a1 = a_cols[1, i]
        a2 = a_cols[2, i]
        a3 = a_cols[3, i]
        e0 = a_cols[0, i + 1]
        e1 = a_cols[1, i + 1]
        e2 = a_cols[2, i + 1]
        e3 = a_cols[3, i + 1]
        b0 = b_cols[0, j0:j1]
        b1 = b_cols[1, j0:j1]
        b2 = b_cols[2, j0:j1]
        b3 = b_cols[3, j0:j1]
        for k in range(m):
            x0 = b0[k]
            x1 = b1[k]
            x2 = b2[k]
            x3 = b3[k]
            d1 = popcount64(a0 ^ x0) + popcount64(a1 ^ x1) + popcount64(a2 ^ x2) + popcount64(a3 ^ x3)
            d2 = popcount64(e0 ^ x0) + popcount64(e1 ^ x1) + popcount64(e2 ^ x2) + popcount64(e3 ^ x3)
            idx[k] = np.uint32(d1 * stride + d2)
    elif nw == 1:
        a0 = a_cols[0, i]
        e0 = a_cols[0, i + 1]
        b0 = b_cols[0, j0:j1]
        for k in range(m):
            x0 = b0[k]
            idx[k] = np.uint32(popcount64(a0 ^ x0) * stride + popcount64(e0 ^ x0))
    elif nw == 2:
        a0 = a_cols[0, i]
        a1 = a_cols[1, i]
        e0 = a_cols[0, i + 1]
        e1 = a_cols[1, i + 1]
        b0 = b_cols[0, j0:j1]
        b1 = b_cols[1, j0:j1]
        for k in range(m):
            x0 = b0[k]
            x1 = b1[k]
            d1 = popcount64(a0 ^ x0) + popcount64(a1 ^ x1)
            d2 = popcount64(e0 ^ x0) + popcount64(e1 ^ x1)
            idx[k] = np.uint32(d1 * stride + d2)
    else:
        d_a = dist[:m]
        d_e = dist[m : 2 * m]
        for k in range(m):
            d_a[k] = 0
            d_e[k] = 0
        for w in range(nw):
            aw = a_cols[w, i]
            ew = a_cols[w, i + 1]
            bw = b_cols[w, j0:j1]
            for k in range(m):
                d_a[k] += np.int32(popcount64(aw ^ bw[k]))
                d_e[k] += np.int32(popcount64(ew ^ bw[k]))
        for k in range(m):
            idx[k] = np.uint32(d_a[k] * stride + d_e[k])


@njit(nogil=True, cache=True)
def _distance(a_cols, i, b_cols, j):  # type: ignore[no-untyped-def]
    """Hamming distance between code ``i`` of ``a_cols`` and code ``j`` of ``b_cols``."""
    d = 0
    for w in range(a_cols.shape[0]):
        d += popcount64(a_cols[w, i] ^ b_cols[w, j])
    return d


# --------------------------------------------------------------------------------------------
# work split: tiles and equal-work runs per thread
# --------------------------------------------------------------------------------------------


@njit(nogil=True, cache=True)
def _tile_count(n_a, n_b, block, triangle):  # type: ignore[no-untyped-def]
    """Number of tiles. Tiles are numbered row-major: ``(row_block, col_block)``.

    With ``triangle`` (one set against itself, ``n_a == n_b``) only tiles with
    ``col_block >= row_block`` exist and a diagonal tile holds only pairs ``i < j``. No list of
    tiles is ever built (it would grow as N**2): a tile is found from its number.
    """
    nbi = (n_a + block - 1) // block
    nbj = (n_b + block - 1) // block
    return nbi * (nbj + 1) // 2 if triangle else nbi * nbj


@njit(nogil=True, cache=True)
def _tile_at(t, n_b, block, triangle):  # type: ignore[no-untyped-def]
    """``(row_block, col_block)`` of tile number ``t`` (walks the rows: O(N / block))."""
    nbj = (n_b + block - 1) // block
    bi = 0
    while True:
        in_row = nbj - bi if triangle else nbj
        if t < in_row:
            return bi, (bi if triangle else 0) + t
        t -= in_row
        bi += 1


@njit(nogil=True, cache=True)
def _next_tile(bi, bj, n_b, block, triangle):  # type: ignore[no-untyped-def]
    nbj = (n_b + block - 1) // block
    bj += 1
    if bj == nbj:
        bi += 1
        bj = bi if triangle else 0
    return bi, bj


@njit(nogil=True, cache=True)
def _tile_weight(bi, bj, n_a, n_b, block, triangle):  # type: ignore[no-untyped-def]
    """Pairs in tile ``(bi, bj)``."""
    rows = min(block, n_a - bi * block)
    if triangle and bi == bj:
        return rows * (rows - 1) // 2
    return rows * min(block, n_b - bj * block)


@njit(nogil=True, cache=True)
def _split_tiles(n_a, n_b, block, triangle, t0, t1, parts):  # type: ignore[no-untyped-def]
    """Tile numbers ``b`` (``parts + 1``) cutting tiles ``t0 .. t1-1`` into runs of equal pairs.

    Diagonal and edge tiles hold fewer pairs than the others, so equal *pair* counts, not equal
    tile counts, give every thread the same work. Two passes over the tiles, O(1) memory.
    """
    bounds = np.empty(parts + 1, np.int64)
    total = 0
    if t1 > t0:
        bi, bj = _tile_at(t0, n_b, block, triangle)
        for _ in range(t0, t1):
            total += _tile_weight(bi, bj, n_a, n_b, block, triangle)
            bi, bj = _next_tile(bi, bj, n_b, block, triangle)
    bounds[0] = t0
    t = t0
    acc = 0
    if t1 > t0:
        bi, bj = _tile_at(t0, n_b, block, triangle)
        for p in range(1, parts):
            target = total * p // parts
            while t < t1:
                w = _tile_weight(bi, bj, n_a, n_b, block, triangle)
                if acc + w > target:
                    break
                acc += w
                t += 1
                bi, bj = _next_tile(bi, bj, n_b, block, triangle)
            bounds[p] = t
    else:
        for p in range(1, parts):
            bounds[p] = t0
    bounds[parts] = t1
    return bounds


# --------------------------------------------------------------------------------------------
# per-image match counts (only when thresholds are asked for)
# --------------------------------------------------------------------------------------------


#: Largest ``nbits + 1`` whose pair indices :func:`_split_index` splits without a correction.
FAST_SPLIT_STRIDE = 1025


@njit(nogil=True, cache=True, inline="always")
def _split_index(x, stride, inv, corrected):  # type: ignore[no-untyped-def]
    """``(d1, d2)`` of a pair index ``x = d1 * stride + d2`` (all int32) without a division.

    x86 has no vector integer division. ``(x + 0.5) / stride`` lies between ``d1 + 0.5 /
    stride`` and ``d1 + 1 - 0.5 / stride``, so truncating it gives ``d1`` as long as the
    product's rounding error stays below ``0.5 / stride``: in float32 (8 lanes on AVX2, ``inv =
    1 / stride``) the error is at most ``stride * 2**-22``, within that up to
    :data:`FAST_SPLIT_STRIDE`. Longer codes (``corrected``) can be off by one (the error is
    still below 1), which a branch-free select on the remainder fixes. Every step is cast back
    to int32: numba widens int32 arithmetic to int64, which halves the lanes.
    """
    d1 = np.int32((np.float32(x) + np.float32(0.5)) * inv)
    d2 = np.int32(x - np.int32(d1 * stride))
    if corrected:
        under = np.int32(d2 < 0)
        d1 = np.int32(d1 - under)
        d2 = np.int32(d2 + np.int32(under * stride))
        over = np.int32(d2 >= stride)
        d1 = np.int32(d1 + over)
        d2 = np.int32(d2 - np.int32(over * stride))
    return d1, d2


@njit(nogil=True, cache=True, inline="always")
def _matches(x, stride, inv, lim, corrected):  # type: ignore[no-untyped-def]
    """``(d1 <= lim, d2 <= lim)`` as int32 for a pair index ``x = d1 * stride + d2``.

    Up to :data:`FAST_SPLIT_STRIDE` (not ``corrected``) no integer is rebuilt: ``f = (x + 0.5)
    / stride`` in float32 has ``floor(f) = d1`` and ``f - floor(f)`` (exact) within ``0.5 /
    stride`` of ``(d2 + 0.5) / stride``, so ``d2 <= lim`` is ``f - floor(f) < (lim + 1) /
    stride`` (the two sides differ by at least ``0.5 / stride``, more than the rounding error):
    fewer instructions than :func:`_split_index`, which longer codes use.
    """
    if corrected:
        d1, d2 = _split_index(x, stride, inv, True)
        return np.int32(d1 <= lim), np.int32(d2 <= lim)
    f = (np.float32(x) + np.float32(0.5)) * inv
    fl = np.floor(f)
    return np.int32(fl <= np.float32(lim)), np.int32((f - fl) < np.float32(lim + 1) * inv)


@njit(nogil=True, cache=True)
def _count_two_rows(idx, m, stride, thr, cp, i, c0):  # type: ignore[no-untyped-def]
    """Per-image counts of ``idx[k] = d(i, j_k) * stride + d(i + 1, j_k)``, ``k < m``: rows
    ``i`` and ``i + 1`` get their matches, column image ``c0 + k`` its one or two.

    A separate, branch-free pass over ``idx`` in int32 (8 lanes; about a tenth of a nanosecond
    a pair): folding it into the increment loop would keep that loop scalar and slow the
    histogram for everyone. ``idx`` is read as int32 (its values are below ``2**23``): numba
    converts uint32 to float through int64, which does not vectorize.
    """
    ix = idx.view(np.int32)
    s32 = np.int32(stride)
    inv = np.float32(1.0) / np.float32(stride)
    if stride <= FAST_SPLIT_STRIDE:  # a loop-invariant flag: LLVM unswitches the loop on it
        return _count_two_rows_as(ix, m, s32, inv, False, thr, cp, i, c0)
    return _count_two_rows_as(ix, m, s32, inv, True, thr, cp, i, c0)


@njit(nogil=True, cache=True)
def _count_two_rows_as(ix, m, s32, inv, corrected, thr, cp, i, c0):  # type: ignore[no-untyped-def]
    """:func:`_count_two_rows`'s loops (``corrected``: see :func:`_split_index`); returns the
    number of matches found, summed over the thresholds (0: nothing to list)."""
    found = 0
    for q in range(thr.shape[0]):
        lim = thr[q]
        row = cp[q]
        col = row[c0 : c0 + m]
        sa = np.int32(0)
        sb = np.int32(0)
        for k in range(m):
            a, b = _matches(ix[k], s32, inv, lim, corrected)
            sa = np.int32(sa + a)
            sb = np.int32(sb + b)
            col[k] += np.int32(a + b)
        row[i] += sa
        row[i + 1] += sb
        found += sa + sb
    return found


@njit(nogil=True, cache=True)
def _count_row_halves(idx, half, stride, thr, cp, i, c0):  # type: ignore[no-untyped-def]
    """Per-image counts of ``idx[k] = d(i, j_k) * stride + d(i, j_{half + k})`` with ``j_k``
    the column image ``c0 + k``: row ``i`` gets every match, each column its own (int32, as
    :func:`_count_two_rows`)."""
    ix = idx.view(np.int32)
    s32 = np.int32(stride)
    inv = np.float32(1.0) / np.float32(stride)
    if stride <= FAST_SPLIT_STRIDE:  # a loop-invariant flag: LLVM unswitches the loop on it
        return _count_row_halves_as(ix, half, s32, inv, False, thr, cp, i, c0)
    return _count_row_halves_as(ix, half, s32, inv, True, thr, cp, i, c0)


@njit(nogil=True, cache=True)
def _count_row_halves_as(ix, half, s32, inv, corrected, thr, cp, i, c0):  # type: ignore[no-untyped-def]
    """:func:`_count_row_halves`'s loops (``corrected``: see :func:`_split_index`); returns the
    number of matches found, summed over the thresholds."""
    found = 0
    for q in range(thr.shape[0]):
        lim = thr[q]
        row = cp[q]
        lo = row[c0 : c0 + half]
        hi = row[c0 + half : c0 + 2 * half]
        s = np.int32(0)
        for k in range(half):
            a, b = _matches(ix[k], s32, inv, lim, corrected)
            s = np.int32(s + np.int32(a + b))
            lo[k] += a
            hi[k] += b
        row[i] += s
        found += s
    return found


@njit(nogil=True, cache=True)
def _count_one(d, thr, cp, i, c):  # type: ignore[no-untyped-def]
    """Per-image counts of one pair ``(i, c)`` at distance ``d``."""
    for q in range(thr.shape[0]):
        if d <= thr[q]:
            cp[q, i] += 1
            cp[q, c] += 1


# --------------------------------------------------------------------------------------------
# pair listing: the pairs within the thresholds, smallest first, in a bounded buffer
# --------------------------------------------------------------------------------------------


@njit(nogil=True, cache=True)
def pair_key(d, a, b, n_key):  # type: ignore[no-untyped-def]
    """One int64 that sorts pairs by (distance, image a, image b): ``(d * n + a) * n + b``.

    Keeping the smallest keys makes the listed pairs the same whatever the thread count or
    tiling (which pairs a thread meets first depends on both)."""
    return (np.int64(d) * n_key + a) * n_key + b


@njit(nogil=True, cache=True)
def _list_pair(d, a, b, thr, keys, fill, n_key):  # type: ignore[no-untyped-def]
    """Add pair ``(a, b)`` at distance ``d`` to the buffer of every threshold it is within.

    ``keys[q]`` holds ``2 * cap`` slots; when full it is sorted and cut to its ``cap`` smallest
    keys, so a thread keeps the ``cap`` smallest pairs it met at O(1) amortised cost per pair."""
    cap2 = keys.shape[1]
    for q in range(thr.shape[0]):
        if d <= thr[q]:
            f = fill[q]
            keys[q, f] = pair_key(d, a, b, n_key)
            f += 1
            if f == cap2:
                keys[q, :] = np.sort(keys[q, :])
                f = cap2 // 2
            fill[q] = f


@njit(nogil=True, cache=True)
def _group_pair(d, a, b, thr, groups, gc):  # type: ignore[no-untyped-def]
    """Add pair ``(a, b)`` at distance ``d`` to the per-image-by-group counts of every threshold
    it is within: ``gc[q, a, groups[b]]`` and ``gc[q, b, groups[a]]`` gain one."""
    for q in range(thr.shape[0]):
        if d <= thr[q]:
            gc[q, a, groups[b]] += 1
            gc[q, b, groups[a]] += 1


@njit(nogil=True, cache=True)
def _note_pair(d, a, b, thr, keys, fill, n_key, groups, gc):  # type: ignore[no-untyped-def]
    """What a match is kept for besides the histogram and per-image counts: the listing buffer
    (when ``keys`` has slots) and the per-image-by-group counts (when ``groups`` is not empty)."""
    if keys.shape[1] > 0:
        _list_pair(d, a, b, thr, keys, fill, n_key)
    if groups.shape[0] > 0:
        _group_pair(d, a, b, thr, groups, gc)


@njit(nogil=True, cache=True)
def _list_two_rows(idx, m, stride, thr, keys, fill, i, c0, n_key, groups, gc):  # type: ignore[no-untyped-def]
    """List (and count by group) the matches of :func:`_two_rows_pair_index`'s output (scalar:
    only called when the counting pass found one)."""
    for k in range(m):
        x = np.int64(idx[k])
        d1 = x // stride
        _note_pair(d1, i, c0 + k, thr, keys, fill, n_key, groups, gc)
        _note_pair(x - d1 * stride, i + 1, c0 + k, thr, keys, fill, n_key, groups, gc)


@njit(nogil=True, cache=True)
def _list_row_halves(idx, half, stride, thr, keys, fill, i, c0, n_key, groups, gc):  # type: ignore[no-untyped-def]
    """List (and count by group) the matches of :func:`_row_pair_index`'s output (scalar, as
    :func:`_list_two_rows`)."""
    for k in range(half):
        x = np.int64(idx[k])
        d1 = x // stride
        _note_pair(d1, i, c0 + k, thr, keys, fill, n_key, groups, gc)
        _note_pair(x - d1 * stride, i, c0 + half + k, thr, keys, fill, n_key, groups, gc)


def list_buffers(nthreads: int, nthr: int, cap: int, n_images: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Empty per-thread listing buffers for :func:`_accumulate_pair_histogram` (no slots when
    ``cap`` is 0 or there is no threshold: nothing is listed)."""
    if cap < 0:
        raise ValueError(f"max_listed must be >= 0, got {cap}")
    slots = 2 * cap if nthr else 0
    if slots and float(stride) * float(n_images) ** 2 >= 2.0**62:
        raise ValueError(f"cannot list pairs of {n_images} images of {stride - 1} bits (a pair key overflows)")
    return np.zeros((nthreads, nthr, slots), np.int64), np.zeros((nthreads, nthr), np.int64)


def merge_listed(keys: np.ndarray, fill: np.ndarray, cap: int) -> list[np.ndarray]:
    """Per threshold, the ``cap`` smallest keys over all threads, sorted: each thread kept at
    least its ``cap`` smallest, so these are the ``cap`` smallest of all."""
    out = []
    for q in range(keys.shape[1]):
        parts = [keys[p, q, : fill[p, q]] for p in range(keys.shape[0])]
        merged = np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)
        out.append(merged[:cap])
    return out


# --------------------------------------------------------------------------------------------
# the histogram kernels
# --------------------------------------------------------------------------------------------


# Pairs a thread may count into its int32 table before folding it into int64: a cell gets at
# most one increment per two pairs, so this keeps every cell below 2**31 with room to spare
# (a single tile holds at most block**2 pairs, so block must stay below 46,341).
FLUSH_PAIRS = 1 << 31


@njit(nogil=True, cache=True)
def _flush(counts32, counts64):  # type: ignore[no-untyped-def]
    for c in range(counts32.shape[0]):
        counts64[c] += counts32[c]
        counts32[c] = 0


@njit(parallel=True, nogil=True, cache=True)
def _accumulate_pair_histogram(
    a_cols, b_cols, block, triangle, t0, t1, hist2, hist1, flush_pairs, thr, counts, keys, fill, groups, gcounts
):  # type: ignore[no-untyped-def]
    """Add the pairs of tiles ``t0 .. t1-1`` to the per-thread histograms; return their number.

    ``triangle``: ``a_cols is b_cols`` and only pairs ``i < j`` count; otherwise every
    ``(i, j)`` of ``a x b`` counts. ``hist2`` is ``(nthreads, stride * stride)`` and ``hist1``
    ``(nthreads, stride)`` int64 with ``stride = nbits + 1``; the thread count is their first
    axis (a kernel that asks numba for it cannot be cached). The caller may call this once per
    run of tiles (for a progress bar) and fold the histograms once at the end.

    Each thread increments an int32 copy of its 2-D table and folds it into ``hist2`` every
    ``flush_pairs`` pairs (:data:`FLUSH_PAIRS`; smaller in tests): the band of cells random
    codes touch then takes half the cache lines, which measured almost twice the increments
    per second at 256 bits (the int64 band spilled out of L1).

    Per-image match counts: for each threshold ``thr[q]`` (int32, usually one or none),
    ``counts[p, q, r]`` gains, in thread ``p``, one for every counted pair at distance
    ``<= thr[q]`` that image ``r`` is in (``r`` is the row of ``a``; a column ``j`` of ``b`` is
    image ``j`` when ``triangle``, else ``n_a + j``). ``counts`` is int32 ``(nthreads,
    len(thr), n_images)``; the caller sums its first axis (no atomics). With no threshold the
    counting is skipped outright. int32 counts (8 vector lanes): an image is in fewer than
    ``2**31`` pairs.

    Pair listing (with thresholds, when ``keys`` has slots): thread ``p`` keeps in ``keys[p, q,
    :fill[p, q]]`` the smallest :func:`pair_key` of the pairs within ``thr[q]`` it met (at least
    the ``keys.shape[2] // 2`` smallest, or all of them); images are numbered as for the counts.
    The counting pass already says how many matches a run of columns holds, so a run without
    one (nearly all of them when matches are rare) costs nothing more; only a run with a match is
    scanned again, in scalar code. ``keys`` is int64 ``(nthreads, len(thr), 2 * cap)``, ``fill``
    int64 ``(nthreads, len(thr))``.

    Per-image-by-group counts (with thresholds, when ``groups`` is not empty): ``groups[r]`` is
    image ``r``'s group code (int64, ``0 .. G-1``, images numbered as for the counts) and thread
    ``p`` adds to ``gcounts[p, q, r, h]`` one for every pair within ``thr[q]`` of image ``r``
    with an image of group ``h``, so ``gcounts[:, q].sum(axis=(0, 2))`` is ``counts``' row.
    Found by the same scalar rescan as the listing, so it too costs nothing where there is no
    match. ``gcounts`` is int64 ``(nthreads, len(thr), n_images, G)``: 26 MB a thread at
    550,000 images, 6 groups and one threshold (``(nthreads, len(thr), 0, 0)`` without groups).
    """
    n_a = a_cols.shape[1]
    n_b = b_cols.shape[1]
    nthreads = hist2.shape[0]
    stride = hist1.shape[1]
    bounds = _split_tiles(n_a, n_b, block, triangle, t0, t1, nthreads)
    counted = np.zeros(nthreads, np.int64)
    per_image = thr.shape[0] > 0
    noting = per_image and (keys.shape[2] > 0 or groups.shape[0] > 0)  # a match is noted besides its counts
    off = 0 if triangle else n_a
    n_key = n_a if triangle else n_a + n_b
    for p in prange(nthreads):
        h64 = hist2[p]
        h1 = hist1[p]
        cp = counts[p]
        kp = keys[p]
        fp = fill[p]
        gp = gcounts[p]
        h32 = np.zeros(stride * stride, np.int32)
        idx = np.empty(block, np.uint32)  # unsigned: no negative-index wraparound per increment
        dist = np.empty(2 * block, np.int32)
        pending = 0
        if bounds[p + 1] > bounds[p]:
            bi, bj = _tile_at(bounds[p], n_b, block, triangle)
            for _ in range(bounds[p], bounds[p + 1]):
                w = _tile_weight(bi, bj, n_a, n_b, block, triangle)
                if pending + w > flush_pairs:
                    _flush(h32, h64)
                    pending = 0
                pending += w
                counted[p] += w
                i0 = bi * block
                i1 = min(i0 + block, n_a)
                j0 = bj * block
                j1 = min(j0 + block, n_b)
                # The increment loops stay here, not in a helper: LLVM then knows that ``h32``
                # and ``idx`` (both allocated here) do not alias, and keeps the loads of ``idx``
                # ahead of the stores to ``h32``; in a helper that measured 25% slower.
                if triangle and bi == bj:  # rows of different lengths: one row at a time
                    for i in range(i0, i1):
                        half = (j1 - i - 1) // 2
                        if half > 0:
                            _row_pair_index(a_cols, i, b_cols, i + 1, half, stride, idx, dist)
                            for k in range(half):
                                h32[idx[k]] += 1
                            if per_image and _count_row_halves(idx, half, stride, thr, cp, i, off + i + 1) and noting:
                                _list_row_halves(idx, half, stride, thr, kp, fp, i, off + i + 1, n_key, groups, gp)
                        if (j1 - i - 1) & 1:
                            d = _distance(a_cols, i, b_cols, j1 - 1)
                            h1[d] += 1
                            if per_image:
                                _count_one(d, thr, cp, i, off + j1 - 1)
                                if noting:
                                    _note_pair(d, i, off + j1 - 1, thr, kp, fp, n_key, groups, gp)
                else:
                    m = j1 - j0
                    for i in range(i0, i1 - 1, 2):
                        _two_rows_pair_index(a_cols, i, b_cols, j0, m, stride, idx, dist)
                        for k in range(m):
                            h32[idx[k]] += 1
                        if per_image and _count_two_rows(idx, m, stride, thr, cp, i, off + j0) and noting:
                            _list_two_rows(idx, m, stride, thr, kp, fp, i, off + j0, n_key, groups, gp)
                    if (i1 - i0) & 1:  # the last row alone: its two halves of columns paired
                        i = i1 - 1
                        half = m // 2
                        if half > 0:
                            _row_pair_index(a_cols, i, b_cols, j0, half, stride, idx, dist)
                            for k in range(half):
                                h32[idx[k]] += 1
                            if per_image and _count_row_halves(idx, half, stride, thr, cp, i, off + j0) and noting:
                                _list_row_halves(idx, half, stride, thr, kp, fp, i, off + j0, n_key, groups, gp)
                        if m & 1:
                            d = _distance(a_cols, i, b_cols, j1 - 1)
                            h1[d] += 1
                            if per_image:
                                _count_one(d, thr, cp, i, off + j1 - 1)
                                if noting:
                                    _note_pair(d, i, off + j1 - 1, thr, kp, fp, n_key, groups, gp)
                bi, bj = _next_tile(bi, bj, n_b, block, triangle)
        _flush(h32, h64)
    return counted.sum()


@njit(nogil=True, cache=True)
def _fold_pair_histogram(hist2, hist1):  # type: ignore[no-untyped-def]
    """The 1-D histogram: every 2-D cell ``(d1, d2)`` counts once at ``d1`` and once at ``d2``."""
    nthreads, stride = hist1.shape
    out = np.zeros(stride, np.int64)
    for p in range(nthreads):
        h2p = hist2[p]
        for d1 in range(stride):
            row = h2p[d1 * stride : (d1 + 1) * stride]
            for d2 in range(stride):
                c = row[d2]
                out[d1] += c
                out[d2] += c
        for d in range(stride):
            out[d] += hist1[p, d]
    return out


# --------------------------------------------------------------------------------------------
# row-wise distances (genuine pairs)
# --------------------------------------------------------------------------------------------


@njit(parallel=True, nogil=True, cache=True)
def _rowwise_distances(a_words, b_words):  # type: ignore[no-untyped-def]
    """``d[r] = hamming(a[r], b[r])`` for row-major ``(n, nwords)`` word arrays."""
    n, nw = a_words.shape
    out = np.empty(n, np.int32)
    for r in prange(n):
        d = 0
        for w in range(nw):
            d += popcount64(a_words[r, w] ^ b_words[r, w])
        out[r] = d
    return out


@njit(parallel=True, nogil=True, cache=True)
def _min_distance_over_variants(variant_words, words):  # type: ignore[no-untyped-def]
    """``d[r] = min_v hamming(variants[r, v], codes[r])`` for ``(n, v, nwords)`` / ``(n, nwords)``."""
    n, nv, nw = variant_words.shape
    out = np.empty(n, np.int32)
    for r in prange(n):
        best = 1 << 30
        for v in range(nv):
            d = 0
            for w in range(nw):
                d += popcount64(variant_words[r, v, w] ^ words[r, w])
            if d < best:
                best = d
        out[r] = best
    return out
