"""Synthetic families: pure functions of (family, index, seed, size), distinct, streamed in order."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from hashbench import datasets as ds
from hashbench.datasets import ALL_FAMILIES, FAMILIES, SyntheticDataset, generate, parse_size
from hashbench.errors import UsageError


def digest(arr: np.ndarray) -> str:
    return hashlib.sha256(f"{arr.shape}".encode() + arr.tobytes()).hexdigest()


def _digests(family: str, indices: list[int], seed: int, size) -> list[str]:  # runs in a worker process
    return [digest(generate(family, i, seed, size)) for i in indices]


@pytest.mark.parametrize("family", ALL_FAMILIES)
@pytest.mark.parametrize("size", [64, (96, 48)])
def test_shape_dtype_and_repeatable(family, size):
    w, h = parse_size(size)
    for index in range(4):
        a = generate(family, index, 3, size)
        assert a.shape == (h, w, 3) and a.dtype == np.uint8 and a.flags.c_contiguous
        assert np.array_equal(a, generate(family, index, 3, size))


def test_same_pixels_in_other_processes():
    """Byte-identical across a process pool and a fresh interpreter (no hidden global state)."""
    jobs = [(f, [0, 1, 7], 5, 80) for f in ALL_FAMILIES]
    here = [_digests(*j) for j in jobs]
    with ProcessPoolExecutor(max_workers=2) as pool:
        there = list(pool.map(_digests, *zip(*jobs)))
    assert here == there
    code = (
        "import json, hashlib; from hashbench.datasets import generate, ALL_FAMILIES\n"
        "out = {f: [hashlib.sha256(f'{a.shape}'.encode() + a.tobytes()).hexdigest() "
        "for a in (generate(f, i, 5, 80) for i in (0, 1, 7))] for f in ALL_FAMILIES}\n"
        "print(json.dumps(out))"
    )
    fresh = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert fresh == {f: d for (f, *_), d in zip(jobs, here)}


@pytest.mark.parametrize("family", ALL_FAMILIES)
def test_no_identical_images_within_a_family(family):
    """A small version of the 10,000-image check (benchmarks/bench_datasets.py collisions)."""
    digests = {digest(generate(family, i, 0, 48)) for i in range(150)}
    assert len(digests) == 150


def test_seed_index_and_family_change_the_image():
    base = generate("fractal", 0, 0, 64)
    assert not np.array_equal(base, generate("fractal", 1, 0, 64))
    assert not np.array_equal(base, generate("fractal", 0, 1, 64))
    # mixed index 1 is a fractal drawn from its own stream, not a copy of fractal index 1
    assert not np.array_equal(generate("mixed", 1, 0, 64), generate("fractal", 1, 0, 64))


def test_families_look_different_from_each_other():
    """Cheap statistics separate the families: low-detail is smooth, text is mostly background."""

    def grad(a):
        g = a.astype(np.float32).mean(axis=2)
        return float(np.abs(np.diff(g, axis=1)).mean())

    low = np.mean([grad(generate("low-detail", i, 0, 128)) for i in range(20)])
    leaves = np.mean([grad(generate("dead-leaves", i, 0, 128)) for i in range(20)])
    assert low < 1.5 < leaves
    # text pages: the most common colour covers a large share of the page
    shares = []
    for i in range(20):
        a = generate("text", i, 0, 128).reshape(-1, 3)
        _, counts = np.unique(a[:, 0] // 8, return_counts=True)
        shares.append(counts.max() / counts.sum())
    assert np.median(shares) > 0.4


def test_mixed_cycles_through_the_families():
    # mixed image i is drawn by family FAMILIES[i % 5]; index 4 mod 5 is low-detail, the smoothest
    assert FAMILIES[4] == "low-detail"
    smooth = [np.abs(np.diff(generate("mixed", i, 0, 96).astype(float), axis=1)).mean() for i in range(4, 40, 5)]
    assert max(smooth) < 3.0  # every 5th mixed image (index 4 mod 5) is low-detail


def test_dataset_items_ids_and_source():
    d = SyntheticDataset("text", count=3, seed=2, size="64x32", start=10)
    assert len(d) == 3
    items = list(d)
    assert [it.id for it in items] == [f"synthetic/text/s2/{i:08d}" for i in (10, 11, 12)]
    assert items[0].source == {
        "dataset": "synthetic",
        "family": "text",
        "content_family": "text",
        "index": 10,
        "seed": 2,
        "size": [64, 32],
    }
    mixed = list(SyntheticDataset("mixed", count=6, seed=0, size=32))
    assert [it.source["content_family"] for it in mixed] == [
        "dead-leaves",
        "fractal",
        "shapes",
        "text",
        "low-detail",
        "dead-leaves",
    ]
    assert items[0].path is None
    assert np.array_equal(items[1].load(), generate("text", 11, 2, (64, 32)))
    assert d[-1].id == items[-1].id
    with pytest.raises(IndexError):
        d[3]


@pytest.mark.parametrize("workers", [1, 2])
def test_iter_arrays_is_ordered_and_equal_to_generate(workers):
    d = SyntheticDataset("mixed", count=23, seed=1, size=40)
    got = list(d.iter_arrays(workers=workers, chunk_size=4))
    assert [i for i, _ in got] == d.ids
    for k, (_, arr) in enumerate(got):
        assert np.array_equal(arr, generate("mixed", k, 1, 40))


def test_base_iter_arrays_on_generic_items():
    d = SyntheticDataset("shapes", count=5, seed=0, size=32)
    got = list(super(SyntheticDataset, d).iter_arrays(workers=2, chunk_size=2))
    assert [i for i, _ in got] == d.ids
    assert all(np.array_equal(a, it.load()) for (_, a), it in zip(got, d))


def test_parse_size_and_errors():
    assert parse_size(256) == (256, 256)
    assert parse_size("1024x768") == (1024, 768)
    assert parse_size([30, 20]) == (30, 20)
    for bad in ("big", "10x", 4, (10, 20, 30)):
        with pytest.raises(UsageError):
            parse_size(bad)
    with pytest.raises(UsageError):
        generate("clouds", 0)
    with pytest.raises(UsageError):
        generate("text", -1)


def test_registry_and_specs():
    d = ds.from_spec("synthetic:family=fractal,count=4,seed=9,size=32x16")
    assert isinstance(d, SyntheticDataset) and (d.family, d.count, d.seed, d.size) == ("fractal", 4, 9, (32, 16))
    assert ds.get("synthetic", family="text", count=2).describe()["family"] == "text"
    assert {i.name for i in ds.available()} >= {"synthetic", "sample", "folder"}
    with pytest.raises(UsageError, match="unknown dataset"):
        ds.get("imagenet")
    with pytest.raises(UsageError, match="no parameter"):
        ds.get("synthetic", colour="red")
    with pytest.raises(UsageError, match="key=value"):
        ds.parse_spec("synthetic:family")
