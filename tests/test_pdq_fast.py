"""hashbench's numba PDQ against pdqhash: hash and quality must be bit-identical on every input.

Every check compares the packed 32-byte codes (plain and all 8 dihedral variants) and the quality
exactly; one differing bit fails. The long sweep (thousands of images up to 4096x3072) is opt-in:
HASHBENCH_PDQ_SWEEP=<count> runs that many seeded images (see test_sweep).
"""

from __future__ import annotations

import os

import numpy as np
import pdqhash
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from hashbench.datasets import get as get_dataset
from hashbench.datasets.synthetic import FAMILIES, generate
from hashbench.hashers._pdq_kernels import dct_matrix, pdq_dihedral, pdq_hash
from hashbench.hashers.pdq_fast import pdq8_output, pdq_output


def reference(img: np.ndarray) -> tuple[np.ndarray, int, np.ndarray, int]:
    """pdqhash's plain and dihedral outputs, packed the way hashbench packs them."""
    bits, quality = pdqhash.compute(img)
    vectors, quality8 = pdqhash.compute_dihedral(img)
    code = np.packbits(bits.astype(np.uint8))
    codes8 = np.packbits(np.asarray(vectors, dtype=np.uint8), axis=1)
    return code, int(quality), codes8, int(quality8)


def mismatch(img: np.ndarray) -> str | None:
    """None when both backends agree bit for bit, else what differs."""
    code, quality, codes8, quality8 = reference(img)
    fast_code, fast_quality = pdq_hash(img)
    fast_codes8, fast_quality8 = pdq_dihedral(img)
    problems = []
    if not np.array_equal(fast_code, code):
        problems.append(f"hash differs in {int(np.unpackbits(fast_code ^ code).sum())} bits")
    if fast_quality != quality:
        problems.append(f"quality {fast_quality} != {quality}")
    if not np.array_equal(fast_codes8, codes8):
        per_variant = np.unpackbits(fast_codes8 ^ codes8, axis=1).sum(axis=1)
        problems.append(f"dihedral bits differ per variant {per_variant.tolist()}")
    if fast_quality8 != quality8:
        problems.append(f"dihedral quality {fast_quality8} != {quality8}")
    return "; ".join(problems) or None


def family_image(family: str, index: int, height: int, width: int) -> np.ndarray:
    """Synthetic image of ``family`` at any size (the generator's minimum side is 16: crop below)."""
    img = generate(family, index, seed=7, size=(max(width, 16), max(height, 16)))
    return np.ascontiguousarray(img[:height, :width])


SMALL_SIZES = [(5, 5), (7, 13), (13, 7), (16, 16), (63, 65), (64, 64), (97, 131), (128, 129), (256, 256)]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(("height", "width"), SMALL_SIZES)
def test_families_small_sizes(family, height, width):
    for index in range(2):
        img = family_image(family, index, height, width)
        assert mismatch(img) is None, (family, index, height, width, mismatch(img))


@pytest.mark.parametrize(("family", "height", "width"), [(f, 479, 640) for f in FAMILIES] + [("mixed", 768, 1024)])
def test_families_larger_sizes(family, height, width):
    img = family_image(family, 3, height, width)
    assert mismatch(img) is None, mismatch(img)


def test_large_odd_sizes_cross_window_boundaries():
    """Sizes on either side of a box-window step ((n + 127) // 128 changes at 129, 257, ...)."""
    rng = np.random.default_rng(11)
    for height, width in [(1024, 768), (768, 1024), (1031, 257), (257, 1031), (383, 2053), (4000, 9)]:
        small = Image.fromarray(rng.integers(0, 256, (9, 12, 3), dtype=np.uint8))
        img = np.asarray(small.resize((width, height), Image.Resampling.BICUBIC))
        img = np.ascontiguousarray(
            np.clip(img.astype(np.int16) + rng.integers(-3, 4, img.shape), 0, 255).astype(np.uint8)
        )
        assert mismatch(img) is None, (height, width, mismatch(img))


@pytest.mark.parametrize(("height", "width"), [(5, 5), (5, 300), (64, 64), (300, 5), (200, 300)])
def test_constant_and_near_constant_images_have_quality_zero_alike(height, width):
    rng = np.random.default_rng(height * 1000 + width)
    flat = np.full((height, width, 3), 117, dtype=np.uint8)
    one_dot = flat.copy()
    one_dot[height // 2, width // 3] = (118, 117, 116)
    dither = np.ascontiguousarray(flat + (rng.random((height, width, 1)) < 0.01).astype(np.uint8))
    faint_ramp = np.ascontiguousarray(
        np.repeat((100 + np.arange(width) * 2 // width).astype(np.uint8)[None, :, None], 3, axis=2).repeat(height, 0)
    )
    for img in (flat, one_dot, dither, faint_ramp, np.zeros_like(flat), np.full_like(flat, 255)):
        assert mismatch(img) is None, mismatch(img)
    assert pdq_hash(flat)[1] == 0 and pdq_dihedral(flat)[1] == 0


def test_below_five_pixels_gives_zero_hash_and_quality_like_pdqhash():
    img = np.random.default_rng(0).integers(0, 256, (4, 50, 3), dtype=np.uint8)
    assert mismatch(img) is None
    code, quality = pdq_hash(img)
    assert quality == 0 and not code.any()


def test_non_contiguous_input_is_hashed_as_its_pixels():
    img = family_image("dead-leaves", 0, 200, 300)
    view = img[::2, ::-1]
    assert not view.flags.c_contiguous
    np.testing.assert_array_equal(pdq_hash(view)[0], pdq_hash(np.ascontiguousarray(view))[0])


def test_empty_and_wrong_arrays_are_refused():
    for bad in (np.zeros((0, 10, 3), np.uint8), np.zeros((10, 10), np.uint8), np.zeros((10, 10, 3), np.float32)):
        with pytest.raises(ValueError):
            pdq_hash(bad)


def test_sample_photos():
    items = list(get_dataset("sample"))
    assert len(items) >= 10
    for it in items:
        img = it.load()
        assert mismatch(img) is None, (it.id, mismatch(img))


def test_hasher_outputs_match_the_pdqhash_hashers():
    from hashbench.hashers.pdq import PDQDihedralHasher, PDQHasher

    img = family_image("fractal", 1, 240, 320)
    code, quality, codes8, quality8 = reference(img)
    one, eight = pdq_output(img), pdq8_output(img)
    np.testing.assert_array_equal(one.code, code)
    assert one.quality == quality and one.variants is None
    np.testing.assert_array_equal(eight.variants, codes8)
    np.testing.assert_array_equal(eight.code, codes8[0])
    assert eight.quality == quality8
    assert PDQHasher.nbits == PDQDihedralHasher.nbits == 8 * one.code.size


def test_dct_matrix_rows_are_orthogonal_cosines():
    d = dct_matrix().astype(np.float64)
    assert d.shape == (16, 64) and dct_matrix().dtype == np.float32
    np.testing.assert_allclose(d @ d.T, np.eye(16), atol=1e-6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    hnp.arrays(
        np.uint8,
        st.tuples(st.integers(1, 70), st.integers(1, 70), st.just(3)),
        elements=st.integers(0, 255),
    )
)
def test_hypothesis_arrays(img):
    assert mismatch(img) is None, (img.shape, mismatch(img))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(129, 700),
    st.integers(129, 700),
    st.integers(0, 2**32 - 1),
    st.sampled_from([0, 1, 2, 255]),
)
def test_hypothesis_larger_smooth_arrays(height, width, seed, amplitude):
    """Window sizes above 1 and few-level images, where equal floats make the median's ties."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    img = np.asarray(Image.fromarray(small).resize((width, height), Image.Resampling.NEAREST))
    if amplitude < 255:
        img = np.ascontiguousarray((img // 255 * amplitude + 100).astype(np.uint8))
    assert mismatch(img) is None, (height, width, seed, amplitude, mismatch(img))


SWEEP = int(os.environ.get("HASHBENCH_PDQ_SWEEP", "0"))


def sweep_image(i: int) -> np.ndarray:
    """Image ``i`` of the long sweep: a family image resized to a seeded size in 5..4096 x 5..3072
    (log-uniform, so small, odd and prime sizes are common), plus grain on every other one."""
    rng = np.random.default_rng([2026, i])
    width = int(np.exp(rng.uniform(np.log(5), np.log(4096))))
    height = int(np.exp(rng.uniform(np.log(5), np.log(3072))))
    base = generate(FAMILIES[i % len(FAMILIES)], i, seed=3, size=(256, 192))
    img = np.asarray(Image.fromarray(base).resize((width, height), Image.Resampling.BILINEAR))
    if i % 2:
        img = np.clip(img.astype(np.int16) + rng.integers(-4, 5, img.shape), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img)


@pytest.mark.slow
@pytest.mark.skipif(SWEEP <= 0, reason="opt-in: HASHBENCH_PDQ_SWEEP=<count>")
def test_sweep():
    bad = []
    for i in range(SWEEP):
        img = sweep_image(i)
        problem = mismatch(img)
        if problem:
            bad.append((i, img.shape, problem))
    print(f"\nPDQ sweep: {SWEEP} images, {len(bad)} mismatches")
    assert not bad, bad[:10]


# --------------------------------------------------------------------------------------------
# The pdq and pdq8 hashers: numba by default, pdqhash on request, the same HashBatch either way


def _batches(name: str, items: list, monkeypatch, backend: str):
    from hashbench import hashers

    monkeypatch.setenv("HASHBENCH_PDQ_BACKEND", backend)
    hasher = hashers.get(name)
    assert hasher.describe()["backend"] == backend
    return hasher.hash_many(items)


@pytest.mark.parametrize("name", ["pdq", "pdq8"])
def test_both_backends_give_the_same_hash_batch(name, monkeypatch):
    from hashbench.hashers import ImageItem

    arrays = [family_image(f, 5, 97, 131) for f in FAMILIES] + [it.load() for it in list(get_dataset("sample"))[:4]]
    arrays += [
        np.full((40, 30, 3), 9, np.uint8),
        np.zeros((3, 50, 3), np.uint8),
        family_image("text", 2, 300, 200)[::2],
    ]
    items = [ImageItem(str(i), a) for i, a in enumerate(arrays)] + [ImageItem("no pixels", None)]
    fast = _batches(name, items, monkeypatch, "numba")
    ref = _batches(name, items, monkeypatch, "pdqhash")
    np.testing.assert_array_equal(fast.codes, ref.codes)
    np.testing.assert_array_equal(fast.quality, ref.quality)
    if name == "pdq8":
        np.testing.assert_array_equal(fast.variant_codes, ref.variant_codes)
    assert fast.errors == ref.errors and fast.errors[-1] is not None and fast.errors[:-1] == [None] * len(arrays)
    assert fast.quality is not None and fast.quality[:-1].min() == 0 and fast.quality.max() > 50


def test_backend_defaults_to_numba_and_is_checked(monkeypatch):
    from hashbench import hashers
    from hashbench.errors import UsageError
    from hashbench.hashers.pdq import pdq_backend

    monkeypatch.delenv("HASHBENCH_PDQ_BACKEND", raising=False)
    assert pdq_backend() == "numba" and hashers.get("pdq8").describe()["backend"] == "numba"
    assert hashers.get("pdq").describe()["library"] == "pdqhash"  # the output reproduced, bit for bit
    monkeypatch.setenv("HASHBENCH_PDQ_BACKEND", " PDQHash ")
    assert pdq_backend() == "pdqhash"
    monkeypatch.setenv("HASHBENCH_PDQ_BACKEND", "opencv")
    with pytest.raises(UsageError, match="not a PDQ backend"):
        hashers.get("pdq")


def test_hasher_keeps_its_backend_when_pickled_to_a_worker(monkeypatch):
    import pickle

    from hashbench import hashers

    monkeypatch.setenv("HASHBENCH_PDQ_BACKEND", "pdqhash")
    hasher = hashers.get("pdq")
    monkeypatch.setenv("HASHBENCH_PDQ_BACKEND", "numba")
    clone = pickle.loads(pickle.dumps(hasher))
    assert clone.backend == "pdqhash" and clone.describe()["backend"] == "pdqhash"
