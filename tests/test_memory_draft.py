"""Issue 18 items 2-4: bounded memory per image, the pixel limit from memory, CPU beside wall, draft decoding."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import imagehash
import numpy as np
import pytest
from PIL import Image, ImageOps

from hashbench import imageio
from hashbench.checkpoint import chunk_keys
from hashbench.hashers import get
from hashbench.hashers import imagehash_family as ihf
from hashbench.hashing import DRAFT_FACTOR, DRAFT_MIN_SIDE, draft_side, hash_bytes_per_pixel, hash_files
from hashbench.imageio import (
    ARRAY_BYTES_PER_PIXEL,
    DECODE_SLACK,
    DEFAULT_MAX_PIXELS,
    decode_bytes,
    decode_memory,
    pixel_limit,
    worst_bytes_per_pixel,
)


def enc(im: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _photo_like(h: int, w: int, seed: int = 0) -> np.ndarray:
    small = np.random.default_rng(seed).normal(128, 50, (12, 16, 3)).clip(0, 255).astype(np.uint8)
    return np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width`` x ``height`` RGB pixels and holds none: refused from the header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


# --- the memory model and the pixel limit ---------------------------------------------------------


def test_pixel_limit_is_the_worker_memory_over_the_bytes_per_pixel():
    bpp = worst_bytes_per_pixel(2.0)
    assert bpp == 4 + ARRAY_BYTES_PER_PIXEL  # decoding (Pillow's 4-byte RGB and the array) dominates
    assert worst_bytes_per_pixel(40.0) == ARRAY_BYTES_PER_PIXEL + 40.0  # a hasher that needs more dominates
    small = pixel_limit(DECODE_SLACK + 700_000_000, 4, 2.0)
    assert (small.max_pixels, small.source) == (100_000_000, "memory")
    assert small.describe()["derivation"] == f"worker memory {DECODE_SLACK + 700_000_000} bytes / 7 bytes per pixel"
    big = pixel_limit(64 << 30, 1, 2.0)
    assert (big.max_pixels, big.source) == (DEFAULT_MAX_PIXELS, "cap")
    assert pixel_limit(None, 2, 2.0).source == "cap"
    given = pixel_limit(10, 2, 2.0, given=12345)
    assert (given.max_pixels, given.source) == (12345, "option")
    assert pixel_limit(1, 1, 2.0).max_pixels == 1  # never 0: a 1-pixel image is still allowed


def test_decode_memory_counts_the_file_the_mode_and_the_hungriest_hasher():
    p = 100 * 100
    assert decode_memory("L", 100, 100, hash_bytes_per_pixel=2) == p * max(1 + 3, 3 + 2) + DECODE_SLACK
    assert decode_memory("RGB", 100, 100, hash_bytes_per_pixel=2, file_bytes=999) == 999 + 7 * p + DECODE_SLACK
    assert decode_memory("RGBA", 100, 100, hash_bytes_per_pixel=40) == 43 * p + DECODE_SLACK
    prog = decode_memory("RGB", 50, 50, hash_bytes_per_pixel=2, progressive=True, stored_size=(100, 100))
    assert prog == 7 * 2500 + imageio.PROGRESSIVE_BYTES_PER_PIXEL * p + DECODE_SLACK
    # the issue-16 bomb (14000x14000 grey PNG, 5.3 GB before) with pdq, phash and md5: under 2 GB
    hs = [get("pdq"), get("phash"), get("md5")]
    assert hash_bytes_per_pixel(hs) == 2.0
    assert decode_memory("L", 14000, 14000, hash_bytes_per_pixel=hash_bytes_per_pixel(hs)) < 2 * 10**9


def test_an_image_over_the_limit_from_memory_is_refused_by_id_and_reason(tmp_path, monkeypatch, capsys):
    from hashbench.cli import main

    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.fromarray(_photo_like(60, 80)).save(folder / "ok.jpg")
    (folder / "huge.png").write_bytes(_png_header_only(4000, 3000))
    monkeypatch.setenv("HASHBENCH_WORKER_MEMORY", str(DECODE_SLACK + 7 * 1_000_000))  # 1 Mpx a worker
    out = tmp_path / "h.parquet"
    args = ["hash", str(folder), "--hasher", "pdq,phash,md5", "--workers", "1", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "hashbench: failed huge.png: 4000x3000 = 12000000 pixels is above the limit of 1000000" in captured.err
    assert "pixel limit 1,000,000: worker memory" in captured.out
    meta = json.loads(__import__("pyarrow.parquet").parquet.read_schema(out).metadata[b"hashbench"])
    limit = meta["decoding"]["pixel_limit"]
    assert (limit["max_pixels"], limit["source"], limit["workers"]) == (1_000_000, "memory", 1)
    assert meta["decoding"]["decode"] == "full" and "draft" not in meta["decoding"]


def test_the_memory_budget_refuses_from_the_header_what_the_pixel_limit_lets_through():
    imageio.set_memory_budget(DECODE_SLACK + 1000, hash_bytes_per_pixel=2.0)
    try:
        with pytest.raises(imageio.ImageDecodeError, match=r"20000x15000 RGB image needs about .* MiB"):
            decode_bytes(_png_header_only(20_000, 15_000), item_id="x", max_pixels=300_000_000)
    finally:
        imageio.set_memory_budget(None)


# --- decoding band by band gives the pixels of a whole-image conversion ----------------------------


def _reference_rgb(im: Image.Image) -> np.ndarray:
    """The pre-issue-18 conversion: whole image at once (Pillow's convert and alpha_composite)."""
    if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    return np.asarray(im.convert("RGB"))


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "LA", "L", "P", "CMYK", "1", "P-transparent"])
def test_band_by_band_conversion_equals_the_whole_image(mode, monkeypatch):
    monkeypatch.setattr(imageio, "_BAND_BYTES", 4 * 37 * 5)  # 5 rows a band: many bands, a short last one
    rng = np.random.default_rng(5)
    rgba = rng.integers(0, 256, (23, 37, 4), dtype=np.uint8)
    base = Image.fromarray(rgba, "RGBA")
    if mode == "P-transparent":
        im = base.convert("RGB").quantize(16)
        im.info["transparency"] = 3
    else:
        im = base.convert(mode)
    im = Image.open(io.BytesIO(enc(im, "TIFF" if mode == "CMYK" else "PNG", **_save_kw(im))))
    im.load()
    assert np.array_equal(imageio.to_rgb(im), _reference_rgb(im))


def _save_kw(im: Image.Image) -> dict:
    return {"transparency": im.info["transparency"]} if "transparency" in im.info else {}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_on_the_array_equals_exif_transpose(orientation):
    rgb = np.random.default_rng(orientation).integers(0, 256, (7, 11, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = enc(Image.fromarray(rgb), "PNG", exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    out = decode_bytes(data)
    assert out.flags.c_contiguous and out.flags.writeable
    assert np.array_equal(out, expected)


def test_grey_hashers_get_the_same_grey_image_band_by_band(monkeypatch, photo):
    monkeypatch.setattr(ihf, "_BAND_BYTES", 3 * photo.shape[1] * 7)
    assert np.array_equal(np.asarray(ihf.grey_image(photo)), np.asarray(Image.fromarray(photo).convert("L")))
    from hashbench.hashers import ImageItem

    item = ImageItem("p", photo)
    for name, fn, kw in [
        ("phash", imagehash.phash, {}),
        ("phash16", imagehash.phash, {"hash_size": 16}),
        ("dhash", imagehash.dhash, {}),
        ("ahash", imagehash.average_hash, {}),
        ("whash", imagehash.whash, {}),
    ]:
        expected = str(fn(Image.fromarray(photo), **kw))
        assert get(name).hash_one(item).code.tobytes().hex().endswith(expected[-8:]), name
        assert get(name).hash_one(item).code.tobytes().hex() == expected, name


# --- draft decoding ------------------------------------------------------------------------------


def test_draft_side_is_twice_the_largest_need_of_the_pixel_hashers():
    assert draft_side([get("pdq"), get("phash"), get("md5")])[0] == DRAFT_FACTOR * 512  # Meta's tools: 512
    assert draft_side([get("phash16"), get("dhash")])[0] == max(DRAFT_MIN_SIDE, DRAFT_FACTOR * 64)
    assert draft_side([get("ahash")])[0] == DRAFT_MIN_SIDE  # 2 x 8 would be far too small (docs/decode.md)
    side, note = draft_side([get("pdq"), get("whash")])
    assert side is None and "whash read every pixel" in note
    assert draft_side([get("md5")])[0] is None


def test_draft_reduces_jpegs_only_and_never_below_the_side():
    px = _photo_like(768, 1024)
    jpeg, png = enc(Image.fromarray(px), "JPEG", quality=90), enc(Image.fromarray(px))
    assert decode_bytes(jpeg, draft=128).shape == (192, 256, 3)  # 1/4: the last scale keeping >= 128
    assert decode_bytes(jpeg, draft=200).shape == (384, 512, 3)  # 1/2
    assert decode_bytes(jpeg, draft=None).shape == (768, 1024, 3)
    assert decode_bytes(png, draft=128).shape == (768, 1024, 3)


def test_a_draft_hash_run_records_draft_and_its_own_distances(tmp_path):
    paths = []
    for i in range(3):
        p = tmp_path / f"{i}.jpg"
        Image.fromarray(_photo_like(600, 800, seed=i)).save(p, quality=90)
        paths.append(p)
    small = tmp_path / "small.jpg"
    Image.fromarray(_photo_like(100, 120)).save(small)
    paths.append(small)
    hashers = ["phash", "dhash", "md5"]  # draft side 256: the 800x600 JPEGs decode at 400x300
    full = hash_files(paths, hashers=hashers, workers=1, progress=False)
    draft = hash_files(paths, hashers=hashers, workers=1, progress=False, decode="draft")
    assert full.settings["decode"] == "full" and "draft" not in full.settings
    assert draft.settings["decode"] == "draft"
    rec = draft.settings["draft"]
    assert isinstance(rec, dict) and rec["min_side"] == 256
    dist = rec["distances"]
    assert dist["images"] == 4 and dist["reduced"] == 3  # the 100x120 JPEG is not reduced
    for name in hashers:
        d = dist["hashers"][name]
        assert sum(d["histogram"].values()) == 4
        # cross-check against the codes of the two runs (the sample is all four images here)
        expected = sorted(
            int(np.unpackbits(a ^ b).sum()) for a, b in zip(full.codes[name], draft.codes[name], strict=True)
        )
        got = sorted(int(k) for k, c in d["histogram"].items() for _ in range(c))
        assert got == expected, name
    assert dist["hashers"]["md5"]["identical"] == 4  # the file's bytes do not change
    assert np.array_equal(full.codes["md5"], draft.codes["md5"])


def test_an_in_process_run_leaves_this_process_decoding_as_it_was(tmp_path):
    from hashbench.hashing import hash_stream

    path = tmp_path / "a.jpg"
    Image.fromarray(_photo_like(600, 800)).save(path, quality=90)
    before = imageio.decode_state()
    chunks = list(hash_stream([("a", path)], ["phash"], workers=1, decode="draft", max_pixels=10**7))
    assert chunks[0].decode_errors == [None]
    assert imageio.decode_state() == before  # no draft side, memory budget or profile left behind
    assert imageio.read_image(path).pixels.shape == (600, 800, 3)


def test_the_checkpoint_key_includes_the_decode_setting(tmp_path):
    p = tmp_path / "a.jpg"
    Image.fromarray(_photo_like(60, 80)).save(p)
    items = [("a", Path(p))]
    hs = [get("pdq")]
    full = chunk_keys(items, hs, 1, max_pixels=None)
    assert full == chunk_keys(items, hs, 1, max_pixels=None, decode="full")
    assert full != chunk_keys(items, hs, 1, max_pixels=None, decode="draft")
    assert full != chunk_keys(items, hs, 1, max_pixels=1000)


# --- CPU time beside wall time ---------------------------------------------------------------------


def test_hash_reports_cpu_beside_wall_for_decode_each_hasher_and_each_worker(tmp_path):
    paths = []
    for i in range(8):
        p = tmp_path / f"{i}.jpg"
        Image.fromarray(_photo_like(240, 320, seed=i)).save(p)
        paths.append(p)
    result = hash_files(paths, hashers=["pdq", "phash", "md5"], workers=2, chunk_size=2, progress=False)
    timing = result.timing()
    assert set(timing) >= {"clock", "wall_seconds", "decode", "hashers", "workers"}
    assert timing["decode"]["images"] == 8 and timing["decode"]["cpu_seconds"] > 0
    assert set(timing["hashers"]) == {"pdq", "phash", "md5"}
    workers = timing["workers"]
    assert 1 <= len(workers) <= 2 and sum(w["chunks"] for w in workers) == 4
    threads = 1  # hashing workers run one thread of work each
    for w in workers:
        assert 0 < w["cpu_seconds"] <= w["wall_seconds"] * threads + 0.05
    parts = result.decode_seconds + sum(result.hash_seconds.values())
    total_cpu = sum(w["cpu_seconds"] for w in workers)
    assert parts <= total_cpu + 0.05  # decode and hashers are parts of the workers' CPU time
    assert total_cpu <= result.wall_seconds * 2 + 0.05  # 2 workers cannot use more than 2 x wall


# --- the run: decode and max_pixels settings, recorded per stage ---------------------------------

DRAFT_RUN = """
[run]
name = "draft"
seed = 1
chunk_size = 4
decode = "draft"
[[references]]
dataset = "folder"
root = "{refs}"
[[distractors]]
dataset = "folder"
root = "{dis}"
[transforms]
custom = [{{kind = "hflip", name = "hflip"}}]
[hashers]
names = ["phash", "md5"]
"""


def test_a_draft_run_says_draft_and_records_its_distances_and_cpu_per_stage(tmp_path):
    from hashbench.config import load_config
    from hashbench.runner import run

    for sub, n in (("refs", 3), ("dis", 4)):
        (tmp_path / sub).mkdir()
        for i in range(n):
            Image.fromarray(_photo_like(600, 800, seed=10 * n + i)).save(tmp_path / sub / f"{sub}{i}.jpg", quality=90)
    cfg = tmp_path / "draft.toml"
    cfg.write_text(DRAFT_RUN.format(refs=tmp_path / "refs", dis=tmp_path / "dis"))
    config = load_config(cfg)
    assert (config.decode, config.max_pixels) == ("draft", 0)
    report = run(config, out_root=tmp_path / "results", workers=1, progress=False, write=False).report
    assert report["config"]["decode"] == "draft" and "max_pixels" not in report["config"]  # optional: left out at 0
    for name in ("references", "distractors"):
        stage = report["timing"]["stages"][name]
        dec = stage["decoding"]
        assert dec["decode"] == "draft" and dec["draft"]["min_side"] == 256
        assert dec["draft"]["distances"]["images"] == stage["items"]
        assert dec["draft"]["distances"]["reduced"] == stage["items"]  # 800x600 JPEGs decode at 400x300
        assert dec["pixel_limit"]["source"] in ("memory", "cap")
        assert set(stage["cpu"]["hashers"]) == {"phash", "md5"}
        assert stage["cpu"]["decode"]["images"] == stage["items"]
    # the default configuration records neither setting, so its digest (the run id) is unchanged
    assert "decode" not in load_config().to_dict() and "max_pixels" not in load_config().to_dict()
