"""Issue 19 item 1: a `hashes` dataset run (lists written by `hashbench hash`) gives the same
impostor figures as the run that hashed the images, and its report says the hashes came from lists."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hashbench.cli import main
from hashbench.config import parse_config
from hashbench.datasets import get as get_dataset
from hashbench.errors import UsageError
from hashbench.runner import run


def _write_images(folder: Path, seed: int, count: int) -> None:
    folder.mkdir()
    for it in get_dataset("synthetic", family="mixed", count=count, size=64, seed=seed):
        Image.fromarray(it.load()).save(folder / f"{it.id.replace('/', '_')}.png")


def _config(refs: dict, dis: dict, hashers: list[str]) -> dict:
    return {
        "run": {"name": "lists", "seed": 3, "workers": 1, "chunk_size": 8},
        "references": [refs],
        "distractors": [dis],
        "transforms": {"suite": "none"},
        "hashers": {"names": hashers, "composites": ["pdq|phash"]},
        "statistics": {"target_fprs": [1e-2], "list_sizes": [100]},
    }


def _without_group_names(hasher: dict) -> dict:
    """A hasher's section with its impostor groups keyed by position: the group of an image is its
    dataset's name ("folder" for images, "hashes" for lists), the counts are what must agree."""
    out = copy.deepcopy(hasher)
    groups = out["impostor"].pop("by_group", {})
    out["impostor"]["by_group_counts"] = sorted(g["histogram"] for g in groups.values())
    population = out.get("population") or {}
    for key in ("by_group", "without"):  # per-family tables (issue 15), keyed by the same group names
        if key in population:
            population[key] = sorted(population[key].values(), key=lambda g: json.dumps(g, sort_keys=True))
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lists")
    _write_images(tmp / "refs", seed=11, count=10)
    _write_images(tmp / "dis", seed=12, count=14)
    hashers = ["pdq", "phash"]
    common = ["--hasher", ",".join(hashers), "--workers", "1", "--no-progress"]
    assert main(["hash", str(tmp / "refs"), *common, "--out", str(tmp / "refs.parquet")]) == 0
    assert main(["hash", str(tmp / "dis"), *common, "--format", "csv", "--out", str(tmp / "dis.csv")]) == 0
    images = parse_config(
        _config(
            {"dataset": "folder", "root": str(tmp / "refs")}, {"dataset": "folder", "root": str(tmp / "dis")}, hashers
        )
    )
    lists = parse_config(
        _config(
            {"dataset": "hashes", "path": str(tmp / "refs.parquet"), "hasher": "pdq,phash"},
            {"dataset": "hashes", "path": str(tmp / "dis.csv"), "hasher": "pdq,phash"},
            hashers,
        )
    )
    a = run(images, out_root=tmp / "a", workers=1, progress=False, write=False).report
    b = run(lists, out_root=tmp / "b", workers=1, progress=False, write=False).report
    return tmp, a, b


def test_a_run_on_hash_lists_gives_the_figures_of_the_run_that_hashed_the_images(runs):
    _, a, b = runs
    assert set(a["hashers"]) == set(b["hashers"]) == {"pdq", "phash"}
    for name in a["hashers"]:
        assert a["hashers"][name]["impostor"]["n_images"] == 24
        assert _without_group_names(a["hashers"][name]) == _without_group_names(b["hashers"][name]), name
    assert a["composites"] == b["composites"]
    assert sum(a["hashers"]["phash"]["impostor"]["histogram"]) == 24 * 23 // 2


def test_the_report_names_each_list_with_its_digest(runs):
    tmp, a, b = runs
    refs = b["inputs"]["references"]
    assert refs["hash_lists"] == [
        {
            "path": str(tmp / "refs.parquet"),
            "sha256": hashlib.sha256((tmp / "refs.parquet").read_bytes()).hexdigest(),
            "format": "parquet",
            "hashers": ["pdq", "phash"],
            "items": 10,
        }
    ]
    assert b["inputs"]["distractors"]["hash_lists"][0]["format"] == "csv"
    assert "hash_lists" not in a["inputs"]["references"]
    assert b["timing"]["stages"]["references"]["chunks"] == 0  # nothing hashed


def test_references_from_a_list_cannot_be_edited_and_a_missing_hasher_is_named(runs):
    tmp, _, _ = runs
    cfg = _config(
        {"dataset": "hashes", "path": str(tmp / "refs.parquet"), "hasher": "pdq"},
        {"dataset": "hashes", "path": str(tmp / "dis.csv"), "hasher": "pdq"},
        ["pdq"],
    )
    cfg["transforms"]["suite"] = "default"
    cfg["hashers"]["composites"] = []
    with pytest.raises(UsageError, match="no pixels to edit"):
        run(parse_config(cfg), out_root=tmp / "c", workers=1, progress=False, write=False)
    cfg["transforms"]["suite"] = "none"
    cfg["hashers"]["names"] = ["pdq", "dhash"]
    with pytest.raises(UsageError, match="hasher dhash is not in the hash lists"):
        run(parse_config(cfg), out_root=tmp / "c", workers=1, progress=False, write=False)


def test_a_hashes_dataset_holds_codes_not_pixels(runs):
    tmp, _, _ = runs
    ds = get_dataset("hashes", path=str(tmp / "dis.csv"), hasher="phash")
    assert len(ds) == 14 and ds[0].source["format"] == "csv" and ds[0].source["row"] == "line 3"
    assert np.frombuffer(ds[0].hashes["phash"].code, dtype=np.uint8).shape == (8,)
    with pytest.raises(Exception, match="no pixels"):
        ds[0].load()
