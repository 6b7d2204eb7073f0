"""`hashbench run` exit codes and the stderr failure summary (issue 16, item 15)."""

from pathlib import Path

import numpy as np
from PIL import Image

from hashbench.cli import main
from hashbench.cli.run import EXIT_NOTHING_MEASURED, failure_summary


def _config(tmp_path: Path, refs: Path, dis: Path) -> Path:
    toml = tmp_path / "c.toml"
    toml.write_text(
        f"""
[run]
name = "t"
seed = 1
[[references]]
dataset = "folder"
root = "{refs}"
[[distractors]]
dataset = "folder"
root = "{dis}"
[transforms]
custom = [{{kind = "hflip", name = "hflip"}}]
[hashers]
names = ["pdq"]
[thresholds]
pdq = 31
"""
    )
    return toml


def _run(tmp_path: Path, refs: Path, dis: Path) -> int:
    out = tmp_path / "out"
    return main(
        ["run", "--config", str(_config(tmp_path, refs, dis)), "--out", str(out), "--no-progress", "--workers", "1"]
    )


def _folders(tmp_path: Path) -> tuple[Path, Path]:
    refs, dis = tmp_path / "refs", tmp_path / "dis"
    refs.mkdir()
    dis.mkdir()
    return refs, dis


def test_empty_folders_exit_nothing_measured_with_a_report(tmp_path, capsys):
    refs, dis = _folders(tmp_path)
    assert _run(tmp_path, refs, dis) == EXIT_NOTHING_MEASURED
    err = capsys.readouterr().err
    assert "nothing was measured" in err
    (report,) = (tmp_path / "out").glob("t-*/report.json")  # the report is still written
    # reproducing it measures nothing either, and says so the same way
    again = ["run", "--reproduce", str(report), "--out", str(tmp_path / "again"), "--no-progress"]
    assert main(again) == EXIT_NOTHING_MEASURED
    assert "nothing was measured" in capsys.readouterr().err


def test_every_image_failing_is_summarised_and_exits_nonzero(tmp_path, capsys):
    refs, dis = _folders(tmp_path)
    for i in range(3):
        (refs / f"r{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"broken" * 10)
    (dis / "d.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk")
    assert _run(tmp_path, refs, dis) == EXIT_NOTHING_MEASURED
    err = capsys.readouterr().err
    # Each reference's hflip query fails with it.
    assert "7 failures (references 3, queries 3, distractors 1)" in err
    assert "nothing was measured" in err


def test_some_failures_exit_zero_but_are_summarised(tmp_path, capsys):
    refs, dis = _folders(tmp_path)
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(refs / f"r{i}.png")
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(dis / f"d{i}.png")
    (refs / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk")
    assert _run(tmp_path, refs, dis) == 0
    err = capsys.readouterr().err
    assert "2 failures (references 1, queries 1)" in err
    assert "1 x not an image Pillow can identify" in err
    assert "nothing was measured" not in err


def test_failure_summary_counts_stages_and_caps_reasons():
    failures = [{"stage": "queries", "id": str(i), "hasher": None, "reason": f"reason {i % 7}"} for i in range(14)]
    lines = failure_summary(failures)
    assert lines[0].startswith("hashbench: warning: 14 failures (queries 14)")
    assert lines[1] == "  2 x reason 0"
    assert len(lines) == 1 + 5 + 1 and lines[-1] == "  ... and 2 other reasons"


def test_a_video_study_refuses_cluster_before_reaching_one(tmp_path, capsys):
    """The video dispatch comes before the --cluster session: no scheduler is contacted (this one
    does not exist) for a study that runs on this machine only."""
    cfg = tmp_path / "v.toml"
    cfg.write_text('[run]\nkind = "video"\n')
    gone = str(tmp_path / "no-scheduler.json")
    assert main(["run", "--config", str(cfg), "--cluster", gone, "--out", str(tmp_path)]) == 2
    assert "for image runs" in capsys.readouterr().err
