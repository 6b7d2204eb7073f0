"""`hashbench hash` end to end on a folder of good, awkward and hostile files (issue 2's acceptance)."""

import os
import subprocess
import sys

import numpy as np
import pdqhash
import pytest

from hashbench.bits import code_from_hex, hamming
from hashbench.cli import main
from hashbench.store import read_table


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hashbench.cli", *args], capture_output=True, text=True, timeout=120)


def test_hostile_folder_hashes_every_good_image_and_reports_every_bad_one(hostile_folder, tmp_path):
    out = tmp_path / "hashes.parquet"
    proc = run_cli(
        "hash", str(hostile_folder["root"]), "--hasher", "pdq,phash,md5", "--out", str(out), "--workers", "2"
    )
    assert proc.returncode == 0, proc.stderr
    rows = read_table(out).to_pylist()
    by_id: dict[str, list[dict]] = {}
    for r in rows:
        by_id.setdefault(r["id"], []).append(r)
    assert set(by_id) == set(hostile_folder["good"]) | set(hostile_folder["bad"])  # nothing lost
    for name in hostile_folder["good"]:
        assert all(r["hash_hex"] and r["error"] is None for r in by_id[name]), (name, by_id[name])
    for name in hostile_folder["bad"]:
        assert all(r["hash_hex"] is None and r["error"] for r in by_id[name]), name
        assert f"failed {name}:" in proc.stderr  # and on stderr with its reason
    reasons = {name: by_id[name][0]["error"] for name in hostile_folder["bad"]}
    assert "empty" in reasons["empty.jpg"]
    assert "not an image" in reasons["notes.jpg"]
    assert "limit" in reasons["bomb.png"]
    assert "truncated" in reasons["truncated.png"] or "corrupt" in reasons["truncated.png"]
    assert "skipped README.txt" in proc.stderr
    # The EXIF-rotated JPEG is hashed as displayed: close to the upright photo, far from the stored one.
    upright_bits, _ = pdqhash.compute(hostile_folder["upright"])
    upright = np.packbits(upright_bits.astype(np.uint8))
    stored_bits, _ = pdqhash.compute(np.ascontiguousarray(np.rot90(hostile_folder["upright"], 1)))
    stored = np.packbits(stored_bits.astype(np.uint8))
    rotated = next(r for r in by_id["exif_rotated.jpg"] if r["hasher"] == "pdq")
    code = code_from_hex(rotated["hash_hex"], 256)
    assert hamming(code, upright) <= 20 < hamming(code, stored)


def test_strict_and_nothing_hashed_exit_codes(hostile_folder, tmp_path):
    root = hostile_folder["root"]
    assert (
        main(
            [
                "hash",
                str(root / "bomb.png"),
                str(root / "plain.jpg"),
                "--hasher",
                "dhash",
                "--workers",
                "1",
                "--strict",
                "--out",
                str(tmp_path / "a.parquet"),
            ]
        )
        == 1
    )
    assert (
        main(
            [
                "hash",
                str(root / "empty.jpg"),
                "--hasher",
                "dhash",
                "--workers",
                "1",
                "--out",
                str(tmp_path / "b.parquet"),
            ]
        )
        == 1
    )
    assert (
        main(
            [
                "hash",
                str(root / "plain.jpg"),
                "--hasher",
                "dhash",
                "--workers",
                "1",
                "--out",
                str(tmp_path / "c.parquet"),
            ]
        )
        == 0
    )


def test_csv_to_stdout_without_out(hostile_folder, capsys):
    assert (
        main(["hash", str(hostile_folder["root"] / "plain.jpg"), "--hasher", "ahash,colorhash", "--workers", "1"]) == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "id,hasher,nbits,hash_hex,quality,error"
    assert len(lines) == 3 and lines[2].split(",")[2] == "42"


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["hash", "nope-folder"], "no such file or folder"),
        (["hash", ".", "--hasher", "pdqq"], "unknown hasher 'pdqq'"),
        (["hash", ".", "--hasher", ","], "--hasher is empty"),
    ],
)
def test_usage_errors_are_one_line_exit_2(argv, needle):
    proc = run_cli(*argv)
    assert proc.returncode == 2
    assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_help_explains_itself_with_examples():
    top = run_cli("--help")
    assert top.returncode == 0 and "examples:" in top.stdout and "hash" in top.stdout
    sub = run_cli("hash", "--help")
    assert "example" in sub.stdout and "--hasher" in sub.stdout and "exit codes" in sub.stdout
    version = run_cli("--version")
    assert version.stdout.startswith("hashbench ")


def test_hashers_lists_bits_kind_library_version():
    proc = run_cli("hashers")
    assert proc.returncode == 0
    line = next(l for l in proc.stdout.splitlines() if l.startswith("pdq "))
    assert "256" in line and "pdqhash" in line and "perceptual" in line
    assert any(l.startswith("md5") and "yes" in l for l in proc.stdout.splitlines())


def test_console_script_is_installed():
    exe = os.path.join(os.path.dirname(sys.executable), "hashbench")
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "hashbench" in proc.stdout
