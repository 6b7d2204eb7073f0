"""Hostile file-system inputs for `hashbench hash`: each hashed or reported, none crashes or hangs."""

import os

import numpy as np
from PIL import Image

from hashbench.cli import main
from hashbench.store import read_table


def test_odd_files_are_hashed_or_reported(tmp_path, capsys):
    root = tmp_path / "odd"
    root.mkdir()
    px = np.random.default_rng(1).integers(0, 256, (20, 20, 3), dtype=np.uint8)
    Image.fromarray(px).save(root / "really_a_png.jpg", format="PNG")  # wrong extension
    Image.fromarray(px).save(os.path.join(os.fsencode(root), b"caf\xe9.png"), format="PNG")  # not UTF-8
    os.symlink(root / "loop_b.png", root / "loop_a.png")
    os.symlink(root / "loop_a.png", root / "loop_b.png")
    os.mkfifo(root / "pipe.png")  # opening a FIFO would block forever
    os.symlink(root, root / "sub_loop")  # a folder link back to itself
    out = tmp_path / "h.parquet"
    code = main(["hash", str(root), "--hasher", "dhash", "--workers", "1", "--out", str(out), "--no-progress"])
    assert code == 0
    rows = {r["id"]: r for r in read_table(out).to_pylist()}
    assert rows["really_a_png.jpg"]["hash_hex"]
    assert rows["caf\\xe9.png"]["hash_hex"]  # readable id, real bytes used to open the file
    assert "Too many levels" in rows["loop_a.png"]["error"] or "cannot read" in rows["loop_a.png"]["error"]
    assert rows["pipe.png"]["error"] == "not a regular file"
    err = capsys.readouterr().err
    assert "failed pipe.png" in err and "failed loop_b.png" in err


def test_full_disk_and_unwritable_output_are_one_line_errors(tmp_path, monkeypatch, capsys):
    img = tmp_path / "a.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(img)
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["hash", str(img), "--workers", "1", "--out", str(blocker / "x.parquet")]) == 2
    assert "cannot write" in capsys.readouterr().err

    import errno

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)  # every hashbench write ends with fsync before its rename
    assert main(["hash", str(img), "--workers", "1", "--out", str(tmp_path / "y.parquet")]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_images_are_read_where_they_are_from_fsspec_urls(tmp_path, capsys):
    """`hashbench hash file:///...` reads through fsspec (as workers read s3://, gs://, http://)
    and gives exactly the table a local path gives, ids relative to the URL folder."""
    root = tmp_path / "imgs"
    (root / "sub").mkdir(parents=True)
    rng = np.random.default_rng(3)
    for name in ("a.png", "sub/b.jpg"):
        Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(root / name)
    (root / "broken.png").write_bytes(b"not a png")
    local, remote = tmp_path / "local.parquet", tmp_path / "url.parquet"
    assert main(["hash", str(root), "--hasher", "pdq,md5", "--workers", "1", "--out", str(local), "--no-progress"]) == 0
    assert (
        main(["hash", root.as_uri(), "--hasher", "pdq,md5", "--workers", "2", "--out", str(remote), "--no-progress"])
        == 0
    )
    a, b = read_table(local), read_table(remote)
    assert a.select(["id", "hasher", "hash_hex", "error"]).equals(b.select(["id", "hasher", "hash_hex", "error"]))
    assert sorted(set(b["id"].to_pylist())) == ["a.png", "broken.png", "sub/b.jpg"]
    assert main(["hash", (root / "missing").as_uri(), "--workers", "1", "--out", str(tmp_path / "x.parquet")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
