"""MIHIndex: exact Hamming range and kNN search by multi-index hashing.

Norouzi, Punjani & Fleet, "Fast search in Hamming space with multi-index hashing" (CVPR 2012;
PAMI 2014). Each code is cut into ``m`` disjoint substrings, each indexed in its own table.
If two codes are within ``r`` bits, then with ``r = m * r' + a`` one of ``a + 1`` chosen
substrings is within ``r'`` bits or one of the others within ``r' - 1`` (pigeonhole), so probing
those neighbourhoods finds every match; each candidate is verified with the full distance.
Results are identical to :class:`~hashbench.index.flat.FlatIndex` (the tests check it).

Where the probes would cost more than scanning everything (large radius, or a kNN query
whose neighbours are far), the query runs on a flat scan instead: the index never trades
exactness for speed.
"""

from __future__ import annotations

import math
from os import PathLike

import numpy as np
import numpy.typing as npt

from . import _common, _kernels, persist
from .base import Counts, Distances, Ids, Lims, register
from .flat import FlatIndex

__all__ = ["MIHIndex", "choose_substrings", "substring_radii"]

#: Costs in units of one code scanned by the vectorized flat kernel (~0.33 ns per 256-bit code
#: per thread here). Fitted on range search at r=31, m=16, 1M and 10M codes (2 threads, same
#: run as the flat scan): a probe (key, bucket bounds, a prefetched bucket start, per-query
#: overhead shared out) costs ~130 ns, a candidate in a bucket (16 fragment bytes streamed and
#: popcounted) ~1.4 ns. The old model charged both alike and so chose m=11 at 10M codes
#: (3,000 probes a query), about 4x slower than m=16 (272 probes, ~42,000 candidates).
PROBE_IN_SCANNED_CODES = 400.0
CANDIDATE_IN_SCANNED_CODES = 4.0
#: Words of each code copied into every table (the bucket scan's filter; the rest of the code
#: is read only for the rare entry that passes): 128 random bits are within 31 with p ~ 1e-8.
FRAGMENT_WORDS = 2
#: Longest substring chosen automatically: a table of 2**24 int32 offsets is 64 MiB.
MAX_AUTO_SUBSTRING_BITS = 24
#: Longest substring allowed at all (keys are computed in 64-bit integers).
MAX_SUBSTRING_BITS = 32
#: Queries per work item of the range kernel.
QUERY_BLOCK = 8


def substring_lengths(span_bits: int, m: int) -> list[int]:
    """Lengths of ``m`` near-equal substrings covering ``span_bits`` (longer ones first)."""
    base, extra = divmod(span_bits, m)
    return [base + 1 if t < extra else base for t in range(m)]


def substring_radii(lengths: list[int], n: int, radius: int) -> list[int]:
    """Probe radius per table for a query radius (Norouzi et al., PAMI 2014, Prop. 2).

    With ``radius = m * r' + a``, ``a + 1`` tables are probed to ``r'`` bits and the rest to
    ``r' - 1`` (-1: not probed). The ``a + 1`` tables whose extra level is cheapest get it.
    """
    m = len(lengths)
    if radius < 0:
        return [-1] * m
    rp, a = divmod(radius, m)
    extra_cost = [math.comb(s, rp) * _bucket_cost(s, n) if rp <= s else 0.0 for s in lengths]
    order = sorted(range(m), key=lambda t: (extra_cost[t], t))
    radii = [rp - 1] * m
    for t in order[: a + 1]:
        radii[t] = rp
    return [min(r, s) for r, s in zip(radii, lengths)]


def _bucket_cost(s: int, n: int) -> float:
    """Expected cost of probing one key of an ``s``-bit table (in scanned codes)."""
    return PROBE_IN_SCANNED_CODES + CANDIDATE_IN_SCANNED_CODES * n / 2.0**s


def range_cost(lengths: list[int], radii: list[int], n: int) -> float:
    """Expected cost per query (probes + candidates) for uniform codes, in codes of a flat scan:
    the flat scan costs ``n``."""
    total = 0.0
    for s, rho in zip(lengths, radii):
        probes = sum(math.comb(s, level) for level in range(rho + 1))
        total += probes * _bucket_cost(s, n)
    return total


def choose_substrings(span_bits: int, n: int, radius_hint: int) -> int:
    """Number of substrings ``m`` minimizing the expected range-query cost at ``radius_hint``.

    Substrings are at most 24 bits (64 MiB offset tables) and their tables have at most
    ``4 n`` buckets, so a small database does not pay for huge empty tables. For PDQ
    (256 bits) at radius 31 this picks ThreatExchange's ``m = 16`` substrings of 16 bits at 1M
    and 10M codes (17 probes per table): a candidate in a bucket is streamed and filtered for
    ~1/100 of a probe's cost, so few probes into large buckets (~150 codes at 10M) beat the
    ~3,000 probes into tiny buckets of ``m = 11`` x 23 bits.
    """
    max_bits = min(MAX_AUTO_SUBSTRING_BITS, max(8, int(math.floor(math.log2(max(4 * n, 2))))))
    best_m, best_cost = None, math.inf
    for m in range(max(1, -(-span_bits // max_bits)), span_bits + 1):
        lengths = substring_lengths(span_bits, m)
        if max(lengths) > max_bits:
            continue
        cost = range_cost(lengths, substring_radii(lengths, n, radius_hint), n)
        if cost < best_cost:
            best_m, best_cost = m, cost
    assert best_m is not None
    return best_m


@register("mih")
class MIHIndex:
    """Exact multi-index hashing index; same methods and identical results as FlatIndex.

    ``MIHIndex(nbits, m=None, radius_hint=None, flat_fallback=True)``: ``m`` substrings
    (chosen from the database size, ``nbits`` and ``radius_hint`` when None, at the first query
    after codes were added); ``radius_hint`` is the radius the tables are tuned for (default
    ``nbits // 8 - 1``, PDQ's 31 for 256 bits). Any radius gives exact results; only speed
    depends on the hint. ``flat_fallback=False`` always probes the tables, even where a flat
    scan would be faster (for tests and benchmarks of the tables themselves).

    Tables are rebuilt at the first query after an ``add``, so add in large batches. Each
    table stores, per code, an int32 id and two of its words (a fragment: a bucket is one
    contiguous run to filter, and only entries whose fragment is within the radius read the
    full code), plus ``2**s + 1`` int32 offsets for a substring of ``s`` bits: memory is traded
    for fewer random accesses; see :attr:`nbytes_per_code` (about 350 bytes per 256-bit code
    at 10M codes, m = 16).
    """

    kind = "mih"
    exact = True

    def __init__(
        self, nbits: int, m: int | None = None, radius_hint: int | None = None, flat_fallback: bool = True
    ) -> None:
        self.nbits = int(nbits)
        self.nbytes = _common.check_nbits(nbits)
        self.nwords = (self.nbytes + 7) // 8
        self._span = 8 * self.nbytes
        if m is not None:
            m = int(m)
            if not 1 <= m <= self._span or max(substring_lengths(self._span, m)) > MAX_SUBSTRING_BITS:
                raise ValueError(f"m={m} substrings of {self._span} bits: each must hold 1..{MAX_SUBSTRING_BITS} bits")
        self._m_requested = m
        self.flat_fallback = bool(flat_fallback)
        self.radius_hint = max(0, self.nbits // 8 - 1) if radius_hint is None else int(radius_hint)
        self._words = np.zeros((0, self.nwords), dtype=np.uint64)
        self._n = 0
        self._tables_n = -1  # ntotal the tables were built for
        self._flat: FlatIndex | None = None
        self.build_seconds = 0.0

    # ---------------------------------------------------------------- contents
    @property
    def ntotal(self) -> int:
        return self._n

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        return f"MIHIndex(nbits={self.nbits}, m={self.m}, ntotal={self._n})"

    @property
    def m(self) -> int:
        """Number of substrings (tables) in use (the chosen value once tables are built)."""
        if self._m_requested is not None:
            return self._m_requested
        if self._tables_n == self._n:
            return len(self._lengths)
        return choose_substrings(self._span, self._n, self.radius_hint)

    def add(self, codes: npt.ArrayLike) -> None:
        """Append codes; their ids continue from ``ntotal``. Tables rebuild at the next query."""
        words = _common.as_code_words(codes, self.nbytes)
        n_new = words.shape[0]
        if n_new == 0:
            return
        need = self._n + n_new
        if need >= 2**31 - 1:
            raise ValueError("MIHIndex holds at most 2**31 - 2 codes (int32 ids)")
        if need > self._words.shape[0]:
            grown = np.zeros((max(need, 2 * self._words.shape[0], 1024), self.nwords), dtype=np.uint64)
            grown[: self._n] = self._words[: self._n]
            self._words = grown
        self._words[self._n : need] = words
        self._n = need
        self._flat = None

    def reset(self) -> None:
        self._words = np.zeros((0, self.nwords), dtype=np.uint64)
        self._n = 0
        self._tables_n = -1
        self._flat = None

    def reconstruct_n(self, i0: int = 0, ni: int | None = None) -> npt.NDArray[np.uint8]:
        i1 = self._n if ni is None else min(self._n, i0 + ni)
        words = np.ascontiguousarray(self._words[i0:i1])
        return words.view(np.uint8).reshape(i1 - i0, 8 * self.nwords)[:, : self.nbytes].copy()

    def build(self) -> None:
        """Build the substring tables now (otherwise done at the first query)."""
        import time

        t0 = time.perf_counter()
        m = self.m
        lengths = substring_lengths(self._span, m)
        self._lengths = lengths
        self._bit0 = np.cumsum([0] + lengths[:-1]).astype(np.int64)
        self._len = np.array(lengths, dtype=np.int64)
        sizes = [(1 << s) + 1 for s in lengths]
        self._off_base = np.cumsum([0] + sizes[:-1]).astype(np.int64)
        self._offsets = np.zeros(sum(sizes), dtype=np.int32)
        self._frag_word = self._fragment_words(lengths)
        self._ids = np.empty(m * self._n, dtype=np.int32)
        self._frag = np.empty((self._frag_word.shape[1], m * self._n), dtype=np.uint64)
        _kernels.mih_build(
            self._words[: self._n],
            self._n,
            self._bit0,
            self._len,
            self._off_base,
            self._offsets,
            self._frag_word,
            self._ids,
            self._frag,
        )
        self._tables_n = self._n
        self.build_seconds = time.perf_counter() - t0

    def _fragment_words(self, lengths: list[int]) -> npt.NDArray[np.int64]:
        """Per table, the code words copied as its fragment: words the substring does not
        touch first (their bits are not already known to be close), then the others."""
        nf = min(FRAGMENT_WORDS, self.nwords)
        out = np.empty((len(lengths), nf), dtype=np.int64)
        bit0 = 0
        for t, s in enumerate(lengths):
            w_lo, w_hi = bit0 // 64, (bit0 + s - 1) // 64
            untouched = [w for w in range(self.nwords) if not w_lo <= w <= w_hi]
            touched = [w for w in range(self.nwords) if w_lo <= w <= w_hi]
            out[t] = (untouched + touched)[:nf]
            bit0 += s
        return out

    def _ready(self) -> None:
        if self._tables_n != self._n:
            self.build()

    @property
    def nbytes_per_code(self) -> float:
        """Bytes of memory per code: the codes, and per table an id, a fragment and the offsets
        (+ the flat copy, if a fallback query has made one)."""
        self._ready()
        total = float(self._n * 8 * self.nwords) + self._ids.nbytes + self._frag.nbytes + self._offsets.nbytes
        if self._flat is not None:
            total += self._flat.nbytes_per_code * self._n
        return total / max(self._n, 1)

    def _flat_index(self) -> FlatIndex:
        """The flat scan used where probing would cost more (built on first need)."""
        if self._flat is None:
            flat = FlatIndex(self.nbits)
            flat.add(self.reconstruct_n())
            self._flat = flat
        return self._flat

    def _use_flat_for_range(self, radius: int) -> bool:
        if not self.flat_fallback:
            return False
        radii = substring_radii(self._lengths, self._n, radius)
        return range_cost(self._lengths, radii, self._n) > self._n

    # ---------------------------------------------------------------- queries
    def search(self, xq: npt.ArrayLike, k: int) -> tuple[Distances, Ids]:
        """The ``k`` nearest codes (ties: lower id first); padded like FlatIndex.search."""
        k = _common.check_k(k)
        q, nq = _common.as_query_words(xq, self.nbytes, 1)
        D, I = _common.padded_knn(nq, k)
        if nq == 0 or self._n == 0:
            return D, I
        self._ready()
        budget = float(self._n) if self.flat_fallback else np.inf
        done = np.zeros(nq, dtype=np.bool_)
        Dm = np.empty((nq, k), np.int64)
        Im = np.empty((nq, k), np.int64)
        _kernels.mih_knn(
            q,
            self._words[: self._n],
            k,
            self._bit0,
            self._len,
            self._off_base,
            self._offsets,
            self._frag_word,
            self._ids,
            self._frag,
            budget,
            PROBE_IN_SCANNED_CODES,
            CANDIDATE_IN_SCANNED_CODES,
            Dm,
            Im,
            done,
        )
        filled = np.minimum(k, self._n)
        D[done, :filled] = Dm[done, :filled]
        I[done, :filled] = Im[done, :filled]
        rest = np.flatnonzero(~done)
        if rest.size:
            Df, If = self._flat_index().search_words(q, rest.astype(np.int64), k)
            D[rest] = Df
            I[rest] = If
        return D, I

    def range_search(self, xq: npt.ArrayLike, radius: int, variants: int = 1) -> tuple[Lims, Distances, Ids]:
        """All codes at distance <= ``radius`` (inclusive): ``(lims, D, I)``,
        ids ascending per query; ``variants`` as in :meth:`FlatIndex.range_search`."""
        radius = _common.check_radius(radius)
        q, _ = _common.as_query_words(xq, self.nbytes, variants)
        lims, D, I = self.range_search_words(q, radius)
        return _common.finish_range(lims, D, I, variants)

    def range_search_words(self, q: _common.Words, radius: int) -> tuple[Lims, Distances, Ids]:
        nq = q.shape[0]
        if nq == 0 or self._n == 0 or radius < 0:
            return _common.empty_range(nq)
        self._ready()
        if self._use_flat_for_range(radius):
            return self._flat_index().range_search_words(q, radius)
        radii_list = substring_radii(self._lengths, self._n, radius)
        radii = np.array(radii_list, dtype=np.int64)
        nprobe = sum(math.comb(s, lv) for s, r in zip(self._lengths, radii_list) for lv in range(r + 1))
        nitems = -(-nq // QUERY_BLOCK)
        q0 = np.arange(nitems, dtype=np.int64) * QUERY_BLOCK
        q1 = np.minimum(nq, q0 + QUERY_BLOCK)
        words = self._words[: self._n]

        def run_items(idx, start, cap, out_q, out_i, out_d, count):
            # numba splits a prange into one contiguous run of items per thread; a query's cost
            # varies ~2x (near duplicates have hundreds of candidates), and query sets are
            # often sorted (all altered copies, then all fresh images), so the items are
            # shuffled (fixed seed) before the split. Measured: 1.3x on such a query set.
            order = _common.spread_order(len(idx))
            got = np.zeros(len(idx), np.int64)
            _kernels.mih_range(
                q,
                words,
                radius,
                self._bit0,
                self._len,
                radii,
                self._off_base,
                self._offsets,
                self._frag_word,
                self._ids,
                self._frag,
                nprobe,
                q0[idx[order]],
                q1[idx[order]],
                start[order],
                cap[order],
                out_q,
                out_i,
                out_d,
                got,
            )
            count[order] = got

        slotted = _common.run_slotted(run_items, nitems)
        return _common.assemble(nq, *slotted)

    def count_within(self, xq: npt.ArrayLike, radius: int, variants: int = 1) -> Counts:
        """Number of distinct ids within ``radius`` (inclusive) of each query (or query group)."""
        radius = _common.check_radius(radius)
        q, _ = _common.as_query_words(xq, self.nbytes, variants)
        if self._n and radius >= 0 and variants == 1:
            self._ready()
            if self._use_flat_for_range(radius):
                return self._flat_index().count_within(xq, radius)
        lims, _, _ = self.range_search(xq, radius, variants=variants)
        return np.diff(lims)

    # ---------------------------------------------------------------- persistence
    def save(self, path: str | PathLike[str]) -> None:
        """Write codes and parameters (tables are rebuilt on load); see :mod:`.persist`."""
        persist.save_index(
            path,
            kind=self.kind,
            nbits=self.nbits,
            codes=self.reconstruct_n(),
            params={"m": self._m_requested, "radius_hint": self.radius_hint, "flat_fallback": self.flat_fallback},
        )

    @classmethod
    def load(cls, path: str | PathLike[str]) -> MIHIndex:
        kind, nbits, codes, params = persist.read_index(path)
        if kind != cls.kind:
            raise ValueError(f"{path} holds a {kind!r} index, not {cls.kind!r}")
        index = cls(
            nbits,
            m=params.get("m"),
            radius_hint=params.get("radius_hint"),
            flat_fallback=params.get("flat_fallback", True),
        )
        index.add(codes)
        return index
