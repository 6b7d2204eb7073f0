"""Decoding untrusted video files (bounded, reasons by file) and the seeded synthetic videos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av")

from _helpers import write_audio_only  # noqa: E402
from hashbench.errors import UsageError  # noqa: E402
from hashbench.video import get  # noqa: E402
from hashbench.video.decode import DecodeLimits, VideoError, frames, probe  # noqa: E402
from hashbench.video.synthetic import KINDS, VideoRecipe, encode, make_video, render, still_family  # noqa: E402

GOLDEN = Path(__file__).parent / "golden" / "video"
PAN = GOLDEN / "pan-x264-160x120-30fps.mp4"


def _reason(path, **limits):
    with pytest.raises(VideoError) as exc:
        get("vpdq", limits=DecodeLimits(**limits) if limits else None).hash_video(path)
    msg = str(exc.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


def test_hostile_files_are_reported_with_a_reason(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert "empty file" in _reason(tmp_path / "empty.mp4")
    assert "no such file" in _reason(tmp_path / "missing.mp4")
    (tmp_path / "text.mp4").write_text("this is not a video\n" * 50)
    assert "not a readable video" in _reason(tmp_path / "text.mp4")
    data = PAN.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 3])  # moov atom at the end: cut off
    msg = _reason(tmp_path / "cut.mp4")
    assert "not a readable" in msg or "corrupt" in msg or "no decodable" in msg
    (tmp_path / "wrong.png").write_bytes(data)  # wrong extension: content decides, it still decodes
    assert len(get("vpdq").hash_video(tmp_path / "wrong.png")) == 2


def test_audio_only_files_are_reported(tmp_path):
    path = write_audio_only(tmp_path / "audio.m4a")
    assert "no video stream" in _reason(path)


def test_limits_stop_large_or_long_videos():
    assert "exceed the limit" in _reason(PAN, max_pixels=100 * 100)
    assert "more than 10 frames" in _reason(PAN, max_frames=10)
    assert "duration" in _reason(PAN, max_seconds=1.0)
    with pytest.raises(ValueError):
        DecodeLimits(timeout=0)


def test_many_tiny_frames_are_bounded(tmp_path):
    tiny = [np.full((16, 16, 3), i % 256, np.uint8) for i in range(300)]
    path = encode(tiny, tmp_path / "tiny.mp4", fps=100, codec="mpeg4", quality=5)
    assert len(list(frames(path))) == 300
    assert "more than 100 frames" in _reason(path, max_frames=100)
    v = get("vpdq", seconds_per_hash=0).hash_video(path)
    assert len(v) == 300


def test_frames_index_time_and_probe():
    info = probe(PAN)
    assert (info.width, info.height, info.fps, info.codec) == (160, 120, 30.0, "h264")
    got = list(frames(PAN, keep_every=7))
    assert [f.index for f in got] == list(range(0, 60, 7))
    assert got[1].timestamp == pytest.approx(7 / 30) and got[0].rgb.shape == (120, 160, 3)


def test_synthetic_videos_are_seeded_and_distinct(tmp_path):
    r = VideoRecipe(kind="mixed", index=2, width=64, height=48, fps=5, seconds=1.0)
    a, b = list(render(r)), list(render(r))
    assert len(a) == 5 and all(np.array_equal(x, y) for x, y in zip(a, b))
    other = list(render(VideoRecipe(kind="mixed", index=7, width=64, height=48, fps=5, seconds=1.0)))
    assert not np.array_equal(a[0], other[0])
    p1 = make_video(r, tmp_path / "a.mp4")
    p2 = make_video(r, tmp_path / "b.mp4")
    assert p1.read_bytes() == p2.read_bytes()  # single-threaded encoder: the recipe fixes the bytes
    assert {VideoRecipe(kind="mixed", index=i).resolved_kind for i in range(5)} == set(KINDS)
    # every kind meets every image family (a family tied to a kind would confound the two)
    combos = {(VideoRecipe(index=i).resolved_kind, still_family(VideoRecipe(index=i), 0)) for i in range(25)}
    assert len(combos) == 25
    for bad in ({"kind": "nope"}, {"codec": "h265"}, {"width": 33}, {"fps": 0}):
        with pytest.raises(UsageError):
            VideoRecipe(**bad)


def test_a_missing_pyav_is_one_line(monkeypatch):
    import builtins

    from hashbench.video import decode

    real = builtins.__import__

    def no_av(name, *a, **k):
        if name == "av":
            raise ImportError("no av")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_av)
    with pytest.raises(UsageError, match="install extra video"):
        decode.require_av()
