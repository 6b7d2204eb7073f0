"""What FlatIndex and MIHIndex share: input checks, work planning and result assembly.

Kept apart from the kernels (numba only) and from the index classes (state and API), so each
index only says *how* it finds matches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from hashbench.bits import nbytes_for, to_words

from . import _kernels

Codes = npt.NDArray[np.uint8]
Words = npt.NDArray[np.uint64]
Ids = npt.NDArray[np.int64]
Distances = npt.NDArray[np.int32]

#: Distance written for missing neighbours in ``search`` (INT32_MAX, the usual padding).
PAD_DISTANCE = int(np.iinfo(np.int32).max)

#: Matches per work item that fit without a second pass; larger outputs rerun with exact room.
_INITIAL_SLOT = 4096


def check_nbits(nbits: int) -> int:
    """Validate a code length and return its byte count."""
    if not isinstance(nbits, (int, np.integer)) or isinstance(nbits, bool) or nbits <= 0:
        raise ValueError(f"nbits must be a positive integer, got {nbits!r}")
    return nbytes_for(int(nbits))


def as_code_words(codes: npt.ArrayLike, nbytes: int, what: str = "codes") -> Words:
    """``(n, nbytes)`` uint8 codes -> ``(n, nwords)`` uint64 words, with a clear error."""
    arr = np.asarray(codes)
    if arr.dtype != np.uint8:
        raise TypeError(f"{what} must be uint8 packed codes (hashbench.bits), got dtype {arr.dtype}")
    if arr.ndim == 1 and arr.shape[0] == nbytes:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != nbytes:
        raise ValueError(f"{what} must have shape (n, {nbytes}), got {arr.shape}")
    if arr.shape[0] == 0:
        return np.zeros((0, (nbytes + 7) // 8), dtype=np.uint64)
    return to_words(arr)


def as_query_words(xq: npt.ArrayLike, nbytes: int, variants: int) -> tuple[Words, int]:
    """Queries as words, flattened over variants; returns ``(words, number of query groups)``.

    With ``variants > 1`` the input is ``(nq, variants, nbytes)`` or ``(nq * variants, nbytes)``
    (the variants of one query consecutive), e.g. the 8 dihedral PDQ hashes of each image.
    """
    if not isinstance(variants, (int, np.integer)) or variants < 1:
        raise ValueError(f"variants must be a positive integer, got {variants!r}")
    arr = np.asarray(xq)
    if variants > 1 and arr.ndim == 3:
        if arr.shape[1] != variants:
            raise ValueError(f"queries of shape {arr.shape} do not hold {variants} variants each")
        arr = arr.reshape(-1, arr.shape[2])
    words = as_code_words(arr, nbytes, "queries")
    if words.shape[0] % variants:
        raise ValueError(f"{words.shape[0]} query rows are not a multiple of variants={variants}")
    return words, words.shape[0] // variants


def check_radius(radius: int) -> int:
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)):
        raise TypeError(f"radius must be an integer Hamming distance, got {radius!r}")
    return int(radius)


def check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


@dataclass(frozen=True)
class WorkPlan:
    """Work items: query block x database segment, in (query block, segment) order."""

    q0: npt.NDArray[np.int64]
    q1: npt.NDArray[np.int64]
    j0: npt.NDArray[np.int64]
    j1: npt.NDArray[np.int64]
    seg: npt.NDArray[np.int64]
    nseg: int


def plan_work(nq: int, n: int, qblock: int, tile: int) -> WorkPlan:
    """Split queries into blocks and, when there are too few blocks to keep every thread busy,
    the database into segments (so one query still uses all threads)."""
    threads = numba.get_num_threads()
    nqb = max(1, -(-nq // qblock))
    ntiles = max(1, -(-n // tile))
    want = 4 * threads
    nseg = 1 if nqb >= want else min(ntiles, -(-want // nqb))
    seg_len = -(-max(n, 1) // nseg)
    seg_len = -(-seg_len // tile) * tile if n > tile else seg_len
    nseg = max(1, -(-max(n, 1) // seg_len))
    qb = np.arange(nqb, dtype=np.int64)
    sg = np.arange(nseg, dtype=np.int64)
    qb_grid, sg_grid = np.meshgrid(qb, sg, indexing="ij")
    qbi = qb_grid.ravel()
    sgi = sg_grid.ravel()
    return WorkPlan(
        q0=qbi * qblock,
        q1=np.minimum(nq, qbi * qblock + qblock),
        j0=np.minimum(n, sgi * seg_len),
        j1=np.minimum(n, sgi * seg_len + seg_len),
        seg=sgi,
        nseg=nseg,
    )


def spread_order(nitems: int) -> npt.NDArray[np.int64]:
    """A fixed permutation of ``range(nitems)`` (seed 0): work items in this order, split into
    one contiguous run per thread, give every thread a like mix of cheap and costly items."""
    return np.random.default_rng(0).permutation(nitems).astype(np.int64)


def run_slotted(run_items: Callable[..., None], nitems: int) -> tuple[Ids, Ids, Ids, Ids, Distances]:
    """Run a range kernel over ``nitems`` work items with one output slot each.

    ``run_items(idx, slot_start, slot_cap, out_q, out_i, out_d, item_count)`` runs the items
    ``idx``. Items that overflow their slot are run once more with exactly the room they
    reported. Returns ``(slot_start, item_count, out_q, out_i, out_d)`` covering all items.
    """
    idx = np.arange(nitems, dtype=np.int64)
    cap = np.full(nitems, _INITIAL_SLOT, dtype=np.int64)
    start = np.arange(nitems, dtype=np.int64) * _INITIAL_SLOT
    total = nitems * _INITIAL_SLOT
    out_q = np.empty(total, np.int64)
    out_i = np.empty(total, np.int64)
    out_d = np.empty(total, np.int32)
    count = np.zeros(nitems, np.int64)
    run_items(idx, start, cap, out_q, out_i, out_d, count)
    over = np.flatnonzero(count > cap)
    if over.size:
        big_cap = count[over].copy()
        big_start = np.concatenate(([0], np.cumsum(big_cap)[:-1])).astype(np.int64)
        total2 = int(big_cap.sum())
        bq = np.empty(total2, np.int64)
        bi = np.empty(total2, np.int64)
        bd = np.empty(total2, np.int32)
        bcount = np.zeros(over.size, np.int64)
        run_items(over.astype(np.int64), big_start, big_cap, bq, bi, bd, bcount)
        # splice: overflowing items now point into the appended second buffer
        start = start.copy()
        start[over] = total + big_start
        out_q = np.concatenate((out_q, bq))
        out_i = np.concatenate((out_i, bi))
        out_d = np.concatenate((out_d, bd))
        count[over] = bcount
    return start, count, out_q, out_i, out_d


def assemble(nq: int, start: Ids, count: Ids, out_q: Ids, out_i: Ids, out_d: Distances) -> tuple[Ids, Distances, Ids]:
    """``(lims, D, I)`` from slotted item outputs (items in query-block order)."""
    return _kernels.scatter_results(nq, start, count, out_q, out_i, out_d)


def finish_range(lims: Ids, D: Distances, I: Ids, variants: int) -> tuple[Ids, Distances, Ids]:
    """Merge the variants of each query (smallest distance per id) when there are several."""
    if variants == 1:
        return lims, D, I
    return _kernels.merge_variants(lims, D, I, variants)


def empty_range(ngroups: int) -> tuple[Ids, Distances, Ids]:
    return (
        np.zeros(ngroups + 1, np.int64),
        np.zeros(0, np.int32),
        np.zeros(0, np.int64),
    )


def padded_knn(nq: int, k: int) -> tuple[Distances, Ids]:
    return (
        np.full((nq, k), PAD_DISTANCE, dtype=np.int32),
        np.full((nq, k), -1, dtype=np.int64),
    )
