"""Speed of the Hamming indexes against faiss, measured in one process (the machine is shared,
so only ratios within one run mean anything).

Used by ``python -m hashbench.bench index`` (prints a table) and ``benchmarks/bench_index.py``
(pytest-benchmark). Every timed call runs once untimed first (numba compiles then), then the
methods take turns for ``rounds`` rounds and each keeps its fastest round: taking turns spreads
other users' load over every method instead of penalizing whichever ran during a spike.
faiss MultiHash settings (2-10 GB each at 10M codes) are built one at a time, each taking turns
with MIHIndex before it is freed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from . import _kernels
from .flat import FlatIndex
from .mih import MIHIndex

__all__ = [
    "make_codes",
    "make_queries",
    "popcount_peak_per_core",
    "IndexBenchResult",
    "run_index_benchmark",
    "format_table",
    "DEFAULT_FAISS_MULTIHASH",
]

#: faiss IndexBinaryMultiHash settings (nhash, b, nflip) that are exact at radius 31 on
#: 256-bit codes: nflip >= floor(31 / nhash) (pigeonhole over the hashed bits).
DEFAULT_FAISS_MULTIHASH: tuple[tuple[int, int, int], ...] = ((11, 23, 2), (16, 16, 1), (10, 25, 3), (8, 32, 3))


def _sparse_mask(rng: np.random.Generator, shape: tuple[int, ...], log2_inv_p: int) -> npt.NDArray[np.uint8]:
    """Random bytes whose bits are each set with probability ``2**-log2_inv_p`` (AND of
    uniform bytes: cheap at 10M codes, unlike unpacking bits)."""
    mask = rng.integers(0, 256, shape, dtype=np.uint8)
    for _ in range(log2_inv_p - 1):
        mask &= rng.integers(0, 256, shape, dtype=np.uint8)
    return mask


def make_codes(n: int, nbits: int, kind: str, seed: int = 0) -> npt.NDArray[np.uint8]:
    """``uniform``: independent random codes. ``clustered``: n/64 centres, each code its centre
    with every bit flipped with p = 1/16 (~16 bits), so near duplicates (pairs within ~31
    bits) are everywhere, as in a real hash list with re-encoded copies."""
    rng = np.random.default_rng(seed)
    nbytes = nbits // 8
    if kind == "uniform":
        return rng.integers(0, 256, (n, nbytes), dtype=np.uint8)
    if kind != "clustered":
        raise ValueError(f"unknown code distribution {kind!r} (uniform, clustered)")
    centres = rng.integers(0, 256, (max(1, n // 64), nbytes), dtype=np.uint8)
    out = np.empty((n, nbytes), dtype=np.uint8)
    step = 1 << 20
    for a in range(0, n, step):
        b = min(n, a + step)
        out[a:b] = centres[rng.integers(0, len(centres), b - a)] ^ _sparse_mask(rng, (b - a, nbytes), 4)
    return out


def make_queries(xb: npt.NDArray[np.uint8], nq: int, seed: int = 1) -> npt.NDArray[np.uint8]:
    """Half altered copies of stored codes (~16 bits flipped: matches at r=31), half fresh
    random codes (no match: the common case of a scan)."""
    rng = np.random.default_rng(seed)
    half = nq // 2
    near = xb[rng.integers(0, len(xb), half)] ^ _sparse_mask(rng, (half, xb.shape[1]), 4)
    fresh = rng.integers(0, 256, (nq - half, xb.shape[1]), dtype=np.uint8)
    return np.concatenate([near, fresh])


def popcount_peak_per_core(
    nbits: int = 256, block_codes: int = 512, repeats: int = 1_000_000, rounds: int = 3
) -> float:
    """Comparisons per second per thread of the scan loop on an L1-resident block (16 KiB for
    256-bit codes): the machine's popcount-bound ceiling for any flat scan, measured now, with
    every thread busy. Each round lasts long enough (~0.1 s) that one descheduled thread on a
    shared machine does not dominate it."""
    threads = numba.get_num_threads()
    nwords = (nbits + 63) // 64
    rng = np.random.default_rng(0)
    cols = rng.integers(0, 2**63, (nwords, block_codes)).astype(np.uint64)
    xq = rng.integers(0, 2**63, (threads, nwords)).astype(np.uint64)
    _kernels.scan_peak(cols, xq, 1)
    best = np.inf
    for _ in range(rounds):
        t0 = time.perf_counter()
        _kernels.scan_peak(cols, xq, repeats)
        best = min(best, time.perf_counter() - t0)
    return block_codes * repeats / best


def _return_freed_memory() -> None:
    """Give freed heap pages back to the OS (glibc ``malloc_trim``), so the RSS growth of the
    next index built measures that index alone. A no-op where there is no glibc."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _build_measured(result: MethodResult, n: int, build: Callable[[], Any]) -> Any:
    """Run ``build`` (which makes a third-party index holding ``n`` codes) and record its wall
    time and the resident memory it added, per code; returns what ``build`` returned."""
    _return_freed_memory()
    rss0 = _rss_bytes()
    t0 = time.perf_counter()
    index = build()
    result.build_s = time.perf_counter() - t0
    result.bytes_per_code = (_rss_bytes() - rss0) / n
    return index


def _take_turns(ops: list[tuple[MethodResult, str, Callable[[], Any]]], rounds: int) -> None:
    """Time each op ``rounds`` times, the ops taking turns, keeping each one's fastest round."""
    for _ in range(rounds):
        for m, op, fn in ops:
            t0 = time.perf_counter()
            fn()
            m.times[op] = min(m.times.get(op, np.inf), time.perf_counter() - t0)


@dataclass
class MethodResult:
    name: str
    build_s: float = float("nan")
    bytes_per_code: float = float("nan")
    times: dict[str, float] = field(default_factory=dict)  # operation -> best seconds
    exact: dict[str, bool] = field(default_factory=dict)


@dataclass
class IndexBenchResult:
    n: int
    nq: int
    nbits: int
    data: str
    threads: int
    rounds: int
    radius: int
    popcount_per_core: float
    methods: list[MethodResult]
    notes: list[str] = field(default_factory=list)

    def get(self, name: str) -> MethodResult | None:
        return next((m for m in self.methods if m.name == name), None)

    def qps(self, name: str, op: str) -> float:
        m = self.get(name)
        return self.nq / m.times[op] if m is not None and op in m.times else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "nq": self.nq,
            "nbits": self.nbits,
            "data": self.data,
            "threads": self.threads,
            "rounds": self.rounds,
            "radius": self.radius,
            "popcount_per_core": self.popcount_per_core,
            "methods": [m.__dict__ for m in self.methods],
            "notes": self.notes,
        }


def _same_range(a, b) -> bool:  # type: ignore[no-untyped-def]
    """Same matches (ids and distances per query), whatever the order inside a query."""
    la, Da, Ia = a
    lb, Db, Ib = b
    la = np.asarray(la, np.int64)
    lb = np.asarray(lb, np.int64)
    if not np.array_equal(la, lb):
        return False
    qa = np.repeat(np.arange(len(la) - 1), np.diff(la))
    oa = np.lexsort((Ia, qa))
    ob = np.lexsort((np.asarray(Ib), qa))
    return bool(
        np.array_equal(Ia[oa], np.asarray(Ib)[ob])
        and np.array_equal(Da[oa], np.asarray(Db, np.int64)[ob].astype(Da.dtype))
    )


def run_index_benchmark(
    n: int,
    nq: int = 1000,
    *,
    nbits: int = 256,
    data: str = "uniform",
    radius: int = 31,
    threads: int = 2,
    rounds: int = 3,
    faiss_multihash: tuple[tuple[int, int, int], ...] = DEFAULT_FAISS_MULTIHASH,
    with_faiss: bool = True,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> IndexBenchResult:
    """Build every index on the same codes, time range search (``radius``, inclusive) and
    kNN (k=1), check every result against FlatIndex, and measure the popcount ceiling."""
    say = log or (lambda _msg: None)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    xb = make_codes(n, nbits, data, seed)
    xq = make_queries(xb, nq, seed + 1)
    methods: list[MethodResult] = []
    ops: list[tuple[MethodResult, str, Callable[[], Any]]] = []
    notes: list[str] = []
    mh_settings: list[tuple[int, int, int]] = []

    flat_r = MethodResult("hashbench FlatIndex")
    t0 = time.perf_counter()
    flat = FlatIndex(nbits)
    flat.add(xb)
    flat_r.build_s = time.perf_counter() - t0
    flat_r.bytes_per_code = flat.nbytes_per_code
    methods.append(flat_r)
    ops += [
        (flat_r, "range", lambda: flat.range_search(xq, radius)),
        (flat_r, "knn1", lambda: flat.search(xq, 1)),
        (flat_r, "count", lambda: flat.count_within(xq, radius)),
    ]

    mih = MIHIndex(nbits, radius_hint=radius, flat_fallback=False)
    mih.add(xb)
    mih.build()  # first build compiles; time the second
    t0 = time.perf_counter()
    mih.build()
    mih_r = MethodResult(f"hashbench MIHIndex (m={mih.m})")
    mih_r.build_s = time.perf_counter() - t0
    mih_r.bytes_per_code = mih.nbytes_per_code
    methods.append(mih_r)
    mih_range = lambda: mih.range_search(xq, radius)  # noqa: E731
    ops.append((mih_r, "range", mih_range))

    say(f"  built hashbench indexes (n={n:,}, {data})")
    if with_faiss:
        import faiss

        def faiss_flat() -> Any:
            index = faiss.IndexBinaryFlat(nbits)
            index.add(xb)
            return index

        def faiss_multihash_index(nhash: int, b: int, nflip: int) -> Any:
            index = faiss.IndexBinaryMultiHash(nbits, nhash, b)
            index.nflip = nflip
            index.add(xb)
            return index

        faiss.omp_set_num_threads(threads)
        ff_r = MethodResult("faiss IndexBinaryFlat")
        ff = _build_measured(ff_r, n, faiss_flat)
        methods.append(ff_r)
        # faiss's binary range search keeps distance < radius: radius + 1 is ours
        ops += [(ff_r, "range", lambda: ff.range_search(xq, radius + 1)), (ff_r, "knn1", lambda: ff.search(xq, 1))]
        for nhash, b, nflip in faiss_multihash:
            if nhash * b > nbits or nflip < radius // nhash:
                notes.append(f"skipped faiss MultiHash nhash={nhash} b={b} nflip={nflip}: not exact at r={radius}")
                continue
            mh_settings.append((nhash, b, nflip))
    # the popcount ceiling: FlatIndex's own count kernel on a block of codes that stays in L1
    # (32 KiB), so it measures xor + popcount + compare throughput with no memory traffic. It
    # takes its turns with the others, so it sees the same machine load.
    nwords = (nbits + 63) // 64
    peak_rng = np.random.default_rng(seed)
    peak_block = 1024
    peak_cols = peak_rng.integers(0, 2**63, (nwords, peak_block)).astype(np.uint64)
    peak_nq = max(1, (n * nq) // peak_block)  # as many comparisons as one flat scan
    peak_q = peak_rng.integers(0, 2**63, (peak_nq, nwords)).astype(np.uint64)
    peak_r = MethodResult("popcount ceiling")
    ops.append((peak_r, "peak", lambda: _kernels.flat_count(peak_cols, peak_block, peak_q, radius, 64, peak_block)))

    # one untimed call each (numba compiles; results kept for the exactness checks)
    results: dict[tuple[str, str], Any] = {}
    for m, op, fn in ops:
        results[(m.name, op)] = fn()
    say("  warm-up done; timing")
    _take_turns(ops, rounds)
    # faiss MultiHash settings one at a time, each in turns with MIHIndex (at 10M codes one
    # takes 2-10 GB, so they cannot all be alive at once); MIHIndex keeps its fastest round
    # over every group, like every other method.
    for setting in mh_settings:
        r = MethodResult("faiss MultiHash nhash={} b={} nflip={}".format(*setting))
        mh = _build_measured(r, n, lambda: faiss_multihash_index(*setting))
        methods.append(r)
        say(f"  built {r.name} in {r.build_s:.1f} s")
        group = [(r, "range", lambda: mh.range_search(xq, radius + 1)), (mih_r, "range", mih_range)]
        r.exact["range"] = _same_range(results[(flat_r.name, "range")], group[0][2]())  # also the warm-up
        _take_turns(group, rounds)
        del mh, group  # freed before the next setting is built
        _return_freed_memory()  # else the next setting's RSS growth reuses these pages
    ref_range = results[(flat_r.name, "range")]
    ref_knn = results[(flat_r.name, "knn1")]
    flat_r.exact["count"] = bool(np.array_equal(results[(flat_r.name, "count")], np.diff(ref_range[0])))
    for m, op, _fn in ops:
        if m is flat_r or m is peak_r:
            continue
        got = results[(m.name, op)]
        if op == "range":
            if m is mih_r:
                m.exact[op] = all(np.array_equal(a, b) for a, b in zip(got, ref_range))
            else:
                m.exact[op] = _same_range(ref_range, got)
        elif op == "knn1":
            m.exact[op] = bool(np.array_equal(got[0], ref_knn[0]))  # distances (faiss ties: any id)
    popc = peak_block * peak_nq / peak_r.times["peak"] / numba.get_num_threads()  # per thread
    return IndexBenchResult(n, nq, nbits, data, numba.get_num_threads(), rounds, radius, popc, methods, notes)


def _fmt_rate(x: float) -> str:
    return "-" if not np.isfinite(x) else f"{x:,.0f}"


def format_table(res: IndexBenchResult) -> str:
    """The benchmark as a text table with every ratio against faiss and FlatIndex."""
    ff = "faiss IndexBinaryFlat"
    flat = "hashbench FlatIndex"
    lines = [
        f"N={res.n:,} {res.nbits}-bit {res.data} codes, Q={res.nq:,}, {res.threads} threads, "
        f"best of {res.rounds} rounds, range radius {res.radius} (inclusive)",
        f"{'method':<40} {'build s':>8} {'B/code':>7} {'range q/s':>11} {'x faiss flat':>12} "
        f"{'x Flat':>7} {'kNN1 q/s':>10} {'x faiss flat':>12} exact",
    ]
    for m in res.methods:
        rq = res.qps(m.name, "range")
        kq = res.qps(m.name, "knn1")
        exact = ",".join(f"{op}={'yes' if ok else 'NO'}" for op, ok in m.exact.items()) or "(reference)"
        lines.append(
            f"{m.name:<40} {m.build_s:>8.2f} {m.bytes_per_code:>7.0f} {_fmt_rate(rq):>11} "
            f"{rq / res.qps(ff, 'range'):>12.2f} {rq / res.qps(flat, 'range'):>7.2f} {_fmt_rate(kq):>10} "
            f"{kq / res.qps(ff, 'knn1'):>12.2f} {exact}"
        )
    flat_m = res.get(flat)
    if flat_m is not None:
        comps = res.n * res.nq
        per_core = {op: comps / t / res.threads for op, t in flat_m.times.items()}
        limit = res.popcount_per_core
        nwords = (res.nbits + 63) // 64
        lines.append(
            f"popcount ceiling (scan loop on L1-resident codes): {limit:.3g} {res.nbits}-bit "
            f"comparisons/s per core = {limit * nwords:.3g} 64-bit xor+popcounts/s; FlatIndex per core: "
            + ", ".join(f"{op} {v:.3g} ({v / limit:.0%})" for op, v in per_core.items())
        )
    mh = [m for m in res.methods if m.name.startswith("faiss MultiHash") and "range" in m.times]
    mih = next((m for m in res.methods if m.name.startswith("hashbench MIHIndex")), None)
    if mh and mih is not None:
        best = min(mh, key=lambda m: m.times["range"])
        lines.append(
            f"MIHIndex range vs fastest exact faiss MultiHash ({best.name[16:]}): "
            f"{best.times['range'] / mih.times['range']:.2f}x; vs FlatIndex: "
            f"{flat_m.times['range'] / mih.times['range'] if flat_m else float('nan'):.2f}x"
        )
    lines += [f"note: {n}" for n in res.notes]
    return "\n".join(lines)
