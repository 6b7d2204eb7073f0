"""One line, not a traceback: shared CLI options and quiet failures (issue 16, item 16)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hashbench.cli import build_parser, main
from hashbench.cli.options import non_negative_int, positive_int, workers_count
from hashbench.cpus import default_workers

SRC = str(Path(__file__).resolve().parents[1] / "src")


def test_workers_rule_is_shared():
    assert workers_count("3") == 3
    assert workers_count("0") == default_workers()
    for bad in ("-1", "two"):
        with pytest.raises(Exception, match="0 \\(all CPUs\\)|whole number"):
            workers_count(bad)
    assert non_negative_int("0") == 0 and positive_int("1") == 1
    with pytest.raises(Exception, match="0 or more"):
        non_negative_int("-3")
    with pytest.raises(Exception, match="at least 1"):
        positive_int("0")


@pytest.mark.parametrize(
    "argv",
    [
        ["run"],
        ["hash", "x.png"],
        ["datasets", "dedupe", "x"],
        ["generate", "mixed", "--count", "1", "--out", "o"],
        ["transform", "x", "--out", "o"],
    ],
)
def test_every_workers_option_means_the_same(argv, capsys):
    parser = build_parser()
    assert parser.parse_args([*argv, "--workers", "0"]).workers == default_workers()
    assert parser.parse_args([*argv, "--workers", "2"]).workers == 2
    with pytest.raises(SystemExit) as exc:
        parser.parse_args([*argv, "--workers", "-1"])
    assert exc.value.code == 2
    assert "--workers: must be 0 (all CPUs) or a positive count" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["datasets", "dedupe", "x", "--radius", "-1"],
        ["datasets", "dedupe", "x", "--show", "-1"],
        ["generate", "mixed", "--count", "-5", "--out", "o"],
        ["generate", "mixed", "--count", "1", "--start", "-1", "--out", "o"],
        ["hash", "x.png", "--max-pixels", "0"],
        ["hash", "x.png", "--max-pixels", "-10"],
        ["impostors", "t.parquet", "--block", "0"],
        ["impostors", "t.parquet", "--max-listed", "0"],
    ],
)
def test_negative_and_zero_sizes_are_refused(argv):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(argv)
    assert exc.value.code == 2


def test_debug_is_accepted_after_the_subcommand():
    parser = build_parser()
    assert parser.parse_args(["run", "--debug"]).debug is True
    assert parser.parse_args(["--debug", "run"]).debug is True
    assert parser.parse_args(["datasets", "dedupe", "x", "--debug"]).debug is True
    assert parser.parse_args(["run"]).debug is False


def _images(folder: Path, n: int = 2) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def test_hash_and_dedupe_with_workers_0(tmp_path, capsys):
    folder = _images(tmp_path / "imgs")
    assert main(["hash", str(folder), "--workers", "0", "--no-progress"]) == 0
    assert capsys.readouterr().out.count(".png,pdq,256,") == 2
    out = tmp_path / "dd"
    assert main(["datasets", "dedupe", str(folder), "--workers", "0", "--out", str(out), "--no-progress"]) == 0
    assert (out / "near-duplicates.csv").is_file()


def test_dedupe_of_a_missing_folder_creates_nothing(tmp_path, capsys):
    out = tmp_path / "dd"
    assert main(["datasets", "dedupe", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert "no such path" in capsys.readouterr().err
    assert not out.exists()


def test_unknown_hasher_gets_did_you_mean(tmp_path, capsys):
    folder = _images(tmp_path / "imgs", 1)
    assert main(["hash", str(folder), "--hasher", "pdqq"]) == 2
    assert "did you mean 'pdq'" in capsys.readouterr().err
    assert main(["datasets", "dedupe", str(folder), "--hasher", "phahs", "--out", str(tmp_path / "o")]) == 2
    assert "did you mean 'phash'" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["transforms", "--json"], ["transforms", "--suite", "isc", "--json"]])
def test_closed_stdout_pipe_is_a_quiet_exit(argv):
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hashbench", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line is written, like `| head -0`
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code == 141


def test_a_timeout_inside_a_decoder_is_reported_as_a_timeout(tmp_path, monkeypatch):
    import time

    from PIL import ImageFile

    import hashbench.hashing as hashing
    from hashbench.hashing import hash_files

    folder = _images(tmp_path / "imgs", 1)
    original = ImageFile.ImageFile.load

    def slow_load(self):
        time.sleep(5)  # the alarm interrupts this sleep inside Pillow's decode
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", slow_load)
    monkeypatch.setattr(hashing, "ITEM_TIMEOUT", 0.3)
    res = hash_files([str(folder / "0.png")], ["0"], ["dhash"], workers=1, progress=False)
    (reason,) = [r for _, r in res.errors]
    assert "limit per item" in reason and "corrupt" not in reason


@pytest.mark.skipif(os.sep == "\\", reason="POSIX file names")
def test_a_non_utf8_name_and_its_escaped_twin_get_different_ids(tmp_path):
    from hashbench.files import display_id, find_images

    folder = _images(tmp_path / "imgs", 1)
    raw = os.fsencode(folder / "0.png")
    os.link(raw, os.fsencode(folder) + b"/\xff.png")
    os.link(raw, os.fsencode(folder) + b"/\\xff.png")
    ids = find_images([str(folder)]).ids
    assert len(ids) == len(set(ids)) == 3
    assert display_id(b"a/\xff.png") == "a/\\xff.png"
    assert display_id(b"a/\\xff.png") == "a/\\\\xff.png"
