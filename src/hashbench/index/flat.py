"""FlatIndex: exact Hamming search by a tiled, vectorized scan of every code.

The baseline every other index is checked against, and the fastest exact method when the
radius is large or the database small. See ``_kernels`` for why the codes are stored
column-major and scanned in tiles.
"""

from __future__ import annotations

from os import PathLike

import numba
import numpy as np
import numpy.typing as npt

from . import _common, _kernels, persist
from .base import Counts, Distances, Ids, Lims, register

__all__ = ["FlatIndex"]

#: Queries that share one pass over a database tile. Read at every call, so the speed gate's
#: demonstration (benchmarks/README.md) can set it to 1 from outside: every query then streams
#: the database from memory on its own, same results, 1.5-5x slower.
QUERY_BLOCK = 64
#: Bytes of database per tile: half the 1 MiB L2 of the machines measured, so a tile stays
#: cached while a whole query block scans it.
TILE_BYTES = 512 * 1024
#: Codes whose distances are computed before the (rare) matches are picked out.
CHUNK = 1024


@register("flat")
class FlatIndex:
    """Exact Hamming index that compares each query with every stored code.

    Array conventions are those of the usual vector-search libraries (``xq`` queries, ``D``
    distances, ``I`` ids, ``lims`` offsets), so their users feel at home:

    * ``add(codes)``: ``(n, nbytes)`` uint8 codes from :mod:`hashbench.bits`; ids are
      ``0 .. ntotal-1`` in the order added, counting across calls.
    * ``search(xq, k) -> (D, I)``: int32 distances and int64 ids, ``(nq, k)``, sorted by
      distance then by lower id. With fewer than ``k`` codes the rest is padded with
      ``D = 2**31 - 1`` and ``I = -1``, the usual padding of binary flat indexes.
    * ``range_search(xq, radius) -> (lims, D, I)``: the matches of query ``q`` are
      ``I[lims[q]:lims[q+1]]`` (ascending ids) with distances ``D[...]``. **A match is
      distance <= radius**, whereas binary range searches elsewhere often keep ``<``: hashbench's
      radius is the matcher's threshold (PDQ: "distance <= 31 is a match"), so their
      ``radius+1`` equals our ``radius``.
    * ``range_search(xq8, radius, variants=8)``: ``xq8`` is ``(nq, 8, nbytes)`` or
      ``(nq * 8, nbytes)``; each database id appears once per query with its smallest distance
      over the variants (dihedral PDQ queries).
    * ``count_within(xq, radius, variants=1) -> (nq,)`` int64: number of distinct ids within
      ``radius``, without materializing them.
    """

    kind = "flat"
    exact = True

    def __init__(self, nbits: int) -> None:
        self.nbits = int(nbits)
        self.nbytes = _common.check_nbits(nbits)
        self.nwords = (self.nbytes + 7) // 8
        self._cols = np.zeros((self.nwords, 0), dtype=np.uint64)
        self._n = 0
        self._tile = max(CHUNK, (TILE_BYTES // (8 * self.nwords)) // CHUNK * CHUNK)

    # ---------------------------------------------------------------- contents
    @property
    def ntotal(self) -> int:
        """Number of codes stored."""
        return self._n

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        return f"FlatIndex(nbits={self.nbits}, ntotal={self._n})"

    @property
    def nbytes_per_code(self) -> float:
        """Bytes of memory held per stored code (storage capacity slack included)."""
        return self._cols.nbytes / max(self._n, 1)

    def add(self, codes: npt.ArrayLike) -> None:
        """Append codes; their ids continue from ``ntotal``."""
        words = _common.as_code_words(codes, self.nbytes)
        n_new = words.shape[0]
        if n_new == 0:
            return
        need = self._n + n_new
        if need > self._cols.shape[1]:
            cap = max(need, 2 * self._cols.shape[1], 1024)
            grown = np.zeros((self.nwords, cap), dtype=np.uint64)
            grown[:, : self._n] = self._cols[:, : self._n]
            self._cols = grown
        self._cols[:, self._n : need] = words.T
        self._n = need

    def reset(self) -> None:
        """Remove every code."""
        self._cols = np.zeros((self.nwords, 0), dtype=np.uint64)
        self._n = 0

    def reconstruct_n(self, i0: int = 0, ni: int | None = None) -> npt.NDArray[np.uint8]:
        """Codes ``i0 .. i0+ni-1`` as ``(ni, nbytes)`` uint8 (the customary name)."""
        i1 = self._n if ni is None else min(self._n, i0 + ni)
        words = np.ascontiguousarray(self._cols[:, i0:i1].T)
        return words.view(np.uint8).reshape(i1 - i0, 8 * self.nwords)[:, : self.nbytes].copy()

    def _columns(self) -> npt.NDArray[np.uint64]:
        """The whole (C-contiguous) column buffer; kernels get ``ntotal`` or id ranges apart.

        Passing a ``[:, :n]`` slice instead would type as a non-contiguous array in numba and
        silently lose vectorization (measured 15x slower).
        """
        return self._cols

    # ---------------------------------------------------------------- queries
    def build(self) -> None:
        """Nothing to build: the column store is the index (here for the :class:`Index` protocol)."""

    def search(self, xq: npt.ArrayLike, k: int) -> tuple[Distances, Ids]:
        """The ``k`` nearest codes of each query: ``(D int32 (nq, k), I int64 (nq, k))``."""
        k = _common.check_k(k)
        q, nq = _common.as_query_words(xq, self.nbytes, 1)
        return self.search_words(q, np.arange(nq, dtype=np.int64), k)

    def search_words(self, q: _common.Words, qids: Ids, k: int) -> tuple[Distances, Ids]:
        """kNN for the queries ``q[qids]``, given as ``(nq, nwords)`` uint64 words
        (:func:`hashbench.bits.to_words`); MIHIndex hands over the queries it gives up on."""
        nsel = qids.shape[0]
        D, I = _common.padded_knn(nsel, k)
        if nsel == 0 or self._n == 0:
            return D, I
        plan = _common.plan_work(nsel, self._n, QUERY_BLOCK, self._tile)
        topd = np.empty((plan.nseg, nsel, k), np.int64)
        topi = np.empty((plan.nseg, nsel, k), np.int64)
        fill = np.zeros((plan.nseg, nsel), np.int64)
        _kernels.flat_knn(
            self._columns(),
            q,
            qids,
            k,
            plan.q0,
            plan.q1,
            plan.j0,
            plan.j1,
            plan.seg,
            self._tile,
            CHUNK,
            topd,
            topi,
            fill,
        )
        _kernels.merge_topk(topd, topi, fill, k, D, I, _common.PAD_DISTANCE)
        return D, I

    def range_search(self, xq: npt.ArrayLike, radius: int, variants: int = 1) -> tuple[Lims, Distances, Ids]:
        """All codes at distance <= ``radius`` (inclusive): ``(lims, D, I)``."""
        radius = _common.check_radius(radius)
        q, _ = _common.as_query_words(xq, self.nbytes, variants)
        lims, D, I = self.range_search_words(q, radius)
        return _common.finish_range(lims, D, I, variants)

    def range_search_words(self, q: _common.Words, radius: int) -> tuple[Lims, Distances, Ids]:
        """:meth:`range_search` for queries already as ``(nq, nwords)`` uint64 words."""
        nq = q.shape[0]
        if nq == 0 or self._n == 0 or radius < 0:
            return _common.empty_range(nq)
        plan = _common.plan_work(nq, self._n, QUERY_BLOCK, self._tile)
        cols = self._columns()

        def run_items(idx, start, cap, out_q, out_i, out_d, count):
            _kernels.flat_range(
                cols,
                q,
                radius,
                plan.q0[idx],
                plan.q1[idx],
                plan.j0[idx],
                plan.j1[idx],
                start,
                cap,
                self._tile,
                CHUNK,
                out_q,
                out_i,
                out_d,
                count,
            )

        slotted = _common.run_slotted(run_items, plan.q0.shape[0])
        return _common.assemble(nq, *slotted)

    def count_within(self, xq: npt.ArrayLike, radius: int, variants: int = 1) -> Counts:
        """Number of distinct ids within ``radius`` (inclusive) of each query (or query group)."""
        radius = _common.check_radius(radius)
        q, _ = _common.as_query_words(xq, self.nbytes, variants)
        if variants > 1:
            lims, _, _ = self.range_search(xq, radius, variants=variants)
            return np.diff(lims)
        if q.shape[0] == 0 or self._n == 0 or radius < 0:
            return np.zeros(q.shape[0], np.int64)
        if q.shape[0] < 4 * numba.get_num_threads():
            # too few queries to keep every thread busy with query blocks: segment the database
            lims, _, _ = self.range_search_words(q, radius)
            return np.diff(lims)
        return _kernels.flat_count(self._columns(), self._n, q, radius, QUERY_BLOCK, self._tile)

    # ---------------------------------------------------------------- persistence
    def save(self, path: str | PathLike[str]) -> None:
        """Write the index to ``path`` (a versioned ``.npz``; see :mod:`hashbench.index.persist`)."""
        persist.save_index(path, kind=self.kind, nbits=self.nbits, codes=self.reconstruct_n(), params={})

    @classmethod
    def load(cls, path: str | PathLike[str]) -> FlatIndex:
        """Read an index written by :meth:`save`."""
        kind, nbits, codes, _ = persist.read_index(path)
        if kind != cls.kind:
            raise ValueError(f"{path} holds a {kind!r} index, not {cls.kind!r}")
        index = cls(nbits)
        index.add(codes)
        return index
