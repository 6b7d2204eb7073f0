"""Hashing throughput: per hasher, decode apart, overhead vs pdqhash, and worker scaling.

Run: `make bench`, or `.venv/bin/python -m pytest benchmarks/bench_hashing.py --benchmark-only`.
Every ratio compares two things measured in the same run, interleaved, minimum of several
rounds, because the machine is shared and noisy. Figures land in each benchmark's extra_info
(the JSON written by `make bench`) and are printed with -s.
"""

from __future__ import annotations

import io

import pdqhash
import pytest
from PIL import Image

from hashbench import hashers
from hashbench.hashers import ImageItem
from hashbench.hashing import hash_arrays, hash_files
from hashbench.imageio import decode_bytes
from photos import photo_like
from timing import interleaved_min

SIZES = {"256x256": (256, 256), "1024x768": (768, 1024)}
N_IMAGES = 24


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("name", [n for n in hashers.BUILTIN if n != "command"])
def bench_hash_one_hasher(benchmark, name, size):
    imgs = photo_like(SIZES[size], N_IMAGES)
    items = [ImageItem(str(i), a) for i, a in enumerate(imgs)]
    h = hashers.get(name)
    benchmark.group = f"hash {size}"
    benchmark.pedantic(h.hash_many, args=(items,), rounds=5, warmup_rounds=1)
    benchmark.extra_info["images_per_s"] = N_IMAGES / benchmark.stats.stats.min


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def bench_decode(benchmark, fmt, size):
    imgs = photo_like(SIZES[size], N_IMAGES)
    blobs = []
    for a in imgs:
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, format=fmt)
        blobs.append(buf.getvalue())
    benchmark.group = f"decode {size}"
    benchmark.pedantic(lambda: [decode_bytes(b) for b in blobs], rounds=5, warmup_rounds=1)
    benchmark.extra_info["images_per_s"] = N_IMAGES / benchmark.stats.stats.min


@pytest.mark.parametrize("size", list(SIZES))
def bench_pdq_overhead_vs_pdqhash(benchmark, size):
    """hashbench's pdq path (hasher + in-process pipeline) against pdqhash.compute on the same arrays."""
    imgs = photo_like(SIZES[size], N_IMAGES)
    items = [ImageItem(str(i), a) for i, a in enumerate(imgs)]
    h = hashers.get("pdq")
    ids = [str(i) for i in range(N_IMAGES)]
    fns = {
        "pdqhash.compute": lambda: [pdqhash.compute(a) for a in imgs],
        "Hasher.hash_many": lambda: h.hash_many(items),
        "hash_arrays(workers=1)": lambda: hash_arrays(imgs, ids, ["pdq"], workers=1, progress=False),
    }
    best = interleaved_min(fns, rounds=7)
    base = best["pdqhash.compute"]
    ratios = {k: v / base for k, v in best.items()}
    benchmark.group = "pdq overhead"
    benchmark.extra_info.update({f"time_ratio {k} / pdqhash.compute": round(r, 4) for k, r in ratios.items()})
    print(f"\n[{size}] time relative to pdqhash.compute: " + ", ".join(f"{k} {r:.3f}x" for k, r in ratios.items()))
    benchmark.pedantic(h.hash_many, args=(items,), rounds=3, warmup_rounds=1)
    assert ratios["Hasher.hash_many"] <= 1.05, ratios


def bench_pdq_two_workers_vs_one(benchmark, tmp_path):
    """End-to-end hashing of JPEG files (read, decode, pdq) with 2 worker processes vs 1."""
    imgs = photo_like(SIZES["1024x768"], 160)
    paths = []
    for i, a in enumerate(imgs):
        p = tmp_path / f"{i:03d}.jpg"
        Image.fromarray(a).save(p, quality=90)
        paths.append(p)
    run = {w: (lambda w=w: hash_files(paths, None, ["pdq"], workers=w, progress=False)) for w in (1, 2)}
    run[1](), run[2]()  # warm the OS file cache and the forkserver
    best = interleaved_min({"1 worker": run[1], "2 workers": run[2]}, rounds=3)
    speedup = best["1 worker"] / best["2 workers"]
    benchmark.group = "workers"
    benchmark.extra_info["speedup_2_vs_1"] = round(speedup, 3)
    benchmark.extra_info["images_per_s_2_workers"] = len(paths) / best["2 workers"]
    print(
        f"\n2 workers vs 1 on {len(paths)} 1024x768 JPEGs: {speedup:.2f}x "
        f"({len(paths) / best['1 worker']:.0f} -> {len(paths) / best['2 workers']:.0f} images/s)"
    )
    benchmark.pedantic(run[2], rounds=1, warmup_rounds=0)
    assert speedup >= 1.7, speedup
