"""Synthetic benign images: unlimited, reproducible, and shaped like the images hashes meet.

A false-positive rate is a property of a hasher *and* of the images it is measured on. Real photo
collections are finite and cannot be redistributed, so hashbench also generates images from a few
families that each stand for a kind of content with its own collision behaviour:

``dead-leaves``
    occluding random shapes whose sizes follow the scale-invariant r^-3 law, each with a flat,
    graded or striped texture: the dead-leaves model, which reproduces the edge and power-spectrum
    statistics of natural photographs.
``fractal``
    1/f^beta colour noise with beta drawn in [1, 3.6] (rough to very smooth), i.e. random fields
    with the spectral slope of natural scenes but no objects.
``shapes``
    flat-colour geometric compositions over gradients: simple graphics, icons and logos.
``text``
    document pages, chat screenshots, code editors, tables and slides with rendered text; a
    known source of near-collisions because their layouts share structure.
``low-detail``
    near-uniform and very smooth images, where PDQ's quality is low and hashes are unstable.
``mixed``
    an even mix: index ``i`` is drawn from family ``FAMILIES[i % 5]`` with its own random stream.

Every image is a pure function of ``(family, index, seed, size, redraw)``: its random generator
is ``PCG64(SeedSequence([seed, crc32(family), index]))`` (``[..., index, redraw]`` for a redraw),
so an image can be made alone, in any order, in any process, and is byte-identical each time
(same platform and package versions; Pillow's rasteriser and FreeType's glyphs are part of the
recipe).

**Distinct draws.** A dataset never emits the same picture twice (:mod:`.distinct`: a mean CIELAB
difference below one JND on a 16 x 16 downscale, a criterion no hasher under test takes part
in). Indices are drawn in order from 0; a draw that is the same picture as an earlier accepted
one is drawn again with the next ``redraw`` step until it is not. The redraw count of every
index is part of its item's recipe (``source["redraw"]``), so workers re-make the same image
without repeating the search. Only flat, near-uniform ``low-detail`` draws need it in practice
(about 3% of 1,000 draws; more as the count grows and flat colours run out); the family keeps
its hard low-texture cases, whose share is reported (:meth:`SyntheticDataset.population`).
``distinct=false`` turns the rule off (the draws of hashbench before it).
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from ..errors import UsageError
from ..fonts import get_font
from ..parallel import ordered_chunked_map
from .base import Dataset, Item, RGBArray, register
from .distinct import CRITERION, DistinctSet, signature

__all__ = [
    "FAMILIES",
    "ALL_FAMILIES",
    "FAMILY_DESCRIPTIONS",
    "Size",
    "parse_size",
    "image_rng",
    "generate",
    "SyntheticItem",
    "SyntheticDataset",
    "distinct_redraws",
    "export",
]

#: the five content families (``mixed`` draws from these in turn)
FAMILIES: tuple[str, ...] = ("dead-leaves", "fractal", "shapes", "text", "low-detail")
#: every family name accepted by :func:`generate`
ALL_FAMILIES: tuple[str, ...] = FAMILIES + ("mixed",)

FAMILY_DESCRIPTIONS: dict[str, str] = {
    "dead-leaves": "occluding random shapes, scale-invariant sizes and textures (natural-image statistics)",
    "fractal": "1/f^beta colour noise, beta in [1, 3.6] (rough to smooth)",
    "shapes": "flat-colour geometric compositions over gradients (graphics, icons, logos)",
    "text": "documents, chat screenshots, code, tables and slides with rendered text",
    "low-detail": "near-uniform and very smooth images (low PDQ quality)",
    "mixed": "an even mix of the five families above (index i -> family i % 5)",
}

Size = tuple[int, int]  # (width, height), Pillow's order
_Generator = Callable[[np.random.Generator, int, int], RGBArray]


def parse_size(size: int | str | tuple[int, int] | list[int]) -> Size:
    """``256`` -> (256, 256); ``"1024x768"`` or ``(1024, 768)`` -> (1024, 768) as (width, height)."""
    if isinstance(size, str):
        text = size.lower().strip()
        if "x" in text:
            w_text, _, h_text = text.partition("x")
            try:
                w, h = int(w_text), int(h_text)
            except ValueError:
                raise UsageError(f"bad size {size!r}: expected N or WIDTHxHEIGHT") from None
        else:
            try:
                w = h = int(text)
            except ValueError:
                raise UsageError(f"bad size {size!r}: expected N or WIDTHxHEIGHT") from None
    elif isinstance(size, (tuple, list)):
        if len(size) != 2:
            raise UsageError(f"bad size {size!r}: expected (width, height)")
        w, h = int(size[0]), int(size[1])
    else:
        w = h = int(size)
    if not (16 <= w <= 16384 and 16 <= h <= 16384):
        raise UsageError(f"size {w}x{h} is outside 16..16384 pixels per side")
    return w, h


def _family_key(family: str) -> int:
    return zlib.crc32(family.encode("utf-8"))


def image_rng(family: str, index: int, seed: int, redraw: int = 0) -> np.random.Generator:
    """The random generator that fully determines image ``index`` of ``family`` for ``seed``
    (``redraw`` > 0: its ``redraw``-th redraw, after same pictures)."""
    if index < 0 or seed < 0 or redraw < 0:
        raise UsageError(f"index, seed and redraw must be non-negative (got {index}, {seed}, {redraw})")
    entropy = [seed, _family_key(family), index] + ([redraw] if redraw else [])
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def generate(
    family: str, index: int, seed: int = 0, size: int | str | tuple[int, int] = 256, redraw: int = 0
) -> RGBArray:
    """Image ``index`` of ``family`` for ``seed``: (H, W, 3) uint8 RGB, a pure function of its args."""
    if family not in ALL_FAMILIES:
        raise UsageError(f"unknown synthetic family {family!r}; families: {', '.join(ALL_FAMILIES)}")
    w, h = parse_size(size)
    rng = image_rng(family, int(index), int(seed), int(redraw))
    gen_family = FAMILIES[int(index) % len(FAMILIES)] if family == "mixed" else family
    img = _GENERATORS[gen_family](rng, w, h)
    assert img.shape == (h, w, 3) and img.dtype == np.uint8, (gen_family, img.shape, img.dtype)
    return np.ascontiguousarray(img)


# ----------------------------------------------------------------------------------------------
# shared helpers


def _hsv_to_rgb(hue: npt.ArrayLike, sat: npt.ArrayLike, val: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Vectorised HSV (each in [0, 1]) to RGB in [0, 255], shape (..., 3)."""
    h = np.asarray(hue, dtype=np.float32) % 1.0
    s = np.asarray(sat, dtype=np.float32)
    v = np.asarray(val, dtype=np.float32)
    k = (np.array([5.0, 3.0, 1.0], dtype=np.float32) + h[..., None] * 6.0) % 6.0
    rgb = v[..., None] - v[..., None] * s[..., None] * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)
    return rgb * 255.0


def _palette(rng: np.random.Generator, count: int) -> npt.NDArray[np.float32]:
    """``count`` colours that belong together: a base hue plus harmonious offsets."""
    base = rng.random()
    scheme = rng.choice(np.array([0.0, 1 / 12, 1 / 6, 1 / 3, 0.5]))
    offsets = rng.integers(-2, 3, count) * scheme + rng.normal(0.0, 0.03, count)
    sat = np.clip(rng.beta(2.0, 1.6, count) * rng.uniform(0.4, 1.0), 0.0, 1.0)
    val = np.clip(rng.beta(2.5, 1.4, count), 0.05, 1.0)
    return _hsv_to_rgb(base + offsets, sat, val)


@functools.lru_cache(maxsize=16)
def _unit_grid(w: int, h: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Pixel-centre coordinates scaled so the shorter side spans [-1, 1] (row and column vectors)."""
    m = float(min(w, h))
    x = ((np.arange(w, dtype=np.float32) + 0.5) - w / 2.0) * (2.0 / m)
    y = ((np.arange(h, dtype=np.float32) + 0.5) - h / 2.0) * (2.0 / m)
    x.setflags(write=False)
    y.setflags(write=False)
    return x[None, :], y[:, None]


def _linear_gradient(
    rng: np.random.Generator, w: int, h: int, c0: npt.ArrayLike, c1: npt.ArrayLike
) -> npt.NDArray[np.float32]:
    """A (h, w, 3) float32 gradient from ``c0`` to ``c1`` along a random direction."""
    x, y = _unit_grid(w, h)
    angle = rng.uniform(0.0, 2 * np.pi)
    t = np.clip((x * np.float32(np.cos(angle)) + y * np.float32(np.sin(angle))) * 0.5 + 0.5, 0.0, 1.0)
    c0 = np.asarray(c0, dtype=np.float32)
    c1 = np.asarray(c1, dtype=np.float32)
    return c0 + t[..., None] * (c1 - c0)


def _radial_gradient(
    rng: np.random.Generator, w: int, h: int, c0: npt.ArrayLike, c1: npt.ArrayLike
) -> npt.NDArray[np.float32]:
    x, y = _unit_grid(w, h)
    cx, cy = rng.uniform(-0.6, 0.6, 2).astype(np.float32)
    t = np.clip(np.sqrt((x - cx) ** 2 + (y - cy) ** 2) / np.float32(rng.uniform(0.8, 2.0)), 0.0, 1.0)
    c0 = np.asarray(c0, dtype=np.float32)
    c1 = np.asarray(c1, dtype=np.float32)
    return c0 + t[..., None] * (c1 - c0)


def _to_uint8(img: npt.NDArray[np.floating]) -> RGBArray:
    return np.clip(img, 0.0, 255.0).astype(np.uint8)


def _add_grain(rng: np.random.Generator, img: RGBArray, amplitude: int) -> RGBArray:
    """Add integer luminance grain in [-amplitude, amplitude] (sensor-like, and it makes images distinct)."""
    if amplitude <= 0:
        return img
    h, w, _ = img.shape
    noise = rng.integers(-amplitude, amplitude + 1, size=(h, w, 1), dtype=np.int16)
    return np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------------------------
# dead-leaves


def _dead_leaves(rng: np.random.Generator, w: int, h: int) -> RGBArray:
    """Painter's-algorithm dead leaves: later shapes occlude earlier ones.

    Radii follow the density r^-3 between ``r_min`` and ``r_max`` (relative to the image, so the
    picture is the same at any resolution); shapes are drawn as integer labels into one
    ``I``-mode image, then every pixel's colour and texture is looked up from per-label tables in
    a single vectorised gather.
    """
    m = float(min(w, h))
    n = int(rng.integers(240, 380))
    r_min = 0.025 * m
    r_max = m * rng.uniform(0.2, 0.5)
    u = rng.random(n)
    radius = (r_min**-2 - u * (r_min**-2 - r_max**-2)) ** -0.5
    cx = rng.uniform(-0.1, 1.1, n) * w
    cy = rng.uniform(-0.1, 1.1, n) * h
    aspect = np.exp(rng.normal(0.0, 0.35, n))
    angle = rng.uniform(0.0, np.pi, n)
    # 0: ellipse; 3..7: polygon with that many corners (4 = a rotated, stretched rectangle)
    sides = np.where(rng.random(n) < 0.55, 0, rng.choice([3, 4, 4, 4, 5, 6, 7], n))
    # every polygon's corners at once: corner j of shape i at angle angle_i + 2*pi*j/sides_i
    j = np.arange(7)[None, :]
    theta = angle[:, None] + 2 * np.pi * j / np.maximum(sides, 1)[:, None] + np.pi / 4
    ca, sa = np.cos(angle)[:, None], np.sin(angle)[:, None]
    ux = np.cos(theta - angle[:, None]) * (radius * aspect)[:, None]
    uy = np.sin(theta - angle[:, None]) * (radius / aspect)[:, None]
    px = cx[:, None] + ux * ca - uy * sa
    py = cy[:, None] + ux * sa + uy * ca
    corners = np.stack([px, py], axis=2).reshape(n, 14).tolist()
    hw, hh = radius * aspect, radius / aspect
    boxes = np.stack([cx - hw, cy - hh, cx + hw, cy + hh], axis=1).tolist()

    labels = Image.new("I", (w, h), 0)
    draw = ImageDraw.Draw(labels)
    for i, k in enumerate(sides.tolist()):
        if k == 0:
            draw.ellipse(boxes[i], fill=i + 1)
        else:
            draw.polygon(corners[i][: 2 * k], fill=i + 1)
    label = np.asarray(labels)

    # per-label table: r, g, b, grad_x, grad_y, stripe_amp, stripe_kx, stripe_ky, stripe_phase
    n_lab = n + 1
    pal = _palette(rng, int(rng.integers(3, 7)))
    colour = pal[rng.integers(0, len(pal), n_lab)] * rng.uniform(0.75, 1.25, (n_lab, 1))
    colour += rng.normal(0.0, 12.0, (n_lab, 3))
    table = np.zeros((n_lab, 9), dtype=np.float32)
    table[:, 0:3] = colour
    graded = rng.random(n_lab) < 0.45
    table[:, 3:5] = np.where(graded[:, None], rng.normal(0.0, 0.35, (n_lab, 2)), 0.0)
    striped = rng.random(n_lab) < 0.25
    table[:, 5] = np.where(striped, rng.uniform(0.08, 0.3, n_lab), 0.0)
    freq = rng.uniform(8.0, 40.0, n_lab)
    theta = rng.uniform(0.0, np.pi, n_lab)
    table[:, 6] = freq * np.cos(theta)
    table[:, 7] = freq * np.sin(theta)
    table[:, 8] = rng.uniform(0.0, 2 * np.pi, n_lab)
    x, y = _unit_grid(w, h)
    t = table[label]  # (h, w, 9): one gather for every per-pixel parameter
    shade = 1.0 + t[..., 3] * x + t[..., 4] * y + t[..., 5] * np.sin(t[..., 6] * x + t[..., 7] * y + t[..., 8])
    img = _to_uint8(t[..., 0:3] * shade[..., None])
    return _add_grain(rng, img, int(rng.integers(1, 4)))


# ----------------------------------------------------------------------------------------------
# fractal (1/f^beta noise)


@functools.lru_cache(maxsize=16)
def _log_radial_frequency(w: int, h: int) -> npt.NDArray[np.float32]:
    """log |f| on the rfft2 grid, with the DC term set to +inf so its amplitude is zero."""
    fy = np.fft.fftfreq(h).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(w).astype(np.float32)[None, :]
    with np.errstate(divide="ignore"):
        logf = (0.5 * np.log(fx * fx + fy * fy)).astype(np.float32, copy=False)  # already float32: no copy
    logf[0, 0] = np.inf
    logf.setflags(write=False)
    return logf


def _fractal(rng: np.random.Generator, w: int, h: int) -> RGBArray:
    """Three 1/f^beta fields (one luminance, two smoother chroma) mixed into colour.

    The spectrum is drawn directly in the frequency domain (uniform real and imaginary parts,
    shaped by |f|^(-beta/2)), so one inverse real FFT per channel makes each field.
    """
    logf = _log_radial_frequency(w, h)
    beta = rng.uniform(1.0, 3.6)
    betas = np.array([beta, beta + rng.uniform(0.0, 1.0), beta + rng.uniform(0.0, 1.0)], dtype=np.float32)
    amp = np.exp(-0.5 * betas[:, None, None] * logf[None])
    shape = (3,) + logf.shape
    spec = (rng.random(shape, dtype=np.float32) - 0.5) + 1j * (rng.random(shape, dtype=np.float32) - 0.5)
    fields = np.fft.irfft2((spec * amp).astype(np.complex64), s=(h, w), axes=(1, 2))
    fields /= fields.reshape(3, -1).std(axis=1)[:, None, None] + 1e-12
    # luminance field drives a palette axis; chroma fields tint it
    c0, c1 = _palette(rng, 2)
    contrast = np.float32(rng.uniform(0.25, 0.6))
    t = np.clip(0.5 + contrast * 0.5 * fields[0], 0.0, 1.0)
    img = c0 + t[..., None] * (c1 - c0)
    chroma = np.float32(rng.uniform(4.0, 30.0))
    img[..., 0] += chroma * fields[1]
    img[..., 2] += chroma * fields[2]
    img[..., 1] -= np.float32(0.5) * chroma * (fields[1] + fields[2])
    img += (np.float32(rng.uniform(30.0, 90.0)) * contrast) * fields[0][..., None]
    return _to_uint8(img)


# ----------------------------------------------------------------------------------------------
# shapes (flat graphics)


def _shapes(rng: np.random.Generator, w: int, h: int) -> RGBArray:
    """A few flat-colour shapes over a flat, linear or radial background, like icons and logos."""
    m = float(min(w, h))
    pal = _palette(rng, 6)
    bg = rng.integers(0, 3)
    if bg == 0:
        base = np.broadcast_to(pal[0], (h, w, 3))
    elif bg == 1:
        base = _linear_gradient(rng, w, h, pal[0], pal[1])
    else:
        base = _radial_gradient(rng, w, h, pal[0], pal[1])
    canvas = Image.fromarray(_to_uint8(base))
    draw = ImageDraw.Draw(canvas)
    colours = [tuple(int(v) for v in c) for c in np.clip(pal, 0, 255)]
    n = int(rng.integers(2, 13))
    for _ in range(n):
        col = colours[int(rng.integers(1, 6))]
        kind = int(rng.integers(0, 7))
        cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
        r = m * rng.uniform(0.05, 0.35)
        outline = colours[int(rng.integers(0, 6))] if rng.random() < 0.3 else None
        width = max(1, int(m * rng.uniform(0.005, 0.03)))
        if kind == 0:
            a = np.exp(rng.normal(0, 0.4))
            draw.rectangle([cx - r * a, cy - r / a, cx + r * a, cy + r / a], fill=col, outline=outline, width=width)
        elif kind == 1:
            a = np.exp(rng.normal(0, 0.3))
            draw.ellipse([cx - r * a, cy - r / a, cx + r * a, cy + r / a], fill=col, outline=outline, width=width)
        elif kind == 2:
            a = np.exp(rng.normal(0, 0.4))
            draw.rounded_rectangle(
                [cx - r * a, cy - r / a, cx + r * a, cy + r / a], radius=r * rng.uniform(0.1, 0.5), fill=col
            )
        elif kind == 3:
            draw.regular_polygon((cx, cy, r), int(rng.integers(3, 9)), rotation=rng.uniform(0, 360), fill=col)
        elif kind == 4:  # star
            k = int(rng.integers(4, 9))
            ang = np.linspace(0, 2 * np.pi, 2 * k, endpoint=False) + rng.uniform(0, np.pi)
            rad = np.where(np.arange(2 * k) % 2 == 0, r, r * rng.uniform(0.35, 0.6))
            draw.polygon(list(zip((cx + rad * np.cos(ang)).tolist(), (cy + rad * np.sin(ang)).tolist())), fill=col)
        elif kind == 5:  # concentric rings, a common logo motif
            rings = int(rng.integers(2, 5))
            for j in range(rings):
                rr = r * (1 - j / rings)
                draw.ellipse([cx - rr, cy - rr, cx + rr, cy + rr], fill=colours[(j + 1) % 6])
        else:  # thick line / bar
            x1, y1 = rng.uniform(0, w), rng.uniform(0, h)
            draw.line([(cx, cy), (x1, y1)], fill=col, width=max(2, int(m * rng.uniform(0.01, 0.06))))
    return np.asarray(canvas)


# ----------------------------------------------------------------------------------------------
# text (documents, screenshots, code, tables, slides)

_WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "they",
    "you",
    "were",
    "her",
    "she",
    "there",
    "one",
    "all",
    "we",
    "their",
    "has",
    "been",
    "would",
    "will",
    "more",
    "if",
    "no",
    "when",
    "who",
    "so",
    "what",
    "about",
    "up",
    "out",
    "into",
    "can",
    "time",
    "only",
    "new",
    "some",
    "could",
    "these",
    "two",
    "may",
    "first",
    "then",
    "do",
    "any",
    "like",
    "other",
    "my",
    "than",
    "now",
    "over",
    "such",
    "our",
    "man",
    "me",
    "even",
    "most",
    "made",
    "after",
    "also",
    "did",
    "many",
    "before",
    "must",
    "through",
    "back",
    "years",
    "where",
    "much",
    "your",
    "way",
    "well",
    "down",
    "should",
    "because",
    "each",
    "just",
    "those",
    "people",
    "how",
    "too",
    "little",
    "state",
    "good",
    "very",
    "make",
    "world",
    "still",
    "own",
    "see",
    "men",
    "work",
    "long",
    "get",
    "here",
    "between",
    "both",
    "life",
    "being",
    "under",
    "never",
    "day",
    "same",
    "another",
    "know",
    "while",
    "last",
    "might",
    "us",
    "great",
    "old",
    "year",
    "off",
    "come",
    "since",
    "against",
    "go",
    "came",
    "right",
    "used",
    "take",
    "three",
    "report",
    "data",
    "value",
    "system",
    "result",
    "table",
    "figure",
    "section",
    "method",
    "model",
    "image",
    "hash",
    "match",
    "query",
    "index",
    "file",
    "server",
    "account",
    "message",
    "price",
    "order",
    "total",
    "update",
    "review",
    "account",
    "status",
    "version",
    "number",
    "page",
]
_CAPS = [w.capitalize() for w in _WORDS]
_CODE_KEYWORDS = ("def", "return", "if", "for", "import", "class", "while", "else", "let", "const", "fn")


def _words(rng: np.random.Generator, count: int, capitalise_first: bool = True) -> str:
    idx = rng.integers(0, len(_WORDS), count)
    words = [_WORDS[i] for i in idx.tolist()]
    if capitalise_first and words:
        words[0] = words[0].capitalize()
    return " ".join(words)


@functools.lru_cache(maxsize=256)
def _vocab_widths(style: str, size: int) -> tuple[npt.NDArray[np.float32], float]:
    """Pixel width of every vocabulary word and of a space in one font (measured once per font)."""
    font = get_font(style, size)
    widths = np.array([font.getlength(wd) for wd in _WORDS], dtype=np.float32)
    widths.setflags(write=False)
    return widths, float(font.getlength(" "))


def _fit_line(rng: np.random.Generator, style: str, size: int, width: float, full: bool = True) -> str:
    """Words filling about ``width`` pixels (a random shorter part of it when ``full`` is False).

    Widths come from a per-font table, so fitting a line costs no extra text measurement.
    """
    widths, space = _vocab_widths(style, size)
    target = width * (1.0 if full else rng.uniform(0.2, 0.8))
    n_draw = max(2, int(2.0 * target / (float(widths.mean()) + space)) + 2)
    idx = rng.integers(0, len(_WORDS), n_draw)
    ends = np.cumsum(widths[idx] + space) - space
    k = max(1, int(np.searchsorted(ends, target * 0.97, side="right")))
    words = [_WORDS[i] for i in idx[:k].tolist()]
    words[0] = words[0].capitalize()
    return " ".join(words)


def _fit_words(rng: np.random.Generator, font: Any, count: int, width: float) -> str:
    """``count`` capitalised words, dropping words from the end until they fit in ``width``."""
    words = _words(rng, count).split(" ")
    while len(words) > 1 and font.getlength(" ".join(words)) > width:
        words.pop()
    return " ".join(words)


def _text_colours(rng: np.random.Generator) -> tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]:
    """(background, text, accent) for a light or a dark theme."""
    accent = tuple(int(v) for v in np.clip(_palette(rng, 1)[0], 0, 255))
    if rng.random() < 0.75:
        bg = tuple(int(v) for v in rng.integers(232, 256, 3))
        fg = tuple(int(v) for v in rng.integers(0, 70, 1).repeat(3) + rng.integers(0, 15, 3))
    else:
        bg = tuple(int(v) for v in rng.integers(15, 50, 1).repeat(3) + rng.integers(0, 12, 3))
        fg = tuple(int(v) for v in rng.integers(190, 250, 1).repeat(3) + rng.integers(0, 6, 3))
    return bg, fg, accent  # type: ignore[return-value]


def _text_document(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    bg, fg, accent = _text_colours(rng)
    img = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(img)
    serif = rng.random() < 0.5
    body = "serif" if serif else ("sans" if rng.random() < 0.8 else "pillow-default")
    size = max(6, int(h * rng.uniform(0.028, 0.055)))
    font = get_font(body, size)
    margin_x = int(w * rng.uniform(0.05, 0.14))
    y = int(h * rng.uniform(0.04, 0.12))
    columns = 2 if (w > 1.2 * h or rng.random() < 0.2) else 1
    gutter = int(w * 0.04)
    col_w = (w - 2 * margin_x - (columns - 1) * gutter) / columns
    if rng.random() < 0.7:  # heading
        hfont = get_font(("serif-bold" if serif else "sans-bold"), int(size * rng.uniform(1.4, 2.2)))
        heading = _fit_words(rng, hfont, int(rng.integers(2, 6)), w - 2 * margin_x)
        draw.text((margin_x, y), heading, font=hfont, fill=accent if rng.random() < 0.4 else fg)
        y += int(hfont.size * 1.6)
    leading = int(size * rng.uniform(1.25, 1.6))
    top = y
    for col in range(columns):
        x0 = margin_x + col * (col_w + gutter)
        y = top
        while y + leading < h - margin_x * 0.6:
            lines = int(rng.integers(2, 7))
            for li in range(lines):
                if y + leading >= h - margin_x * 0.6:
                    break
                draw.text((x0, y), _fit_line(rng, body, size, col_w, full=li < lines - 1), font=font, fill=fg)
                y += leading
            y += int(leading * rng.uniform(0.3, 1.0))
    return img


def _text_chat(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    bg, fg, accent = _text_colours(rng)
    img = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(img)
    size = max(6, int(h * rng.uniform(0.035, 0.06)))
    font = get_font("sans", size)
    bar = int(h * rng.uniform(0.08, 0.13))
    draw.rectangle([0, 0, w, bar], fill=accent)
    tfont = get_font("sans-bold", int(bar * 0.45))
    draw.text(
        (int(bar * 1.1), int(bar * 0.25)), _fit_words(rng, tfont, 2, w - bar * 1.3), font=tfont, fill=(255, 255, 255)
    )
    draw.ellipse([bar * 0.2, bar * 0.2, bar * 0.8, bar * 0.8], fill=(255, 255, 255))
    other = tuple(int(0.85 * c + 0.15 * 128) for c in bg)
    mine = tuple(int(0.35 * a + 0.65 * b) for a, b in zip(accent, bg))
    y = bar + int(size * 0.8)
    pad = int(size * 0.5)
    while y < h - size * 2:
        right = rng.random() < 0.5
        n_lines = int(rng.integers(1, 4))
        bubble_w = w * rng.uniform(0.35, 0.7)
        lines = [_fit_line(rng, "sans", size, bubble_w - 2 * pad, full=i < n_lines - 1) for i in range(n_lines)]
        bubble_h = n_lines * int(size * 1.3) + 2 * pad
        x0 = w - bubble_w - w * 0.04 if right else w * 0.04
        draw.rounded_rectangle([x0, y, x0 + bubble_w, y + bubble_h], radius=pad * 1.5, fill=mine if right else other)
        for i, line in enumerate(lines):
            draw.text((x0 + pad, y + pad + i * int(size * 1.3)), line, font=font, fill=fg)
        y += bubble_h + int(size * rng.uniform(0.5, 1.2))
    return img


def _text_code(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    dark = rng.random() < 0.6
    bg = tuple(int(v) for v in (rng.integers(20, 45, 3) if dark else rng.integers(240, 256, 3)))
    fg = (212, 212, 212) if dark else (30, 30, 30)
    pal = [
        tuple(int(v) for v in c)
        for c in np.clip(_palette(rng, 4) * (1.0 if dark else 0.6) + (60 if dark else 0), 0, 255)
    ]
    img = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(img)
    size = max(6, int(h * rng.uniform(0.03, 0.05)))
    font = get_font("mono", size)
    char_w = font.getlength("m")
    gutter = int(char_w * 4)
    gut_bg = tuple(max(0, min(255, c + (12 if dark else -10))) for c in bg)
    draw.rectangle([0, 0, gutter - 2, h], fill=gut_bg)
    leading = int(size * 1.35)
    indent = 0
    y = int(size * 0.5)
    n = 1 + int(rng.integers(0, 400))
    while y < h:
        draw.text((2, y), f"{n:>3}", font=font, fill=(120, 120, 120))
        if rng.random() < 0.12:  # blank line
            y += leading
            n += 1
            continue
        indent = int(np.clip(indent + rng.integers(-1, 2), 0, 4))
        x: float = gutter + int(char_w * (1 + 2 * indent))  # char_w may be fractional: x then is too
        kw = _CODE_KEYWORDS[int(rng.integers(0, len(_CODE_KEYWORDS)))]
        draw.text((x, y), kw, font=font, fill=pal[0])
        x += char_w * (len(kw) + 1)
        rest = (
            "_".join(_words(rng, int(rng.integers(1, 3)), False).split())
            + "("
            + ", ".join(_words(rng, int(rng.integers(0, 3)), False).split())
            + ")"
        )
        draw.text((x, y), rest, font=font, fill=fg)
        x += char_w * (len(rest) + 1)
        if rng.random() < 0.4 and x < w:
            draw.text((x, y), "# " + _words(rng, int(rng.integers(1, 5)), False), font=font, fill=pal[1])
        y += leading
        n += 1
    return img


def _text_table(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    bg, fg, accent = _text_colours(rng)
    img = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(img)
    size = max(6, int(h * rng.uniform(0.03, 0.05)))
    font = get_font("mono" if rng.random() < 0.5 else "sans", size)
    row_h = int(size * rng.uniform(1.5, 2.0))
    n_cols = int(rng.integers(3, 7))
    col_w = w / n_cols
    line_col = tuple(int(0.7 * c + 0.3 * (255 - c)) for c in bg)
    head = tuple(int(0.25 * a + 0.75 * b) for a, b in zip(accent, bg))
    draw.rectangle([0, 0, w, row_h], fill=head)
    header = "".join(
        f"{_CAPS[int(i)][: max(2, int(col_w / (size * 0.6)) - 1)]:<{max(3, int(col_w / font.getlength('0')))}}"
        for i in rng.integers(0, len(_CAPS), n_cols)
    )
    draw.text((int(size * 0.4), int(row_h * 0.2)), header, font=font, fill=fg)
    chars = max(3, int(col_w / font.getlength("0")))
    y = row_h
    while y < h:
        vals = rng.integers(0, 10 ** rng.integers(1, 6, n_cols))
        row = "".join(f"{int(v):<{chars}}"[:chars] for v in vals)
        draw.text((int(size * 0.4), y + int(row_h * 0.2)), row, font=font, fill=fg)
        y += row_h
        draw.line([(0, y), (w, y)], fill=line_col, width=1)
    for c in range(1, n_cols):
        x = int(c * chars * font.getlength("0") + size * 0.2)
        draw.line([(x, 0), (x, h)], fill=line_col, width=1)
    return img


def _text_slide(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    pal = _palette(rng, 3)
    if rng.random() < 0.5:
        base = _linear_gradient(rng, w, h, pal[0], pal[1])
    else:
        base = np.broadcast_to(pal[0], (h, w, 3))
    img = Image.fromarray(_to_uint8(base))
    lum = float(np.dot(pal[0], [0.299, 0.587, 0.114]))
    fg = (20, 20, 20) if lum > 140 else (245, 245, 245)
    draw = ImageDraw.Draw(img)
    tsize = max(8, int(h * rng.uniform(0.07, 0.12)))
    tfont = get_font("sans-bold" if rng.random() < 0.7 else "serif-bold", tsize)
    title = _fit_words(rng, tfont, int(rng.integers(2, 4)), w * 0.9)
    draw.text((w / 2, h * rng.uniform(0.08, 0.2)), title, font=tfont, fill=fg, anchor="mt")
    size = max(6, int(tsize * rng.uniform(0.45, 0.6)))
    font = get_font("sans", size)
    y = h * 0.38
    x0 = w * rng.uniform(0.08, 0.18)
    while y < h * 0.9:
        draw.ellipse([x0 - size * 0.7, y + size * 0.35, x0 - size * 0.3, y + size * 0.75], fill=fg)
        draw.text((x0, y), _fit_line(rng, "sans", size, w - 1.5 * x0, full=False), font=font, fill=fg)
        y += size * rng.uniform(1.6, 2.2)
    return img


_TEXT_LAYOUTS = (_text_document, _text_chat, _text_code, _text_table, _text_slide)
_TEXT_WEIGHTS = np.array([0.35, 0.2, 0.15, 0.15, 0.15])


def _text(rng: np.random.Generator, w: int, h: int) -> RGBArray:
    """One of five text layouts; the document layout is the most common."""
    layout = _TEXT_LAYOUTS[int(rng.choice(len(_TEXT_LAYOUTS), p=_TEXT_WEIGHTS))]
    img = np.asarray(layout(rng, w, h))
    return _add_grain(rng, img, int(rng.integers(0, 2)))


# ----------------------------------------------------------------------------------------------
# low-detail


def _low_detail(rng: np.random.Generator, w: int, h: int) -> RGBArray:
    """Near-uniform, gently graded, softly blotched or vignetted images with very low contrast."""
    base = _hsv_to_rgb(rng.random(), rng.beta(1.2, 2.0), rng.uniform(0.05, 1.0))
    contrast = rng.uniform(2.0, 40.0)
    variant = int(rng.choice(4, p=[0.25, 0.3, 0.3, 0.15]))
    img: npt.NDArray[np.floating[Any]]
    other: npt.NDArray[np.floating[Any]]
    if variant == 0:  # uniform
        img = np.broadcast_to(base, (h, w, 3))
    elif variant == 1:  # one smooth gradient
        other = base + rng.normal(0.0, contrast, 3)
        img = _linear_gradient(rng, w, h, base, other)
    elif variant == 2:  # a few soft blotches: a tiny random grid upsampled bicubically
        gh, gw = int(rng.integers(2, 5)), int(rng.integers(2, 5))
        grid = np.clip(base + rng.normal(0.0, contrast * 0.6, (gh, gw, 3)), 0, 255).astype(np.uint8)
        img = np.asarray(Image.fromarray(grid).resize((w, h), Image.Resampling.BICUBIC), dtype=np.float32)
    else:  # vignette
        other = base * rng.uniform(0.6, 0.95)
        img = _radial_gradient(rng, w, h, base, other)
    return _add_grain(rng, _to_uint8(img), int(rng.integers(1, 3)))


_GENERATORS: dict[str, _Generator] = {
    "dead-leaves": _dead_leaves,
    "fractal": _fractal,
    "shapes": _shapes,
    "text": _text,
    "low-detail": _low_detail,
}


# ----------------------------------------------------------------------------------------------
# the dataset


@dataclass(frozen=True, repr=False)
class SyntheticItem(Item):
    """Image ``index`` of a synthetic family; ``load()`` regenerates it (no file involved)."""

    family: str
    index: int
    seed: int
    size: Size
    redraw: int = 0

    @property
    def id(self) -> str:  # type: ignore[override]
        return f"synthetic/{self.family}/s{self.seed}/{self.index:08d}"

    @property
    def content_family(self) -> str:
        """The family that draws this image (for ``mixed``, the one index ``i`` maps to)."""
        return FAMILIES[self.index % len(FAMILIES)] if self.family == "mixed" else self.family

    @property
    def source(self) -> dict[str, Any]:  # type: ignore[override]
        return {
            "dataset": "synthetic",
            "family": self.family,
            "content_family": self.content_family,
            "index": self.index,
            "seed": self.seed,
            "size": list(self.size),
            **({"redraw": self.redraw} if self.redraw else {}),
        }

    def load(self) -> RGBArray:
        return generate(self.family, self.index, self.seed, self.size, self.redraw)


@register(
    "synthetic",
    description="generated benign images, a pure function of (family, index, seed, size); families: "
    + ", ".join(ALL_FAMILIES),
    params={
        "family": f"one of {', '.join(ALL_FAMILIES)} (default mixed)",
        "count": "number of images (default 1000)",
        "seed": "non-negative integer (default 0)",
        "size": "N or WIDTHxHEIGHT (default 256)",
        "start": "first index (default 0); ids stay the same whatever the chunking",
        "distinct": "true (default): never the same picture twice (a same picture is redrawn); false: raw draws",
    },
)
class SyntheticDataset(Dataset):
    """``count`` images of ``family`` with indices ``start .. start+count-1`` for ``seed``.

    Nothing is stored: items regenerate their pixels on ``load()``, and :meth:`iter_arrays`
    generates chunks of indices in worker processes, so memory stays flat at any count.
    """

    name = "synthetic"
    has_files = False

    def __init__(
        self,
        family: str = "mixed",
        count: int = 1000,
        seed: int = 0,
        size: int | str | tuple[int, int] = 256,
        start: int = 0,
        distinct: bool | str = True,
    ) -> None:
        if family not in ALL_FAMILIES:
            raise UsageError(f"unknown synthetic family {family!r}; families: {', '.join(ALL_FAMILIES)}")
        if int(count) < 0 or int(start) < 0 or int(seed) < 0:
            raise UsageError("count, start and seed must be non-negative")
        self.family = family
        self.count = int(count)
        self.seed = int(seed)
        self.size = parse_size(size)
        self.start = int(start)
        flag = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}.get(
            str(distinct).lower()
        )
        if flag is None:
            raise UsageError(f"distinct is true or false, got {distinct!r}")
        self.distinct = flag
        self._redraws: npt.NDArray[np.int32] | None = None

    def __len__(self) -> int:
        return self.count

    def redraws(self, workers: int | None = None) -> npt.NDArray[np.int32]:
        """The redraw count of every index ``0 .. start + count - 1`` (all 0 unless ``distinct``),
        searched once (:func:`distinct_redraws`) and kept."""
        if self._redraws is None:
            stop = self.start + self.count
            if self.distinct and stop > 0:
                self._redraws = distinct_redraws(self.family, self.seed, self.size, stop, workers)
            else:
                self._redraws = np.zeros(stop, np.int32)
        return self._redraws

    @property
    def settled(self) -> bool:
        """Whether the redraw counts are known (always, unless ``distinct`` and not yet searched)."""
        return self._redraws is not None or not self.distinct

    def first_draw(self, index: int) -> SyntheticItem:
        """Item ``index`` as first drawn (``redraw`` 0), known before any search for redraws."""
        return SyntheticItem(self.family, self.start + index, self.seed, self.size)

    def settle(self, signatures: Sequence[npt.NDArray[np.uint8] | None]) -> npt.NDArray[np.int32]:
        """:meth:`redraws`, given the signatures of this dataset's first draws (index order; None
        where one was not made), which someone already generating them took (the hash stage:
        :class:`hashbench.sources.SignedSource`): only indices before ``start``, the missing ones
        and the redraw steps are generated here. The same counts as :meth:`redraws`."""
        if self._redraws is None and self.distinct:
            if len(signatures) != self.count:
                raise ValueError(f"{len(signatures)} signatures for {self.count} images")
            self._redraws = distinct_redraws(
                self.family, self.seed, self.size, self.start + self.count, known=signatures
            )
        return self.redraws()

    def item(self, index: int) -> SyntheticItem:
        i = self.start + index
        return SyntheticItem(self.family, i, self.seed, self.size, int(self.redraws()[i]))

    def describe(self) -> dict[str, Any]:
        out = {
            "dataset": "synthetic",
            "family": self.family,
            "count": self.count,
            "seed": self.seed,
            "size": list(self.size),
            "start": self.start,
        }
        if not self.distinct:
            out["distinct"] = False
        return out

    def population(self) -> dict[str, Any]:
        """How this set of draws was made distinct: the criterion and the redraws per content
        family, so a report can state its population."""
        red = self.redraws()[self.start : self.start + self.count]
        fams = [
            SyntheticItem(self.family, i, self.seed, self.size).content_family
            for i in range(self.start, self.start + self.count)
        ]
        by_family: dict[str, dict[str, int]] = {}
        for fam, r in zip(fams, red.tolist(), strict=True):
            entry = by_family.setdefault(fam, {"images": 0, "redrawn": 0, "redraws": 0})
            entry["images"] += 1
            entry["redrawn"] += int(r > 0)
            entry["redraws"] += int(r)
        return {
            "distinct": self.distinct,
            "criterion": CRITERION if self.distinct else "none (raw draws: the same picture may occur twice)",
            "by_family": by_family,
        }

    def iter_arrays(self, workers: int | None = None, chunk_size: int = 32) -> Iterator[tuple[str, RGBArray]]:
        """Yield ``(id, pixels)`` in index order, generating chunks of indices in ``workers`` processes."""
        stop = self.start + self.count
        red = self.redraws(workers)
        spans = (
            (self.family, self.seed, self.size, lo, min(lo + chunk_size, stop), red[lo : min(lo + chunk_size, stop)])
            for lo in range(self.start, stop, chunk_size)
        )
        yield from ordered_chunked_map(_generate_span, spans, workers)

    def __repr__(self) -> str:
        return (
            f"SyntheticDataset(family={self.family!r}, count={self.count}, seed={self.seed}, "
            f"size={self.size}, start={self.start})"
        )


def _generate_span(span: tuple[str, int, Size, int, int, npt.NDArray[np.int32]]) -> list[tuple[str, RGBArray]]:
    family, seed, size, lo, hi, red = span
    return [
        (SyntheticItem(family, i, seed, size).id, generate(family, i, seed, size, int(red[i - lo])))
        for i in range(lo, hi)
    ]


# ----------------------------------------------------------------------------------------------
# distinct draws


#: A redraw search that needs more steps than this is a bug in a generator, not bad luck.
MAX_REDRAWS = 1000


#: First draws per task of the signature search.
_SPAN = 64


def _spans(
    indices: npt.NDArray[np.intp], family: str, seed: int, size: Size
) -> Iterator[tuple[str, int, Size, int, int]]:
    """Tasks ``(family, seed, size, lo, hi)`` covering ``indices`` (increasing) in index order:
    runs of consecutive indices, each cut into spans of at most :data:`_SPAN`."""
    runs = np.split(indices, np.flatnonzero(np.diff(indices) != 1) + 1) if len(indices) else []
    for run in runs:
        for lo in range(int(run[0]), int(run[-1]) + 1, _SPAN):
            yield family, seed, size, lo, min(lo + _SPAN, int(run[-1]) + 1)


def _signature_span(span: tuple[str, int, Size, int, int]) -> list[npt.NDArray[np.uint8]]:
    family, seed, size, lo, hi = span
    return [signature(generate(family, i, seed, size)) for i in range(lo, hi)]


def distinct_redraws(
    family: str,
    seed: int,
    size: Size,
    stop: int,
    workers: int | None = None,
    known: Sequence[npt.NDArray[np.uint8] | None] = (),
) -> npt.NDArray[np.int32]:
    """The redraw count of indices ``0 .. stop - 1`` that makes every draw a different picture.

    First draws are generated (in ``workers`` processes) and their signatures checked in index
    order against the accepted ones (:class:`~.distinct.DistinctSet`, no quadratic cost; a batch
    of first draws per kernel call, :func:`redraw_search`); a same picture is drawn again,
    ``redraw`` 1, 2, ..., in this process. ``known``: the first draws'
    signatures of the last ``len(known)`` indices, taken by whoever already generated them (None
    for one not made: generated here, in the worker processes with the rest), so they are not
    generated twice. Deterministic: the same arguments give the same counts on any machine and
    chunking, with or without ``known``.
    """
    known = list(known)
    made = stop - len(known)  # first draws of indices 0 .. made - 1 are not known
    missing = np.ones(stop, bool)
    missing[made:] = [k is None for k in known]
    spans = _spans(np.flatnonzero(missing), family, seed, size)
    n_missing = int(missing.sum())
    generated = ordered_chunked_map(_signature_span, spans, workers if n_missing > 4 * _SPAN else 1)

    def firsts() -> Iterator[npt.NDArray[np.uint8]]:
        for i in range(stop):
            first = known[i - made] if i >= made else None
            yield next(generated) if first is None else first

    def redraw(i: int, r: int) -> npt.NDArray[np.uint8]:
        if r > MAX_REDRAWS:
            raise RuntimeError(f"{family} image {i}: still the same picture as another after {MAX_REDRAWS} redraws")
        return signature(generate(family, i, seed, size, r))

    return redraw_search(firsts(), stop, redraw)


#: First draws handed to the search at once (:meth:`~.distinct.DistinctSet.add_distinct`).
_BATCH = 1024


def redraw_search(
    firsts: Iterator[npt.NDArray[np.uint8]], stop: int, redraw: Callable[[int, int], npt.NDArray[np.uint8]]
) -> npt.NDArray[np.int32]:
    """The search of :func:`distinct_redraws` on given signatures: ``firsts`` yields the first
    draws' of indices ``0 .. stop - 1``; ``redraw(i, r)`` is the signature of draw ``r`` of image
    ``i``. Batches of first draws are accepted in one kernel call up to the first same picture,
    which is drawn again here, ``redraw`` 1, 2, ..., until it is a different picture."""
    accepted = DistinctSet()
    out = np.zeros(stop, np.int32)
    for lo in range(0, stop, _BATCH):
        batch = np.stack([next(firsts) for _ in range(lo, min(lo + _BATCH, stop))])
        j = 0
        while j < len(batch):
            j += accepted.add_distinct(batch[j:])
            if j == len(batch):
                break
            r, sig = 1, redraw(lo + j, 1)
            while accepted.find(sig) >= 0:
                r += 1
                sig = redraw(lo + j, r)
            accepted.add(sig)
            out[lo + j] = r
            j += 1
    return out


def export(
    dataset: SyntheticDataset,
    out_dir: str,
    fmt: str = "png",
    *,
    quality: int = 95,
    workers: int | None = None,
    progress: bool = True,
) -> list[str]:
    """Write every image of ``dataset`` to ``out_dir/{index:08d}.{png|jpg}``; return the paths.

    Generation and encoding both run in the worker processes (encoding a PNG costs about as much
    as generating it), and only file names come back, so memory stays flat.
    """
    import json
    import os

    from tqdm.auto import tqdm

    if fmt not in ("png", "jpg"):
        raise UsageError(f"format must be png or jpg, got {fmt!r}")
    os.makedirs(out_dir, exist_ok=True)
    stop = dataset.start + dataset.count
    chunk = 16
    red = dataset.redraws(workers)
    spans = (
        (
            dataset.family,
            dataset.seed,
            dataset.size,
            lo,
            min(lo + chunk, stop),
            out_dir,
            fmt,
            quality,
            red[lo : lo + chunk],
        )
        for lo in range(dataset.start, stop, chunk)
    )
    paths: list[str] = []
    with tqdm(
        total=dataset.count, disable=not progress, unit="img", desc=f"generate {dataset.family}", dynamic_ncols=True
    ) as bar:
        for path in ordered_chunked_map(_export_span, spans, workers):
            paths.append(path)
            bar.update(1)
    meta = {**dataset.describe(), "format": fmt, "files": "{index:08d}." + fmt}
    if fmt == "jpg":
        meta["quality"] = quality
    with open(os.path.join(out_dir, "generated.json"), "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=2)
        fh.write("\n")
    return paths


def _export_span(span: tuple[str, int, Size, int, int, str, str, int, npt.NDArray[np.int32]]) -> list[str]:
    import os

    family, seed, size, lo, hi, out_dir, fmt, quality, red = span
    paths = []
    for i in range(lo, hi):
        path = os.path.join(out_dir, f"{i:08d}.{fmt}")
        img = Image.fromarray(generate(family, i, seed, size, int(red[i - lo])))
        if fmt == "png":
            img.save(path, format="PNG", compress_level=1)
        else:
            img.save(path, format="JPEG", quality=quality)
        paths.append(path)
    return paths
