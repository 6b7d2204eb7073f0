"""Issue 19 items 1-2: hash lists in the formats other tools write, read and checked; lists out.

The goldens in tests/golden/interop/ were made by python-threatexchange 1.2.17 and perception
0.9.3 themselves (tests/golden/interop/make_goldens.py, in a throwaway virtualenv): neither is a
dependency of these tests.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from hashbench.bits import codes_to_hex
from hashbench.cli import main
from hashbench.datasets import get as get_dataset
from hashbench.errors import UsageError
from hashbench.hashing import hash_files
from hashbench.hashlists import FORMATS, detect_format, read_hash_list
from hashbench.store import read_table
from hashbench.table_check import checked_codes

GOLDEN = Path(__file__).parent / "golden" / "interop"
PDQ_A = "2d6b1af3a956c529e79ca3d2526fa834d4196c81cedd04de0a26b855fc99b724"
PDQ_B = "dc9c9d3b746978f888f40ce6e5c3f70f7266623e8d989cb99f21f2010841e1c7"


@pytest.fixture(scope="module")
def sample_pdq() -> dict[str, tuple[str, int]]:
    """hashbench's own PDQ (hex, quality) of every sample photo, by sample id."""
    items = list(get_dataset("sample"))
    res = hash_files([it.path for it in items], [it.id for it in items], ["pdq"], workers=1, progress=False)
    quality = res.quality["pdq"]
    assert quality is not None and res.ok["pdq"].all()
    return {i: (h, int(q)) for i, h, q in zip(res.ids, codes_to_hex(res.codes["pdq"], 256), quality)}


def test_a_list_written_by_python_threatexchange_gives_hashbenchs_codes_and_qualities(sample_pdq):
    doc = json.loads((GOLDEN / "tx_pdq_sample_quality.json").read_text())["photos"]
    listed = [sid for sid, v in doc.items() if v["tx_line"]]
    got = read_hash_list(GOLDEN / "tx_pdq_sample.txt", "pdq")
    assert got.format == "tx" and got.quality is None  # a tx line has no quality
    assert codes_to_hex(got.codes, 256) == [sample_pdq[sid][0] for sid in listed]
    # tx's own hasher: the same hash and quality for every photo, the unlisted one included
    assert {sid: tuple(v["pdq_from_file"]) for sid, v in doc.items()} == {sid: sample_pdq[sid] for sid in doc}
    # `tx hash` prints nothing below its quality floor of 50 (clock_motion: quality 34)
    assert (
        {sid for sid, v in doc.items() if not v["tx_line"]}
        == {sid for sid in doc if sample_pdq[sid][1] < 50}
        == {"sample/skimage/clock_motion"}
    )


def test_perceptions_base64_csv_gives_the_same_pdq_codes(sample_pdq):
    got = read_hash_list(GOLDEN / "perception_pdq_sample.csv", "pdq")
    assert got.format == "perception" and len(got.ids) == len(sample_pdq)
    assert dict(zip(got.ids, codes_to_hex(got.codes, 256))) == {sid: h for sid, (h, _) in sample_pdq.items()}


def _cli_hash(tmp_path: Path, paths: list[str], fmt: str, name: str, hasher: str = "pdq") -> Path:
    out = tmp_path / name
    args = ["hash", *paths, "--hasher", hasher, "--out", str(out), "--no-progress", "--workers", "1"]
    assert main([*args, "--format", fmt] if fmt else args) == 0
    return out


def test_hashbench_to_tx_and_csv_and_back_keeps_every_code_and_quality(tmp_path, photo_paths, capsys):
    paths = [str(p) for p in photo_paths[:6]]
    table = read_table(_cli_hash(tmp_path, paths, "", "h.parquet", "pdq,phash"))
    want = checked_codes(table, "pdq")
    tx = read_hash_list(_cli_hash(tmp_path, paths, "tx", "h.txt"), "pdq")
    csv_ = read_hash_list(_cli_hash(tmp_path, paths, "csv", "h.csv", "pdq,phash"), "pdq")
    parquet = read_hash_list(tmp_path / "h.parquet", "pdq")
    assert (tmp_path / "h.txt").read_text().splitlines()[0].startswith("pdq ")  # what tx loads
    for got in (tx, csv_, parquet):
        assert np.array_equal(got.codes, want.codes), got.format
    assert csv_.ids == parquet.ids == want.ids and tx.ids == [f"h.txt:{n}" for n in range(1, 7)]
    quality = [r["quality"] for r in table.to_pylist() if r["hasher"] == "pdq"]
    assert csv_.quality is not None and parquet.quality is not None
    assert csv_.quality.tolist() == parquet.quality.tolist() == quality
    phash = read_hash_list(tmp_path / "h.csv", "phash")
    assert np.array_equal(phash.codes, checked_codes(table, "phash").codes) and phash.other == 6


def test_tx_format_refuses_hashers_tx_does_not_know_before_hashing(tmp_path, photo_paths, capsys):
    args = ["hash", str(photo_paths[0]), "--hasher", "pdq,phash", "--format", "tx", "--out", str(tmp_path / "x")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "not phash" in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "x").exists()


def test_pdq_photo_hasher_lines_with_quality_ids_and_its_detail_form(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text(
        f"{PDQ_A},100,photos/a, with comma.jpg\n"
        f"hash={PDQ_B},norm=128,delta=0,quality=90,filename=b.png\n"
        "# a comment\n\n"
        f"{PDQ_B},c.png\n"
    )
    got = read_hash_list(path, "pdq")
    assert got.format == "lines" and got.ids == ["photos/a, with comma.jpg", "b.png", "c.png"]
    assert got.quality is not None and got.quality.tolist() == [100, 90, -1]
    assert got.rows == ["line 1", "line 2", "line 5"]


@pytest.mark.parametrize(
    "line,reason",
    [
        (PDQ_A[:-1] + ",100,x", "63 hex digits, not 64"),
        ("zz" + PDQ_A[2:] + ",100,x", "is not hex"),
        (PDQ_A + ",101,x", "not a whole number 0-100"),
        (PDQ_A + ",high,x", "is not a number"),
        (PDQ_A + "00,100,x", "66 hex digits"),
    ],
)
def test_a_bad_row_is_named_by_line_and_never_padded(tmp_path, line, reason):
    path = tmp_path / "list.csv"
    path.write_text(f"{PDQ_B},100,a\n{line}\n{PDQ_A},100,b\n")
    with pytest.raises(UsageError, match=f"1 bad pdq rows, nothing used \\(line 2: .*{reason}"):
        read_hash_list(path, "pdq")
    got = read_hash_list(path, "pdq", skip_bad_rows=True)
    assert got.ids == ["a", "b"] and got.bad[0][0] == "line 2" and reason in got.bad[0][1]


def test_a_list_of_only_bad_rows_is_one_line_even_when_skipping(tmp_path, capsys):
    path = tmp_path / "list.txt"
    path.write_text("pdq 00ff\npdq 1234\n")
    with pytest.raises(UsageError, match="no usable pdq hash in this tx list \\(line 1: .*line 2: "):
        read_hash_list(path, "pdq", skip_bad_rows=True)
    assert main(["impostors", str(path), "--no-progress"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_tx_lines_of_other_signal_types_are_left_out_and_bare_hashes_read(tmp_path):
    path = tmp_path / "collab.txt"
    path.write_text(f"pdq {PDQ_A}\nvideo_md5 d41d8cd98f00b204e9800998ecf8427e\npdq {PDQ_B}\n")
    got = read_hash_list(path, "pdq")
    assert got.other == 1 and codes_to_hex(got.codes, 256) == [PDQ_A, PDQ_B] and got.rows == ["line 1", "line 3"]
    bare = tmp_path / "bare.txt"
    bare.write_text(f"{PDQ_A}\n{PDQ_B}\n")
    assert codes_to_hex(read_hash_list(bare, "pdq", format="tx").codes, 256) == [PDQ_A, PDQ_B]


def test_perception_rows_are_checked_and_errors_kept_apart(tmp_path):
    good = base64.b64encode(bytes.fromhex(PDQ_A)).decode()
    short = base64.b64encode(bytes.fromhex(PDQ_A[:32])).decode()
    path = tmp_path / "p.csv"
    path.write_text(
        "filepath,hash,error,hasher_name\n"
        f"a.jpg,{good},,pdq\n"
        f"b.jpg,{short},,pdq\n"
        "c.jpg,,could not read,pdq\n"
        f"d.jpg,{good},,phash\n"
        f"e.jpg,{PDQ_B},,pdq\n"
    )
    got = read_hash_list(path, "pdq", skip_bad_rows=True)
    assert got.ids == ["a.jpg", "e.jpg"] and codes_to_hex(got.codes, 256) == [PDQ_A, PDQ_B]
    assert got.bad == [("line 3", "base64 hash holds 16 bytes, not 32 (256 bits)")]
    assert got.failed == [("c.jpg", "could not read")] and got.other == 1


def test_imagehash_hex_as_imagededup_json_and_as_lines_equals_imagehash(tmp_path, photo_paths):
    import imagehash
    from PIL import Image

    want = {p.name: str(imagehash.phash(Image.open(p).convert("RGB"))) for p in photo_paths[:3]}
    (tmp_path / "enc.json").write_text(json.dumps(want))
    (tmp_path / "enc.txt").write_text("".join(f"{k} {v}\n" for k, v in want.items()))
    for name in ("enc.json", "enc.txt"):
        got = read_hash_list(tmp_path / name, "phash")
        assert got.format == "imagehash" and dict(zip(got.ids, codes_to_hex(got.codes, 64))) == want


def test_the_format_is_recognised_and_an_unknown_one_named(tmp_path):
    assert detect_format(b"PAR1....") == "parquet"
    assert detect_format(b"id,hasher,nbits,hash_hex,quality,error\n") == "csv"
    assert detect_format(f"pdq {PDQ_A}\n".encode()) == "tx"
    assert detect_format(f"{PDQ_A},100,a.jpg\n".encode()) == "lines"
    assert detect_format(b"filepath,hash,hasher_name\n") == "perception"
    assert detect_format(b'{"a": "ff00"}') == "imagehash"
    with pytest.raises(UsageError, match="cannot tell the format"):
        detect_format(b"hello world, this is not a list\n")
    path = tmp_path / "l.txt"
    path.write_text(PDQ_A + "\n")
    with pytest.raises(UsageError, match="unknown hash-list format 'tsv'"):
        read_hash_list(path, format="tsv")
    assert set(FORMATS.names()) >= {"parquet", "csv", "lines", "tx", "perception", "imagehash"}


def test_impostors_counts_a_tx_list_as_it_counts_the_table(tmp_path, photo_paths, capsys):
    paths = [str(p) for p in photo_paths[:8]]
    _cli_hash(tmp_path, paths, "", "h.parquet")
    _cli_hash(tmp_path, paths, "tx", "h.txt")
    capsys.readouterr()
    results = []
    for name in ("h.parquet", "h.txt"):
        assert main(["impostors", str(tmp_path / name), "--json", "--no-progress"]) == 0
        results.append(json.loads(capsys.readouterr().out))
    assert results[0]["histogram"] == results[1]["histogram"] and results[1]["n_pairs"] == 28
    assert results[0]["at_threshold"] == results[1]["at_threshold"]
