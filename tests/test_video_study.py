"""The video study: bulk frame matching equals the pairwise rule, video-level statistics, the CLI."""

from __future__ import annotations

import json
from itertools import combinations

import numpy as np
import pytest

pytest.importorskip("av")

from hashbench.cli import main  # noqa: E402
from hashbench.errors import UsageError  # noqa: E402
from hashbench.evaluate.image_level import image_level_interval  # noqa: E402
from hashbench.evaluate.rates import clopper_pearson  # noqa: E402
from hashbench.video import VideoHash  # noqa: E402
from hashbench.video.config import load_video_config, parse_video_config  # noqa: E402
from hashbench.video.listmatch import VideoList, pair_counts  # noqa: E402
from hashbench.video.match import RULES, compare  # noqa: E402
from hashbench.video.study import (  # noqa: E402
    decide_matrix,
    genuine_frame_histogram,
    genuine_rates,
    impostor_frame_histogram,
    impostor_rates,
)


def _random_videos(seed=1, n=9):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (5, 32), dtype=np.uint8)  # shared scenes, so some pairs match
    out = []
    for _ in range(n):
        k = int(rng.integers(0, 6))
        rows = base[rng.integers(0, 5, k)].copy() if k else np.zeros((0, 32), np.uint8)
        flips = rng.integers(0, 256, (k, 4))
        for r, fl in zip(rows, flips):
            for b in fl[: int(rng.integers(0, 4))]:
                r[b // 8] ^= 1 << (b % 8)
        extra = rng.integers(0, 256, (int(rng.integers(0, 3)), 32), dtype=np.uint8)
        codes = np.concatenate([rows, extra]) if len(extra) else rows
        q = rng.integers(20, 101, len(codes)).astype(np.int16)
        out.append(VideoHash(codes, q, np.arange(len(codes)), np.zeros(len(codes))))
    return out


def test_bulk_counts_and_decisions_equal_the_pairwise_rule():
    vids = _random_videos()
    for r in RULES.values():
        if r.exact:
            continue
        from hashbench.video.match import prepare

        codes = [prepare(v, r) for v in vids]
        sizes = np.array([len(c) for c in codes])
        c = pair_counts(codes, r.radius)
        assert np.array_equal(c, pair_counts(codes, r.radius, index="mih"))
        m = decide_matrix(r, sizes, c)
        for i, j in combinations(range(len(vids)), 2):
            for a, b in ((i, j), (j, i)):
                ref = compare(vids[a], vids[b], r)
                assert (c[a, b], c[b, a]) == (ref.query_matched, ref.target_matched)
                assert m[a, b] == ref.match


def test_a_video_list_in_the_index_finds_what_the_pairwise_rule_finds():
    vids = _random_videos(seed=7, n=30)
    ids = [f"v{i}" for i in range(30)]
    for name in ("readme", "tx-index", "cpp-brute", "any-frame"):
        r = RULES[name]
        listed = VideoList(r)
        listed.add(ids, vids)
        for q in vids[:10]:
            got = {vid: s for vid, s in listed.query(q)}
            want = {vid: compare(q, v, r) for vid, v in zip(ids, vids) if compare(q, v, r).match}
            assert got == want


def test_impostor_rate_counts_unordered_pairs_with_a_video_level_interval():
    vids = _random_videos(seed=3, n=10)
    r = RULES["readme"]
    got = impostor_rates(vids, r, 0.05)
    pairs = [(i, j) for i, j in combinations(range(10), 2)]
    false = [(i, j) for i, j in pairs if compare(vids[i], vids[j], r).match or compare(vids[j], vids[i], r).match]
    assert got["pairs"] == 45 and got["false_matches"] == len(false) > 0
    per_video = np.zeros(10, int)
    for i, j in false:
        per_video[i] += 1
        per_video[j] += 1
    ref = image_level_interval(per_video, 45, 0.05)
    assert got["ci_image_level"] == list(ref.ci_image_level) and got["upper_one_sided_95"] == ref.upper_one_sided
    usable = np.array([len(v.codes[v.quality >= 50]) > 0 for v in vids])
    au = got["among_usable"]
    ref_u = image_level_interval(per_video[usable], int(usable.sum() * (usable.sum() - 1) // 2), 0.05)
    assert (au["false_matches"], au["videos"]) == (len(false), usable.sum()) and au["pairs"] == ref_u.trials
    assert (
        au["upper_one_sided_95"] == ref_u.upper_one_sided and got["videos_without_usable_frames"] == 10 - usable.sum()
    )
    g = genuine_rates(vids[:5], vids[:5], r, 0.05)  # a video against itself matches unless it has no usable frame
    usable = int(sum(len(v.codes[v.quality >= 50]) > 0 for v in vids[:5]))
    assert (g["matched"], g["videos"], g["videos_without_usable_frames"]) == (usable, 5, 5 - usable)
    assert g["ci"] == list(clopper_pearson(usable, 5, 0.05))
    assert g["usable"]["videos"] == usable and g["usable"]["tpr"] == (1.0 if usable else None)


def test_video_run_refuses_image_only_options(tmp_path, capsys):
    cfg = tmp_path / "v.toml"
    cfg.write_text('[run]\nkind = "video"\n')
    assert main(["run", "--config", str(cfg), "--cluster", "local", "--out", str(tmp_path)]) == 2
    assert "for image runs" in capsys.readouterr().err


def test_video_config_validation():
    cfg = parse_video_config({"run": {"kind": "video"}, "videos": {"count": 3, "width": 64, "height": 48}})
    assert cfg.count == 3 and cfg.videos.width == 64 and cfg.rules_of("vpdq")[0] == "readme"
    preset = load_video_config(preset="video-default")
    assert preset.count == 200 and preset.suite == "default" and preset.params["vpdq"]["seconds_per_hash"] == 0.5
    for bad, msg in (
        ({"run": {"kind": "video"}, "vidoes": {}}, "did you mean 'videos'"),
        ({"run": {"kind": "video"}, "hashers": {"names": ["vpdqq"]}}, "did you mean 'vpdq'"),
        ({"run": {"kind": "video"}, "videos": {"codec": "h265"}}, "unknown codec"),
        ({"run": {"kind": "video"}, "hashers": {"rules": {"vpdq": ["nope"]}}}, "unknown rule"),
        ({"run": {"kind": "video", "name": "../up"}}, "plain name"),
        ({"run": {"kind": "video", "workers": -1}}, "workers must be 0"),
        ({"run": {"kind": "video"}, "statistics": {"alpha": "x"}}, "alpha must be a number"),
        ({"run": {"kind": "video"}, "hashers": {"names": "vpdq"}}, "must be a list"),
        ({"run": {"kind": "video"}, "hashers": {"params": {"vpdqq": {}}}}, "did you mean 'vpdq'"),
        ({"run": {"kind": "video"}, "hashers": {"params": {"vpdq": {"seconds_per_hsh": 1}}}}, "seconds_per_hsh"),
        ({"run": {"kind": "video"}, "hashers": {"params": {"vpdq": {"seconds_per_hash": -1}}}}, "must be >= 0"),
        ({"run": {"kind": "video"}, "hashers": {"rules": {"vpdqq": ["readme"]}}}, "not in \\[hashers\\] names"),
    ):
        with pytest.raises(UsageError, match=msg):
            parse_video_config(bad)


def test_hashbench_run_takes_a_video_config(tmp_path, capsys):
    cfg = tmp_path / "v.toml"
    cfg.write_text(
        '[run]\nkind = "video"\nname = "t"\nworkers = 1\n'
        "[videos]\ncount = 3\nwidth = 96\nheight = 72\nfps = 5\nseconds = 1.6\n"
        '[hashers]\nnames = ["vpdq", "video-md5"]\n[hashers.params.vpdq]\nseconds_per_hash = 0.4\n'
    )
    assert main(["run", "--config", str(cfg), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "vpdq" in out and "false matches" in out
    (run_dir,) = (tmp_path / "out").iterdir()
    report = json.loads((run_dir / "video_report.json").read_text())
    assert report["kind"] == "video" and report["failures"] == []
    assert len(report["videos"]) == 3 and len(report["videos"][0]["edits"]) == 13
    vp = report["hashers"]["vpdq"]["rules"]["readme"]
    assert vp["impostor"]["pairs"] == 3 and vp["genuine"]["reencode-crf35"]["videos"] == 3
    md5 = report["hashers"]["video-md5"]["rules"]["exact"]
    assert all(g["matched"] == 0 for g in md5["genuine"].values())  # every edit re-encodes: new bytes
    assert "# Video study `t`" in (run_dir / "report.md").read_text()
    fd = report["hashers"]["vpdq"]["frame_distances"]
    assert fd["frames_as"]["rule"] == "readme" and len(fd["impostor"]["counts"]) == 257
    assert fd["impostor"]["pairs"] <= 6 and sum(fd["impostor"]["counts"]) == fd["impostor"]["frames"]
    assert set(fd["genuine"]) == set(vp["genuine"]) and "frame_distances" not in report["hashers"]["video-md5"]
    assert (run_dir / "plots" / "frame_distances.png").stat().st_size > 1000
    assert "## Frame-level distances" in (run_dir / "report.md").read_text()
    # the same command again reuses the videos on disk and gives the same figures
    assert main(["run", "--config", str(cfg), "--out", str(tmp_path / "out")]) == 0
    again = json.loads((run_dir / "video_report.json").read_text())
    assert again["hashers"]["vpdq"]["rules"] == report["hashers"]["vpdq"]["rules"]


def test_a_video_run_points_its_failure_summary_at_video_report_json():
    from hashbench.cli.run import failure_summary

    lines = failure_summary([{"stage": "edit", "reason": "bad"}], "video_report.json")
    assert lines[0].endswith("every one is in video_report.json")  # a video run writes no failures.csv


def _nearest(q, t):
    """Brute force: the Hamming distance from frame q to the nearest frame of t, bit by bit."""
    return min(sum(bin(int(a) ^ int(b)).count("1") for a, b in zip(q, row)) for row in t)


@pytest.mark.parametrize(("rname", "block_bytes"), [("readme", 8_000_000), ("cpp-brute", 1), ("any-frame", 2000)])
def test_frame_distance_histograms_equal_a_brute_force(rname, block_bytes, monkeypatch):
    from hashbench.video import study
    from hashbench.video.match import prepare

    monkeypatch.setattr(study, "_BLOCK_BYTES", block_bytes)  # one block, one frame per block, a few

    r = RULES[rname]
    videos = _random_videos(seed=3, n=8)
    videos[2] = None  # a video that failed: no frames
    want_imp = [0] * 257
    usable = [prepare(v, r) for v in videos if v is not None]
    usable = [u for u in usable if len(u)]
    for i, a in enumerate(usable):
        for j, b in enumerate(usable):
            if i != j:
                for q in a:
                    want_imp[_nearest(q, b)] += 1
    got = impostor_frame_histogram(videos, r, 256)
    assert got["counts"] == want_imp and got["pairs"] == len(usable) * (len(usable) - 1)
    assert got["frames"] == sum(len(u) for u in usable) * (len(usable) - 1)
    copies = _random_videos(seed=4, n=8)
    want_gen = [0] * 257
    pairs = 0
    for ref, copy in zip(videos, copies):
        if ref is None:
            continue
        a, b = prepare(copy, r), prepare(ref, r)
        if len(a) and len(b):
            pairs += 1
            for q in a:
                want_gen[_nearest(q, b)] += 1
    g = genuine_frame_histogram(videos, copies, r, 256)
    assert g["counts"] == want_gen and g["pairs"] == pairs and g["frames"] == sum(want_gen)
