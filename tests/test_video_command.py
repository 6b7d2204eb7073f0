"""The video command hasher: a named program prints '<timestamp> <hex> [<quality>]' per frame."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av")

from hashbench.cli import main  # noqa: E402
from hashbench.errors import UsageError  # noqa: E402
from hashbench.video import VIDEO_HASHERS  # noqa: E402
from hashbench.video.command import VideoCommandHasher, parse_output  # noqa: E402
from hashbench.video.config import parse_video_config  # noqa: E402
from hashbench.video.decode import VideoError  # noqa: E402

GOLDEN = Path(__file__).parent / "golden" / "video"
PAN = GOLDEN / "pan-x264-160x120-30fps.mp4"

# A stand-in for a licensed matcher: three "frames", each the MD5 of the file bytes and the frame
# number, at 0, 0.5 and 1 s; its first argument chooses a way to misbehave.
PROGRAM = r"""
import hashlib, sys, time
mode = sys.argv[1] if len(sys.argv) > 1 else "ok"
path = sys.stdin.readline().rstrip("\n")
data = open(path, "rb").read()
if mode == "sleep":
    time.sleep(30)
if mode == "crash":
    sys.exit("boom: the licence server is down")
if mode == "refuse":
    print("error unsupported codec\x1b[2J")
    sys.exit(0)
for k in range(3):
    digest = hashlib.md5(data + bytes([k])).hexdigest()
    t = {"back": [0, 1, 0.5]}.get(mode, [0, 0.5, 1])[k]
    if mode == "short":
        digest = digest[:-1]
    print(f"{t:.3f} {digest}" + (" 77" if mode == "quality" else ""))
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    path = tmp_path_factory.mktemp("prog") / "md5frames.py"
    path.write_text(PROGRAM)
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(path))}"


def _hasher(program, mode="ok", **kw):
    return VIDEO_HASHERS.get("command", f"{program} {mode}", nbits=128, name="md5frames", **kw)


def test_the_program_prints_one_hash_per_frame_with_its_timestamp(program):
    import hashlib

    h = _hasher(program).hash_video(PAN)
    data = PAN.read_bytes()
    assert [c.tobytes().hex() for c in h.codes] == [hashlib.md5(data + bytes([k])).hexdigest() for k in range(3)]
    assert h.timestamp.tolist() == [0.0, 0.5, 1.0] and h.frame.tolist() == [0, 1, 2]
    assert h.quality.tolist() == [-1, -1, -1]  # no quality printed: never filtered by a rule's floor
    assert _hasher(program, "quality").hash_video(PAN).quality.tolist() == [77] * 3
    d = _hasher(program).describe()
    assert d["name"] == "md5frames" and d["nbits"] == 128 and d["command"].endswith("ok")
    assert isinstance(_hasher(program), VideoCommandHasher)


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("short", "is not 32 hex digits (128 bits)"),
        ("back", "goes back in time"),
        ("crash", "exited with 1: boom: the licence server is down"),
        ("refuse", "unsupported codec\\x1b[2J"),
    ],
)
def test_bad_output_fails_that_video_with_a_one_line_reason(program, mode, reason):
    with pytest.raises(VideoError) as exc:
        _hasher(program, mode).hash_video(PAN)
    assert reason in str(exc.value) and "\n" not in str(exc.value)


def test_timeouts_and_parsing_rules(program, tmp_path):
    with pytest.raises(VideoError, match="timed out after 0.5 s"):
        _hasher(program, "sleep", timeout=0.5).hash_video(PAN)
    with pytest.raises(VideoError, match="no such file"):
        _hasher(program).hash_video(tmp_path / "missing.mp4")
    ok = parse_output("\n0 0xff 5\n\n1.5 0f\n", 8)
    assert ok.codes.tolist() == [[255], [15]] and ok.quality.tolist() == [5, -1]
    for bad, why in (
        ("", "no frame hash"),
        ("nan ff", "finite"),
        ("-1 ff", "finite"),
        ("x ff", "not a number"),
        ("0 zz", "zz"),
        ("0 ff 101", "0-100"),
        ("0 ff 1 2", "is not '<timestamp>"),
    ):
        with pytest.raises(VideoError, match=why):
            parse_output(bad, 8)
    with pytest.raises(UsageError, match="program not found"):
        VIDEO_HASHERS.get("command", "/no/such/matcher", nbits=8).hash_video(PAN)
    with pytest.raises(UsageError, match="nbits"):
        VIDEO_HASHERS.get("command", "/bin/true")


def _config(tmp_path, program, extra=""):
    cfg = tmp_path / "v.toml"
    cfg.write_text(
        '[run]\nkind = "video"\nname = "cmd"\nworkers = 1\n'
        "[videos]\ncount = 3\nwidth = 64\nheight = 48\nfps = 5\nseconds = 1.2\n"
        '[transforms]\nsuite = "none"\n'
        '[hashers]\nnames = ["md5frames", "video-md5"]\n'
        f'[hashers.commands.md5frames]\nprogram = {json.dumps(program)}\nnbits = 128\nrule = "exact"\n{extra}'
    )
    return cfg


def test_a_config_runs_the_program_only_when_the_command_line_names_it(program, tmp_path, capsys):
    marker = tmp_path / "ran"
    spy = f"{shlex.quote(sys.executable)} -c " + shlex.quote(f"open({str(marker)!r}, 'w'); print('0 00')")
    cfg = _config(tmp_path, spy)
    assert main(["run", "--config", str(cfg), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "--allow-command" in err and len(err.strip().splitlines()) == 1 and not marker.exists()
    assert not (tmp_path / "out").exists()
    cfg = _config(tmp_path, f"{program} ok")
    assert main(["run", "--config", str(cfg), "--out", str(tmp_path / "out"), "--allow-command", f"{program} ok"]) == 0
    (run_dir,) = (tmp_path / "out").iterdir()
    report = json.loads((run_dir / "video_report.json").read_text())
    imp = report["hashers"]["md5frames"]["rules"]["exact"]["impostor"]
    assert report["failures"] == [] and imp["pairs"] == 3 and imp["false_matches"] == 0
    assert report["hashers"]["md5frames"]["timing"]["frames"] == 9  # three lines per video
    assert report["config"]["commands"]["md5frames"]["nbits"] == 128


def test_command_config_validation(program):
    base = {"run": {"kind": "video"}, "hashers": {"names": ["m"], "commands": {"m": {"program": "p", "nbits": 8}}}}
    allowed = frozenset({"p"})
    cfg = parse_video_config(base, allowed_commands=allowed)
    assert cfg.rules_of("m") == ("any-frame",) and cfg.hasher("m").nbits == 8
    assert "commands" not in parse_video_config({"run": {"kind": "video"}}).to_dict()  # digests unchanged
    with pytest.raises(UsageError, match="--allow-command p"):
        parse_video_config(base)
    for commands, names, msg in (
        ({"m": {"program": "p"}}, ["m"], "needs program and nbits"),
        ({"m": {"program": "p", "nbits": 8, "rul": "x"}}, ["m"], "did you mean 'rule'"),
        ({"m": {"program": "p", "nbits": 8, "rule": "nope"}}, ["m"], "unknown rule"),
        ({"m": {"program": "p", "nbits": 0}}, ["m"], "nbits"),
        ({"vpdq": {"program": "p", "nbits": 8}}, ["vpdq"], "not a built-in"),
        ({"m": {"program": "p", "nbits": 8}}, ["vpdq"], "not in \\[hashers\\] names"),
    ):
        data = {"run": {"kind": "video"}, "hashers": {"names": names, "commands": commands}}
        with pytest.raises(UsageError, match=msg):
            parse_video_config(data, allowed_commands=allowed)
    assert np.array_equal(parse_output("0 ab", 8).codes, [[0xAB]])
