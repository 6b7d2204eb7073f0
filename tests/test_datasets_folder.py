"""The `folder` dataset: recursive scan, manifest (cached), file lists and exclusions."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest
from PIL import Image

from hashbench import datasets as ds
from hashbench.datasets import folder as folder_mod
from hashbench.errors import ImageDecodeError, UsageError


@pytest.fixture()
def tree(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    for i in range(3):
        Image.fromarray(ds.generate("shapes", i, 0, (40, 30))).save(tmp_path / "a" / "b" / f"{i}.png")
    Image.fromarray(ds.generate("fractal", 0, 0, 50)).save(tmp_path / "top.jpg", quality=90)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG junk")
    return tmp_path


def test_scan_ids_manifest_and_load(tree):
    d = ds.get("folder", root=str(tree))
    assert d.ids == ["broken.png", "top.jpg", "a/b/0.png", "a/b/1.png", "a/b/2.png"]
    item = d[2]
    assert item.source["path"] == "a/b/0.png"
    assert item.source["sha256"] == hashlib.sha256((tree / "a/b/0.png").read_bytes()).hexdigest()
    assert (item.source["width"], item.source["height"]) == (40, 30)
    assert np.array_equal(item.load(), np.asarray(Image.open(tree / "a/b/0.png").convert("RGB")))
    assert d.manifest()["broken.png"].error and d.manifest()["broken.png"].width == -1
    with pytest.raises(ImageDecodeError):
        d[0].load()
    assert d.has_files and d[1].path.endswith("top.jpg")


def test_manifest_cache_is_reused_and_updated(tree, tmp_path_factory, monkeypatch):
    cache = tmp_path_factory.mktemp("results") / "manifest.parquet"
    ds.get("folder", root=str(tree), manifest=str(cache)).manifest()
    assert cache.is_file()
    calls = []
    real = folder_mod._describe_one
    monkeypatch.setattr(folder_mod, "_describe_one", lambda job: calls.append(job[0]) or real(job))
    again = ds.get("folder", root=str(tree), manifest=str(cache))
    rows = again.manifest()
    assert calls == [] and len(rows) == 5
    # a changed file is described again, the others come from the cache
    Image.fromarray(ds.generate("text", 0, 0, 64)).save(tree / "a" / "b" / "1.png")
    os.utime(tree / "a" / "b" / "1.png", ns=(1, 1))
    changed = ds.get("folder", root=str(tree), manifest=str(cache)).manifest()
    assert calls == ["a/b/1.png"] and changed["a/b/1.png"].width == 64


def test_file_list_and_exclude(tree):
    (tree / "list.txt").write_text("# references\na/b/2.png\n./top.jpg\n\na/b/0.png\n")
    d = ds.get("folder", root=str(tree), file_list=str(tree / "list.txt"))
    assert d.ids == ["a/b/2.png", "top.jpg", "a/b/0.png"]
    (tree / "excl.txt").write_text("# dupes\ntop.jpg\n")
    d2 = ds.from_spec(f"folder:root={tree},file_list={tree / 'list.txt'},exclude={tree / 'excl.txt'}")
    assert d2.ids == ["a/b/2.png", "a/b/0.png"]
    (tree / "bad.txt").write_text("a/b/9.png\n")
    with pytest.raises(UsageError, match="not images"):
        ds.get("folder", root=str(tree), file_list=str(tree / "bad.txt"))


def test_spec_with_a_plain_folder_and_errors(tree):
    assert ds.from_spec(str(tree)).ids[1] == "top.jpg"
    with pytest.raises(UsageError):
        ds.get("folder", root=str(tree / "nope"))
