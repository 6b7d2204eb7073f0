import numpy as np
import pytest

from hashbench.errors import UsageError
from hashbench.hashing import hash_arrays, hash_files, hash_stream


def arrays(n, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (40 + i % 7, 50, 3), dtype=np.uint8) for i in range(n)]


def test_workers_give_identical_results_in_input_order():
    imgs = arrays(37)
    ids = [f"img/{i}" for i in range(37)]
    one = hash_arrays(imgs, ids, ["pdq", "phash", "md5"], workers=1, chunk_size=5, progress=False)
    two = hash_arrays(imgs, ids, ["pdq", "phash", "md5"], workers=2, chunk_size=5, progress=False)
    assert one.ids == two.ids == ids
    for name in ("pdq", "phash", "md5"):
        assert np.array_equal(one.codes[name], two.codes[name])
        assert one.ok[name].all()
    assert np.array_equal(one.quality["pdq"], two.quality["pdq"])
    assert one.quality["phash"] is None


def test_bad_items_are_collected_and_the_rest_hashed(tmp_path):
    from PIL import Image

    good = tmp_path / "good.png"
    Image.fromarray(arrays(1)[0]).save(good)
    (tmp_path / "bad.jpg").write_bytes(b"nope")
    paths = [good, tmp_path / "bad.jpg", tmp_path / "missing.png", good]
    res = hash_files(paths, ["g1", "bad", "missing", "g2"], ["pdq", "pdq8"], workers=2, chunk_size=1, progress=False)
    assert res.ok["pdq"].tolist() == [True, False, False, True]
    assert res.variant_codes["pdq8"].shape == (4, 8, 32)
    assert np.array_equal(res.codes["pdq"][0], res.codes["pdq"][3])
    reasons = dict(res.errors)
    assert set(reasons) == {"bad", "missing"}
    assert "not an image" in reasons["bad"] and "cannot read" in reasons["missing"]
    assert (res.codes["pdq"][1:3] == 0).all()


def test_stream_is_bounded_and_skips_finished_chunks():
    produced = []

    def gen():
        for i, a in enumerate(arrays(20)):
            produced.append(i)
            yield f"i{i}", a

    chunks = hash_stream(gen(), ["dhash"], workers=1, chunk_size=4, skip_chunks=frozenset({1, 3}))
    first = next(chunks)
    assert first.index == 0 and len(produced) == 4  # streaming: nothing read ahead in-process
    rest = list(chunks)
    assert [c.index for c in rest] == [2, 4]
    assert rest[0].ids == ["i8", "i9", "i10", "i11"]


def test_bad_arrays_and_bad_arguments():
    res = hash_arrays(
        [np.zeros((4, 4), np.uint8), np.zeros((8, 8, 3), np.float32)], ["a", "b"], ["ahash"], workers=1, progress=False
    )
    assert not res.ok["ahash"].any()
    assert all("uint8" in r for _, r in res.errors)
    with pytest.raises(UsageError, match="unknown hasher"):
        hash_arrays([], [], ["nope"], progress=False)
    with pytest.raises(UsageError, match="more than once"):
        hash_arrays([], [], ["pdq", "pdq"], progress=False)
    with pytest.raises(UsageError, match="workers"):
        list(hash_stream(iter([]), ["pdq"], workers=0))
    with pytest.raises(UsageError, match="workers must be at least 1"):  # not ZeroDivisionError
        hash_arrays(arrays(2), ["a", "b"], ["pdq"], workers=0, progress=False)
    with pytest.raises(ValueError):
        hash_arrays(arrays(2), ["only-one"], ["pdq"], workers=1, progress=False)


def test_pdq_derived_from_pdq8_equals_pdq_alone():
    imgs = arrays(6, seed=3)
    ids = [str(i) for i in range(6)]
    both = hash_arrays(imgs, ids, ["pdq8", "pdq"], workers=1, progress=False)
    alone = hash_arrays(imgs, ids, ["pdq"], workers=1, progress=False)
    assert np.array_equal(both.codes["pdq"], alone.codes["pdq"])
    assert np.array_equal(both.quality["pdq"], alone.quality["pdq"])
    assert both.hash_seconds["pdq"] == 0.0  # computed once, inside pdq8


def test_a_hanging_item_is_reported_and_the_rest_hashed(monkeypatch):
    import time as _time

    import hashbench.hashing as hashing
    from hashbench.hashers import ImageItem
    from hashbench.hashing import LazySource

    class Slow(LazySource):
        def __init__(self, seconds):
            self.seconds = seconds

        def materialise(self, item_id):
            _time.sleep(self.seconds)
            return ImageItem(id=item_id, pixels=np.zeros((8, 8, 3), np.uint8)), None

    monkeypatch.setattr(hashing, "ITEM_TIMEOUT", 0.3)
    res = hash_arrays([Slow(0), Slow(5), Slow(0)], ["a", "hangs", "c"], ["dhash"], workers=1, progress=False)
    assert res.ok["dhash"].tolist() == [True, False, True]
    assert "limit per item" in dict(res.errors)["hangs"]


def test_timings_are_cpu_time_not_waiting():
    # Issue 16, item 17: time spent waiting (for a core, a disk, a sleep) is not hashing cost.
    import time as _time

    from hashbench.hashers import ImageItem
    from hashbench.hashing import LazySource, cpu_clock

    class Waits(LazySource):
        def materialise(self, item_id):
            _time.sleep(0.2)
            return ImageItem(id=item_id, pixels=np.zeros((8, 8, 3), np.uint8)), None

    res = hash_arrays([Waits(), Waits()], ["a", "b"], ["dhash"], workers=1, progress=False)
    assert res.ok["dhash"].all()
    assert res.wall_seconds >= 0.4
    assert res.decode_seconds < 0.1  # two 0.2 s sleeps cost (almost) no CPU
    # Busy work does count, and never more than the wall time it took (a shared machine may
    # give this thread less than a whole core, which is exactly what the clock must not see).
    t0, w0 = cpu_clock(), _time.perf_counter()
    while cpu_clock() - t0 < 0.05 and _time.perf_counter() - w0 < 30:
        sum(range(1000))
    assert 0.05 <= cpu_clock() - t0 <= _time.perf_counter() - w0 + 0.01


def _photo_like_jpegs(folder, shapes):
    """Seeded JPEGs like benchmarks/bench_hash_command.py's: smooth colour fields with sensor noise."""
    from PIL import Image

    rng = np.random.default_rng(18)
    paths = []
    for i, (w, h) in enumerate(shapes):
        small = rng.normal(128, 50, (max(2, h // 32), max(2, w // 32), 3)).clip(0, 255).astype(np.uint8)
        big = np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC)).astype(np.int16)
        big = (big + rng.normal(0, 6, big.shape)).clip(0, 255).astype(np.uint8)
        paths.append(folder / f"{i}.jpg")
        Image.fromarray(big).save(paths[-1], quality=90)
    return paths


def test_hash_files_gives_the_reference_libraries_hashes(tmp_path, photo_paths):
    """What `hashbench hash` computes, against pdqhash, imagehash and hashlib on the file itself:
    the fast paths of decoding and hashing (grey and resize kernels, numba PDQ) change no bit."""
    import hashlib

    import imagehash
    import pdqhash
    from PIL import Image, ImageOps

    from hashbench.bits import code_to_hex

    paths = _photo_like_jpegs(tmp_path, [(1024, 768), (768, 1024), (333, 197), (64, 900), (900, 40)])
    paths += [p for p in photo_paths if Image.open(p).mode == "RGB"][:4]  # no alpha to composite
    names = ["pdq", "phash", "phash16", "dhash", "ahash", "md5"]
    result = hash_files(paths, hashers=names, workers=1, progress=False)
    assert all(e is None for e in result.decode_errors)
    reference = {
        "phash": imagehash.phash,
        "phash16": lambda im: imagehash.phash(im, hash_size=16),
        "dhash": imagehash.dhash,
        "ahash": imagehash.average_hash,
    }
    for i, path in enumerate(paths):
        with Image.open(path) as im:
            rgb = ImageOps.exif_transpose(im).convert("RGB")
        px = np.asarray(rgb)
        bits, quality = pdqhash.compute(px)
        assert np.array_equal(result.codes["pdq"][i], np.packbits(bits.astype(np.uint8))), path
        assert result.quality["pdq"][i] == quality
        for name, fn in reference.items():
            nbits = result.hashers[names.index(name)].nbits
            assert code_to_hex(result.codes[name][i], nbits) == str(fn(rgb)), (name, path)
        assert result.codes["md5"][i].tobytes() == hashlib.md5(path.read_bytes()).digest()
