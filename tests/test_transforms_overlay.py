"""Overlay transforms change the region they name, keep the rest, and are deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from hashbench import transforms as tf
from hashbench.errors import UsageError

rng0 = lambda seed=0: np.random.default_rng(seed)  # noqa: E731


@pytest.fixture(scope="module")
def grey() -> np.ndarray:
    return np.full((120, 160, 3), 100, np.uint8)


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a != b).any(axis=2)


def test_text_overlay_writes_in_the_named_band(grey):
    out = tf.get("text_overlay", text="hello world", size=0.12, position="bottom").apply(grey, rng0())
    mask = changed(out.pixels, grey)
    rows = np.nonzero(mask.any(axis=1))[0]
    assert out.pixels.shape == grey.shape and mask.mean() > 0.01
    assert rows.min() > 120 * 0.6  # only the bottom of the image is touched
    assert out.params["text"] == "hello world" and out.params["font_size"] >= 6
    # white text with a black outline
    assert (out.pixels == 255).all(axis=2).any() and (out.pixels == 0).all(axis=2).any()


def test_random_caption_is_recorded_and_reproducible(grey):
    t = tf.get("text_overlay", position="random")
    a, b = t.apply(grey, rng0(3)), t.apply(grey, rng0(3))
    assert a.params == b.params and np.array_equal(a.pixels, b.pixels) and a.params["text"]
    texts = {t.apply(grey, rng0(s)).params["text"] for s in range(20)}
    assert len(texts) > 3


def test_logo_opacity_and_corner(grey):
    faint = tf.get("logo", opacity=0.2, scale=0.3, position="bottom-right").apply(grey, rng0(1))
    solid = tf.get("logo", opacity=1.0, scale=0.3, position="bottom-right").apply(grey, rng0(1))
    x, y = solid.params["xy"]
    size = solid.params["size_px"]
    assert x + size <= 160 and y + size <= 120 and x > 80 and y > 60
    m = changed(solid.pixels, grey)
    assert not m[:y, :].any() and not m[:, :x].any()
    dev = lambda o: np.abs(o.pixels.astype(int) - 100).sum()  # noqa: E731
    assert 0 < dev(faint) < 0.35 * dev(solid)


def test_sticker_count_and_area(grey):
    out = tf.get("sticker", count=3, scale=0.2).apply(grey, rng0(2))
    assert len(out.params["stickers"]) == 3 and out.pixels.shape == grey.shape
    share = changed(out.pixels, grey).mean()
    assert 0.02 < share < 0.4


def test_meme_adds_caption_bars(grey):
    top = tf.get("meme", text="caption", bar=0.25, position="top").apply(grey, rng0())
    bar = top.params["bar_px"]
    assert bar == 30 and top.pixels.shape == (150, 160, 3)
    assert np.array_equal(top.pixels[bar:], grey)
    band = top.pixels[:bar]
    assert (band == 255).mean() > 0.6 and (band < 80).any()  # white bar with dark text
    both = tf.get("meme", bar=0.1, position="both").apply(grey, rng0())
    assert both.pixels.shape == (120 + 2 * 12, 160, 3) and len(both.params["texts"]) == 2


@pytest.mark.parametrize("style", ["browser", "phone", "chat"])
def test_screenshot_embeds_the_scaled_image(style):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    out = tf.get("screenshot", scale=0.5, style=style).apply(img, rng0())
    x, y, iw, ih = out.params["box"]
    assert out.pixels.shape == img.shape and (iw, ih) == (80, 60)
    from PIL import Image

    ref = np.asarray(Image.fromarray(img).resize((80, 60), Image.Resampling.BILINEAR))
    assert np.array_equal(out.pixels[y : y + ih, x : x + iw], ref)


def test_overlay_parameter_checks():
    with pytest.raises(UsageError):
        tf.get("meme", position="left")
    with pytest.raises(UsageError):
        tf.get("logo", position="middle")
    with pytest.raises(UsageError):
        tf.get("text_overlay", colour="nocolour").apply(np.zeros((20, 20, 3), np.uint8), rng0())
