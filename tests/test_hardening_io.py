"""Issue 16, hashing/decoding side: each reproduction of the attack, made small."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from _helpers import noise_pngs
from hashbench.errors import ImageDecodeError
from hashbench.hashing import LazySource
from hashbench.imageio import RASTER_FORMATS, decode_bytes

EPS = b"""%!PS-Adobe-3.0 EPSF-3.0
%%BoundingBox: 0 0 10 10
newpath 0 0 moveto 10 10 lineto stroke
showpage
%%EOF
"""


def _fake_gs(bin_dir: Path, marker: Path) -> None:
    """A `gs` that leaves a marker file behind if anything ever runs it."""
    bin_dir.mkdir()
    gs = bin_dir / "gs"
    gs.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    gs.chmod(0o755)


def test_eps_named_jpg_never_starts_ghostscript(tmp_path):
    marker = tmp_path / "gs-ran"
    _fake_gs(tmp_path / "bin", marker)
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "photo.jpg").write_bytes(EPS)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "imgs" / "ok.png")
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"}
    proc = subprocess.run(
        [sys.executable, "-m", "hashbench", "hash", str(tmp_path / "imgs"), "--hasher", "dhash", "--workers", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert not marker.exists()
    assert proc.returncode == 0, proc.stderr
    assert "failed photo.jpg: EPS file refused" in proc.stderr
    assert "ok.png," in proc.stdout


def test_only_raster_formats_are_decoded():
    assert "EPS" not in RASTER_FORMATS and "PDF" not in RASTER_FORMATS and "JPEG" in RASTER_FORMATS
    for data in (EPS, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"):
        try:
            decode_bytes(data, item_id="x")
        except ImageDecodeError as exc:
            assert "refused" in exc.reason or "not an image" in exc.reason
        else:
            raise AssertionError("a PostScript/PDF file was decoded")
    # a format outside a caller's own allow-list is refused by name
    png = _png_bytes()
    try:
        decode_bytes(png, item_id="x", formats=("JPEG",))
    except ImageDecodeError as exc:
        assert exc.reason.startswith("PNG file refused")
    else:
        raise AssertionError("PNG decoded outside the allow-list")


def _png_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


# --- item 5/6: checkpoints keyed by content, checksummed -------------------------------------


def _interrupted_run(paths, out, monkeypatch, after: int = 2, **kw):
    """Run hash_files_to_table and stop it after ``after`` chunks were saved (parts kept)."""
    from hashbench.checkpoint import ChunkStore

    real_write = ChunkStore.write
    calls = {"n": 0}

    def dying_write(self, chunk):
        if calls["n"] == after:
            raise KeyboardInterrupt
        calls["n"] += 1
        real_write(self, chunk)

    monkeypatch.setattr(ChunkStore, "write", dying_write)
    with pytest.raises(KeyboardInterrupt):
        _hash(paths, out, **kw)
    monkeypatch.setattr(ChunkStore, "write", real_write)


def _hash(paths, out, **kw):
    from hashbench.hashers import get
    from hashbench.store import hash_files_to_table

    ids = [p.name for p in paths]
    settings = {"workers": 1, "max_pixels": 10**8, "progress": False, "chunk_size": 4, **kw}
    return hash_files_to_table(paths, ids, [get("dhash")], out, **settings)


def test_a_file_replaced_between_runs_is_hashed_again_on_resume(tmp_path, monkeypatch, capsys):
    paths = noise_pngs(tmp_path / "imgs")
    out = tmp_path / "h.parquet"
    _interrupted_run(paths, out, monkeypatch)  # chunks 0 and 1 saved
    st = os.stat(paths[1])
    other = np.random.default_rng(99).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(other).save(paths[1])  # new pixels, the old mtime put back below
    os.utime(paths[1], ns=(st.st_atime_ns, st.st_mtime_ns))
    capsys.readouterr()
    _, table = _hash(paths, out)
    err = capsys.readouterr().err
    assert "reusing 1 saved chunks of 3; recomputing 1 made for other inputs or settings" in err
    _, fresh = _hash(paths, tmp_path / "fresh.parquet")
    assert table.equals(fresh)  # the new hash, not the old one


def test_a_flipped_byte_in_a_chunk_is_detected_and_recomputed(tmp_path, monkeypatch, capsys):
    paths = noise_pngs(tmp_path / "imgs")
    _, reference = _hash(paths, tmp_path / "ref.parquet")
    out = tmp_path / "h.parquet"
    _interrupted_run(paths, out, monkeypatch)
    part = sorted((tmp_path / "h.parquet.parts" / "parts" / "files").glob("chunk-000001-*.parquet"))[0]
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x10
    part.write_bytes(bytes(data))
    capsys.readouterr()
    _, table = _hash(paths, out)
    err = capsys.readouterr().err
    assert f"checkpoint {part} is damaged (checksum mismatch); recomputing chunk 1" in err
    assert "reusing 1 saved chunks of 3; recomputing 0 made for other inputs or settings and 1 damaged" in err
    assert table.equals(reference)


def test_another_hasher_command_or_decoder_setting_does_not_reuse_chunks(tmp_path, monkeypatch):
    from hashbench.checkpoint import chunk_keys
    from hashbench.hashers import get

    paths = noise_pngs(tmp_path / "imgs", n=4)
    items = [(p.name, p) for p in paths]
    base = chunk_keys(items, [get("dhash")], 2, max_pixels=100)
    assert base == chunk_keys(items, [get("dhash")], 2, max_pixels=100)
    assert base != chunk_keys(items, [get("dhash")], 2, max_pixels=101)
    assert base != chunk_keys(items, [get("phash")], 2, max_pixels=100)
    a = get("command:sh -c 'while read f; do echo 00ff; done'", nbits=16)
    b = get("command:sh -c 'while read f; do echo ff00; done'", nbits=16)
    assert chunk_keys(items, [a], 2, max_pixels=100) != chunk_keys(items, [b], 2, max_pixels=100)
    os.utime(paths[3], ns=(1, 1))
    changed = chunk_keys(items, [get("dhash")], 2, max_pixels=100)
    assert changed[0] == base[0] and changed[1] != base[1]


def test_fresh_ignores_saved_chunks(tmp_path, monkeypatch):
    import hashbench.hashing as hashing

    paths = noise_pngs(tmp_path / "imgs")
    out = tmp_path / "h.parquet"
    _interrupted_run(paths, out, monkeypatch)
    hashed = []
    real_chunk = hashing._hash_chunk
    monkeypatch.setattr(hashing, "_hash_chunk", lambda i, ids, srcs: hashed.append(i) or real_chunk(i, ids, srcs))
    _hash(paths, out, fresh=True)
    assert hashed == [0, 1, 2]


# --- item 7: a decompression bomb under the pixel limit, a worker that dies -----------------


def _grey_png_bomb(side: int = 14000) -> bytes:
    """A 190 KB 8-bit grey PNG of side x side zeros: 196 Mpx, under the default pixel limit."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    comp = zlib.compressobj(9)
    row = b"\x00" * (1 + side)
    body = b"".join(comp.compress(row * 1000) for _ in range(side // 1000)) + comp.compress(row * (side % 1000))
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body + comp.flush()) + chunk(b"IEND", b"")


def test_a_bomb_inside_a_small_memory_limit_is_reported_and_its_chunk_hashed(tmp_path):
    paths = noise_pngs(tmp_path / "imgs", n=6)
    (tmp_path / "imgs" / "02b.png").write_bytes(_grey_png_bomb())
    # Since issue 18 the bomb needs about 1 GB (it was 5.3), which 1.5 GB of address space may hold:
    # a 600 MB budget per worker keeps it out, from its header (the pixel limit is given, else the
    # limit derived from that budget, 80 Mpx, would refuse it first: test_memory_draft.py).
    env = {
        **os.environ,
        "HASHBENCH_TEST_WORKER_RLIMIT_AS": str(int(1.5 * 2**30)),
        "HASHBENCH_WORKER_MEMORY": str(600 * 2**20),
    }
    for run in range(2):  # the rerun does the same
        out = tmp_path / f"h{run}.parquet"
        proc = subprocess.run(
            [sys.executable, "-m", "hashbench", "hash", str(tmp_path / "imgs"), "--hasher", "pdq", "--workers", "2"]
            + ["--out", str(out), "--no-progress", "--max-pixels", "300000000"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        assert "failed 02b.png: 14000x14000 L image needs about" in proc.stderr
        assert "above this worker's memory budget" in proc.stderr
        from hashbench.store import read_table

        rows = {r["id"]: r for r in read_table(out).to_pylist()}
        assert len(rows) == len(paths) + 1
        assert all(rows[p.name]["hash_hex"] for p in paths)  # every other image was hashed


def test_decode_memory_counts_the_mode_and_the_hashers():
    # Issue 18 bounded the memory per pixel (decoding band by band, tests/test_memory_draft.py):
    # the stored image and the array during decoding, the array and the hungriest hasher after.
    from hashbench.imageio import DECODE_SLACK, HASH_BYTES_PER_PIXEL, decode_memory

    assert decode_memory("L", 10, 10) == 100 * (3 + HASH_BYTES_PER_PIXEL) + DECODE_SLACK
    assert decode_memory("RGBA", 10, 10, hash_bytes_per_pixel=1) == 100 * (4 + 3) + DECODE_SLACK
    assert decode_memory("L", 14000, 14000, hash_bytes_per_pixel=2) < 2 * 10**9  # was 5.3 GB with pdq


def test_an_item_that_kills_its_worker_is_reported_and_the_run_goes_on(tmp_path):
    from hashbench.hashing import WORKER_DIED, hash_stream

    rng = np.random.default_rng(3)
    items = [(f"{i:02d}", rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)) for i in range(10)]
    items[6] = ("06", Killer())
    chunks = list(hash_stream(items, ["dhash"], workers=2, chunk_size=3))
    assert [c.index for c in chunks] == [0, 1, 2, 3]
    errors = [e for c in chunks for e in c.decode_errors]
    assert errors == [None] * 6 + [WORKER_DIED] + [None] * 3
    again = list(hash_stream(items[:6] + items[7:], ["dhash"], workers=1, chunk_size=3))
    ok = [row for c in chunks for row in c.batches["dhash"].codes]
    assert np.array_equal(np.delete(np.array(ok), 6, axis=0), np.concatenate([c.batches["dhash"].codes for c in again]))


class Killer(LazySource):
    """Kills the worker that makes it, as the kernel kills a worker out of memory."""

    def materialise(self, item_id):
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")


# --- item 10: two runs into one --out --------------------------------------------------------


def test_a_second_run_into_the_same_out_says_another_run_holds_it(tmp_path, capsys):
    from hashbench.cli import main

    noise_pngs(tmp_path / "imgs", n=3)
    out = tmp_path / "h.parquet"
    lock = tmp_path / "h.parquet.parts" / "lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom hashbench.atomic import hold_lock\n"
            f"with hold_lock({str(lock)!r}):\n    print('held', flush=True)\n    time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        args = [
            "hash",
            str(tmp_path / "imgs"),
            "--hasher",
            "dhash",
            "--workers",
            "1",
            "--out",
            str(out),
            "--no-progress",
        ]
        assert main(args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [
            f"hashbench: error: another hashbench run is writing {out} (it holds {lock}); "
            "wait for it or choose another --out"
        ]
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()
    assert main(args) == 0  # the lock died with its holder
    assert out.exists() and not lock.parent.exists()


# --- item 11: workers die with the run ---------------------------------------------------------

SLOW_RUN = """
import time

import numpy as np

from hashbench.hashers import ImageItem
from hashbench.hashing import LazySource, hash_stream


class Slow(LazySource):
    def materialise(self, item_id):
        time.sleep(0.2)
        return ImageItem(id=item_id, pixels=np.zeros((8, 8, 3), np.uint8)), None


if __name__ == "__main__":
    for chunk in hash_stream([(str(i), Slow()) for i in range(400)], ["dhash"], workers=2, chunk_size=2):
        print(chunk.index, flush=True)
"""


def _descendants(pid: int) -> set[int]:
    """Every live (not zombie) process below ``pid``, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


def _alive(pids: set[int]) -> set[int]:
    live = set()
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                live.add(pid)
        except OSError:
            pass
    return live


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM"])
def test_workers_exit_when_the_run_is_killed(tmp_path, sig):
    import time

    script = tmp_path / "slow_run.py"
    script.write_text(SLOW_RUN)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    below: set[int] = set()
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "0"  # workers are hashing
        below = _descendants(proc.pid)
        assert len(below) >= 3  # forkserver, 2 workers (and the resource tracker)
        assert proc.poll() is None
        proc.send_signal(getattr(signal, sig))
        proc.wait(timeout=30)
        deadline = time.time() + 5
        while _alive(below) and time.time() < deadline:
            time.sleep(0.1)
        assert _alive(below) == set()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in _alive(below):  # a failed run must not leave its workers behind either
            os.kill(pid, signal.SIGKILL)


# --- item 3: --out a device, a FIFO, a symlink ---------------------------------------------


def test_out_that_is_not_a_regular_file_is_refused_in_one_line(tmp_path, capsys):
    import stat

    from hashbench.atomic import atomic_write_bytes, check_target
    from hashbench.cli import main

    noise_pngs(tmp_path / "imgs", n=2)
    fifo = tmp_path / "pipe.parquet"
    os.mkfifo(fifo)
    target = tmp_path / "target.parquet"
    target.write_bytes(b"keep me")
    link = tmp_path / "link.parquet"
    link.symlink_to(target)
    (tmp_path / "dir.parquet").mkdir()
    for out, why in [
        (fifo, "not a regular file (a device, FIFO or socket)"),
        (link, "it is a symbolic link"),
        (tmp_path / "dir.parquet", "it is a folder"),
    ]:
        args = ["hash", str(tmp_path / "imgs"), "--hasher", "dhash", "--workers", "1", "--out", str(out)]
        assert main([*args, "--no-progress"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"hashbench: error: cannot write {out}: ") and why in err[0]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and link.is_symlink() and target.read_bytes() == b"keep me"
    assert not list(tmp_path.glob("*.parts"))
    with pytest.raises(OSError, match="not a regular file"):
        check_target("/dev/full")  # as root, a rename would have replaced the device
    with pytest.raises(OSError, match="symbolic link"):
        atomic_write_bytes(link, b"x")
    assert target.read_bytes() == b"keep me"


# --- item 8: folder datasets survive hostile files ------------------------------------------


@pytest.fixture()
def hostile_tree(tmp_path):
    root = tmp_path / "refs"
    noise_pngs(root, n=3)
    os.mkfifo(root / "b.jpg")  # opening it for reading would block forever
    (root / "c.jpg").symlink_to("/dev/zero")  # reading it would never end
    (root / "d.jpg").symlink_to(root / "missing.png")  # broken
    (root / "e.jpg").symlink_to(root / "f.jpg")  # a loop
    (root / "f.jpg").symlink_to(root / "e.jpg")
    (root / "locked.png").write_bytes((root / "00.png").read_bytes())  # made unreadable below
    (root / "sub").mkdir()
    noise_pngs(root / "sub", n=1, seed=5)
    (root / "closed").mkdir()  # made unlistable below
    noise_pngs(root / "closed", n=1, seed=6)
    (root / "linked").symlink_to(root / "sub")
    return root


def _deny(monkeypatch, paths: set[str]) -> None:
    """Play permissions as root (who may read anything): opening or listing ``paths`` fails."""
    real_open, real_scandir = os.open, os.scandir

    def fake_open(path, *args, **kw):
        if os.fspath(path) in paths:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(path, *args, **kw)

    def fake_scandir(path="."):
        if os.fspath(path) in paths:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "scandir", fake_scandir)


def test_folder_dataset_reports_what_hash_reports_and_lists_skipped_paths(hostile_tree, monkeypatch, capsys):
    from hashbench.datasets import get as get_dataset
    from hashbench.hashing import hash_files

    _deny(monkeypatch, {str(hostile_tree / "locked.png"), str(hostile_tree / "closed")})
    d = get_dataset("folder", root=str(hostile_tree))
    err = capsys.readouterr().err
    assert f"hashbench: folder {hostile_tree}: skipped closed/: cannot read folder: Permission denied" in err
    assert f"hashbench: folder {hostile_tree}: skipped linked/: symlinked folder, not followed" in err
    assert {rel for rel, _ in d.skipped} == {"closed/", "linked/"}
    manifest = d.manifest()  # never blocks on the FIFO or /dev/zero
    bad = {"b.jpg", "c.jpg", "d.jpg", "e.jpg", "f.jpg", "locked.png"}
    assert set(d.ids) == bad | {"00.png", "01.png", "02.png", "sub/00.png"}
    by_hash = hash_files([hostile_tree / i for i in d.ids], d.ids, ["dhash"], workers=1, progress=False)
    reasons = dict(zip(by_hash.ids, by_hash.decode_errors))
    for i, item_id in enumerate(d.ids):
        if item_id not in bad:
            assert manifest[item_id].error == "" and d[i].load().shape == (16, 16, 3)
            continue
        assert manifest[item_id].error == reasons[item_id]  # the same reason as `hashbench hash`
        with pytest.raises(ImageDecodeError) as exc:
            d[i].load()
        assert exc.value.reason == reasons[item_id]
    assert reasons["b.jpg"] == reasons["c.jpg"] == "not a regular file"
    assert reasons["locked.png"] == "cannot read file: Permission denied"
    assert reasons["d.jpg"].startswith("cannot read file: No such file")
    assert reasons["e.jpg"].startswith("cannot read file: Too many levels of symbolic links")


RUN_TOML = """
[run]
name = "hostile"
seed = 1
chunk_size = 4
[[references]]
dataset = "folder"
root = "{root}"
[[distractors]]
dataset = "synthetic"
family = "mixed"
count = 6
size = 32
[transforms]
custom = [{{kind = "hflip", name = "hflip"}}]
[hashers]
names = ["dhash"]
"""


def test_run_on_a_hostile_folder_reports_every_bad_file_and_finishes(hostile_tree, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(RUN_TOML.format(root=hostile_tree))
    proc = subprocess.run(
        [sys.executable, "-m", "hashbench", "run", "--config", str(config), "--out", str(tmp_path / "out")]
        + ["--workers", "2", "--no-progress"],
        capture_output=True,
        text=True,
        timeout=240,  # a FIFO used to hang the run forever
        env={**os.environ, "HASHBENCH_ITEM_TIMEOUT": "20"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "skipped linked/: symlinked folder, not followed" in proc.stderr
    failures = (next((tmp_path / "out").glob("*/failures.csv"))).read_text()
    for name in ("b.jpg", "c.jpg", "d.jpg", "e.jpg", "f.jpg"):
        assert name in failures


# --- item 9: the report set is written all or nothing ---------------------------------------

SMALL_RUN = """
[run]
name = "atomic-report"
seed = 3
chunk_size = 8
[[references]]
dataset = "synthetic"
family = "mixed"
count = 6
size = 48
[[distractors]]
dataset = "synthetic"
family = "mixed"
count = 8
size = 48
seed = 1
[transforms]
custom = [{kind = "hflip", name = "hflip"}]
[hashers]
names = ["dhash"]
"""


def test_a_full_disk_while_writing_the_report_leaves_no_partial_set(tmp_path, monkeypatch):
    from hashbench.config import load_config
    from hashbench.errors import UsageError
    from hashbench.report import load_report, render_report, write_report, writers
    from hashbench.runner import run

    cfg = tmp_path / "small.toml"
    cfg.write_text(SMALL_RUN)
    outcome = run(load_config(cfg), out_root=tmp_path / "results", workers=1, progress=False)
    complete = {p.relative_to(outcome.run_dir) for p in outcome.run_dir.rglob("*") if p.is_file()}
    assert {Path("report.json"), Path("report.html"), Path("failures.csv")} <= complete
    report = load_report(outcome.run_dir)
    real_write = writers._write_file

    def disk_fills_up(path, data):
        if path.name == "report.html":
            raise OSError(28, "No space left on device", str(path))
        real_write(path, data)

    monkeypatch.setattr(writers, "_write_file", disk_fills_up)
    fresh = tmp_path / "fresh"
    with pytest.raises(UsageError, match="No space left on device; free some space and run the same command again"):
        write_report(report, fresh)
    assert [p for p in fresh.rglob("*") if p.is_file()] == []  # no report.json without its other files
    before = {p: p.read_bytes() for p in outcome.run_dir.rglob("*") if p.is_file()}
    with pytest.raises(UsageError, match="run `hashbench report` again"):
        render_report(report, outcome.run_dir)
    assert {p: p.read_bytes() for p in outcome.run_dir.rglob("*") if p.is_file()} == before  # old set intact
    monkeypatch.setattr(writers, "_write_file", real_write)
    write_report(report, fresh)
    report_set = {p for p in complete if p.parts[0] in writers.REPORT_FILES}
    assert {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()} == report_set
    assert not list(fresh.glob(".report-*"))


def test_hash_cli_fresh_starts_over_and_a_plain_rerun_resumes(tmp_path, monkeypatch, capsys):
    from hashbench.cli import main

    paths = noise_pngs(tmp_path / "imgs")
    out = tmp_path / "h.parquet"
    args = ["hash", str(tmp_path / "imgs"), "--hasher", "dhash", "--workers", "1", "--out", str(out), "--no-progress"]
    for fresh, said in [(True, False), (False, True)]:  # the CLI's settings: 12 chunks of one image
        # max_pixels=None: the CLI's default since issue 18 (the limit derived from memory)
        _interrupted_run(paths, out, monkeypatch, chunk_size=None, max_pixels=None)
        capsys.readouterr()
        assert main(args + (["--fresh"] if fresh else [])) == 0
        assert ("reusing 2 saved chunks of 12; recomputing 0" in capsys.readouterr().err) is said
