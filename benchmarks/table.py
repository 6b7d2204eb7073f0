"""The README "Performance" table: each hashbench figure as a ratio against a named baseline
measured in the same run, with the machine it ran on.

``make bench-table`` runs ``python benchmarks/table.py`` and prints Markdown (also written to
results/benchmarks/table.md and .json). Every row times a hashbench operation and its baseline
in turns, ``--rounds`` times, and keeps each one's fastest round (wall clock), after one
untimed call each so numba compile time and cold caches stay out. The ratio is
``hashbench speed / baseline speed``: above 1 hashbench is faster, below 1 it pays that much
over the baseline. Absolute speeds are shown for context only: on a shared machine they move
with other people's load, the ratios much less.

Baselines (named in each row):

* hashing: the hashing library called directly (``pdqhash.compute``, ``pdqhash.compute_dihedral``,
  ``imagehash.phash``, ``hashlib.md5``), and for files one process that decodes with Pillow and
  calls ``pdqhash.compute``;
* index: faiss ``IndexBinaryFlat`` (and ``IndexBinaryMultiHash``) on the same codes, via
  :func:`index_harness.run_index_benchmark` (benchmarks/index_harness.py), plus the popcount ceiling of the scan loop;
* impostor histogram: numpy (``np.bitwise_count`` over blocks of pairs, then ``np.bincount``),
  whose histogram must equal the kernel's;
* transforms: a Pillow round trip of the same image (``np.asarray(Image.fromarray(img))``);
* generation: numpy producing the same number of random pixels.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for timing.py and photos.py when loaded by path, not run
from photos import photo_like  # noqa: E402
from timing import interleaved_min  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
THREADS = 2


@dataclass(frozen=True)
class Row:
    """One line of the table: a hashbench operation against its baseline, same run."""

    stage: str
    operation: str
    baseline: str
    unit: str  # what both rates count per second ("images", "queries", "pairs", ...)
    rate: float
    baseline_rate: float

    @property
    def ratio(self) -> float:
        return self.rate / self.baseline_rate


def pair_row(
    stage: str,
    operation: str,
    baseline: str,
    unit: str,
    work: float,
    fn: Callable[[], object],
    base_fn: Callable[[], object],
    rounds: int,
) -> Row:
    """Time ``fn`` and ``base_fn`` (each doing ``work`` units) in turns: one row."""
    best = interleaved_min({"hashbench": fn, "baseline": base_fn}, rounds, warmup=True)
    return Row(stage, operation, baseline, unit, work / best["hashbench"], work / best["baseline"])


# ------------------------------------------------------------------------------------------------
# the rows


def hashing_rows(rounds: int, n: int = 24) -> list[Row]:
    import imagehash
    import pdqhash
    from PIL import Image

    from hashbench import hashers
    from hashbench.hashers import ImageItem

    imgs = photo_like((768, 1024), n)
    items = [ImageItem(str(i), a) for i, a in enumerate(imgs)]
    jpegs = []
    for a in imgs:
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, format="JPEG", quality=90)
        jpegs.append(buf.getvalue())
    jpeg_items = [ImageItem(str(i), a, data=b) for i, (a, b) in enumerate(zip(imgs, jpegs))]
    size = "1024x768"
    rows = [
        pair_row(
            "hash",
            f"`pdq` Hasher.hash_many, {size}",
            "`pdqhash.compute`",
            "images",
            n,
            lambda: hashers.get("pdq").hash_many(items),
            lambda: [pdqhash.compute(a) for a in imgs],
            rounds,
        ),
        pair_row(
            "hash",
            f"`pdq8` (8 dihedral hashes), {size}",
            "`pdqhash.compute_dihedral`",
            "images",
            n,
            lambda: hashers.get("pdq8").hash_many(items),
            lambda: [pdqhash.compute_dihedral(a) for a in imgs],
            rounds,
        ),
        pair_row(
            "hash",
            f"`phash` Hasher.hash_many, {size}",
            "`imagehash.phash(Image.fromarray(a))`",
            "images",
            n,
            lambda: hashers.get("phash").hash_many(items),
            lambda: [imagehash.phash(Image.fromarray(a)) for a in imgs],
            rounds,
        ),
        pair_row(
            "hash",
            "`md5` of the file bytes (JPEG)",
            "`hashlib.md5(data)`",
            "images",
            n,
            lambda: hashers.get("md5").hash_many(jpeg_items),
            lambda: [hashlib.md5(b).digest() for b in jpegs],
            rounds,
        ),
    ]
    rows.append(hash_files_row(rounds, imgs * 2))
    return rows


def hash_files_row(rounds: int, imgs: Sequence[np.ndarray]) -> Row:
    """Files end to end (read, decode, EXIF, pdq): hash_files with 2 workers against one
    process doing the same with Pillow and pdqhash directly."""
    import pdqhash
    from PIL import Image

    from hashbench.hashing import hash_files

    with tempfile.TemporaryDirectory(prefix="hashbench-table-") as tmp:
        paths = []
        for i, a in enumerate(imgs):
            p = Path(tmp) / f"{i:03d}.jpg"
            Image.fromarray(a).save(p, quality=90)
            paths.append(p)

        def direct() -> None:
            for p in paths:
                with Image.open(p) as im:
                    pdqhash.compute(np.asarray(im.convert("RGB")))

        return pair_row(
            "hash",
            f"`hash_files(..., workers={THREADS})`, {len(paths)} JPEG files 1024x768",
            "one process: Pillow decode + `pdqhash.compute`",
            "images",
            len(paths),
            lambda: hash_files(paths, None, ["pdq"], workers=THREADS, progress=False),
            direct,
            max(2, rounds // 2),
        )


def large_pdq_row(rounds: int, n: int = 3) -> Row:
    """PDQ on 12-megapixel photos (4000x3000), where pdqhash's column passes miss the cache most."""
    import pdqhash

    from hashbench import hashers
    from hashbench.hashers import ImageItem

    imgs = photo_like((3000, 4000), n, seed=4)
    items = [ImageItem(str(i), a) for i, a in enumerate(imgs)]
    return pair_row(
        "hash",
        "`pdq` Hasher.hash_many, 4000x3000",
        "`pdqhash.compute`",
        "images",
        n,
        lambda: hashers.get("pdq").hash_many(items),
        lambda: [pdqhash.compute(a) for a in imgs],
        max(2, rounds // 2),
    )


def decode_rows(rounds: int, n: int = 4) -> list[Row]:
    """``decode = "draft"`` against full decoding of the same 4000x3000 JPEGs (phone photos,
    decode_bytes): the draft side for pdq, phash and md5 is 1024 (2 x PDQ's 512), so libjpeg
    hands over 2000x1500 (a 1/2 scale). A 1024x768 JPEG is not reduced at all with PDQ."""
    from PIL import Image

    from hashbench.hashers import get
    from hashbench.hashing import draft_side
    from hashbench.imageio import decode_bytes

    side, _ = draft_side([get("pdq"), get("phash"), get("md5")])
    jpegs = []
    for a in photo_like((3000, 4000), n, seed=5):
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, format="JPEG", quality=90)
        jpegs.append(buf.getvalue())
    return [
        pair_row(
            "decode",
            f"`decode_bytes(draft={side})` (pdq,phash,md5), JPEG 4000x3000",
            "`decode_bytes` in full",
            "images",
            n,
            lambda: [decode_bytes(b, draft=side) for b in jpegs],
            lambda: [decode_bytes(b) for b in jpegs],
            max(2, rounds // 2),
        )
    ]


def index_rows(rounds: int, n: int, nq: int = 1000) -> tuple[list[Row], list[str]]:
    from index_harness import run_index_benchmark

    mh = (11, 23, 2)
    res = run_index_benchmark(
        n, nq, nbits=256, data="uniform", radius=31, threads=THREADS, rounds=rounds, faiss_multihash=(mh,)
    )
    flat, ff = "hashbench FlatIndex", "faiss IndexBinaryFlat"
    mih = next(m.name for m in res.methods if m.name.startswith("hashbench MIHIndex"))
    mh_name = f"faiss MultiHash nhash={mh[0]} b={mh[1]} nflip={mh[2]}"
    where = f"{n:,} x 256-bit codes, {nq:,} queries"
    rows = [
        Row(
            "index",
            f"`FlatIndex.range_search` r=31, {where}",
            "faiss `IndexBinaryFlat.range_search`",
            "queries",
            res.qps(flat, "range"),
            res.qps(ff, "range"),
        ),
        Row(
            "index",
            f"`FlatIndex.search` k=1, {where}",
            "faiss `IndexBinaryFlat.search`",
            "queries",
            res.qps(flat, "knn1"),
            res.qps(ff, "knn1"),
        ),
        Row(
            "index",
            f"`MIHIndex.range_search` r=31 ({mih.split('(')[1].rstrip(')')}), {where}",
            "faiss `IndexBinaryFlat.range_search`",
            "queries",
            res.qps(mih, "range"),
            res.qps(ff, "range"),
        ),
        Row(
            "index",
            f"`MIHIndex.range_search` r=31, {where}",
            f"faiss `IndexBinaryMultiHash` (nhash={mh[0]}, b={mh[1]}, nflip={mh[2]}, exact)",
            "queries",
            res.qps(mih, "range"),
            res.qps(mh_name, "range"),
        ),
    ]
    flat_m = res.get(flat)
    assert flat_m is not None
    per_core = n * nq / flat_m.times["range"] / res.threads
    rows.append(
        Row(
            "index",
            "`FlatIndex.range_search` comparisons/s per core",
            "popcount ceiling: the scan loop on L1-resident codes",
            "comparisons",
            per_core,
            res.popcount_per_core,
        )
    )
    notes = [f"{m.name} {op}: NOT exact" for m in res.methods for op, ok in m.exact.items() if not ok]
    notes += res.notes
    return rows, notes


def numpy_histogram(codes: np.ndarray, nbits: int, block: int = 64) -> np.ndarray:
    """Exact impostor histogram (all pairs i < j) with numpy only: blocks of rows against every
    later column, one 64-bit word at a time (``np.bitwise_count``), then ``np.bincount``."""
    from hashbench.bits import to_words

    words = to_words(codes)
    n, nw = words.shape
    hist = np.zeros(nbits + 1, np.int64)
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        d = np.zeros((i1 - i0, n - i0), np.uint16)
        for w in range(nw):
            d += np.bitwise_count(words[i0:i1, w, None] ^ words[None, i0:, w])
        keep = np.arange(i0, n)[None, :] > np.arange(i0, i1)[:, None]
        hist += np.bincount(d[keep], minlength=nbits + 1)
    return hist


def histogram_row(rounds: int, n: int) -> Row:
    from hashbench.evaluate import impostor_histogram

    codes = np.random.default_rng(0).integers(0, 256, (n, 32), dtype=np.uint8)
    ours, ref = impostor_histogram(codes), numpy_histogram(codes, 256)
    if not np.array_equal(ours, ref):
        raise RuntimeError("impostor_histogram and the numpy reference disagree")
    pairs = n * (n - 1) // 2
    return pair_row(
        "evaluate",
        f"`impostor_histogram`, {n:,} x 256-bit codes ({_rate(pairs)} pairs)",
        "numpy: `np.bitwise_count` blocks + `np.bincount`",
        "pairs",
        pairs,
        lambda: impostor_histogram(codes),
        lambda: numpy_histogram(codes, 256),
        max(2, rounds // 2),
    )


def transform_rows(
    rounds: int, kinds: Sequence[str] = ("jpeg", "resize", "rotate", "blur", "text_overlay"), n: int = 20
) -> list[Row]:
    from PIL import Image

    from hashbench import transforms as tf
    from hashbench.datasets import SampleDataset

    item = next(it for it in SampleDataset() if it.id.endswith("chelsea"))
    img = np.asarray(Image.fromarray(item.load()).resize((256, 256), Image.Resampling.LANCZOS))
    rngs = [np.random.default_rng(i) for i in range(n)]

    def roundtrip() -> None:
        for _ in range(n):
            np.asarray(Image.fromarray(img))

    rows = []
    for kind in kinds:
        t = tf.get(kind)
        rows.append(
            pair_row(
                "transform",
                f"`{kind}` (default parameters), 256x256 photo",
                "Pillow round trip",
                "images",
                n,
                lambda t=t: [t.apply(img, r) for r in rngs],
                roundtrip,
                rounds,
            )
        )
    return rows


def generation_row(rounds: int, n: int = 60) -> Row:
    from hashbench.datasets import generate

    def numpy_pixels() -> None:
        rng = np.random.default_rng(0)
        for _ in range(n):
            (rng.random((256, 256, 3)) * 256).astype(np.uint8)

    return pair_row(
        "generate",
        "synthetic `mixed` family, 256x256",
        "numpy: as many random pixels",
        "images",
        n,
        lambda: [generate("mixed", i, 0, (256, 256)) for i in range(n)],
        numpy_pixels,
        rounds,
    )


# ------------------------------------------------------------------------------------------------
# machine and output


def machine() -> dict[str, Any]:
    """CPU model, cores, caches, load, versions: what the ratios were measured on."""
    info: dict[str, Any] = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        for line in cpuinfo.splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        fields = dict(ln.split(":", 1) for ln in cpuinfo.split("\n\n")[0].splitlines() if ":" in ln)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        info["cpu_family_model"] = f"family {fields.get('cpu family', '?')} model {fields.get('model', '?')}"
        flags = next((ln for ln in cpuinfo.splitlines() if ln.startswith("flags")), "")
        info["avx512_vpopcntdq"] = "avx512_vpopcntdq" in flags
        info["virtual_machine"] = " hypervisor" in flags
    except OSError:
        pass
    caches = {}
    for idx in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            level = (idx / "level").read_text().strip()
            kind = (idx / "type").read_text().strip()
            if kind != "Instruction":
                caches[f"L{level}"] = (idx / "size").read_text().strip()
        except OSError:
            continue
    info["caches_per_core_or_shared"] = caches
    if hasattr(os, "getloadavg"):
        info["load_average_1min_start"] = round(os.getloadavg()[0], 2)
    import faiss
    import numba
    import pdqhash  # noqa: F401

    import hashbench

    info["versions"] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "faiss": faiss.__version__,
        "hashbench": hashbench.__version__,
    }
    return info


def _rate(x: float) -> str:
    """3 significant digits; 1.39e9 rather than 1,390,000,000."""
    if x >= 1e6:
        mantissa, exp = f"{x:.2e}".split("e")
        return f"{mantissa}e{int(exp)}"
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def format_markdown(rows: Sequence[Row], info: dict[str, Any], notes: Sequence[str] = ()) -> str:
    """The table, the machine line and any notes, as Markdown."""
    cache = ", ".join(f"{k} {v}" for k, v in info.get("caches_per_core_or_shared", {}).items())
    popcnt = {True: "AVX-512 VPOPCNTDQ", False: "no AVX-512 VPOPCNTDQ"}.get(info.get("avx512_vpopcntdq"), "")
    about = [
        x
        for x in (
            info.get("cpu_family_model", ""),
            popcnt,
            f"{info.get('cores', '?')} cores",
            cache,
            "virtual machine" if info.get("virtual_machine") else "",
        )
        if x
    ]
    load, load_end = info.get("load_average_1min_start"), info.get("load_average_1min_end")
    lines = [
        f"Measured {info.get('date', '?')} on {info.get('cpu', '?')} ({'; '.join(about)}), {THREADS} threads/workers"
        + (f"; load average {load} at the start, {load_end} at the end" if load is not None else "")
        + ".",
        "",
        "| stage | hashbench | baseline (same run) | hashbench /s | baseline /s | ratio |",
        "|---|---|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.stage} | {r.operation} | {r.baseline} | {_rate(r.rate)} {r.unit} | "
            f"{_rate(r.baseline_rate)} {r.unit} | **{r.ratio:.2f}x** |"
        )
    lines.append("")
    lines.append("ratio = hashbench speed / baseline speed, each the fastest of its rounds, timed in turns.")
    versions = info.get("versions", {})
    if versions:
        lines.append("Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".")
    lines += [f"Note: {n}" for n in notes]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="benchmarks/table.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--rounds", type=int, default=5, help="timed turns per row; the fastest counts (default 5)")
    p.add_argument("--index-n", type=int, default=1_000_000, help="codes in the index rows (default 1,000,000)")
    p.add_argument("--histogram-n", type=int, default=20_000, help="codes in the histogram row (default 20,000)")
    p.add_argument("--out", default=str(ROOT / "results" / "benchmarks"), help="folder for table.md and table.json")
    args = p.parse_args(argv)

    import faiss
    import numba

    numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))
    faiss.omp_set_num_threads(THREADS)
    info = machine()
    info["date"] = dt.date.today().isoformat()
    t0 = time.perf_counter()

    def step(name: str) -> None:
        print(f"measuring {name} ... ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)

    step("hashing")
    rows = hashing_rows(args.rounds)
    rows.append(large_pdq_row(args.rounds))
    step("decoding")
    rows += decode_rows(args.rounds)
    step("index")
    index, notes = index_rows(args.rounds, args.index_n)
    rows += index
    step("impostor histogram")
    rows.append(histogram_row(args.rounds, args.histogram_n))
    step("transforms")
    rows += transform_rows(args.rounds)
    step("generation")
    rows.append(generation_row(args.rounds))
    if hasattr(os, "getloadavg"):
        info["load_average_1min_end"] = round(os.getloadavg()[0], 2)
    info["seconds"] = round(time.perf_counter() - t0, 1)
    text = format_markdown(rows, info, notes)
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(text + "\n")
    (out / "table.json").write_text(
        json.dumps({"machine": info, "notes": notes, "rows": [dict(asdict(r), ratio=r.ratio) for r in rows]}, indent=1)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
