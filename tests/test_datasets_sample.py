"""The `sample` dataset: shipped images, present on disk, deduplicated, with licences."""

from __future__ import annotations

import hashlib
import os

import numpy as np

from hashbench import datasets as ds
from hashbench.datasets.sample import CATALOGUE, KINDS


def test_photos_present_and_described():
    d = ds.get("sample")
    assert len(d) >= 15  # scikit-image alone ships more than 15 of the catalogued photos
    for it in d:
        src = it.source
        assert it.id.startswith("sample/") and os.path.isfile(it.path)
        assert src["kind"] == "photo"
        assert src["licence"] and src["credit"] and src["package_version"]
        with open(it.path, "rb") as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == src["sha256"]


def test_all_kinds_have_no_duplicate_pixels():
    d = ds.SampleDataset(kinds="all")
    seen = set()
    for it in d:
        px = it.load()
        assert px.ndim == 3 and px.shape[2] == 3 and px.dtype == np.uint8
        assert (px.shape[1], px.shape[0]) == (it.source["width"], it.source["height"])
        key = hashlib.sha256(f"{px.shape}".encode() + px.tobytes()).hexdigest()
        assert key == it.source["pixels_sha256"] and key not in seen
        seen.add(key)
    assert len(ds.SampleDataset(kinds="photo")) + len(ds.SampleDataset(kinds="graphic")) == len(d)
    assert set(KINDS) == {e.kind for e in CATALOGUE}


def test_declared_and_exact_duplicates_are_left_out():
    d = ds.SampleDataset(kinds="all")
    ids = set(d.ids)
    reasons = {row["id"]: row["reason"] for row in d.excluded()}
    # the right view of a stereo pair is declared a near-duplicate of the left one
    if "sample/skimage/motorcycle_left" in ids:
        assert "sample/skimage/motorcycle_right" not in ids
        assert "near-duplicate" in reasons["sample/skimage/motorcycle_right"]
    # scikit-image's two chessboards decode to the same pixels: only one is kept
    chess = {"sample/skimage/chessboard_RGB", "sample/skimage/chessboard_GRAY"}
    assert len(chess & ids) <= 1
    assert all(i in ids or i in reasons for i in (f"sample/{e.package}/{e.name}" for e in CATALOGUE))


def test_only_files_on_disk_never_a_download():
    for it in ds.SampleDataset(kinds="all"):
        assert os.path.isfile(it.path)
    # nothing from skimage's remote registry that is absent locally is listed
    missing = [r for r in ds.SampleDataset(kinds="all").excluded() if "not present" in r["reason"]]
    for row in missing:
        assert row["id"] not in ds.SampleDataset(kinds="all").ids


def test_sources_name_no_machine_path():
    """The input digest hashes every source: a site-packages path in it would make the same
    images digest differently in another clone or virtualenv (and `--reproduce` cry wolf)."""
    for it in ds.SampleDataset(kinds="all"):
        for value in it.source.values():
            assert not (isinstance(value, str) and os.path.isabs(value)), (it.id, value)
