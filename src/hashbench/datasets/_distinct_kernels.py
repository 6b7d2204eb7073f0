"""numba kernels of :class:`~.distinct.DistinctSet`'s search (numba only; no Python objects).

The accepted images live in flat arrays: ``sigs`` (n, 768) uint8, ``feats`` (n, 16) float32 and
``nxt`` (n,) int64, a linked list per cell (``nxt[i]``: the previous image in ``i``'s cell, -1 at
the end). The cells are an open-addressing hash table of packed int64 keys (``tkeys``, -1 empty)
and the newest image of each (``thead``). Its capacity is a power of two kept at least twice the
number of keys by the caller (:meth:`DistinctSet._reserve`), so a probe always ends.

Everything a draw needs (features, 81 neighbour cells, the feature filter, the difference of the
survivors) is one call, and :func:`scan` runs a whole batch of draws in order until one draw has
a *suspect*: an accepted image whose float64 difference is below ``limit`` (the floor plus a
margin). Only suspects go back to Python, where the criterion's own float32 expression decides
(:func:`~.distinct.difference`): the kernels never make the final decision, they only have to
keep every candidate it could accept (see the margins in :mod:`.distinct`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

#: Features per image: mean colour (3), four quadrant mean colours (12), difference to the pivot (1).
NFEAT = 16
_GRID = 16
_HALF = _GRID // 2
_CELLS = _GRID * _GRID
#: Key coordinates are offset by this before packing 4 of them into 10-bit fields (|k| < 512:
#: Lab coordinates and differences are below 400, cells are about 2.3 wide).
_OFFSET = 512


@njit(nogil=True, cache=True)
def features(
    sig: npt.NDArray[np.uint8], lut: npt.NDArray[np.float64], pivot: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Features of one signature in float64, from its dequantised values ``lut[channel, byte]``."""
    f = np.zeros(NFEAT, np.float64)
    piv = 0.0
    for y in range(_GRID):
        for x in range(_GRID):
            cell = y * _GRID + x
            q = 3 + 3 * (2 * (y >= _HALF) + (x >= _HALF))
            dd = 0.0
            for c in range(3):
                v = lut[c, sig[3 * cell + c]]
                f[c] += v
                f[q + c] += v
                d = v - pivot[cell, c]
                dd += d * d
            piv += np.sqrt(dd)
    for c in range(3):
        f[c] /= _CELLS
    for k in range(3, 15):
        f[k] /= _CELLS // 4
    f[15] = piv / _CELLS
    return f


@njit(nogil=True, cache=True)
def _coords(f: npt.NDArray[np.float32], side: float) -> npt.NDArray[np.int64]:
    out = np.empty(4, np.int64)
    out[0] = int(np.floor(f[0] / side))
    out[1] = int(np.floor(f[1] / side))
    out[2] = int(np.floor(f[2] / side))
    out[3] = int(np.floor(f[15] / side))
    return out


@njit(nogil=True, cache=True)
def _pack(k0: int, k1: int, k2: int, k3: int) -> int:
    return ((k0 + _OFFSET) << 30) | ((k1 + _OFFSET) << 20) | ((k2 + _OFFSET) << 10) | (k3 + _OFFSET)


@njit(nogil=True, cache=True)
def _slot(tkeys: npt.NDArray[np.int64], key: int) -> int:
    """The slot holding ``key``, or the empty slot where it would go (linear probing)."""
    mask = len(tkeys) - 1
    # Fibonacci hashing, folded: the product's high half depends on every field of the key (its
    # low bits alone would ignore the high fields, and every lightness would share one run)
    h = np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)
    i = int(np.int64((h ^ (h >> np.uint64(32))) & np.uint64(mask)))
    while tkeys[i] != key and tkeys[i] != -1:
        i = (i + 1) & mask
    return i


@njit(nogil=True, cache=True)
def _dist(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8], lut: npt.NDArray[np.float64], stop: float) -> float:
    """Mean Delta E of two signatures in float64; stops early (returning a value >= ``stop``)
    once the running sum alone reaches ``stop`` (the terms are >= 0)."""
    total = 0.0
    bound = stop * _CELLS
    for row in range(_GRID):  # a row of cells at a time: the inner loop has no branch
        for cell in range(row * _GRID, (row + 1) * _GRID):
            dd = 0.0
            for c in range(3):
                d = lut[c, a[3 * cell + c]] - lut[c, b[3 * cell + c]]
                dd += d * d
            total += np.sqrt(dd)
        if total >= bound:
            return total / _CELLS
    return total / _CELLS


@njit(nogil=True, cache=True)
def _bound(fa: npt.NDArray[np.float32], fb: npt.NDArray[np.float32]) -> float:
    """A lower bound of the difference from the features: a quadrant's mean of the cells' colour
    differences is at least the norm of the difference of its mean colours (triangle inequality),
    and the difference is the mean of the four quadrants' means."""
    total = 0.0
    for q in range(4):
        dd = 0.0
        for c in range(3):
            d = np.float64(fa[3 + 3 * q + c]) - np.float64(fb[3 + 3 * q + c])
            dd += d * d
        total += np.sqrt(dd)
    return total / 4


@njit(nogil=True, cache=True)
def candidates(
    sig: npt.NDArray[np.uint8],
    f: npt.NDArray[np.float32],
    sigs: npt.NDArray[np.uint8],
    feats: npt.NDArray[np.float32],
    nxt: npt.NDArray[np.int64],
    tkeys: npt.NDArray[np.int64],
    thead: npt.NDArray[np.int64],
    lut: npt.NDArray[np.float64],
    side: float,
    bounds: npt.NDArray[np.float64],
    limit: float,
    out: npt.NDArray[np.int64],
) -> int:
    """Accepted images in the 81 cells around ``sig``'s whose features are all within ``bounds``
    of ``f``, whose quadrant bound (:func:`_bound`) and difference are below ``limit``: written to
    ``out`` (as many as fit); returns how many there are."""
    k = _coords(f, side)
    found = 0
    for d0 in range(-1, 2):
        for d1 in range(-1, 2):
            for d2 in range(-1, 2):
                for d3 in range(-1, 2):
                    s = _slot(tkeys, _pack(k[0] + d0, k[1] + d1, k[2] + d2, k[3] + d3))
                    if tkeys[s] == -1:
                        continue
                    j = thead[s]
                    while j >= 0:
                        ok = True
                        for m in range(NFEAT):
                            if abs(np.float64(feats[j, m]) - np.float64(f[m])) >= bounds[m]:
                                ok = False
                                break
                        if ok and _bound(feats[j], f) < limit and _dist(sigs[j], sig, lut, limit) < limit:
                            if found < len(out):
                                out[found] = j
                            found += 1
                        j = nxt[j]
    return found


@njit(nogil=True, cache=True)
def insert(
    i: int,
    f: npt.NDArray[np.float32],
    feats: npt.NDArray[np.float32],
    nxt: npt.NDArray[np.int64],
    tkeys: npt.NDArray[np.int64],
    thead: npt.NDArray[np.int64],
    side: float,
) -> int:
    """File image ``i`` (features ``f``) in its cell; returns 1 when the cell is new, else 0."""
    k = _coords(f, side)
    key = _pack(k[0], k[1], k[2], k[3])
    s = _slot(tkeys, key)
    new = tkeys[s] == -1
    feats[i] = f
    tkeys[s] = key
    nxt[i] = thead[s] if not new else -1
    thead[s] = i
    return 1 if new else 0


@njit(nogil=True, cache=True)
def scan(
    batch: npt.NDArray[np.uint8],
    sigs: npt.NDArray[np.uint8],
    feats: npt.NDArray[np.float32],
    nxt: npt.NDArray[np.int64],
    tkeys: npt.NDArray[np.int64],
    thead: npt.NDArray[np.int64],
    lut: npt.NDArray[np.float64],
    pivot: npt.NDArray[np.float64],
    side: float,
    bounds: npt.NDArray[np.float64],
    limit: float,
    state: npt.NDArray[np.int64],
    out: npt.NDArray[np.int64],
) -> int:
    """Accept ``batch``'s signatures in order while none has a suspect; returns the position of
    the first that has (its suspects' count in ``state[2]``, the first of them in ``out``), or
    ``len(batch)``. ``state``: [accepted images, keys in the table, suspects]. The caller has
    reserved room for the whole batch."""
    for b in range(len(batch)):
        f = features(batch[b], lut, pivot).astype(np.float32)
        found = candidates(batch[b], f, sigs, feats, nxt, tkeys, thead, lut, side, bounds, limit, out)
        if found:
            state[2] = found
            return b
        n = state[0]
        sigs[n] = batch[b]
        state[1] += insert(n, f, feats, nxt, tkeys, thead, side)
        state[0] = n + 1
    state[2] = 0
    return len(batch)


@njit(nogil=True, cache=True)
def rehash(
    tkeys: npt.NDArray[np.int64], thead: npt.NDArray[np.int64], capacity: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The same table at a larger capacity (a power of two); the cells' lists are unchanged."""
    keys = np.full(capacity, -1, np.int64)
    heads = np.full(capacity, -1, np.int64)
    for s in range(len(tkeys)):
        if tkeys[s] != -1:
            t = _slot(keys, tkeys[s])
            keys[t] = tkeys[s]
            heads[t] = thead[s]
    return keys, heads
