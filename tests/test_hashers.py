"""Every wrapped hasher against its reference library, on real photos shipped with dependencies."""

import hashlib
import importlib.metadata
import json
import sys
from pathlib import Path

import imagehash
import numpy as np
import pdqhash
import pytest
from PIL import Image

from hashbench import hashers
from hashbench.bits import code_to_hex, codes_to_hex, hamming, pack_bits
from hashbench.errors import UsageError
from hashbench.hashers import ImageItem, check_conformance
from hashbench.imageio import read_image

IMAGEHASH_REFERENCE = {
    "phash": lambda im: imagehash.phash(im),
    "phash16": lambda im: imagehash.phash(im, hash_size=16),
    "dhash": lambda im: imagehash.dhash(im),
    "ahash": lambda im: imagehash.average_hash(im),
    "whash": lambda im: imagehash.whash(im),
    "colorhash": lambda im: imagehash.colorhash(im),
}


@pytest.fixture(scope="module")
def items(photo_paths):
    out = []
    for p in photo_paths:
        img = read_image(p, item_id=p.name)
        out.append(ImageItem(id=p.name, pixels=img.pixels, data=img.data, path=str(p)))
    assert len(out) >= 10
    return out


def test_pdq_is_bit_identical_to_pdqhash(items):
    batch = hashers.get("pdq").hash_many(items)
    assert all(e is None for e in batch.errors)
    for i, it in enumerate(items):
        bits, quality = pdqhash.compute(it.pixels)
        assert np.array_equal(batch.codes[i], np.packbits(bits.astype(np.uint8)))
        assert batch.quality[i] == quality
        # python-threatexchange's hex: the bits as a binary number, 64 hex digits.
        assert code_to_hex(batch.codes[i], 256) == hex(int("".join(map(str, bits)), 2))[2:].zfill(64)


def test_pdq8_gives_pdqhash_dihedral_variants(items):
    batch = hashers.get("pdq8").hash_many(items)
    plain = hashers.get("pdq").hash_many(items)
    assert np.array_equal(batch.codes, plain.codes)
    for i, it in enumerate(items[:5]):
        vectors, _ = pdqhash.compute_dihedral(it.pixels)
        assert np.array_equal(batch.variant_codes[i], np.packbits(np.asarray(vectors, np.uint8), axis=1))
    # A rotated copy is far from the original's plain hash but close to one of its variants.
    rotated = ImageItem(id="r", pixels=np.ascontiguousarray(np.rot90(items[0].pixels)))
    r = hashers.get("pdq8").hash_many([rotated])
    assert hamming(r.codes[0], plain.codes[0]) > 60
    assert hamming(batch.variant_codes[0], r.codes[0]).min() <= 16


@pytest.mark.parametrize("name", sorted(IMAGEHASH_REFERENCE))
def test_imagehash_family_is_bit_identical(name, items):
    h = hashers.get(name)
    batch = h.hash_many(items)
    for i, it in enumerate(items):
        ref = IMAGEHASH_REFERENCE[name](Image.fromarray(it.pixels))
        assert code_to_hex(batch.codes[i], h.nbits) == str(ref)
        assert np.array_equal(batch.codes[i], pack_bits(ref.hash.reshape(-1), h.nbits))


@pytest.mark.parametrize("name,algo", [("md5", "md5"), ("sha256", "sha256")])
def test_crypto_hashes_file_bytes(name, algo, items):
    batch = hashers.get(name).hash_many(items)
    for i, it in enumerate(items):
        assert (
            code_to_hex(batch.codes[i], hashers.get(name).nbits)
            == hashlib.new(algo, Path(it.path).read_bytes()).hexdigest()
        )
    # Without file bytes, identical pixels still match and a one-pixel change does not.
    px = items[0].pixels.copy()
    a, b = hashers.get(name).hash_many([ImageItem("a", px), ImageItem("b", px.copy())]).codes
    px[0, 0, 0] ^= 1
    c = hashers.get(name).hash_many([ImageItem("c", px)]).codes[0]
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert hashers.get(name).exact


def test_golden_hashes_are_pinned(photo_paths):
    """Pinned hex values: exact under the recorded library versions; close under others."""
    golden = json.loads((Path(__file__).parent / "golden" / "hashes.json").read_text())
    same_versions = all(importlib.metadata.version(d) == v for d, v in golden["versions"].items())
    by_name = {p.name: p for p in photo_paths}
    # Under other versions resampling may move a few bits; a hash that moves more is a real change.
    tolerance = {"pdq": 16, "phash16": 16, "colorhash": 4, "md5": 0}
    for name, pinned in golden["hashes"].items():
        h = hashers.get(name)
        ids = sorted(pinned)
        batch = h.hash_many([ImageItem(i, read_image(by_name[i]).pixels, by_name[i].read_bytes()) for i in ids])
        got = codes_to_hex(batch.codes, h.nbits)
        if same_versions:
            assert dict(zip(ids, got)) == pinned, name
        else:
            for i, g in zip(ids, got):
                d = hamming(
                    np.frombuffer(bytes.fromhex(g.zfill(2 * h.nbytes)), np.uint8),
                    np.frombuffer(bytes.fromhex(pinned[i].zfill(2 * h.nbytes)), np.uint8),
                )
                assert d <= tolerance.get(name, 6), (name, i, d)


@pytest.mark.parametrize("name", [n for n in hashers.BUILTIN if n != "command"])
def test_builtin_hashers_conform(name):
    report = check_conformance(hashers.get(name))
    assert report.ok, report.problems


def test_failures_are_per_item():
    h = hashers.get("pdq")
    good = np.zeros((32, 32, 3), np.uint8)
    batch = h.hash_many([ImageItem("ok", good), ImageItem("bad", None), ImageItem("odd", np.zeros((4, 4), np.uint8))])
    assert batch.errors[0] is None
    assert "pixels" in batch.errors[1] and "pixels" in batch.errors[2]
    assert batch.ok.tolist() == [True, False, False]


def test_unknown_hasher_names_the_known_ones():
    with pytest.raises(UsageError, match="unknown hasher 'pdqq'; did you mean 'pdq' or 'pdq8'\\? known hashers: .*pdq"):
        hashers.get("pdqq")
    with pytest.raises(UsageError, match="unknown hasher 'PHSH'; did you mean 'phash'"):
        hashers.get("PHSH")


SCRIPT = """
import hashlib, sys
for line in sys.stdin:
    p = line.rstrip("\\n")
    if p.endswith("bad.png"):
        print("error: refused by the program")
    else:
        print(hashlib.sha1(open(p, "rb").read()).hexdigest()[:36])
"""


def test_command_hasher_runs_an_external_program(tmp_path):
    prog = tmp_path / "hasher.py"
    prog.write_text(SCRIPT)
    h = hashers.get(f"command:{sys.executable} {prog}")
    assert h.nbits == 144 and h.kind == "external"
    a = tmp_path / "a.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(a)
    (tmp_path / "bad.png").write_bytes(a.read_bytes())
    batch = h.hash_many(
        [
            ImageItem("a", None, path=str(a)),
            ImageItem("bad", None, path=str(tmp_path / "bad.png")),
            ImageItem("mem", np.zeros((8, 8, 3), np.uint8)),
        ]
    )
    assert code_to_hex(batch.codes[0], 144) == hashlib.sha1(a.read_bytes()).hexdigest()[:36]
    assert batch.errors[1] == "refused by the program"
    assert batch.errors[2] is None  # pixels were written to a temporary PNG for the program
    assert check_conformance(h).ok


def test_command_hasher_errors_are_clear(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        hashers.get("command:/no/such/program")
    with pytest.raises(UsageError, match="needs a program"):
        hashers.get("command:")
    prog = tmp_path / "p.py"
    prog.write_text("import sys\nfor _ in sys.stdin: print('zz')\n")
    with pytest.raises(UsageError, match="not a hex hash"):
        hashers.get(f"command:{sys.executable} {prog}")


def test_plugins_register_through_entry_points(monkeypatch):
    from hashbench import registry

    class Plugin(hashers.Hasher):
        name = "plugin-zero"
        nbits = 16

        def hash_one(self, item):
            return hashers.HashOutput(code=np.zeros(2, np.uint8))

    class FakeEP:
        name, value = "plugin-zero", "pkg:Plugin"

        def load(self):
            return Plugin

    monkeypatch.setattr(hashers.HASHERS, "_plugins_loaded", False)
    monkeypatch.setattr(hashers.HASHERS, "_entries", dict(hashers.HASHERS._entries))
    monkeypatch.setattr(
        registry.importlib.metadata,
        "entry_points",
        lambda group: [FakeEP()] if group == hashers.ENTRY_POINT_GROUP else [],
    )
    assert "plugin-zero" in hashers.available()
    assert isinstance(hashers.get("plugin-zero"), Plugin)
    assert check_conformance(hashers.get("plugin-zero")).ok
    assert "plugin-zero" not in hashers.BUILTIN  # plugins never join `--hasher all`


def test_a_broken_plugin_warns_and_a_plugin_cannot_replace_a_builtin(monkeypatch):
    from hashbench import registry

    class Broken:
        name, value = "broken", "pkg:missing"

        def load(self):
            raise ImportError("no module named pkg")

    class Shadow:
        name, value = "pdq", "pkg:Fake"

        def load(self):
            raise AssertionError("a taken name must not even be loaded")

    monkeypatch.setattr(hashers.HASHERS, "_plugins_loaded", False)
    monkeypatch.setattr(hashers.HASHERS, "_entries", dict(hashers.HASHERS._entries))
    monkeypatch.setattr(registry.importlib.metadata, "entry_points", lambda group: [Broken(), Shadow()])
    with pytest.warns(UserWarning, match="hasher plugin 'broken' .* failed to load: no module named pkg"):
        names = hashers.available()
    assert "broken" not in names and hashers.get("pdq").name == "pdq"


def test_registration_keeps_the_declared_name_and_the_registry_in_step(monkeypatch):
    monkeypatch.setattr(hashers.HASHERS, "_entries", dict(hashers.HASHERS._entries))

    @hashers.register("zeros16")
    class Zeros(hashers.Hasher):
        """Sixteen zero bits, whatever the image."""

        nbits = 16

        def hash_one(self, item):
            return hashers.HashOutput(code=np.zeros(2, np.uint8))

    assert Zeros.name == "zeros16" and hashers.get("zeros16").name == "zeros16"
    assert hashers.HASHERS.entry("zeros16").description == "Sixteen zero bits, whatever the image."
    with pytest.raises(ValueError, match="already registered"):
        hashers.register("zeros16", hashers.BUILTIN["pdq"])
    with pytest.raises(ValueError, match="'md5' but it is registered as 'md5b'"):
        hashers.register("md5b", hashers.BUILTIN["md5"])
    with pytest.raises(UsageError, match="takes no argument"):
        hashers.get("pdq:/bin/true")


def test_numpy_whash_is_bit_identical_to_imagehash_on_every_kind_of_image():
    """hashbench computes whash without PyWavelets' Python layer; the bits must not change."""
    from hashbench.datasets import get as get_dataset
    from hashbench.hashers.haar import whash_bits

    rng = np.random.default_rng(11)
    images = [it.load() for it in get_dataset("synthetic", family="mixed", count=40, size=96, seed=5)]
    images += [it.load() for it in get_dataset("synthetic", family="low-detail", count=10, size=(130, 70), seed=2)]
    images += [rng.integers(0, 256, (int(h), int(w), 3), dtype=np.uint8) for h, w in rng.integers(1, 300, (30, 2))]
    images += [np.zeros((17, 33, 3), np.uint8), np.full((64, 64, 3), 200, np.uint8)]
    for px in images:
        im = Image.fromarray(px)
        assert np.array_equal(whash_bits(im), imagehash.whash(im).hash), px.shape
        assert np.array_equal(whash_bits(im, 16), imagehash.whash(im, hash_size=16).hash) or min(px.shape[:2]) < 16


# ---------------------------------------------------------------------------------------------
# The grey kernels: Pillow's convert("L") and LANCZOS resize, pixel for pixel (issue 18, speed)


def test_grey_kernel_is_pillows_convert_on_every_colour():
    from hashbench.hashers._grey_kernels import grey

    v = np.arange(1 << 24, dtype=np.uint32)
    rgb = np.stack([(v >> 16) & 255, (v >> 8) & 255, v & 255], axis=-1).astype(np.uint8).reshape(4096, 4096, 3)
    assert np.array_equal(grey(rgb), np.asarray(Image.fromarray(rgb).convert("L")))
    view = rgb[::7, 5::3]  # not contiguous: the kernel reads a copy, same pixels
    assert np.array_equal(grey(view), np.asarray(Image.fromarray(np.ascontiguousarray(view)).convert("L")))


def _grey_samples(rng, h, w):
    noise = rng.integers(0, 256, (h, w), dtype=np.uint8)
    extremes = rng.choice(np.array([0, 255], np.uint8), (h, w))  # the sums that clip below 0 and above 255
    small = rng.integers(0, 256, (max(1, h // 8), max(1, w // 8)), dtype=np.uint8)
    smooth = np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC))
    return noise, extremes, smooth


def test_lanczos_kernel_is_pillows_resize_on_random_shapes():
    """Down, up, one axis only, 1-pixel sides, and the shapes Pillow 13 resizes vertically first."""
    from hashbench.hashers._grey_kernels import lanczos_resize, pillow_order, vertical_first

    order = pillow_order()
    assert order is not None, "the kernels no longer reproduce this Pillow's LANCZOS resize"
    rng = np.random.default_rng(1818)
    shapes = [((int(h), int(w)), (int(a), int(b))) for h, w, a, b in rng.integers(1, 200, (60, 4))]
    shapes += [((768, 1024), (32, 32)), ((1024, 768), (9, 8)), ((3000, 60), (8, 8)), ((50, 50), (50, 7))]
    shapes += [((50, 50), (7, 50)), ((1, 1), (8, 8)), ((5, 300), (64, 64)), ((300, 5), (9, 8)), ((2, 900), (1, 1))]
    orders_seen = set()
    for (h, w), size in shapes:
        orders_seen.add(vertical_first((w, h), size, order))
        for g in _grey_samples(rng, h, w):
            want = np.asarray(Image.fromarray(g).resize(size, Image.Resampling.LANCZOS))
            assert np.array_equal(lanczos_resize(g, size, order), want), ((h, w), size)
    assert orders_seen == {True, False} or order == "horizontal"  # both of Pillow 13's paths were run


def test_grey_resize_is_pillows_on_photos(items):
    from hashbench.hashers._grey_kernels import grey_resize, pillow_order

    order = pillow_order()
    for it in items:
        im = Image.fromarray(it.pixels).convert("L")
        for size in [(32, 32), (64, 64), (9, 8), (8, 8)]:
            want = np.asarray(im.resize(size, Image.Resampling.LANCZOS))
            assert np.array_equal(grey_resize(it.pixels, size, order), want), (it.id, size)


def _odd_shapes(items):
    """Crops of a photo whose resize takes every path: tall (vertical pass first under Pillow 13),
    wide, smaller than the hash (upscaled), 1x1, and a view that is not contiguous."""
    px = items[0].pixels
    crops = [px[:, :40], px[:12, :], px[:5, :7], px[:1, :1], px[:9, :300], px[::3, ::2]]
    return [ImageItem(id=f"crop{i}", pixels=c) for i, c in enumerate(crops)]


@pytest.mark.parametrize("name", ["phash", "phash16", "dhash", "ahash"])
def test_resizing_hashers_match_imagehash_on_every_path(name, items, monkeypatch):
    from hashbench.hashers import imagehash_family

    h = hashers.get(name)
    odd = _odd_shapes(items)
    fast = h.hash_many(odd)
    assert all(e is None for e in fast.errors)
    for i, it in enumerate(odd):
        ref = IMAGEHASH_REFERENCE[name](Image.fromarray(np.ascontiguousarray(it.pixels)))
        assert code_to_hex(fast.codes[i], h.nbits) == str(ref), it.id
    # With the kernels refused (another Pillow), Pillow resizes: the same hashes.
    monkeypatch.setattr(imagehash_family, "_kernel_order", lambda: None)
    assert np.array_equal(h.hash_many(odd).codes, fast.codes)
