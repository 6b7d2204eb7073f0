"""numba kernels of the Hamming index (numba only; no Python objects, no I/O).

Why the shapes are what they are:

* The flat scan keeps the database **column-major**: ``cols[w, j]`` is word ``w`` of code ``j``.
  A chunk of codes then reads ``nwords`` contiguous streams, which LLVM vectorizes with
  AVX-512 ``vpopcntq`` (8 codes per instruction) where the CPU has it; row-major codes measured
  about 8x slower here because the vectorizer has to transpose.
* Work is tiled: a block of queries meets a tile of the database that fits in L2, so the
  database is streamed from memory once per query block, not once per query.
* Variable-length outputs (range search) go to a fixed-capacity slot per work item; an item
  whose matches do not fit reports its true count and is run again with an exact slot. This
  keeps the common case (few matches) to a single pass.
* Multi-index hashing keeps one direct-addressed table per substring: ``offsets``
  (2**s + 1 entries) and, sorted by substring value (a counting sort), the ``ids`` and two
  words of each code (column-major "fragments"), so rejecting a bucket is one contiguous,
  vectorized read of 16 bytes per entry; only the rare survivors read the full code.

All kernels use ``parallel=True`` where there is parallel work; numba's thread count
(``numba.get_num_threads()``) decides how many threads run.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..popcount import popcount64
from ._prefetch import prefetch1d, prefetch2d

# Distance sentinel larger than any Hamming distance handled here.
_BIG = np.int64(1) << np.int64(40)


# --------------------------------------------------------------------------------------------
# flat scan: one chunk of codes against one query
# --------------------------------------------------------------------------------------------


@njit(nogil=True, cache=True)
def _chunk_count_le(cols, j0, m, xq, qi, radius, buf):  # type: ignore[no-untyped-def]
    """Number of codes ``j0 .. j0+m-1`` within ``radius`` of query ``xq[qi]`` (no stores for
    1, 2 or 4 words; ``buf`` (>= m) is scratch for other widths).

    Indexes are unsigned and nothing is sliced: a signed ``cols[w, j0 + j]`` makes numba emit
    a negative-index check that blocks vectorization (measured 9x slower), and slicing inside a
    hot helper costs atomic reference-count updates on the shared array from every thread.
    """
    nw = cols.shape[0]
    c = 0
    u0 = np.uint64(j0)
    if nw == 4:
        a0 = xq[qi, 0]
        a1 = xq[qi, 1]
        a2 = xq[qi, 2]
        a3 = xq[qi, 3]
        for j in range(m):
            u = u0 + np.uint64(j)
            d = (
                popcount64(a0 ^ cols[0, u])
                + popcount64(a1 ^ cols[1, u])
                + popcount64(a2 ^ cols[2, u])
                + popcount64(a3 ^ cols[3, u])
            )
            c += d <= radius
    elif nw == 2:
        a0 = xq[qi, 0]
        a1 = xq[qi, 1]
        for j in range(m):
            u = u0 + np.uint64(j)
            d = popcount64(a0 ^ cols[0, u]) + popcount64(a1 ^ cols[1, u])
            c += d <= radius
    elif nw == 1:
        a0 = xq[qi, 0]
        for j in range(m):
            c += popcount64(a0 ^ cols[0, u0 + np.uint64(j)]) <= radius
    else:
        for j in range(m):
            buf[j] = 0
        for w in range(nw):
            aw = xq[qi, w]
            for j in range(m):
                buf[j] += popcount64(aw ^ cols[w, u0 + np.uint64(j)])
        for j in range(m):
            c += buf[j] <= radius
    return c


@njit(nogil=True, cache=True)
def _chunk_dist(cols, j0, m, xq, qi, buf):  # type: ignore[no-untyped-def]
    """Distances of codes ``j0 .. j0+m-1`` to query ``xq[qi]`` into ``buf[:m]``."""
    nw = cols.shape[0]
    u0 = np.uint64(j0)
    if nw == 4:
        a0 = xq[qi, 0]
        a1 = xq[qi, 1]
        a2 = xq[qi, 2]
        a3 = xq[qi, 3]
        for j in range(m):
            u = u0 + np.uint64(j)
            buf[j] = (
                popcount64(a0 ^ cols[0, u])
                + popcount64(a1 ^ cols[1, u])
                + popcount64(a2 ^ cols[2, u])
                + popcount64(a3 ^ cols[3, u])
            )
    else:
        for j in range(m):
            buf[j] = 0
        for w in range(nw):
            aw = xq[qi, w]
            for j in range(m):
                buf[j] += popcount64(aw ^ cols[w, u0 + np.uint64(j)])


# --------------------------------------------------------------------------------------------
# flat scan kernels
# --------------------------------------------------------------------------------------------


@njit(parallel=True, nogil=True, cache=True)
def flat_count(cols, n, xq, radius, qblock, tile):  # type: ignore[no-untyped-def]
    """Per query, the number of the first ``n`` codes within ``radius`` (inclusive)."""
    nq = xq.shape[0]
    counts = np.zeros(nq, np.int64)
    nqb = (nq + qblock - 1) // qblock
    for b in prange(nqb):
        buf = np.empty(tile, np.int64)
        q0 = b * qblock
        q1 = min(nq, q0 + qblock)
        for t0 in range(0, n, tile):
            m = min(n, t0 + tile) - t0
            for qi in range(q0, q1):
                counts[qi] += _chunk_count_le(cols, t0, m, xq, qi, radius, buf)
    return counts


@njit(parallel=True, nogil=True, cache=True)
def flat_range(  # type: ignore[no-untyped-def]
    cols,
    xq,
    radius,
    item_q0,
    item_q1,
    item_j0,
    item_j1,
    slot_start,
    slot_cap,
    tile,
    chunk,
    out_q,
    out_i,
    out_d,
    item_count,
):
    """Range search over work items (a query block x a database segment).

    Item ``it`` writes its matches ``(query, id, distance)`` into
    ``out_*[slot_start[it] : slot_start[it] + slot_cap[it]]`` in (tile, query, id) order,
    so each query's ids come out ascending within the item; ``item_count[it]`` receives the
    true number of matches even when it exceeds the slot (the caller then reruns the item).
    """
    nitems = item_q0.shape[0]
    for it in prange(nitems):
        buf = np.empty(chunk, np.int64)
        base = slot_start[it]
        cap = slot_cap[it]
        cnt = 0
        j1 = item_j1[it]
        for t0 in range(item_j0[it], j1, tile):
            t1 = min(j1, t0 + tile)
            for qi in range(item_q0[it], item_q1[it]):
                for c0 in range(t0, t1, chunk):
                    m = min(chunk, t1 - c0)
                    # count first (no stores, fastest loop); distances only where there are hits
                    if _chunk_count_le(cols, c0, m, xq, qi, radius, buf) > 0:
                        _chunk_dist(cols, c0, m, xq, qi, buf)
                        for j in range(m):
                            if buf[j] <= radius:
                                if cnt < cap:
                                    out_q[base + cnt] = qi
                                    out_i[base + cnt] = c0 + j
                                    out_d[base + cnt] = buf[j]
                                cnt += 1
        item_count[it] = cnt


@njit(nogil=True, cache=True)
def _topk_insert(topd, topi, filled, k, d, i):  # type: ignore[no-untyped-def]
    """Insert ``(d, i)`` into the (distance, id)-sorted first ``filled`` entries; new fill."""
    lo = 0
    hi = filled
    while lo < hi:
        mid = (lo + hi) >> 1
        if topd[mid] < d or (topd[mid] == d and topi[mid] < i):
            lo = mid + 1
        else:
            hi = mid
    last = filled if filled < k else k - 1
    for p in range(last, lo, -1):
        topd[p] = topd[p - 1]
        topi[p] = topi[p - 1]
    if lo < k:
        topd[lo] = d
        topi[lo] = i
    return filled + 1 if filled < k else k


@njit(parallel=True, nogil=True, cache=True)
def flat_knn(  # type: ignore[no-untyped-def]
    cols, xq, qids, k, item_q0, item_q1, item_j0, item_j1, item_seg, tile, chunk, topd, topi, fill
):
    """k nearest codes, ties broken by lower id, over work items.

    Query ``qids[p]`` (``p`` in ``item_q0[it] .. item_q1[it]``) keeps its per-segment list in
    ``topd[item_seg[it], p]`` / ``topi[...]``, sorted by (distance, id); ``fill`` counts entries.
    Within a segment ids are scanned ascending, so a later code enters only with a strictly
    smaller distance than the current k-th: that is the lower-id tie rule for free.
    """
    nitems = item_q0.shape[0]
    for it in prange(nitems):
        buf = np.empty(chunk, np.int64)
        s = item_seg[it]
        j1 = item_j1[it]
        for t0 in range(item_j0[it], j1, tile):
            t1 = min(j1, t0 + tile)
            for p in range(item_q0[it], item_q1[it]):
                qi = qids[p]
                td = topd[s, p]
                ti = topi[s, p]
                f = fill[s, p]
                for c0 in range(t0, t1, chunk):
                    m = min(chunk, t1 - c0)
                    limit = td[k - 1] if f == k else _BIG
                    if limit > _BIG - 1 or _chunk_count_le(cols, c0, m, xq, qi, limit - 1, buf) > 0:
                        _chunk_dist(cols, c0, m, xq, qi, buf)
                        for j in range(m):
                            limit = td[k - 1] if f == k else _BIG
                            if buf[j] < limit:
                                f = _topk_insert(td, ti, f, k, buf[j], c0 + j)
                fill[s, p] = f


@njit(parallel=True, nogil=True, cache=True)
def merge_topk(topd, topi, fill, k, D, I, pad_d):  # type: ignore[no-untyped-def]
    """Merge per-segment top-k lists (by distance, then id) into ``D``/``I``; pad the rest."""
    nseg = topd.shape[0]
    nq = topd.shape[1]
    for p in prange(nq):
        td = np.empty(k, np.int64)
        ti = np.empty(k, np.int64)
        f = 0
        for s in range(nseg):
            for e in range(fill[s, p]):
                d = topd[s, p, e]
                i = topi[s, p, e]
                if f < k or d < td[k - 1] or (d == td[k - 1] and i < ti[k - 1]):
                    f = _topk_insert(td, ti, f, k, d, i)
        for e in range(k):
            if e < f:
                D[p, e] = td[e]
                I[p, e] = ti[e]
            else:
                D[p, e] = pad_d
                I[p, e] = -1


# --------------------------------------------------------------------------------------------
# result assembly
# --------------------------------------------------------------------------------------------


@njit(nogil=True, cache=True)
def scatter_results(nq, slot_start, item_count, out_q, out_i, out_d):  # type: ignore[no-untyped-def]
    """Group item outputs by query, keeping their order (stable): ``(lims, D, I)``."""
    counts = np.zeros(nq + 1, np.int64)
    nitems = slot_start.shape[0]
    for it in range(nitems):
        b = slot_start[it]
        for e in range(item_count[it]):
            counts[out_q[b + e] + 1] += 1
    lims = np.cumsum(counts)
    D = np.empty(lims[nq], np.int32)
    I = np.empty(lims[nq], np.int64)
    pos = lims[:nq].copy()
    for it in range(nitems):
        b = slot_start[it]
        for e in range(item_count[it]):
            q = out_q[b + e]
            D[pos[q]] = out_d[b + e]
            I[pos[q]] = out_i[b + e]
            pos[q] += 1
    return lims, D, I


@njit(parallel=True, nogil=True, cache=True)
def merge_variants(lims, D, I, variants):  # type: ignore[no-untyped-def]
    """Per group of ``variants`` consecutive queries (each sorted by id), each id once with
    its smallest distance, sorted by id: ``(lims, D, I)`` of the groups."""
    ng = (lims.shape[0] - 1) // variants
    tmp_i = np.empty(I.shape[0], np.int64)
    tmp_d = np.empty(I.shape[0], np.int32)
    ucount = np.zeros(ng + 1, np.int64)
    for g in prange(ng):
        a = lims[g * variants]
        b = lims[(g + 1) * variants]
        if b == a:
            continue
        order = np.argsort(I[a:b], kind="mergesort")
        u = 0
        for e in range(b - a):
            i = I[a + order[e]]
            d = D[a + order[e]]
            if u > 0 and tmp_i[a + u - 1] == i:
                if d < tmp_d[a + u - 1]:
                    tmp_d[a + u - 1] = d
            else:
                tmp_i[a + u] = i
                tmp_d[a + u] = d
                u += 1
        ucount[g + 1] = u
    out_lims = np.cumsum(ucount)
    out_I = np.empty(out_lims[ng], np.int64)
    out_D = np.empty(out_lims[ng], np.int32)
    for g in prange(ng):
        a = lims[g * variants]
        o = out_lims[g]
        for e in range(out_lims[g + 1] - o):
            out_I[o + e] = tmp_i[a + e]
            out_D[o + e] = tmp_d[a + e]
    return out_lims, out_D, out_I


# --------------------------------------------------------------------------------------------
# multi-index hashing
# --------------------------------------------------------------------------------------------

#: Buckets prefetched ahead of the one being scanned, and cache lines prefetched per bucket
#: and fragment word (40 lines = 320 entries). Measured on 10M 256-bit codes, m = 16: range
#: search 1.55x faster than without prefetch; 4, 8 or 16 buckets ahead differ by < 3%.
PREFETCH_BUCKETS = 8
PREFETCH_LINES = 40
#: Entries rescanned at a time in a bucket that holds a fragment match.
RESCAN_BLOCK = 32
#: Candidates whose id, then code, are prefetched ahead of the one being read.
PREFETCH_CANDIDATES = 16


@njit(nogil=True, cache=True)
def _substring(words, bit0, nbits):  # type: ignore[no-untyped-def]
    """Bits ``bit0 .. bit0+nbits-1`` (nbits <= 32) of a word row, in word-bit order, as int64."""
    w = bit0 >> 6
    o = bit0 & 63
    v = words[w] >> np.uint64(o)
    if o + nbits > 64:
        v |= words[w + 1] << np.uint64(64 - o)
    return np.int64(v & np.uint64((1 << nbits) - 1))


@njit(parallel=True, nogil=True, cache=True)
def mih_build(words, n, sub_bit0, sub_len, off_base, offsets, frag_word, ids, frag):  # type: ignore[no-untyped-def]
    """Fill each substring table by counting sort. Table ``t`` owns entries ``t*n .. t*n+n-1``
    of ``ids`` and ``frag``; ``offsets[off_base[t] + key]`` (relative to ``t*n``) is where the
    entries (ascending ids) with substring value ``key`` start.

    ``frag[f, t*n + p]`` is word ``frag_word[t, f]`` of the code with id ``ids[t*n + p]``: a
    bucket is then one contiguous, column-major run of fragments that the scan reads as
    ``nf`` streams (vectorized), instead of one random access per candidate.
    """
    m = sub_bit0.shape[0]
    nf = frag.shape[0]
    for t in prange(m):
        b0 = sub_bit0[t]
        s = sub_len[t]
        nb = 1 << s
        ob = off_base[t]
        keys = np.empty(n, np.int64)
        for j in range(n):
            keys[j] = _substring(words[j], b0, s)
        cnt = np.zeros(nb + 1, np.int64)
        for j in range(n):
            cnt[keys[j] + 1] += 1
        acc = 0
        for key in range(nb + 1):
            acc += cnt[key]
            offsets[ob + key] = acc
        pos = np.empty(nb, np.int64)
        for key in range(nb):
            pos[key] = offsets[ob + key]
        base = t * n
        for j in range(n):
            kk = keys[j]
            p = base + pos[kk]
            ids[p] = j
            for f in range(nf):
                frag[f, p] = words[j, frag_word[t, f]]
            pos[kk] = pos[kk] + 1


@njit(nogil=True, cache=True)
def _bucket_count_le(frag, lo, hi, a0, a1, radius):  # type: ignore[no-untyped-def]
    """Entries ``lo .. hi-1`` whose fragment distance is within ``radius`` (no stores, unsigned
    indexes: the loop vectorizes like the flat scan's)."""
    c = 0
    if frag.shape[0] == 2:
        for e in range(np.uint64(lo), np.uint64(hi)):
            c += popcount64(a0 ^ frag[0, e]) + popcount64(a1 ^ frag[1, e]) <= radius
    else:
        for e in range(np.uint64(lo), np.uint64(hi)):
            c += popcount64(a0 ^ frag[0, e]) <= radius
    return c


@njit(nogil=True, cache=True)
def _frag_distance(frag, e, a0, a1):  # type: ignore[no-untyped-def]
    """Distance over the fragment words of entry ``e``: a lower bound of the full distance."""
    if frag.shape[0] == 2:
        return popcount64(a0 ^ frag[0, e]) + popcount64(a1 ^ frag[1, e])
    return popcount64(a0 ^ frag[0, e])


@njit(nogil=True, cache=True)
def _code_distance(words, j, xq, qi):  # type: ignore[no-untyped-def]
    """Full distance from query ``xq[qi]`` to code ``j`` (scalar indexing: no array views,
    so no shared reference-count updates in the hot loop)."""
    d = 0
    for w in range(xq.shape[1]):
        d += popcount64(xq[qi, w] ^ words[j, w])
    return d


@njit(nogil=True, cache=True)
def _prefetch_bucket(frag, lo, hi):  # type: ignore[no-untyped-def]
    """Ask for the first PREFETCH_LINES cache lines of each fragment stream of a bucket."""
    end = min(hi, lo + 8 * PREFETCH_LINES)
    for f in range(frag.shape[0]):
        for e in range(lo, end, 8):
            prefetch2d(frag, f, e)


@njit(nogil=True, cache=True)
def _grown(a, n, size):  # type: ignore[no-untyped-def]
    """A larger copy of ``a`` holding its first ``n`` entries. (Growing the candidate array
    by ``np.concatenate`` inside the bucket loop made near-duplicate queries 2x slower at 10M
    codes (126 against 65 thread-microseconds): numba then keeps the array's reference count
    updated on every access. Growing it here, once per crowded bucket, does not.)"""
    out = np.empty(size, a.dtype)
    for i in range(n):
        out[i] = a[i]
    return out


@njit(nogil=True, cache=True)
def _rescan_bucket(frag, lo, hi, a0, a1, radius, t, cand_e, cand_t, nc):  # type: ignore[no-untyped-def]
    """Append to ``cand_e``/``cand_t`` (from ``nc``; room for the whole bucket is guaranteed)
    the entries of ``lo .. hi-1`` whose fragment distance is within ``radius``, counting
    RESCAN_BLOCK entries at a time first so that only blocks holding one are read entry by
    entry. Returns the new count."""
    for b0 in range(lo, hi, RESCAN_BLOCK):
        b1 = min(hi, b0 + RESCAN_BLOCK)
        if _bucket_count_le(frag, b0, b1, a0, a1, radius) == 0:
            continue
        for e in range(b0, b1):
            if _frag_distance(frag, e, a0, a1) <= radius:
                cand_e[nc] = e
                cand_t[nc] = t
                nc += 1
    return nc


@njit(nogil=True, cache=True)
def _next_same_weight(mask):  # type: ignore[no-untyped-def]
    """Next larger integer with the same number of set bits (Gosper's hack)."""
    c = mask & -mask
    r = mask + c
    return (((r ^ mask) >> 2) // c) | r


@njit(parallel=True, nogil=True, cache=True)
def mih_range(  # type: ignore[no-untyped-def]
    xq,
    words,
    radius,
    sub_bit0,
    sub_len,
    sub_radius,
    off_base,
    offsets,
    frag_word,
    ids,
    frag,
    nprobe,
    item_q0,
    item_q1,
    slot_start,
    slot_cap,
    out_q,
    out_i,
    out_d,
    item_count,
):
    """Range search (distance <= radius) by multi-index hashing.

    Table ``t`` is probed with every key within ``sub_radius[t]`` of the query's substring
    (Norouzi et al.'s pigeonhole bound; -1 skips the table); ``nprobe`` is the total number of
    keys. A bucket is first counted on its fragments (two of the code's words: their distance
    is a lower bound of the full one, and on 128 random bits it is <= 31 with p ~ 1e-8), so
    almost every bucket is rejected by one vectorized pass over 16 bytes per entry; survivors
    are collected, then checked on the full code with their ids and codes prefetched (a
    near-duplicate query has a few hundred: clustered codes). A match found in table ``t`` is
    reported only if no earlier table would have found it, so each id appears once without a
    visited set. Each query's ids are sorted.

    Keys, then bucket bounds, are separate loops of independent loads, and buckets are
    prefetched PREFETCH_BUCKETS probes ahead, so many cache misses are in flight at once.
    """
    m = sub_bit0.shape[0]
    n = words.shape[0]
    nitems = item_q0.shape[0]
    for it in prange(nitems):
        base = slot_start[it]
        cap = slot_cap[it]
        cnt = 0
        qkeys = np.empty(m, np.int64)
        probe_t = np.empty(nprobe, np.int64)
        probe_key = np.empty(nprobe, np.int64)
        lo = np.empty(nprobe, np.int64)
        hi = np.empty(nprobe, np.int64)
        hit_i = np.empty(64, np.int64)
        hit_d = np.empty(64, np.int64)
        cand_e = np.empty(256, np.int64)
        cand_t = np.empty(256, np.int64)
        cand_j = np.empty(256, np.int64)
        for qi in range(item_q0[it], item_q1[it]):
            for t in range(m):
                qkeys[t] = _substring(xq[qi], sub_bit0[t], sub_len[t])
            # 1. every key to probe
            np_ = 0
            for t in range(m):
                limit = np.int64(1) << sub_len[t]
                for level in range(sub_radius[t] + 1):
                    mask = (np.int64(1) << level) - 1
                    while mask < limit:
                        probe_t[np_] = t
                        probe_key[np_] = off_base[t] + (qkeys[t] ^ mask)
                        np_ += 1
                        if mask == 0:
                            break
                        mask = _next_same_weight(mask)
            # 2. bucket bounds (independent loads), as entry positions
            for p in range(np_):
                tb = probe_t[p] * n
                lo[p] = offsets[probe_key[p]] + tb
                hi[p] = offsets[probe_key[p] + 1] + tb
            for p in range(min(PREFETCH_BUCKETS, np_)):
                _prefetch_bucket(frag, lo[p], hi[p])
            # 3. scan each bucket's fragments; note the entries that pass (a bucket with any is
            #    rescanned by blocks, so a near-duplicate costs a block, not the whole bucket)
            nc = 0
            for p in range(np_):
                ahead = p + PREFETCH_BUCKETS
                if ahead < np_:
                    _prefetch_bucket(frag, lo[ahead], hi[ahead])
                t = probe_t[p]
                a0 = xq[qi, frag_word[t, 0]]
                a1 = xq[qi, frag_word[t, frag.shape[0] - 1]]
                if _bucket_count_le(frag, lo[p], hi[p], a0, a1, radius) == 0:
                    continue
                room = nc + hi[p] - lo[p]
                if room > cand_e.shape[0]:
                    cand_e = _grown(cand_e, nc, max(2 * cand_e.shape[0], room))
                    cand_t = _grown(cand_t, nc, cand_e.shape[0])
                nc = _rescan_bucket(frag, lo[p], hi[p], a0, a1, radius, t, cand_e, cand_t, nc)
            # 4. the survivors' ids, then their codes: loops of independent loads, prefetched
            #    ahead, so the random reads overlap instead of each waiting for the last
            if nc > cand_j.shape[0]:
                cand_j = np.empty(cand_e.shape[0], np.int64)
            if nc > hit_i.shape[0]:
                hit_i = np.empty(cand_e.shape[0], np.int64)
                hit_d = np.empty(cand_e.shape[0], np.int64)
            for c in range(min(PREFETCH_CANDIDATES, nc)):
                prefetch1d(ids, cand_e[c])
            for c in range(nc):
                if c + PREFETCH_CANDIDATES < nc:
                    prefetch1d(ids, cand_e[c + PREFETCH_CANDIDATES])
                cand_j[c] = ids[cand_e[c]]
            for c in range(min(PREFETCH_CANDIDATES, nc)):
                prefetch2d(words, cand_j[c], 0)
            # 5. verify on the full code; keep each id once (from the first table that finds it)
            nh = 0
            for c in range(nc):
                if c + PREFETCH_CANDIDATES < nc:
                    prefetch2d(words, cand_j[c + PREFETCH_CANDIDATES], 0)
                j = cand_j[c]
                t = cand_t[c]
                d = _code_distance(words, j, xq, qi)
                if d > radius:
                    continue
                seen = False
                for t2 in range(t):
                    if sub_radius[t2] >= 0:
                        k2 = _substring(words[j], sub_bit0[t2], sub_len[t2])
                        if popcount64(np.uint64(k2 ^ qkeys[t2])) <= sub_radius[t2]:
                            seen = True
                            break
                if not seen:
                    hit_i[nh] = j
                    hit_d[nh] = d
                    nh += 1
            if nh > 0:
                order = np.argsort(hit_i[:nh])
                for e in range(nh):
                    if cnt < cap:
                        out_q[base + cnt] = qi
                        out_i[base + cnt] = hit_i[order[e]]
                        out_d[base + cnt] = hit_d[order[e]]
                    cnt += 1
        item_count[it] = cnt


@njit(parallel=True, nogil=True, cache=True)
def mih_knn(  # type: ignore[no-untyped-def]
    xq,
    words,
    k,
    sub_bit0,
    sub_len,
    off_base,
    offsets,
    frag_word,
    ids,
    frag,
    budget,
    probe_cost,
    candidate_cost,
    D,
    I,
    done,
):
    """k nearest by incremental multi-index search (Norouzi et al.), per query.

    Level ``l`` probes, in every table, the keys at exactly ``l`` flipped bits. After level
    ``l`` every unseen code differs in at least ``l + 1`` bits in each of the ``m`` substrings,
    so once the k-th distance is below ``m * (l + 1)`` the list is final. Once the list is
    full, an entry whose fragment distance (a lower bound) exceeds the k-th distance cannot
    enter and is skipped without reading its code. A query whose next level would push its
    expected work (``probe_cost`` per probe, ``candidate_cost`` per candidate) past ``budget``
    gives up (``done[q] = False``) and is left to the flat scan, which is cheaper for it.
    """
    m = sub_bit0.shape[0]
    nq = xq.shape[0]
    n = words.shape[0]
    nf = frag.shape[0]
    maxlen = 0
    for t in range(m):
        maxlen = max(maxlen, sub_len[t])
    # binomials C(s, l) for the probe-cost estimate
    binom = np.zeros((maxlen + 1, maxlen + 1), np.float64)
    for s in range(maxlen + 1):
        binom[s, 0] = 1.0
        for l in range(1, s + 1):
            binom[s, l] = binom[s - 1, l - 1] + (binom[s - 1, l] if l <= s - 1 else 0.0)
    for qi in prange(nq):
        qkeys = np.empty(m, np.int64)
        for t in range(m):
            qkeys[t] = _substring(xq[qi], sub_bit0[t], sub_len[t])
        td = np.empty(k, np.int64)
        ti = np.empty(k, np.int64)
        f = 0
        spent = 0.0
        finished = False
        for level in range(maxlen + 1):
            est = 0.0
            for t in range(m):
                if level <= sub_len[t]:
                    bucket = n / float(np.int64(1) << sub_len[t])
                    est += binom[sub_len[t], level] * (probe_cost + bucket * candidate_cost)
            if spent + est > budget:
                break
            spent += est
            for t in range(m):
                s = sub_len[t]
                if level > s:
                    continue
                ob = off_base[t]
                tb = t * n
                a0 = xq[qi, frag_word[t, 0]]
                a1 = xq[qi, frag_word[t, nf - 1]]
                mask = (np.int64(1) << level) - 1
                limit = np.int64(1) << s
                while mask < limit:
                    key = qkeys[t] ^ mask
                    for e in range(tb + offsets[ob + key], tb + offsets[ob + key + 1]):
                        if f == k and _frag_distance(frag, e, a0, a1) > td[k - 1]:
                            continue
                        j = np.int64(ids[e])
                        d = _code_distance(words, j, xq, qi)
                        if f < k or d < td[k - 1] or (d == td[k - 1] and j < ti[k - 1]):
                            # seen before iff an earlier (level, table) in visiting order holds it
                            seen = False
                            for t2 in range(m):
                                if t2 == t:
                                    continue
                                k2 = _substring(words[j], sub_bit0[t2], sub_len[t2])
                                d2 = popcount64(np.uint64(k2 ^ qkeys[t2]))
                                if d2 < level or (d2 == level and t2 < t):
                                    seen = True
                                    break
                            if not seen:
                                f = _topk_insert(td, ti, f, k, d, j)
                    if mask == 0:
                        break
                    mask = _next_same_weight(mask)
            # every unseen code is at distance >= m * (level + 1)
            if (f == k and td[k - 1] < m * (level + 1)) or f == n:
                finished = True
                break
            if level == maxlen:
                finished = True
        done[qi] = finished
        if finished:
            for e in range(k):
                if e < f:
                    D[qi, e] = td[e]
                    I[qi, e] = ti[e]
