"""Speed of the Hamming indexes against faiss, measured in one process (the machine is shared,
so only ratios within one run mean anything).

Run ``python benchmarks/index_harness.py --n 1000000,10000000 --q 1000`` for the table (``--help``
for every option); benchmarks/bench_index.py (pytest-benchmark) and benchmarks/table.py use
:func:`run_index_benchmark` too. Every timed call runs once untimed first (numba compiles then),
then the methods take turns for ``rounds`` rounds and each keeps its fastest round: taking turns
spreads other users' load over every method instead of penalizing whichever ran during a spike.
faiss MultiHash settings (2-10 GB each at 10M codes) are built one at a time, each taking turns
with MIHIndex before it is freed. numba's and faiss's thread counts are set for the run and
restored after it.

It lives in benchmarks/, not in the package: only a benchmark needs faiss, glibc's
``malloc_trim`` or a forced thread count, and the library must not import or set them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from hashbench.index import FlatIndex, MIHIndex, _kernels
from timing import numba_threads

__all__ = [
    "make_codes",
    "make_queries",
    "IndexBenchResult",
    "run_index_benchmark",
    "format_table",
    "faiss_threads",
    "main",
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


def _return_freed_memory() -> None:
    """Give freed heap pages back to the OS (glibc ``malloc_trim``), so the RSS growth of the
    next index built measures that index alone. A no-op where there is no glibc."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


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


def _same_range(a: Sequence[Any], b: Sequence[Any]) -> bool:
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


#: One timed operation: the method it belongs to, its name ("range", "knn1", ...), the call.
Op = tuple[MethodResult, str, Callable[[], Any]]


@contextlib.contextmanager
def faiss_threads(n: int) -> Iterator[Any]:
    """faiss (OpenMP) uses ``n`` threads inside, its previous count after; yields the module.

    Imported here, on first use, so the harness runs without faiss when asked to skip it."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield faiss
    finally:
        faiss.omp_set_num_threads(before)


@dataclass
class _Run:
    """What the steps of :func:`run_index_benchmark` share: the codes, the methods timed so far,
    the operations that take turns, and every operation's untimed (warm-up) result."""

    xb: npt.NDArray[np.uint8]
    xq: npt.NDArray[np.uint8]
    nbits: int
    radius: int
    rounds: int
    methods: list[MethodResult] = field(default_factory=list)
    ops: list[Op] = field(default_factory=list)
    results: dict[tuple[str, str], Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return int(self.xb.shape[0])


def _add_hashbench_indexes(run: _Run) -> tuple[MethodResult, MethodResult, Callable[[], Any]]:
    """FlatIndex (range, kNN1, count) and MIHIndex (range, build timed after a compiling build);
    returns both results and MIHIndex's range call, which also takes turns with faiss MultiHash."""
    xq, radius = run.xq, run.radius
    flat_r = MethodResult("hashbench FlatIndex")
    t0 = time.perf_counter()
    flat = FlatIndex(run.nbits)
    flat.add(run.xb)
    flat_r.build_s = time.perf_counter() - t0
    flat_r.bytes_per_code = flat.nbytes_per_code
    run.ops += [
        (flat_r, "range", lambda: flat.range_search(xq, radius)),
        (flat_r, "knn1", lambda: flat.search(xq, 1)),
        (flat_r, "count", lambda: flat.count_within(xq, radius)),
    ]
    mih = MIHIndex(run.nbits, radius_hint=radius, flat_fallback=False)
    mih.add(run.xb)
    mih.build()  # first build compiles; time the second
    t0 = time.perf_counter()
    mih.build()
    mih_r = MethodResult(f"hashbench MIHIndex (m={mih.m})")
    mih_r.build_s = time.perf_counter() - t0
    mih_r.bytes_per_code = mih.nbytes_per_code

    def mih_range() -> Any:
        return mih.range_search(xq, radius)

    run.ops.append((mih_r, "range", mih_range))
    run.methods += [flat_r, mih_r]
    return flat_r, mih_r, mih_range


def _add_faiss_flat(run: _Run, faiss: Any) -> None:
    """faiss IndexBinaryFlat, range and kNN1 (its binary range search keeps distance < radius,
    so ``radius + 1`` is ours)."""

    def build() -> Any:
        index = faiss.IndexBinaryFlat(run.nbits)
        index.add(run.xb)
        return index

    ff_r = MethodResult("faiss IndexBinaryFlat")
    ff = _build_measured(ff_r, run.n, build)
    run.methods.append(ff_r)
    run.ops += [
        (ff_r, "range", lambda: ff.range_search(run.xq, run.radius + 1)),
        (ff_r, "knn1", lambda: ff.search(run.xq, 1)),
    ]


def _exact_multihash(run: _Run, settings: Sequence[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """The MultiHash settings that can be exact at ``run.radius`` (pigeonhole: nflip >= radius //
    nhash); the others get a note instead of a timing."""
    keep = []
    for nhash, b, nflip in settings:
        if nhash * b > run.nbits or nflip < run.radius // nhash:
            run.notes.append(f"skipped faiss MultiHash nhash={nhash} b={b} nflip={nflip}: not exact at r={run.radius}")
        else:
            keep.append((nhash, b, nflip))
    return keep


def _add_popcount_ceiling(run: _Run, seed: int) -> tuple[MethodResult, int, int]:
    """FlatIndex's own count kernel on a block of codes that stays in L1 (32 KiB): xor + popcount
    + compare throughput with no memory traffic, as many comparisons as one flat scan. It takes
    its turns with the others, so it sees the same machine load. Returns (result, block, queries)."""
    nwords = (run.nbits + 63) // 64
    rng = np.random.default_rng(seed)
    block = 1024
    cols = rng.integers(0, 2**63, (nwords, block)).astype(np.uint64)
    nq = max(1, (run.n * run.xq.shape[0]) // block)
    q = rng.integers(0, 2**63, (nq, nwords)).astype(np.uint64)
    peak_r = MethodResult("popcount ceiling")
    run.ops.append((peak_r, "peak", lambda: _kernels.flat_count(cols, block, q, run.radius, 64, block)))
    return peak_r, block, nq


def _time_one_multihash(run: _Run, faiss: Any, setting: tuple[int, int, int], reference: Any, mih_op: Op) -> None:
    """Build one faiss MultiHash setting, check it against ``reference`` (also its warm-up) and
    time it in turns with MIHIndex. The index is freed when this returns."""
    nhash, b, nflip = setting

    def build() -> Any:
        index = faiss.IndexBinaryMultiHash(run.nbits, nhash, b)
        index.nflip = nflip
        index.add(run.xb)
        return index

    r = MethodResult(f"faiss MultiHash nhash={nhash} b={b} nflip={nflip}")
    mh = _build_measured(r, run.n, build)
    run.methods.append(r)
    group: list[Op] = [(r, "range", lambda: mh.range_search(run.xq, run.radius + 1)), mih_op]
    r.exact["range"] = _same_range(reference, group[0][2]())
    _take_turns(group, run.rounds)


def _time_multihash(run: _Run, faiss: Any, settings: list[tuple[int, int, int]], reference: Any, mih_op: Op) -> None:
    """faiss MultiHash settings one at a time, each in turns with MIHIndex (at 10M codes one
    takes 2-10 GB, so they cannot all be alive at once); MIHIndex keeps its fastest round over
    every group, like every other method."""
    for setting in settings:
        _time_one_multihash(run, faiss, setting, reference, mih_op)
        _return_freed_memory()  # else the next setting's RSS growth reuses the freed pages


def _check_exact(run: _Run, flat_r: MethodResult, mih_r: MethodResult, skip: MethodResult) -> None:
    """Every method's warm-up result against FlatIndex's (kNN: distances only, faiss breaks ties
    by any id); FlatIndex's count against its own range search."""
    ref_range = run.results[(flat_r.name, "range")]
    ref_knn = run.results[(flat_r.name, "knn1")]
    flat_r.exact["count"] = bool(np.array_equal(run.results[(flat_r.name, "count")], np.diff(ref_range[0])))
    for m, op, _fn in run.ops:
        if m is flat_r or m is skip:
            continue
        got = run.results[(m.name, op)]
        if op == "range" and m is mih_r:
            m.exact[op] = all(np.array_equal(a, b) for a, b in zip(got, ref_range))
        elif op == "range":
            m.exact[op] = _same_range(ref_range, got)
        elif op == "knn1":
            m.exact[op] = bool(np.array_equal(got[0], ref_knn[0]))


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
    kNN (k=1), check every result against FlatIndex, and measure the popcount ceiling.

    numba (and faiss) run on ``threads`` threads for the call; both counts are restored after."""
    say = log or (lambda _msg: None)
    with contextlib.ExitStack() as stack:
        stack.enter_context(numba_threads(threads))
        faiss = stack.enter_context(faiss_threads(threads)) if with_faiss else None
        xb = make_codes(n, nbits, data, seed)
        run = _Run(xb, make_queries(xb, nq, seed + 1), nbits, radius, rounds)
        flat_r, mih_r, mih_range = _add_hashbench_indexes(run)
        say(f"  built hashbench indexes (n={n:,}, {data})")
        mh_settings: list[tuple[int, int, int]] = []
        if faiss is not None:
            _add_faiss_flat(run, faiss)
            mh_settings = _exact_multihash(run, faiss_multihash)
        peak_r, peak_block, peak_nq = _add_popcount_ceiling(run, seed)
        for m, op, fn in run.ops:  # one untimed call each (numba compiles); kept for the checks
            run.results[(m.name, op)] = fn()
        say("  warm-up done; timing")
        _take_turns(run.ops, rounds)
        if faiss is not None:
            _time_multihash(run, faiss, mh_settings, run.results[(flat_r.name, "range")], (mih_r, "range", mih_range))
        _check_exact(run, flat_r, mih_r, peak_r)
        nthreads = numba.get_num_threads()
    popc = peak_block * peak_nq / peak_r.times["peak"] / nthreads  # per thread
    return IndexBenchResult(n, nq, nbits, data, nthreads, rounds, radius, popc, run.methods, run.notes)


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


# ------------------------------------------------------------------------------------------------
# command line


def _int_list(text: str) -> list[int]:
    return [int(float(x)) for x in text.split(",") if x]


def _triples(text: str) -> tuple[tuple[int, int, int], ...]:
    out = []
    for part in text.split(";"):
        if part.strip():
            a, b, c = (int(x) for x in part.split(","))
            out.append((a, b, c))
    return tuple(out)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python benchmarks/index_harness.py",
        description="Hamming index: FlatIndex / MIHIndex vs faiss (range r=31, kNN k=1); every figure "
        "is a ratio against a baseline measured in the same run.",
        epilog="example: python benchmarks/index_harness.py --n 1000000,10000000 --q 1000",
    )
    p.add_argument("--n", type=_int_list, default=[1_000_000], help="database sizes, comma-separated (default 1000000)")
    p.add_argument("--q", type=int, default=1000, help="queries (default 1000)")
    p.add_argument("--nbits", type=int, default=256, help="code length in bits (default 256, PDQ)")
    p.add_argument("--data", default="uniform,clustered", help="code distributions: uniform,clustered")
    p.add_argument("--radius", type=int, default=31, help="range radius, inclusive (default 31, PDQ)")
    p.add_argument("--threads", type=int, default=2, help="numba and faiss threads (default 2)")
    p.add_argument("--rounds", type=int, default=3, help="timed rounds; the fastest counts (default 3)")
    p.add_argument(
        "--faiss-multihash",
        type=_triples,
        default=None,
        help="faiss IndexBinaryMultiHash settings 'nhash,b,nflip;...' (default: 4 exact settings)",
    )
    p.add_argument("--no-faiss", action="store_true", help="skip faiss (hashbench indexes only)")
    p.add_argument("--json", help="also write the results to this JSON file")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark for every size and distribution asked for; print one table each."""
    args = build_parser().parse_args(argv)
    results = []
    for n in args.n:
        for data in [d for d in args.data.split(",") if d]:
            print(f"running N={n:,} {data} ...", file=sys.stderr, flush=True)
            res = run_index_benchmark(
                n,
                args.q,
                nbits=args.nbits,
                data=data,
                radius=args.radius,
                threads=args.threads,
                rounds=args.rounds,
                faiss_multihash=args.faiss_multihash or DEFAULT_FAISS_MULTIHASH,
                with_faiss=not args.no_faiss,
                log=lambda msg: print(msg, file=sys.stderr, flush=True),
            )
            print(format_table(res), flush=True)
            print(flush=True)
            results.append(res.as_dict())
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1, default=float)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
