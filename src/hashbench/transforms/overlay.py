"""Overlay edits: captions, watermarks, stickers, meme bars and screenshots.

These are the edits people make when they re-share a picture. They cover part of the image
with new content, so they test how much of a hash depends on local regions. Text uses the fonts
of :mod:`hashbench.fonts` (Pillow's bundled font, matplotlib's DejaVu): no system
font is needed. Random choices (words, places, colours) come from the ``rng`` given to
``apply`` and are recorded in the output's parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..errors import UsageError
from ..fonts import get_font
from .base import RGBArray, Transform, register, resolve_colour

__all__ = ["TextOverlay", "LogoOverlay", "Sticker", "MemeCaption", "Screenshot", "CAPTIONS", "CAPTION_WORDS"]

#: harmless captions that random text overlays and meme bars are drawn from
CAPTIONS = (
    "when the weekend finally arrives",
    "me after one cup of coffee",
    "best day ever",
    "look at this view",
    "nobody expected that",
    "monday mood",
    "throwback to last summer",
    "so proud of this team",
    "this is fine",
    "my new favourite place",
    "happy birthday to the best",
    "can't stop laughing",
    "what a time to be alive",
    "when you find the last cookie",
    "good morning everyone",
    "trust me it was worth it",
)
#: words for short random UI text (screenshots)
CAPTION_WORDS = tuple(sorted({w for c in CAPTIONS for w in c.split()}))

PLACES = ("random", "center", "top", "bottom", "top-left", "top-right", "bottom-left", "bottom-right")


def _words(rng: np.random.Generator, lo: int, hi: int) -> str:
    idx = rng.integers(0, len(CAPTION_WORDS), int(rng.integers(lo, hi + 1)))
    return " ".join(CAPTION_WORDS[i] for i in idx.tolist())


def _caption(rng: np.random.Generator) -> str:
    return CAPTIONS[int(rng.integers(0, len(CAPTIONS)))]


def _place(position: str, w: int, h: int, bw: int, bh: int, rng: np.random.Generator, margin: int) -> tuple[int, int]:
    """Top-left corner of a ``bw`` x ``bh`` box placed at ``position`` inside ``w`` x ``h``."""
    xs = {"left": margin, "center": (w - bw) // 2, "right": w - bw - margin}
    ys = {"top": margin, "center": (h - bh) // 2, "bottom": h - bh - margin}
    if position == "random":
        return int(rng.integers(0, max(1, w - bw + 1))), int(rng.integers(0, max(1, h - bh + 1)))
    if position == "center":
        return xs["center"], ys["center"]
    if position in ("top", "bottom"):
        return xs["center"], ys[position]
    if position in ("top-left", "top-right", "bottom-left", "bottom-right"):
        v, hz = position.split("-")
        return xs[hz], ys[v]
    raise UsageError(f"unknown position {position!r}; use one of {', '.join(PLACES)}")


def _fit_font(text: str, style: str, size: int, max_width: float) -> ImageFont.FreeTypeFont:
    """The largest font <= ``size`` in which ``text`` fits ``max_width`` (never below 6 px)."""
    font = get_font(style, size)
    width = font.getlength(text)
    if width > max_width and width > 0:
        size = max(6, int(size * max_width / width))
        font = get_font(style, size)
    return font


def _check_position(params: Mapping[str, Any]) -> None:
    if params["position"] not in PLACES:
        raise UsageError(f"unknown position {params['position']!r}; use one of {', '.join(PLACES)}")


@register
class TextOverlay(Transform):
    kind = "text_overlay"
    description = "write a caption over the image (outlined text), `size` x image height tall"
    defaults = {"text": "", "size": 0.08, "position": "bottom", "colour": "white", "outline": "black"}
    param_help = {
        "text": "the words; empty = a random caption drawn per image",
        "size": "text height as a share of the image height",
        "position": ", ".join(PLACES),
        "colour": "text colour (name, #rrggbb, [r, g, b], random)",
        "outline": "outline colour, or none",
    }
    ranged = frozenset({"size"})

    def validate(self, params: Mapping[str, Any]) -> None:
        _check_position(params)

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        h, w = image.shape[:2]
        text = params["text"] or _caption(rng)
        font = _fit_font(text, "sans-bold", max(6, int(h * float(params["size"]))), 0.92 * w)
        stroke = 0 if params["outline"] == "none" else max(1, font.size // 12)
        # Pillow measures whole pixels (ints at run time) but annotates the box as float: int() is exact.
        left, top, right, bottom = (int(v) for v in font.getbbox(text, stroke_width=stroke))
        x, y = _place(params["position"], w, h, right - left, bottom - top, rng, max(2, h // 40))
        canvas = Image.fromarray(image)
        ImageDraw.Draw(canvas).text(
            (x - left, y - top),
            text,
            font=font,
            fill=resolve_colour(params["colour"], rng),
            stroke_width=stroke,
            stroke_fill=None if params["outline"] == "none" else resolve_colour(params["outline"], rng),
        )
        params.update(text=text, font_size=font.size, xy=[x, y])
        return np.asarray(canvas)


def _logo(rng: np.random.Generator, size: int) -> Image.Image:
    """A small generated RGBA logo: a coloured badge with two letters, like a channel watermark."""
    logo = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(logo)
    colour = tuple(int(v) for v in rng.integers(30, 230, 3)) + (255,)
    shape = int(rng.integers(0, 3))
    if shape == 0:
        draw.ellipse([0, 0, size - 1, size - 1], fill=colour)
    elif shape == 1:
        draw.rounded_rectangle([0, 0, size - 1, size - 1], radius=size // 5, fill=colour)
    else:
        draw.regular_polygon((size / 2, size / 2, size / 2), 6, rotation=float(rng.uniform(0, 60)), fill=colour)
    letters = "".join(chr(ord("A") + int(i)) for i in rng.integers(0, 26, 2))
    font = _fit_font(letters, "sans-bold", int(size * 0.5), size * 0.8)
    draw.text((size / 2, size / 2), letters, font=font, fill=(255, 255, 255, 255), anchor="mm")
    return logo


@register
class LogoOverlay(Transform):
    kind = "logo"
    description = "stamp a generated logo watermark, `scale` x the shorter side wide, at `opacity`"
    defaults = {"opacity": 0.5, "scale": 0.2, "position": "bottom-right"}
    param_help = {
        "opacity": "0 (invisible) .. 1 (opaque)",
        "scale": "logo width as a share of the shorter side",
        "position": ", ".join(PLACES),
    }
    ranged = frozenset({"opacity", "scale"})

    def validate(self, params: Mapping[str, Any]) -> None:
        _check_position(params)

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        h, w = image.shape[:2]
        size = max(4, int(min(w, h) * float(params["scale"])))
        logo = _logo(rng, size)
        alpha = np.asarray(logo.getchannel("A"), dtype=np.float32) * (float(params["opacity"]) / 255.0)
        x, y = _place(params["position"], w, h, size, size, rng, max(2, min(w, h) // 30))
        params.update(xy=[x, y], size_px=size)
        return _blend(image, np.asarray(logo.convert("RGB")), alpha, x, y)


def _blend(image: RGBArray, patch: RGBArray, alpha: np.ndarray, x: int, y: int) -> RGBArray:
    """Alpha-blend ``patch`` (with float ``alpha`` in 0..1) onto a copy of ``image`` at (x, y), clipped to the image."""
    out = image.copy()
    h, w = image.shape[:2]
    ph, pw = patch.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + pw), min(h, y + ph)
    if x0 >= x1 or y0 >= y1:
        return out
    a = alpha[y0 - y : y1 - y, x0 - x : x1 - x, None]
    region = out[y0:y1, x0:x1].astype(np.float32)
    src = patch[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.float32)
    out[y0:y1, x0:x1] = np.clip(np.rint(region + a * (src - region)), 0, 255).astype(np.uint8)
    return out


def _sticker(rng: np.random.Generator, size: int) -> tuple[Image.Image, str]:
    """An emoji-like RGBA sticker (smiley, heart, star or speech bubble) with a dark outline."""
    s = size
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    line = max(1, s // 24)
    kind = ("smiley", "heart", "star", "bubble")[int(rng.integers(0, 4))]
    ink = (40, 30, 20, 255)
    if kind == "smiley":
        d.ellipse([line, line, s - line, s - line], fill=(255, 204, 40, 255), outline=ink, width=line)
        e = s * 0.09
        for cx in (0.35, 0.65):
            d.ellipse([s * cx - e, s * 0.38 - e * 1.4, s * cx + e, s * 0.38 + e * 1.4], fill=ink)
        d.arc([s * 0.25, s * 0.3, s * 0.75, s * 0.78], 20, 160, fill=ink, width=max(1, s // 14))
    elif kind == "heart":
        red = (230, 40, 70, 255)
        r = s * 0.26
        d.ellipse([s * 0.5 - 2 * r, s * 0.12, s * 0.5, s * 0.12 + 2 * r], fill=red)
        d.ellipse([s * 0.5, s * 0.12, s * 0.5 + 2 * r, s * 0.12 + 2 * r], fill=red)
        d.polygon(
            [(s * 0.5 - 2 * r + 2, s * 0.12 + r * 1.3), (s * 0.5 + 2 * r - 2, s * 0.12 + r * 1.3), (s * 0.5, s * 0.92)],
            fill=red,
        )
    elif kind == "star":
        ang = np.linspace(0, 2 * np.pi, 10, endpoint=False) - np.pi / 2
        rad = np.where(np.arange(10) % 2 == 0, s * 0.48, s * 0.2)
        pts = list(zip((s / 2 + rad * np.cos(ang)).tolist(), (s / 2 + rad * np.sin(ang)).tolist()))
        d.polygon(pts, fill=(255, 210, 30, 255), outline=ink, width=line)
    else:
        d.rounded_rectangle(
            [line, line, s - line, s * 0.72], radius=s // 6, fill=(255, 255, 255, 255), outline=ink, width=line
        )
        d.polygon(
            [(s * 0.25, s * 0.7), (s * 0.45, s * 0.7), (s * 0.2, s * 0.95)], fill=(255, 255, 255, 255), outline=ink
        )
        font = _fit_font("lol!", "sans-bold", int(s * 0.3), s * 0.8)
        d.text((s / 2, s * 0.37), "lol!", font=font, fill=ink, anchor="mm")
    return img, kind


@register
class Sticker(Transform):
    kind = "sticker"
    description = "paste `count` emoji-like stickers (smiley, heart, star, bubble), `scale` x shorter side"
    defaults = {"count": 1, "scale": 0.25, "position": "random"}
    param_help = {
        "count": "number of stickers",
        "scale": "sticker size as a share of the shorter side",
        "position": ", ".join(PLACES),
    }
    ranged = frozenset({"count", "scale"})
    integer = frozenset({"count"})

    def validate(self, params: Mapping[str, Any]) -> None:
        _check_position(params)

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        h, w = image.shape[:2]
        out = image
        placed = []
        for _ in range(int(params["count"])):
            size = max(6, int(min(w, h) * float(params["scale"]) * rng.uniform(0.85, 1.15)))
            sticker, kind = _sticker(rng, size)
            angle = float(rng.uniform(-25, 25))
            sticker = sticker.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
            x, y = _place(params["position"], w, h, sticker.width, sticker.height, rng, 2)
            alpha = np.asarray(sticker.getchannel("A"), dtype=np.float32) / 255.0
            out = _blend(out, np.asarray(sticker.convert("RGB")), alpha, x, y)
            placed.append({"kind": kind, "xy": [x, y], "size": size, "angle": round(angle, 2)})
        params["stickers"] = placed
        return out


@register
class MemeCaption(Transform):
    kind = "meme"
    description = "add a white caption bar (`bar` x height) with black text above and/or below"
    defaults = {"text": "", "bar": 0.2, "position": "top"}
    param_help = {
        "text": "caption; empty = a random caption drawn per image",
        "bar": "bar height as a share of the image height",
        "position": "top, bottom or both",
    }
    ranged = frozenset({"bar"})

    def validate(self, params: Mapping[str, Any]) -> None:
        if params["position"] not in ("top", "bottom", "both"):
            raise UsageError(f"meme: position must be top, bottom or both, got {params['position']!r}")

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        h, w = image.shape[:2]
        bar = max(8, int(round(h * float(params["bar"]))))
        places = ("top", "bottom") if params["position"] == "both" else (params["position"],)
        canvas = Image.new("RGB", (w, h + bar * len(places)), (255, 255, 255))
        canvas.paste(Image.fromarray(image), (0, bar if "top" in places else 0))
        draw = ImageDraw.Draw(canvas)
        texts = []
        for place in places:
            text = params["text"] or _caption(rng)
            font = _fit_font(text, "sans-bold", int(bar * 0.55), 0.94 * w)
            y = bar / 2 if place == "top" else canvas.height - bar / 2
            draw.text((w / 2, y), text, font=font, fill=(0, 0, 0), anchor="mm")
            texts.append(text)
        params.update(texts=texts, bar_px=bar)
        return np.asarray(canvas)


@register
class Screenshot(Transform):
    kind = "screenshot"
    description = "show the image at `scale` of the width inside a browser/phone-like window, same size"
    defaults = {"scale": 0.7, "style": "random"}
    param_help = {"scale": "image width as a share of the window width", "style": "browser, phone, chat or random"}
    ranged = frozenset({"scale"})

    def validate(self, params: Mapping[str, Any]) -> None:
        if params["style"] not in ("browser", "phone", "chat", "random"):
            raise UsageError(f"screenshot: style must be browser, phone, chat or random, got {params['style']!r}")

    def _apply(self, image: RGBArray, params: dict[str, Any], rng: np.random.Generator) -> RGBArray:
        h, w = image.shape[:2]
        style = params["style"]
        if style == "random":
            style = ("browser", "phone", "chat")[int(rng.integers(0, 3))]
        dark = bool(rng.random() < 0.3)
        bg = (32, 33, 36) if dark else (250, 250, 250)
        fg = (230, 230, 230) if dark else (40, 40, 40)
        chrome = (53, 54, 58) if dark else (222, 225, 230)
        canvas = Image.new("RGB", (w, h), bg)
        draw = ImageDraw.Draw(canvas)
        m = min(w, h)
        bar = max(6, int(h * 0.09))
        font = get_font("sans", max(6, int(bar * 0.42)))
        if style == "browser":
            draw.rectangle([0, 0, w, bar], fill=chrome)
            for k, col in enumerate(((237, 106, 94), (245, 191, 79), (98, 197, 84))):
                r = bar * 0.16
                cx = bar * 0.4 + k * bar * 0.45
                draw.ellipse([cx - r, bar / 2 - r, cx + r, bar / 2 + r], fill=col)
            draw.rounded_rectangle([bar * 1.8, bar * 0.2, w - bar * 0.4, bar * 0.8], radius=bar * 0.3, fill=bg)
            draw.text(
                (bar * 2.1, bar / 2),
                "https://example.org/" + _words(rng, 1, 2).replace(" ", "-"),
                font=font,
                fill=fg,
                anchor="lm",
            )
        else:
            draw.rectangle(
                [0, 0, w, bar], fill=chrome if style == "phone" else tuple(int(v) for v in rng.integers(40, 200, 3))
            )
            draw.text(
                (bar * 0.4, bar / 2), "9:41", font=font, fill=fg if style == "phone" else (255, 255, 255), anchor="lm"
            )
        scale = min(float(params["scale"]), (h - bar - 2) / h)  # the picture must fit under the bar
        iw, ih = max(1, int(w * scale)), max(1, int(h * scale))
        x = (w - iw) // 2 if style != "chat" else int(m * 0.04)
        y = bar + max(1, (h - bar - ih) // 3)
        if style == "chat":
            draw.rounded_rectangle([x - 3, y - 3, x + iw + 3, y + ih + 3], radius=max(2, m // 40), fill=chrome)
        canvas.paste(Image.fromarray(image).resize((iw, ih), Image.Resampling.BILINEAR), (x, y))
        # a few lines of UI text under the picture
        ty = y + ih + max(2, int(bar * 0.3))
        while ty + font.size < h:
            draw.text((x, ty), _words(rng, 2, 6), font=font, fill=fg)
            ty += int(font.size * 1.5)
        params.update(style=style, box=[x, y, iw, ih], dark=dark)
        return np.asarray(canvas)
