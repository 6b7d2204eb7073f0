"""Synthetic generation throughput, and (as a script) the collision properties of each family.

Benchmarks (``make bench``, or ``.venv/bin/python -m pytest benchmarks/bench_datasets.py
--benchmark-only -s``): images/s per family at 256x256 and 1024x768, each reported as a ratio
against a baseline measured in the same run and interleaved with it: numpy
``(rng.random((h, w, 3)) * 256).astype(uint8)``, i.e. the cost of merely producing that many
random bytes. ``mixed`` at 256x256 should reach 300 images/s per core (reported, with the ratio).

Script (``.venv/bin/python benchmarks/bench_datasets.py collisions --count 10000``): for each
family, generate ``count`` images and report identical pairs (SHA-256 of the pixels), PDQ pairs
within distance 31 and 10, and PDQ quality. These numbers are properties of the families,
documented in docs/datasets.md; they are measured, not asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections import Counter

import numpy as np
import pytest

from hashbench.datasets import ALL_FAMILIES, SyntheticDataset, generate
from timing import interleaved_min

SIZES = {"256x256": (256, 256), "1024x768": (1024, 768)}
N_IMAGES = {"256x256": 60, "1024x768": 10}


def baseline_random(size: tuple[int, int], n: int) -> None:
    rng = np.random.default_rng(0)
    w, h = size
    for _ in range(n):
        (rng.random((h, w, 3)) * 256).astype(np.uint8)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("family", ALL_FAMILIES)
def bench_generate_family(benchmark, family, size):
    """Images/s of one family in one process, and the ratio to the numpy random-bytes baseline."""
    wh = SIZES[size]
    n = N_IMAGES[size]
    generate(family, 0, 0, wh)  # warm caches (fonts, frequency grids)
    best = interleaved_min(
        {
            "family": lambda: [generate(family, i, 0, wh) for i in range(n)],
            "baseline": lambda: baseline_random(wh, n),
        },
        rounds=3,
    )
    benchmark.group = f"generate {size}"
    benchmark.pedantic(lambda: [generate(family, i, 0, wh) for i in range(n)], rounds=3, warmup_rounds=1)
    ips = n / best["family"]
    base_ips = n / best["baseline"]
    benchmark.extra_info.update(
        images_per_s=round(ips, 1),
        baseline_images_per_s=round(base_ips, 1),
        ratio_to_baseline=round(ips / base_ips, 4),
    )
    print(f"\n{family:12s} {size:9s} {ips:8.1f} img/s  baseline {base_ips:8.1f} img/s  ratio {ips / base_ips:.3f}")
    if family == "mixed" and size == "256x256":
        # The target is absolute (300 images/s per core); on a shared machine the absolute figure
        # moves with other load, so it is reported, and the ratio is what to compare across runs.
        benchmark.extra_info["target_300_per_core_met"] = bool(ips >= 300)
        print(f"mixed 256x256 target 300 images/s per core: {'met' if ips >= 300 else 'NOT met'} ({ips:.0f})")


def bench_iter_arrays_two_workers(benchmark):
    """Streaming generation with 2 worker processes against 1 process (mixed, 256x256)."""
    count = 400
    ds = SyntheticDataset("mixed", count, 0, 256)
    best = interleaved_min(
        {
            "one": lambda: sum(1 for _ in ds.iter_arrays(workers=1)),
            "two": lambda: sum(1 for _ in ds.iter_arrays(workers=2)),
        },
        rounds=2,
    )
    benchmark.pedantic(lambda: sum(1 for _ in ds.iter_arrays(workers=2)), rounds=1, warmup_rounds=0)
    benchmark.extra_info.update(
        images_per_s_1_worker=round(count / best["one"], 1),
        images_per_s_2_workers=round(count / best["two"], 1),
        speedup=round(best["one"] / best["two"], 3),
    )
    print(f"\niter_arrays mixed 256: 1 proc {count / best['one']:.0f} img/s, 2 workers {count / best['two']:.0f} img/s")


# ------------------------------------------------------------------------------------------------
# script: collision properties of the families


def family_collisions(family: str, count: int, seed: int, size: int, workers: int | None, chunk: int = 2000) -> dict:
    """Identical pixel pairs and PDQ near pairs among ``count`` images of one family."""
    from hashbench.hashing import hash_arrays
    from hashbench.tools.dedupe import find_near_duplicates

    ds = SyntheticDataset(family, count, seed, size)
    stream = ds.iter_arrays(workers=workers)
    pixel_digests: Counter[str] = Counter()
    ids: list[str] = []
    codes: list[np.ndarray] = []
    quality: list[np.ndarray] = []
    t0 = time.perf_counter()
    while True:
        batch = [pair for _, pair in zip(range(chunk), stream)]
        if not batch:
            break
        for _, arr in batch:
            pixel_digests[hashlib.sha256(arr.tobytes()).hexdigest()] += 1
        res = hash_arrays([a for _, a in batch], [i for i, _ in batch], ["pdq"], workers=workers, progress=False)
        ok = np.asarray(res.ok["pdq"], dtype=bool)
        ids.extend(i for i, good in zip(res.ids, ok.tolist()) if good)
        codes.append(np.asarray(res.codes["pdq"])[ok])
        quality.append(np.asarray(res.quality["pdq"])[ok])
    all_codes = np.concatenate(codes)
    q = np.concatenate(quality)
    near31 = find_near_duplicates(all_codes, ids, 31, nbits=256)
    near10 = int((near31.distance <= 10).sum())
    identical = sum(c * (c - 1) // 2 for c in pixel_digests.values())
    nn = nearest_other_distance(all_codes)
    return {
        "family": family,
        "images": count,
        "identical_pairs": identical,
        "pdq_pairs_le_31": len(near31),
        "pdq_pairs_le_10": near10,
        "pdq_pairs_le_31_per_million_pairs": round(len(near31) / (count * (count - 1) / 2) * 1e6, 3),
        "images_in_a_pair_le_31": len(set(near31.i.tolist()) | set(near31.j.tolist())),
        "pdq_nearest_pair": int(nn.min()),
        "pdq_nn_distance_p1": int(np.percentile(nn, 1)),
        "pdq_nn_distance_median": int(np.median(nn)),
        "pdq_quality_below_50": int((q < 50).sum()),
        "pdq_quality_median": int(np.median(q)),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def nearest_other_distance(codes: np.ndarray) -> np.ndarray:
    """Each code's Hamming distance to its nearest *other* code (exact, FlatIndex k=2)."""
    from hashbench.index import FlatIndex

    index = FlatIndex(8 * codes.shape[1])
    index.add(codes)
    D, I = index.search(codes, 2)
    own = I[:, 0] == np.arange(len(codes))
    return np.where(own, D[:, 1], D[:, 0]).astype(np.int64)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="collision properties of the synthetic families")
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collisions", help="identical and PDQ-near pairs per family")
    c.add_argument("--count", type=int, default=10000)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--size", type=int, default=256)
    c.add_argument("--families", default=",".join(ALL_FAMILIES))
    c.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    cols = None
    for fam in args.families.split(","):
        row = family_collisions(fam, args.count, args.seed, args.size, args.workers)
        if cols is None:
            cols = list(row)
            print("| " + " | ".join(cols) + " |")
            print("|" + "---|" * len(cols))
        print("| " + " | ".join(str(row[k]) for k in cols) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
