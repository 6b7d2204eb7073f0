"""A folder of the user's own videos as a study's references: ids, extensions, hostile files."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

pytest.importorskip("av")

from _helpers import write_audio_only  # noqa: E402
from hashbench.errors import UsageError  # noqa: E402
from hashbench.video.config import VideoStudyConfig, parse_video_config  # noqa: E402
from hashbench.video.edits import EditSpec, apply_edit, read_clip  # noqa: E402
from hashbench.video.folder import FolderVideos, list_videos  # noqa: E402
from hashbench.video.report import markdown  # noqa: E402
from hashbench.video.study import run_study  # noqa: E402
from hashbench.video.synthetic import VIDEO_DATASETS, VideoRecipe, encode, make_video  # noqa: E402


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("my videos")
    small = dict(width=64, height=48, fps=5, seconds=1.2)
    make_video(VideoRecipe(kind="pan", index=0, **small), root / "b.mp4")
    (root / "sub").mkdir()
    make_video(VideoRecipe(kind="cuts", index=1, **small), root / "sub" / "a clip.mp4")
    make_video(VideoRecipe(kind="fade", index=2, **small), root / "c.tmp.mp4")
    shutil.move(root / "c.tmp.mp4", root / "c.MKV")  # mp4 bytes, wrong (but video) extension: content decides
    data = (root / "b.mp4").read_bytes()
    (root / "cut.mp4").write_bytes(data[: len(data) // 3])  # truncated
    (root / "empty.webm").write_bytes(b"")  # zero-length
    write_audio_only(root / "sound.mp4", "mp4")  # audio only
    (root / "notes.txt").write_bytes(data)  # a video under a non-video extension: passed over, said so
    return root


def test_files_are_listed_by_extension_with_sorted_relative_ids(folder):
    found, skipped = list_videos(folder)
    assert [i for i, _ in found] == ["b.mp4", "c.MKV", "cut.mp4", "empty.webm", "sound.mp4", "sub/a clip.mp4"]
    assert skipped == [("notes.txt", "not a video extension")]
    assert [i for i, _ in list_videos(folder, (".mkv",))[0]] == ["c.MKV"]
    assert VIDEO_DATASETS.entry("folder").factory is FolderVideos and "synthetic" in VIDEO_DATASETS
    with pytest.raises(UsageError, match="does not exist"):
        FolderVideos(folder / "nope")
    with pytest.raises(UsageError, match="at least 2"):
        FolderVideos(folder, (".mkv",))


def test_a_folder_study_reports_hostile_files_by_id_and_reason_and_goes_on(folder, tmp_path):
    config = VideoStudyConfig(
        name="mine",
        folder=str(folder),
        suite="none",
        hashers=("vpdq", "video-md5"),
        params={"vpdq": {"seconds_per_hash": 0}},
    )
    report = run_study(config, tmp_path / "media", workers=1)
    reasons = {f["id"]: (f["stage"], f["reason"]) for f in report["failures"]}
    assert set(reasons) == {"cut.mp4", "empty.webm", "sound.mp4"}
    assert reasons["empty.webm"] == ("read", "empty file (0 bytes)")
    assert "no video stream" in reasons["sound.mp4"][1]
    assert any(w in reasons["cut.mp4"][1] for w in ("not a readable", "corrupt", "no decodable"))
    assert report["skipped"] == [{"id": "notes.txt", "reason": "not a video extension"}]
    assert [v["id"] for v in report["videos"]] == [
        "b.mp4",
        "c.MKV",
        "cut.mp4",
        "empty.webm",
        "sound.mp4",
        "sub/a clip.mp4",
    ]
    rec = report["videos"][1]["recipe"]
    assert rec["dataset"] == "folder" and rec["bytes"] == (folder / "c.MKV").stat().st_size and len(rec["sha256"]) == 64
    imp = report["hashers"]["video-md5"]["rules"]["exact"]["impostor"]
    assert imp["videos"] == 3 and imp["pairs"] == 3 and imp["false_matches"] == 0  # the three readable videos
    assert report["config"]["videos"]["dataset"] == "folder" and "videos of the folder" in markdown(report)


def test_folder_config_and_odd_sized_edits(folder, tmp_path):
    cfg = parse_video_config(
        {"run": {"kind": "video"}, "videos": {"dataset": "folder", "path": str(folder), "count": 2}}
    )
    assert cfg.dataset == "folder" and len(cfg.source()) == 2 and cfg.to_dict()["videos"]["path"] == str(folder)
    synthetic = parse_video_config({"run": {"kind": "video"}})
    assert "folder" not in synthetic.to_dict() and "extensions" not in synthetic.to_dict()  # digests unchanged
    for bad, msg in (
        ({"dataset": "folder"}, "needs path"),
        ({"dataset": "fodler", "path": "x"}, "did you mean 'folder'"),
        ({"dataset": "folder", "path": "x", "width": 64}, "describe synthetic videos"),
        ({"path": "x"}, "are for dataset"),
    ):
        with pytest.raises(UsageError, match=msg):
            parse_video_config({"run": {"kind": "video"}, "videos": bad})
    odd = [np.full((31, 41, 3), 40 * i, np.uint8) for i in range(4)]
    src = encode([np.pad(f, ((0, 1), (0, 1), (0, 0))) for f in odd], tmp_path / "even.mp4", fps=5)
    clip = read_clip(src)
    clip.frames = [f[:31, :41] for f in clip.frames]  # a user's odd-sized video, as decoded
    rec = apply_edit(src, tmp_path / "o.mp4", EditSpec("f", "flip"), seed=0, video_id="o", clip=clip)
    assert rec["applied"] == {"padded_to_even": True} and read_clip(tmp_path / "o.mp4").frames[0].shape == (32, 42, 3)
