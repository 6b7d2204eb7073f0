"""Photometric and encoding transforms against their formulas, Pillow and decoders."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from hashbench import transforms as tf
from hashbench.imageio import decode_bytes

rng0 = lambda seed=0: np.random.default_rng(seed)  # noqa: E731


@pytest.fixture(scope="module")
def img() -> np.ndarray:
    """A smooth colourful image with a full range of values (a photo-like gradient + detail)."""
    y, x = np.mgrid[0:48, 0:64]
    r = (x * 4) % 256
    g = (y * 5) % 256
    b = ((x + y) * 3) % 256
    return np.stack([r, g, b], axis=2).astype(np.uint8)


def apply(kind, img, seed=0, **params):
    return tf.get(kind, **params).apply(img, rng0(seed))


def test_brightness_formula(img):
    out = apply("brightness", img, factor=1.3).pixels
    assert np.array_equal(out, np.clip(np.rint(img * np.float32(1.3)), 0, 255).astype(np.uint8))
    # Pillow's Brightness enhancer agrees within rounding
    ref = np.asarray(ImageEnhance.Brightness(Image.fromarray(img)).enhance(1.3))
    assert np.abs(out.astype(int) - ref).max() <= 1


def test_contrast_pulls_towards_mean(img):
    low = apply("contrast", img, factor=0.5).pixels.astype(float)
    assert low.std() < 0.6 * img.std()
    high = apply("contrast", img, factor=1.5).pixels.astype(float)
    assert high.std() > img.std()
    assert np.array_equal(apply("contrast", img, factor=1.0).pixels, img)
    ref = np.asarray(ImageEnhance.Contrast(Image.fromarray(img)).enhance(0.5)).astype(float)
    assert np.abs(low - ref).mean() < 1.5  # Pillow rounds its mean to an integer


def test_saturation_and_grayscale(img):
    grey = apply("grayscale", img).pixels
    assert np.array_equal(grey[..., 0], np.asarray(Image.fromarray(img).convert("L")))
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 1], grey[..., 2])
    desat = apply("saturation", img, factor=0.0).pixels.astype(int)
    assert np.abs(desat - grey.astype(int)).max() <= 1
    assert np.array_equal(apply("saturation", img, factor=1.0).pixels, img)
    ref = np.asarray(ImageEnhance.Color(Image.fromarray(img)).enhance(1.6)).astype(int)
    assert np.abs(apply("saturation", img, factor=1.6).pixels.astype(int) - ref).max() <= 2


def test_hue_rotates_and_half_turn_twice_returns(img):
    h1 = np.asarray(Image.fromarray(apply("hue", img, shift=0.25).pixels).convert("HSV"))[..., 0].astype(int)
    h0 = np.asarray(Image.fromarray(img).convert("HSV"))[..., 0].astype(int)
    sat = np.asarray(Image.fromarray(img).convert("HSV"))[..., 1] > 60
    diff = (h1 - h0) % 256
    assert np.median(diff[sat]) == 64
    assert np.array_equal(
        apply("hue", img, shift=0.0).pixels, np.asarray(Image.fromarray(img).convert("HSV").convert("RGB"))
    )


def test_gamma_invert_posterize(img):
    g = apply("gamma", img, gamma=0.5).pixels
    assert np.array_equal(g, np.clip(np.rint(255 * (img / 255.0) ** 0.5), 0, 255).astype(np.uint8))
    assert np.array_equal(apply("invert", img).pixels, 255 - img)
    assert np.array_equal(apply("invert", img).pixels, np.asarray(ImageOps.invert(Image.fromarray(img))))
    p = apply("posterize", img, bits=3).pixels
    assert np.array_equal(p, np.asarray(ImageOps.posterize(Image.fromarray(img), 3)))
    assert len(np.unique(p)) <= 8


def test_blur_and_sharpen(img):
    b = apply("blur", img, sigma=2.0).pixels
    assert np.array_equal(b, np.asarray(Image.fromarray(img).filter(ImageFilter.GaussianBlur(2.0))))
    assert np.abs(np.diff(b.astype(int), axis=1)).mean() < np.abs(np.diff(img.astype(int), axis=1)).mean()
    s = apply("sharpen", img, amount=2.0).pixels
    assert np.abs(np.diff(s.astype(int), axis=1)).mean() >= np.abs(np.diff(img.astype(int), axis=1)).mean()


def test_noise_statistics_and_determinism(img):
    mid = np.full((200, 200, 3), 128, np.uint8)
    out = apply("noise", mid, seed=4, sigma=10.0)
    d = out.pixels.astype(float) - 128
    assert abs(d.mean()) < 0.3 and 9.5 < d.std() < 10.5
    assert np.array_equal(out.pixels, apply("noise", mid, seed=4, sigma=10.0).pixels)
    assert not np.array_equal(out.pixels, apply("noise", mid, seed=5, sigma=10.0).pixels)


def test_salt_pepper_share(img):
    mid = np.full((200, 200, 3), 128, np.uint8)
    out = apply("salt_pepper", mid, seed=2, amount=0.1).pixels
    black = (out == 0).all(axis=2).mean()
    white = (out == 255).all(axis=2).mean()
    assert abs(black - 0.05) < 0.01 and abs(white - 0.05) < 0.01
    assert ((out == 128).all(axis=2) | (out == 0).all(axis=2) | (out == 255).all(axis=2)).all()


@pytest.mark.parametrize("kind, fmt", [("jpeg", "JPEG"), ("webp", "WEBP"), ("png", "PNG")])
def test_encoders_return_decodable_bytes(img, kind, fmt):
    out = apply(kind, img, quality=40) if kind != "png" else apply(kind, img)
    assert out.data is not None and out.format == kind and out.params["bytes"] == len(out.data)
    with Image.open(io.BytesIO(out.data)) as im:
        assert im.format == fmt and im.size == (64, 48)
    assert np.array_equal(out.pixels, decode_bytes(out.data))
    again = apply(kind, img, quality=40) if kind != "png" else apply(kind, img)
    assert hashlib.md5(again.data).digest() == hashlib.md5(out.data).digest()


def test_png_is_lossless_and_jpeg_is_not(img):
    assert np.array_equal(apply("png", img).pixels, img)
    q10 = apply("jpeg", img, quality=10)
    q95 = apply("jpeg", img, quality=95)
    err = lambda o: np.abs(o.pixels.astype(int) - img).mean()  # noqa: E731
    assert err(q95) < err(q10) and len(q10.data) < len(q95.data)


def test_quality_range_is_an_integer_draw(img):
    qs = {apply("jpeg", img, seed=s, quality=[20, 30]).params["quality"] for s in range(30)}
    assert qs <= set(range(20, 31)) and all(isinstance(q, int) for q in qs) and len(qs) > 3
