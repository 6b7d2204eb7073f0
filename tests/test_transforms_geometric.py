"""Geometric transforms do what their names say, against numpy/Pillow references, deterministically."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from hashbench import transforms as tf
from hashbench.errors import UsageError
from hashbench.transforms.geometric import crop_box, largest_rotated_rect

rng0 = lambda seed=0: np.random.default_rng(seed)  # noqa: E731


@pytest.fixture(scope="module")
def img() -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (60, 90, 3), dtype=np.uint8)  # non-square: catches swapped axes


@pytest.mark.parametrize(
    "kind, reference",
    [
        ("hflip", np.fliplr),
        ("vflip", np.flipud),
        ("rotate90", lambda a: np.rot90(a, 1)),
        ("rotate180", lambda a: np.rot90(a, 2)),
        ("rotate270", lambda a: np.rot90(a, 3)),
        ("transpose", lambda a: np.transpose(a, (1, 0, 2))),
        ("transverse", lambda a: np.rot90(np.transpose(a, (1, 0, 2)), 2)),
    ],
)
def test_dihedral_exact(img, kind, reference):
    out = tf.get(kind).apply(img, rng0())
    assert np.array_equal(out.pixels, reference(img))
    assert out.params == {} and out.name == kind and out.data is None


def test_dihedral_matches_pillow(img):
    pil = Image.fromarray(img)
    assert np.array_equal(
        tf.get("rotate90").apply(img, rng0()).pixels, np.asarray(pil.transpose(Image.Transpose.ROTATE_90))
    )
    assert np.array_equal(
        tf.get("transverse").apply(img, rng0()).pixels, np.asarray(pil.transpose(Image.Transpose.TRANSVERSE))
    )


def test_dihedral_suite_is_the_seven_non_identity_elements(img):
    outs = [o.pixels for o in tf.apply_suite(img, tf.get_suite("dihedral"), 0, "x")]
    keys = {o.tobytes() + bytes(o.shape[:2]) for o in outs} | {img.tobytes() + bytes(img.shape[:2])}
    assert len(outs) == 7 and len(keys) == 8


@pytest.mark.parametrize("position", ["center", "top-left", "top-right", "bottom-left", "bottom-right", "random"])
def test_crop_keeps_the_named_fraction(img, position):
    out = tf.get("crop", fraction=0.6, position=position).apply(img, rng0(3))
    x0, y0, cw, ch = out.params["box"]
    assert (cw, ch) == (round(90 * 0.6), round(60 * 0.6)) == (out.pixels.shape[1], out.pixels.shape[0])
    assert np.array_equal(out.pixels, img[y0 : y0 + ch, x0 : x0 + cw])
    assert abs(cw * ch / (90 * 60) - 0.36) < 0.01


def test_crop_positions_and_random_determinism(img):
    assert crop_box(90, 60, 0.5, "bottom-right", rng0()) == (45, 30, 45, 30)
    a = tf.get("crop", fraction=0.5, position="random").apply(img, rng0(7)).params["box"]
    b = tf.get("crop", fraction=0.5, position="random").apply(img, rng0(7)).params["box"]
    boxes = {
        tuple(tf.get("crop", fraction=0.5, position="random").apply(img, rng0(s)).params["box"]) for s in range(20)
    }
    assert a == b and len(boxes) > 5


def test_crop_fraction_range_is_drawn_and_recorded(img):
    t = tf.get("crop", fraction=[0.5, 0.9])
    fr = [t.apply(img, rng0(s)).params["fraction"] for s in range(10)]
    assert all(0.5 <= f <= 0.9 for f in fr) and len(set(fr)) == 10
    with pytest.raises(UsageError):
        tf.get("crop", fraction=1.5)


def test_resize_and_downscale_upscale(img):
    out = tf.get("resize", scale=0.5).apply(img, rng0())
    assert out.pixels.shape == (30, 45, 3) and out.params["size"] == [45, 30]
    ref = np.asarray(Image.fromarray(img).resize((45, 30), Image.Resampling.BICUBIC))
    assert np.array_equal(out.pixels, ref)
    du = tf.get("downscale_upscale", scale=0.25).apply(img, rng0()).pixels
    assert du.shape == img.shape
    # detail is lost: the result is much smoother than the noise it came from
    assert np.abs(np.diff(du.astype(int), axis=1)).mean() < 0.5 * np.abs(np.diff(img.astype(int), axis=1)).mean()


def test_pad_border_and_colour(img):
    out = tf.get("pad", fraction=0.1, colour="white").apply(img, rng0())
    px, py = out.params["border"]
    assert (px, py) == (9, 6) and out.pixels.shape == (60 + 12, 90 + 18, 3)
    assert np.array_equal(out.pixels[py : py + 60, px : px + 90], img)
    assert (out.pixels[:py] == 255).all() and (out.pixels[:, :px] == 255).all()
    lb = tf.get("pad", fraction=0.2, sides="top-bottom", colour="#102030").apply(img, rng0()).pixels
    assert lb.shape == (60 + 24, 90, 3) and tuple(lb[0, 0]) == (16, 32, 48)


def test_stretch_changes_aspect_only_on_its_axis(img):
    assert tf.get("stretch", factor=1.5).apply(img, rng0()).pixels.shape == (60, 135, 3)
    assert tf.get("stretch", factor=0.5, axis="y").apply(img, rng0()).pixels.shape == (30, 90, 3)


def test_rotate_modes(img):
    assert np.array_equal(tf.get("rotate", degrees=0.0, mode="same").apply(img, rng0()).pixels, img)
    exp = tf.get("rotate", degrees=30.0, mode="expand").apply(img, rng0()).pixels
    w, h = 90, 60
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    assert abs(exp.shape[1] - (w * c + h * s)) <= 2 and abs(exp.shape[0] - (w * s + h * c)) <= 2
    cr = tf.get("rotate", degrees=30.0, mode="crop").apply(np.full((60, 90, 3), 200, np.uint8), rng0())
    wr, hr = largest_rotated_rect(90, 60, math.radians(30))
    assert cr.pixels.shape[:2] == (int(hr), int(wr))
    # no black corner survives the crop: all pixels stay near the flat input level
    assert cr.pixels.min() > 150
    # 90 degrees with expand equals the exact rotation
    assert np.array_equal(tf.get("rotate", degrees=90.0, mode="expand").apply(img, rng0()).pixels, np.rot90(img))


def test_perspective_and_shear_keep_size_and_are_deterministic(img):
    for t in (tf.get("perspective", strength=0.1), tf.get("shear", factor=0.2), tf.get("shear", factor=0.2, axis="y")):
        a = t.apply(img, rng0(5))
        b = t.apply(img, rng0(5))
        assert a.pixels.shape == img.shape and np.array_equal(a.pixels, b.pixels) and a.params == b.params
        assert not np.array_equal(a.pixels, img)
    # zero strength / factor is the identity
    assert np.array_equal(tf.get("shear", factor=0.0).apply(img, rng0()).pixels, img)
    p0 = tf.get("perspective", strength=0.0).apply(img, rng0())
    assert np.abs(p0.pixels.astype(int) - img).max() <= 1


def test_unknown_parameters_are_refused():
    with pytest.raises(UsageError, match="no parameter"):
        tf.get("crop", size=3)
    with pytest.raises(UsageError, match="unknown transform"):
        tf.get("twirl")
    with pytest.raises(UsageError):
        tf.get("rotate", mode="spin")
