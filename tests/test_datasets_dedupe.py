"""Near-duplicate screening: exact against brute force, groups, exclusion files, the CLI."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest
from PIL import Image

from hashbench import datasets as ds
from hashbench.bits import hamming_matrix
from hashbench.cli import main
from hashbench.tools import dedupe as dd


def planted_codes(n=300, nbytes=32, seed=0):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (n, nbytes), dtype=np.uint8)
    # plant near-duplicates at known distances
    for a, b, flips in [(3, 40, 2), (40, 41, 5), (100, 7, 0), (200, 250, 12), (9, 10, 30)]:
        codes[b] = codes[a]
        bits = rng.choice(8 * nbytes, flips, replace=False)
        for bit in bits:
            codes[b, bit // 8] ^= np.uint8(1 << (7 - bit % 8))
    return codes


def brute_pairs(codes, radius):
    d = hamming_matrix(codes, codes)
    i, j = np.nonzero(np.triu(d <= radius, k=1))
    return sorted(zip(i.tolist(), j.tolist(), d[i, j].tolist()))


@pytest.mark.parametrize("radius", [0, 5, 12, 40])
def test_matches_brute_force_with_and_without_index(radius, monkeypatch):
    codes = planted_codes()
    ids = [f"x{i}" for i in range(len(codes))]
    want = brute_pairs(codes, radius)
    got = dd.find_near_duplicates(codes, ids, radius)
    assert list(zip(got.i.tolist(), got.j.tolist(), got.distance.tolist())) == want
    got_np = dd._pairs_numpy(codes, radius, block=64)
    assert sorted(zip(*(x.tolist() for x in got_np))) == want
    assert got.radius == radius


def test_groups_and_exclusions():
    codes = planted_codes()
    r = dd.find_near_duplicates(codes, [f"x{i}" for i in range(len(codes))], 12)
    groups = r.groups()
    assert [3, 40, 41] in groups and [7, 100] in groups and [200, 250] in groups
    assert set(r.exclusions()) == {"x40", "x41", "x100", "x250"}


def test_writers(tmp_path):
    codes = planted_codes()
    r = dd.find_near_duplicates(codes, [f"x{i}" for i in range(len(codes))], 5)
    r.meta["hasher"] = "pdq"
    with open(dd.write_pairs_csv(tmp_path / "p.csv", r)) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["id_a", "id_b", "distance"] and len(rows) == len(r) + 1
    excl = ds.read_id_list(dd.write_exclusions(tmp_path / "e.txt", r))
    assert excl == r.exclusions()


def test_cli_dedupe_folder_finds_copies(tmp_path, capsys):
    src = tmp_path / "photos"
    src.mkdir()
    for i in range(6):
        Image.fromarray(ds.generate("dead-leaves", i, 0, 128)).save(src / f"img{i}.png")
    shutil.copy(src / "img2.png", src / "img2_copy.png")
    Image.open(src / "img4.png").save(src / "img4_reencoded.jpg", quality=85)
    out = tmp_path / "out"
    assert main(["datasets", "dedupe", str(src), "--radius", "10", "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "img2.png" in text and "img2_copy.png" in text
    excluded = ds.read_id_list(out / "exclude.txt")
    assert set(excluded) == {"img2_copy.png", "img4_reencoded.jpg"}
    assert (out / "manifest.parquet").is_file() and (out / "near-duplicates.csv").is_file()
    # the exclusion file plugs straight into the folder dataset
    kept = ds.get("folder", root=str(src), exclude=str(out / "exclude.txt"))
    assert len(kept) == 6
