"""vPDQ parity with the vpdq C++ reference, sampling rule, video hashers and video match rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av")

from hashbench.errors import UsageError  # noqa: E402
from hashbench.video import VIDEO_HASHERS, VideoHash, get  # noqa: E402
from hashbench.video.match import RULES, compare, decide, matched_counts, prepare, rule  # noqa: E402

GOLDEN = Path(__file__).parent / "golden" / "video"
VIDEOS = sorted(GOLDEN.glob("*.mp4"))


def _reference(video: Path, sph: float) -> list[list[str]]:
    return [line.split(",") for line in (GOLDEN / f"{video.stem}.sph-{sph:g}.txt").read_text().split()]


@pytest.mark.parametrize("sph", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("video", VIDEOS, ids=lambda p: p.stem)
def test_vpdq_equals_the_cpp_reference_frame_for_frame(video, sph):
    # Pinned output of vpdq 0.2.5 (C++, Debian FFmpeg 5.1, x86-64 SIMD colour conversion): frame
    # numbers, qualities and all 256 bits identical; timestamps to the reference's float32.
    ref = _reference(video, sph)
    ours = get("vpdq", seconds_per_hash=sph).hash_video(video)
    assert len(ours) == len(ref) > 0
    assert [int(r[0]) for r in ref] == ours.frame.tolist()
    assert [int(r[1]) for r in ref] == ours.quality.tolist()
    assert [r[2] for r in ref] == [c.tobytes().hex() for c in ours.codes]
    assert np.allclose([float(r[3]) for r in ref], ours.timestamp, atol=1e-6)


def test_vpdq_sampling_is_frame_index_mod_int_seconds_times_fps():
    video = GOLDEN / "cuts-x264-128x96-29.97fps.mp4"  # fps 30000/1001: int(0.5 * 29.97) = 14
    h = get("vpdq", seconds_per_hash=0.5)
    assert h.keep_every(30000 / 1001) == 14 and h.keep_every(0.5) == 1  # at least 1
    assert get("vpdq", seconds_per_hash=0).hash_video(video).frame.tolist() == list(range(90))
    assert h.hash_video(video).frame.tolist() == list(range(0, 90, 14))


def test_plain_c_conversion_is_a_setting_and_differs_by_a_few_bits_only():
    video = GOLDEN / "pan-x264-160x120-30fps.mp4"
    simd = get("vpdq", seconds_per_hash=0).hash_video(video)
    plain = get("vpdq", seconds_per_hash=0, conversion="c").hash_video(video)
    d = np.bitwise_count(simd.codes ^ plain.codes).sum(axis=1)
    assert d.max() <= 8 and simd.frame.tolist() == plain.frame.tolist()
    again = get("vpdq", seconds_per_hash=0).hash_video(video)  # detection restored afterwards
    assert np.array_equal(again.codes, simd.codes)
    assert get("vpdq", conversion="c").describe()["params"] == {"seconds_per_hash": 1.0, "conversion": "c"}


def test_video_hashers_are_a_registry_with_did_you_mean():
    assert {"vpdq", "pdq-keyframe", "video-md5"} <= set(VIDEO_HASHERS.names())
    with pytest.raises(UsageError, match="did you mean 'vpdq'"):
        get("vpdqq")
    d = get("vpdq").describe()
    assert d["rule"] == "readme" and "pyav" in d["decoder"] and d["decoder"]["ffmpeg"]["libswscale"]


def test_video_md5_and_pdq_keyframe(tmp_path):
    video = GOLDEN / "shapes-mpeg4-176x144-25fps.mp4"
    import hashlib

    md5 = get("video-md5").hash_video(video)
    assert md5.codes[0].tobytes() == hashlib.md5(video.read_bytes()).digest()
    key = get("pdq-keyframe", rate=5.0).hash_video(video)  # 25 fps / 5 per second: every 5th frame
    assert key.frame.tolist() == list(range(0, 50, 5))
    ref = {int(r[0]): r[2] for r in _reference(video, 0.0)}
    assert [ref[f] for f in key.frame.tolist()] == [c.tobytes().hex() for c in key.codes]


def _vh(codes, quality=None):
    codes = np.asarray(codes, dtype=np.uint8)
    n = len(codes)
    q = np.full(n, 100, dtype=np.int16) if quality is None else np.asarray(quality, dtype=np.int16)
    return VideoHash(codes, q, np.arange(n, dtype=np.int64), np.arange(n, dtype=np.float64))


def _brute(q, t, r):
    """The rules written out as the references write them (loops over frames)."""

    def filt(h):
        out, seen = [], set()
        for c, qu in zip(h.codes, h.quality):
            if qu >= r.quality_min and (not r.unique or c.tobytes() not in seen):
                out.append(c)
                seen.add(c.tobytes())
        return out

    def dist(a, b):
        return int(np.unpackbits(a ^ b).sum())

    fq, ft = filt(q), filt(t)
    ok = (lambda d: d <= r.distance) if r.inclusive else (lambda d: d < r.distance)
    qm = sum(any(ok(dist(a, b)) for b in ft) for a in fq)
    tm = sum(any(ok(dist(b, a)) for a in fq) for b in ft)
    return len(fq), len(ft), qm, tm


def test_match_rules_equal_a_brute_force_of_the_reference_loops():
    rng = np.random.default_rng(5)
    base = rng.integers(0, 256, (6, 32), dtype=np.uint8)
    for _trial in range(40):

        def noisy(rows, bits):
            out = rows.copy()
            for row in out:
                for b in rng.choice(256, bits, replace=False):
                    row[b // 8] ^= 1 << (b % 8)
            return out

        q = np.concatenate([noisy(base[: rng.integers(1, 6)], int(rng.integers(25, 36))), base[:1]])
        t = np.concatenate([base, rng.integers(0, 256, (int(rng.integers(0, 4)), 32), dtype=np.uint8)])
        qv = _vh(q, rng.integers(30, 101, len(q)))
        tv = _vh(t, rng.integers(30, 101, len(t)))
        for r in RULES.values():
            if r.exact:
                continue
            got = compare(qv, tv, r)
            nq, nt, qm, tm = _brute(qv, tv, r)
            assert (got.query_frames, got.target_frames, got.query_matched, got.target_matched) == (nq, nt, qm, tm)
            assert got.match == decide(r, nq, nt, qm, tm)


def test_match_rules_differ_where_the_implementations_differ():
    a = np.zeros((1, 32), dtype=np.uint8)
    b = a.copy()
    b[0, :3] = 0xFF
    b[0, 3] = 0b01111111  # distance exactly 31
    assert matched_counts(a, b, rule("readme").radius) == (1, 1)
    assert matched_counts(a, b, rule("cpp-brute").radius) == (0, 0)  # < 31 in the C++ matcher
    clip, longer = _vh(a), _vh(np.concatenate([a, np.full((4, 32), 0xF0, np.uint8)]))
    assert compare(longer, clip, rule("readme")).match  # the listed clip is all found in the upload
    assert not compare(longer, clip, rule("tx-index")).match  # but only 1/2 unique upload frames match
    dup = _vh(np.concatenate([a, a, a, np.full((1, 32), 0xF0, np.uint8)]))
    assert compare(dup, clip, rule("tx-index")).query_share == 0.5  # unique hashes: 1 of 2
    assert compare(dup, clip, rule("cpp-brute")).query_share == 0.75  # no dedupe: 3 of 4
    low = _vh(a, [10])
    assert compare(low, clip, rule("readme")).gated and not compare(low, clip, rule("readme")).match
    assert len(prepare(low, rule("exact"))) == 1
    with pytest.raises(UsageError, match="rules:"):
        rule("nope")


def test_hash_file_decodes_once_for_all_frame_hashers_and_equals_each_alone(monkeypatch):
    from hashbench.video import decode, hashers

    video = GOLDEN / "cuts-x264-128x96-29.97fps.mp4"
    hs = [get("vpdq", seconds_per_hash=0.5), get("pdq-keyframe"), get("video-md5"), get("vpdq", conversion="c")]
    alone = [h.hash_video(video) for h in hs]
    passes = []
    real = decode.frames
    monkeypatch.setattr(hashers, "frames", lambda *a, **k: passes.append(k["conversion"]) or real(*a, **k))
    got, seconds = hashers.hash_file(hs, video)
    assert sorted(passes) == ["auto", "c"]  # one pass per colour conversion, not one per hasher
    for a, b in zip(alone, got):
        assert isinstance(b, VideoHash) and np.array_equal(a.codes, b.codes) and a.lines() == b.lines()
    assert all(s > 0 for s in seconds)
    missing, _ = hashers.hash_file(hs, GOLDEN / "missing.mp4")
    assert all(isinstance(r, decode.VideoError) and "no such file" in str(r) for r in missing)
