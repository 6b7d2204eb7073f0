"""save/load: round trips, kind dispatch, format version and foreign files."""

from __future__ import annotations

import numpy as np
import pytest

from hashbench.index import FlatIndex, MIHIndex, load_index, persist


def _index(make, n: int = 200):  # type: ignore[no-untyped-def]
    index = make(128)
    index.add(np.random.default_rng(0).integers(0, 256, (n, 16), dtype=np.uint8))
    return index


@pytest.mark.parametrize("make", [FlatIndex, lambda b: MIHIndex(b, m=8, radius_hint=9)], ids=["flat", "mih"])
def test_round_trip_gives_identical_results(tmp_path, make) -> None:  # type: ignore[no-untyped-def]
    index = _index(make)
    path = tmp_path / "codes.hbindex"  # no suffix is added
    index.save(path)
    assert path.exists() and not (tmp_path / "codes.hbindex.npz").exists()
    loaded = load_index(path)
    assert type(loaded) is type(index) and loaded.ntotal == index.ntotal and loaded.nbits == 128
    np.testing.assert_array_equal(loaded.reconstruct_n(), index.reconstruct_n())
    xq = index.reconstruct_n(0, 10)
    for a, b in zip(loaded.range_search(xq, 40), index.range_search(xq, 40)):
        np.testing.assert_array_equal(a, b)
    if isinstance(index, MIHIndex):
        assert loaded.m == 8 and loaded.radius_hint == 9
    assert type(index).load(path).ntotal == 200


def test_empty_index_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    FlatIndex(64).save(tmp_path / "e")
    loaded = load_index(tmp_path / "e")
    assert loaded.ntotal == 0 and loaded.nbits == 64


def test_wrong_kind_version_and_foreign_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _index(FlatIndex).save(tmp_path / "flat")
    with pytest.raises(ValueError, match="'flat' index"):
        MIHIndex.load(tmp_path / "flat")
    with open(tmp_path / "future", "wb") as fh:
        np.savez(
            fh,
            format=np.array(persist.FORMAT_NAME),
            version=np.array(99),
            kind=np.array("flat"),
            nbits=np.array(64),
            codes=np.zeros((0, 8), np.uint8),
            params=np.array("{}"),
        )
    with pytest.raises(ValueError, match="version 99"):
        load_index(tmp_path / "future")
    (tmp_path / "text").write_text("not an index")
    with pytest.raises(ValueError, match="not a readable hashbench index"):
        load_index(tmp_path / "text")
    with open(tmp_path / "other.npz", "wb") as fh:
        np.savez(fh, x=np.arange(3))
    with pytest.raises(ValueError, match="not a hashbench index"):
        load_index(tmp_path / "other.npz")
    with pytest.raises(FileNotFoundError):
        load_index(tmp_path / "missing")
