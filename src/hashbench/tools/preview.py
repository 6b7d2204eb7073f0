"""Contact sheets: a grid of labelled thumbnails, so a person can see what a dataset or a suite is.

Used by ``hashbench datasets preview`` to make the PNGs shown in docs/datasets.md and
docs/transforms.md. Thumbnails keep their aspect ratio inside square cells; labels are drawn
under each cell with Pillow's bundled font (no system font assumed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from ..datasets.base import RGBArray
from ..fonts import get_font

__all__ = ["contact_sheet", "family_sheet", "suite_sheet"]


def contact_sheet(
    images: Sequence[RGBArray],
    labels: Sequence[str] | None = None,
    *,
    columns: int = 6,
    cell: int = 160,
    title: str | None = None,
    label_size: int = 11,
    common_scale: bool = False,
) -> Image.Image:
    """Arrange ``images`` in a grid of ``cell``-pixel squares with an optional label under each.

    Each image is shrunk (never enlarged past 2x) to fit its cell, centred on a mid-grey
    background so white and black images both show their edges. With ``common_scale`` every
    image is drawn at the scale that fits the *first* one, so size changes stay visible (a
    half-size resize looks half as big), shrinking further only what would not fit.
    """
    n = len(images)
    if labels is not None and len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} images")
    columns = max(1, min(columns, n or 1))
    rows = max(1, math.ceil(n / columns))
    pad = 6
    label_h = (label_size + 6) if labels is not None else 0
    title_h = 26 if title else 0
    width = columns * (cell + pad) + pad
    height = title_h + rows * (cell + label_h + pad) + pad
    sheet = Image.new("RGB", (width, height), (246, 246, 246))
    draw = ImageDraw.Draw(sheet)
    font = get_font("sans", label_size)
    if title:
        draw.text((pad, 5), title, font=get_font("sans-bold", 15), fill=(20, 20, 20))
    first_scale = min(cell / images[0].shape[1], cell / images[0].shape[0], 2.0) if n else 1.0
    for k, arr in enumerate(images):
        r, c = divmod(k, columns)
        x0 = pad + c * (cell + pad)
        y0 = title_h + pad + r * (cell + label_h + pad)
        draw.rectangle([x0, y0, x0 + cell - 1, y0 + cell - 1], fill=(128, 128, 128))
        img = Image.fromarray(np.ascontiguousarray(arr))
        scale = min(cell / img.width, cell / img.height, 2.0)
        if common_scale:
            scale = min(scale, first_scale)
        tw, th = max(1, round(img.width * scale)), max(1, round(img.height * scale))
        thumb = img.resize((tw, th), Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.NEAREST)
        sheet.paste(thumb, (x0 + (cell - tw) // 2, y0 + (cell - th) // 2))
        if labels is not None:
            text = labels[k]
            if font.getlength(text) > cell:
                while len(text) > 1 and font.getlength(text + "…") > cell:
                    text = text[:-1]
                text += "…"
            draw.text((x0, y0 + cell + 2), text, font=font, fill=(30, 30, 30))
    return sheet


def family_sheet(family: str, count: int = 24, seed: int = 0, size: int | str = 256, columns: int = 8) -> Image.Image:
    """Contact sheet of the first ``count`` images of a synthetic family."""
    from ..datasets.synthetic import FAMILY_DESCRIPTIONS, generate

    images = [generate(family, i, seed, size) for i in range(count)]
    labels = [f"{family} #{i}" for i in range(count)]
    title = f"synthetic family '{family}' (seed {seed}, {size}px): {FAMILY_DESCRIPTIONS[family]}"
    return contact_sheet(images, labels, columns=columns, cell=150, title=title)


def suite_sheet(
    image: RGBArray, item_id: str, suite_name: str = "default", seed: int = 0, columns: int = 9
) -> Image.Image:
    """Contact sheet of ``image`` and every output of a built-in suite applied to it."""
    from ..transforms import apply_suite, get_suite

    suite = get_suite(suite_name)
    outputs = apply_suite(image, suite, seed, item_id)
    images = [image] + [o.pixels for o in outputs]
    labels = ["original"] + [t.name for t in suite]
    title = f"suite '{suite_name}' applied to {item_id} (seed {seed}; drawn at one common scale)"
    return contact_sheet(images, labels, columns=columns, cell=132, title=title, common_scale=True)
