"""`hashbench impostors` without --threshold: each hasher's named operating point."""

import json

import numpy as np
import pytest

from _helpers import write_hash_table
from hashbench.cli import main


def _table(tmp_path, hasher, nbits, n):
    rng = np.random.default_rng(nbits)
    codes = rng.integers(0, 256, (n, (nbits + 7) // 8), dtype=np.uint8)
    if nbits % 8:
        codes[:, 0] &= (1 << (nbits % 8)) - 1
    return write_hash_table(tmp_path / f"{hasher}.parquet", hasher, nbits, codes, quality=100)


@pytest.mark.parametrize(
    "hasher,nbits,expected",
    [
        ("phash", 64, 10),  # declared on the hasher (a common imagehash cut-off)
        ("colorhash", 42, 4),
        ("md5", 128, 0),  # exact: only identical hashes match
        ("not-installed-here", 64, 8),  # a plugin's table: the base rule on the table's nbits
        ("tiny-plugin", 4, 1),
    ],
)
def test_default_threshold_is_the_hashers_operating_point(tmp_path, capsys, hasher, nbits, expected):
    path = _table(tmp_path, hasher, nbits, 12)
    assert main(["impostors", str(path), "--hasher", hasher, "--json", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["threshold"] for r in out["at_threshold"]] == [expected]
    assert out["n_pairs"] == 66 and sum(out["histogram"]) == 66
    assert out["at_threshold"][0]["count"] == sum(out["histogram"][: expected + 1])


def test_one_image_has_no_pairs(tmp_path, capsys):
    path = _table(tmp_path, "pdq", 256, 1)
    assert main(["impostors", str(path), "--hasher", "pdq", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "1 images, 0 distinct pairs" in out and "fewer than 2 hashed images" in out
