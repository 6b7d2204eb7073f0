"""Issue 16 item 4: `impostors` checks every row of the table it is given.

Reproductions made small: ``nbits = 2**31 - 1`` (256 MB per row before), short hex, mixed
256/64-bit rows and ``nbits = 300`` for pdq (zero-padded and counted silently before), bad or
empty hex, ``nbits <= 0`` and NaN or out-of-range quality (tracebacks before).
"""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hashbench.bits import codes_to_hex
from hashbench.cli import main
from hashbench.store import read_table
from hashbench.table_check import MAX_TABLE_NBITS, checked_codes


def _hexes(n: int, nbits: int) -> list[str]:
    rng = np.random.default_rng(n + nbits)
    codes = rng.integers(0, 256, (n, (nbits + 7) // 8), dtype=np.uint8)
    if nbits % 8:
        codes[:, 0] &= (1 << (nbits % 8)) - 1
    return codes_to_hex(codes, nbits)


def _write(tmp_path, hasher: str, nbits: list, hexes: list, quality: list | None = None, name: str = "t.parquet"):
    """A table as a foreign tool could write it: no schema enforced (nbits int64, quality float)."""
    n = len(hexes)
    cols = {
        "id": [f"img{i}" for i in range(n)],
        "hasher": [hasher] * n,
        "nbits": nbits,
        "hash_hex": hexes,
        "quality": quality if quality is not None else [None] * n,
        "error": [None if h is not None else "decode failed" for h in hexes],
    }
    path = tmp_path / name
    pq.write_table(pa.Table.from_pydict(cols), path)
    return path


def _impostors(path, hasher: str, *extra: str) -> list[str]:
    return ["impostors", str(path), "--hasher", hasher, "--no-progress", *extra]


def test_a_sound_table_is_counted_as_before(tmp_path, capsys):
    hexes = _hexes(6, 256)
    path = _write(tmp_path, "pdq", [256] * 5 + [256], hexes[:5] + [None], quality=[100.0, 90.0, None, 80, 70, None])
    assert main(_impostors(path, "pdq", "--json")) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_images"] == 5 and out["skipped_rows"] == []  # the failed image is left out, not bad


BAD_ROWS = {
    "short hex": ("pdq", 256, lambda h: h[2:], "has 62 hex digits, not 64"),
    "empty hex": ("pdq", 256, lambda h: "", "has 0 hex digits, not 64"),
    "not hex": ("pdq", 256, lambda h: "zz" + h[2:], "is not hex"),
    "64-bit row among pdq": ("pdq", 64, lambda h: h[:16], "nbits 64, not 256"),
    "nbits 300 for pdq": ("pdq", 300, lambda h: h, "nbits 300, not 256"),
    "nbits 0": ("pdq", 0, lambda h: h, "nbits 0, not 256"),
    "colorhash too wide": ("colorhash", 42, lambda h: "f" + h[1:], "holds more than 42 bits"),
}


@pytest.mark.parametrize("hasher,width,edit,reason", list(BAD_ROWS.values()), ids=list(BAD_ROWS))
def test_a_bad_row_refuses_the_table_by_id_and_is_skipped_on_request(tmp_path, capsys, hasher, width, edit, reason):
    nbits = 42 if hasher == "colorhash" else 256
    hexes = _hexes(5, nbits)
    widths = [nbits] * 5
    hexes[3], widths[3] = edit(hexes[3]), width
    path = _write(tmp_path, hasher, widths, hexes)
    assert main(_impostors(path, hasher)) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "1 bad rows" in err and "('img3': " in err and reason in err
    assert "--skip-bad-rows" in err
    assert main(_impostors(path, hasher, "--skip-bad-rows", "--json")) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["n_images"] == 4 and out["nbits"] == nbits and sum(out["histogram"]) == 6
    assert [r["id"] for r in out["skipped_rows"]] == ["img3"] and reason in out["skipped_rows"][0]["reason"]
    assert "skipped 1 bad rows" in captured.err


@pytest.mark.parametrize(
    "quality,reason",
    [(float("nan"), None), (101, "not a whole number 0-100"), (50.5, "not a whole number 0-100"), (-1, "0-100")],
)
def test_quality_must_be_missing_or_0_to_100(tmp_path, quality, reason):
    path = _write(tmp_path, "pdq", [256] * 3, _hexes(3, 256), quality=[100.0, quality, 100.0])
    got = checked_codes(read_table(path), "pdq")
    if reason is None:  # NaN is how pandas writes a missing quality
        assert got.bad == [] and len(got.ids) == 3
    else:
        assert len(got.bad) == 1 and got.bad[0][0] == "img1" and reason in got.bad[0][1]


def test_a_huge_nbits_is_refused_before_anything_is_allocated(tmp_path, capsys):
    path = _write(tmp_path, "not-installed", [2**31 - 1] * 3, ["ff", "00", "0f"])
    tracemalloc.start()
    assert main(_impostors(path, "not-installed")) == 2
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert (
        f"no row of 'not-installed' has a usable nbits (a whole number 1-{MAX_TABLE_NBITS:,})"
        in capsys.readouterr().err
    )
    assert peak < 50 * 2**20


def test_an_unknown_hashers_width_is_the_rows_most_common_and_disagreeing_rows_are_bad(tmp_path):
    hexes = _hexes(4, 64) + _hexes(1, 256)
    got = checked_codes(read_table(_write(tmp_path, "plugin", [64] * 4 + [256], hexes)), "plugin")
    assert got.nbits == 64 and got.ids == ["img0", "img1", "img2", "img3"]
    assert got.bad == [("img4", "nbits 256, not 64")]
    assert got.codes.shape == (4, 8)


def test_a_negative_nbits_everywhere_is_one_line(tmp_path, capsys):
    path = _write(tmp_path, "plugin", [-8, -8], ["ff", "00"])
    assert main(_impostors(path, "plugin")) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "has a usable nbits" in err
