"""Video edits: each one does what it says to the frames, is seeded, and is recorded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av")

from hashbench.errors import UsageError  # noqa: E402
from hashbench.video import get  # noqa: E402
from hashbench.video.decode import probe  # noqa: E402
from hashbench.video.edits import VIDEO_EDITS, Clip, EditSpec, apply_edit, edit_rng, read_clip, suite  # noqa: E402
from hashbench.video.match import compare, rule  # noqa: E402

GOLDEN = Path(__file__).parent / "golden" / "video"


def _clip(n=12, w=40, h=30, fps=10.0):
    rng = np.random.default_rng(0)
    return Clip([rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)], fps)


def _run(name, clip, seed=0, **params):
    return VIDEO_EDITS.entry(name).factory(Clip(list(clip.frames), clip.fps, {}), edit_rng(seed, "v", name), **params)


def test_geometric_edits_change_the_frames_as_declared():
    c = _clip()
    assert _run("resize", c, scale=0.5).size == (20, 16)  # even sizes, at least 16
    out = _run("crop", c, keep=0.5)
    x, y, w, h = (out.record[k] for k in ("x", "y", "width", "height"))
    assert np.array_equal(out.frames[3], c.frames[3][y : y + h, x : x + w])
    padded = _run("pad", c, aspect=16 / 9)
    assert padded.size == (54, 30) and padded.frames[0][:, :7].max() == 0
    assert np.array_equal(padded.frames[0][:, 7:47], c.frames[0])
    assert np.array_equal(_run("flip", c).frames[2], c.frames[2][:, ::-1])
    assert np.array_equal(_run("rotate90", c).frames[2], np.rot90(c.frames[2]))


def test_photometric_and_overlay_edits():
    c = _clip()
    g = _run("grayscale", c).frames[0]
    assert np.array_equal(g[..., 0], g[..., 1]) and np.array_equal(g[..., 1], g[..., 2])
    flat = Clip([np.full((30, 40, 3), 100, np.uint8)], 10.0)
    assert (
        int(_run("brightness-contrast", flat, brightness=20, contrast=1.2).frames[0][0, 0, 0]) == 114
    )  # round(-28 * 1.2 + 148)
    t = _run("text", c)
    assert t.record["caption"].endswith("caption") and not np.array_equal(t.frames[0], c.frames[0])


def test_temporal_edits():
    c = _clip(n=12)
    tr = _run("trim", c, keep=0.5)
    assert len(tr.frames) == 6 and tr.frames[0] is c.frames[tr.record["start"]]
    assert len(_run("speed", c, factor=1.5).frames) == 8  # frames 0, 1, 3, 4, 6, 7, 9, 10
    fr = _run("framerate", c, fps=15.0)
    assert fr.fps == 15.0 and len(fr.frames) == 18  # same duration (1.2 s)
    ins = _run("insert", c, host_seconds=1.0)
    at = ins.record["at"]
    assert len(ins.frames) == 12 + ins.record["host_frames"] == 22
    assert all(ins.frames[at + i] is c.frames[i] for i in range(12))
    again = _run("insert", c, host_seconds=1.0)  # seeded: the same host, at the same place
    assert again.record == ins.record and np.array_equal(again.frames[0], ins.frames[0])
    assert _run("insert", c, seed=1, host_seconds=1.0).record["host"] != ins.record["host"]


def test_apply_edit_encodes_and_records(tmp_path):
    src = GOLDEN / "pan-x264-160x120-30fps.mp4"
    clip = read_clip(src)
    rec = apply_edit(src, tmp_path / "a.mp4", EditSpec("r", "resize", {"scale": 0.5}), seed=3, video_id="p", clip=clip)
    assert rec == {"label": "r", "edit": "resize", "params": {"scale": 0.5}, "applied": {"width": 80, "height": 60}}
    info = probe(tmp_path / "a.mp4")
    assert (info.width, info.height, info.fps) == (80, 60, 30.0)
    crf = apply_edit(src, tmp_path / "b.mp4", suite("default")[0], seed=3, video_id="p", clip=clip)
    assert crf["applied"] == {"crf": 35} and (tmp_path / "b.mp4").stat().st_size < src.stat().st_size
    h = get("vpdq", seconds_per_hash=0.2)
    assert compare(h.hash_video(tmp_path / "b.mp4"), h.hash_video(src), rule("readme")).match
    labels = [s.label for s in suite("default")]
    assert len(labels) == len(set(labels)) == 13 and {s.edit for s in suite("default")} <= set(VIDEO_EDITS.names())
    with pytest.raises(UsageError, match="suites: default"):
        suite("nope")


def _box(rec):
    return rec["x"], rec["y"], rec["width"], rec["height"]


@pytest.mark.parametrize("opacity", [1.0, 0.5])
def test_logo_blends_a_seeded_mark_into_a_corner_and_nothing_else(opacity):
    c = _clip(n=4, w=64, h=48)
    out = _run("logo", c, share=0.25, opacity=opacity)
    x, y, w, h = _box(out.record)
    assert (w, h) == (16, 8) and out.record["corner"] in ("top-left", "top-right", "bottom-left", "bottom-right")
    assert x in (1, 64 - 16 - 1) and y in (1, 48 - 8 - 1)  # round(3% of the short side) in from the corner
    mark, _ = __import__("hashbench.video.edits", fromlist=["logo_mark"]).logo_mark(16, 8, _rng_after_corner(c))
    for f, g in zip(c.frames, out.frames):
        outside = np.ones(f.shape[:2], bool)
        outside[y : y + h, x : x + w] = False
        assert np.array_equal(g[outside], f[outside])  # only the logo's box changes
        want = np.floor(opacity * mark.astype(np.float32) + (1 - opacity) * f[y : y + h, x : x + w] + 0.5)
        assert np.array_equal(g[y : y + h, x : x + w], want.astype(np.uint8))
    again = _run("logo", c, share=0.25, opacity=opacity)
    assert again.record == out.record and all(np.array_equal(a, b) for a, b in zip(again.frames, out.frames))
    assert _run("logo", c, seed=5, share=0.25).record != out.record
    fixed = _run("logo", c, share=0.25, corner="bottom-right").record
    assert (fixed["x"], fixed["y"]) == (64 - 16 - 1, 48 - 8 - 1)
    with pytest.raises(UsageError, match="corner"):
        _run("logo", c, corner="middle")


def _rng_after_corner(c):
    """The edit's generator after its corner draw: the logo colours are drawn next."""
    rng = edit_rng(0, "v", "logo")
    rng.integers(0, 4)
    return rng


@pytest.mark.parametrize("mode", ["inset", "host"])
def test_picture_in_picture_puts_one_video_inside_the_other(mode):
    from PIL import Image

    c = _clip(n=5, w=64, h=48)
    out = _run("pip", c, mode=mode, scale=0.5)
    x, y, w, h = _box(out.record)
    assert (w, h) == (32, 24) and len(out.frames) == 5 and out.record["mode"] == mode
    small_of = lambda f: np.asarray(Image.fromarray(f).resize((32, 24), Image.Resampling.BILINEAR))  # noqa: E731
    from hashbench.video.synthetic import VideoRecipe, render

    rec = dict(out.record["other"])
    rec.pop("generator_version")
    other = list(render(VideoRecipe(**rec)))
    assert len(other) == 5 and other[0].shape == (48, 64, 3)
    for i, g in enumerate(out.frames):
        back, small = (other[i], c.frames[i]) if mode == "inset" else (c.frames[i], other[i])
        outside = np.ones((48, 64), bool)
        outside[y : y + h, x : x + w] = False
        assert np.array_equal(g[outside], back[outside])
        assert np.array_equal(g[y : y + h, x : x + w], small_of(small))
    again = _run("pip", c, mode=mode, scale=0.5)
    assert again.record == out.record and np.array_equal(again.frames[2], out.frames[2])
    with pytest.raises(UsageError, match="mode"):
        _run("pip", c, mode="side")


def test_pip_host_fits_odd_sizes_and_the_new_suites_keep_default_unchanged():
    c = _clip(n=3, w=41, h=31)
    assert _run("pip", c, mode="inset", scale=0.4).size == (41, 31)
    default = [s.label for s in suite("default")]
    assert default[-1] == "text-overlay" and len(default) == 13  # committed results/video-default used these
    full = [s.label for s in suite("full")]
    assert full[:13] == default and {s.edit for s in suite("full")} == set(VIDEO_EDITS.names())
    assert [s.edit for s in suite("overlays")] == ["text", "logo", "logo", "pip", "pip"]
