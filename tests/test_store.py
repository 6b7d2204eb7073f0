import numpy as np
import pyarrow.parquet as pq
import pytest

from hashbench.bits import codes_to_hex
from hashbench.errors import UsageError
from hashbench.hashing import hash_arrays
from hashbench.store import codes_from_table, read_table, result_to_table, write_table


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(5)
    imgs = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(6)] + [np.zeros((2, 2), np.uint8)]
    return hash_arrays(
        imgs, [f"x/{i}" for i in range(7)], ["pdq", "pdq8", "colorhash", "md5"], workers=1, progress=False
    )


def test_long_table_round_trips(result, tmp_path):
    table = result_to_table(result)
    assert table.num_rows == 7 * 4
    assert table.column_names == ["id", "hasher", "nbits", "hash_hex", "quality", "variants_hex", "error"]
    out = write_table(table, tmp_path / "sub" / "h.parquet")
    assert [p.name for p in out.parent.iterdir()] == ["h.parquet"]  # no temporary file left behind
    back = read_table(out)
    assert back.equals(table)
    meta = pq.read_schema(out).metadata[b"hashbench"]
    assert b"pdqhash" in meta and b"hashbench_version" in meta
    ids, codes, quality = codes_from_table(back, "pdq")
    assert ids == [f"x/{i}" for i in range(6)]
    assert np.array_equal(codes, result.codes["pdq"][:6])
    assert np.array_equal(quality, result.quality["pdq"][:6])
    ids, codes, quality = codes_from_table(back, "colorhash")
    assert codes.shape == (6, 6) and quality is None
    rows = back.to_pylist()
    bad = [r for r in rows if r["id"] == "x/6"]
    assert all(r["hash_hex"] is None and "uint8" in r["error"] for r in bad)
    pdq8 = next(r for r in rows if r["hasher"] == "pdq8" and r["id"] == "x/0")
    assert pdq8["variants_hex"] == codes_to_hex(result.variant_codes["pdq8"][0], 256)
    assert pdq8["variants_hex"][0] == pdq8["hash_hex"]


def test_errors_are_usage_errors(tmp_path, result):
    (tmp_path / "x.parquet").write_bytes(b"not parquet")
    with pytest.raises(UsageError, match="cannot read"):
        read_table(tmp_path / "x.parquet")
    with pytest.raises(UsageError, match="no hasher 'phash'"):
        codes_from_table(result_to_table(result), "phash")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UsageError, match="cannot write"):
        write_table(result_to_table(result), blocker / "out.parquet")
