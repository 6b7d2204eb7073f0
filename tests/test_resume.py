"""Interrupted work resumes: nothing recomputed that was saved, nothing lost or duplicated."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hashbench.hashing as hashing
from _helpers import noise_pngs
from hashbench.checkpoint import ChunkStore
from hashbench.hashers import get
from hashbench.runner import accuracy_differences
from hashbench.store import hash_files_to_table, read_table


@pytest.fixture
def folder(tmp_path):
    return noise_pngs(tmp_path / "imgs", 23)


def test_hash_resumes_after_a_crash(folder, tmp_path, monkeypatch):
    hashers = [get("pdq"), get("dhash")]
    ids = [p.name for p in folder]
    out = tmp_path / "h.parquet"
    _, reference = hash_files_to_table(
        folder, ids, hashers, tmp_path / "ref.parquet", workers=1, max_pixels=10**8, progress=False, chunk_size=5
    )
    real_write = ChunkStore.write
    calls = {"n": 0}

    def dying_write(self, chunk):
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the run is stopped after two chunks were saved
        calls["n"] += 1
        real_write(self, chunk)

    monkeypatch.setattr(ChunkStore, "write", dying_write)
    with pytest.raises(KeyboardInterrupt):
        hash_files_to_table(folder, ids, hashers, out, workers=1, max_pixels=10**8, progress=False, chunk_size=5)
    assert not out.exists() and len(list((tmp_path / "h.parquet.parts" / "parts" / "files").iterdir())) == 2
    monkeypatch.setattr(ChunkStore, "write", real_write)
    hashed = []
    real_chunk = hashing._hash_chunk
    monkeypatch.setattr(hashing, "_hash_chunk", lambda i, ids, srcs: hashed.append(i) or real_chunk(i, ids, srcs))
    _, table = hash_files_to_table(folder, ids, hashers, out, workers=1, max_pixels=10**8, progress=False, chunk_size=5)
    assert hashed == [2, 3, 4]  # only the chunks that were not saved
    assert table.equals(reference)
    assert read_table(out).equals(reference) and not (tmp_path / "h.parquet.parts").exists()


TINY_TOML = """
[run]
name = "killme"
seed = 11
chunk_size = 4
[[references]]
dataset = "synthetic"
family = "mixed"
count = 12
size = 64
[[distractors]]
dataset = "synthetic"
family = "mixed"
count = 16
size = 64
seed = 5
[transforms]
custom = [
  {kind = "jpeg", name = "jpeg50", quality = 50},
  {kind = "hflip", name = "hflip"},
  {kind = "blur", name = "blur2", sigma = 2.0},
]
[hashers]
names = ["pdq", "phash", "md5"]
"""


def _run(config: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hashbench",
            "run",
            "--config",
            str(config),
            "--out",
            str(out),
            "--workers",
            "1",
            "--no-progress",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, Path]:
    """TINY_TOML's config file and the report.json of one uninterrupted run of it (shared: the
    killed runs are compared with it, and --reproduce starts from it)."""
    root = tmp_path_factory.mktemp("clean")
    config = root / "tiny.toml"
    config.write_text(TINY_TOML)
    proc = _run(config, root / "out")
    assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()
    return config, next((root / "out").glob("*/report.json"))


def test_run_killed_three_times_resumes_to_the_uninterrupted_result(clean, tmp_path):
    config, clean_path = clean
    clean_report = json.loads(clean_path.read_text())
    total_parts = sum(len(list(d.iterdir())) for d in (clean_path.parent / "parts").iterdir())

    out = tmp_path / "killed"
    rng = random.Random(2024)
    moments = sorted(rng.sample(range(1, total_parts), 3))
    for moment in moments:  # SIGKILL once `moment` chunks in all exist
        proc = _run(config, out)
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            parts = list(out.glob("*/parts/*/chunk-*.parquet"))
            if len(parts) >= moment:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    final = _run(config, out)
    assert final.wait(timeout=300) == 0, final.stderr.read().decode()
    report = json.loads(next(out.glob("*/report.json")).read_text())
    assert accuracy_differences(clean_report, report) == []
    resumed = sum(s["resumed_chunks"] for s in report["timing"]["stages"].values())
    assert resumed >= moments[0]  # the last run did not start over
    assert list(out.glob("*/parts/*/.*.tmp")) == []  # temporary files of killed writes were cleared


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_TOML)
    proc = _run(config, tmp_path / "out")
    deadline = time.time() + 120
    while time.time() < deadline and not list((tmp_path / "out").glob("*/parts/*/chunk-*.parquet")):
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()
    assert "run the same command again to resume" in err.decode() and "Traceback" not in err.decode()


def test_reproduce_checks_every_accuracy_figure(clean, tmp_path):
    report = tmp_path / "report.json"  # a copy: the shared run's own report stays as written
    report.write_bytes(clean[1].read_bytes())
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "hashbench",
            "run",
            "--reproduce",
            str(report),
            "--out",
            str(tmp_path / "b"),
            "--workers",
            "1",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    assert "every accuracy figure is identical" in again.stdout
    # A tampered record no longer reproduces: the check compares, it does not just run.
    data = json.loads(report.read_text())
    data["hashers"]["pdq"]["at_threshold"]["tpr"]["count"] += 1
    report.write_text(json.dumps(data))
    tampered = subprocess.run(
        [
            sys.executable,
            "-m",
            "hashbench",
            "run",
            "--reproduce",
            str(report),
            "--out",
            str(tmp_path / "c"),
            "--workers",
            "1",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tampered.returncode == 1 and "hashers.pdq.at_threshold.tpr.count" in tampered.stdout
