"""Fonts for rendered text (synthetic ``text`` pages, text overlays, meme captions).

A bottom module: datasets (text pages) and transforms (overlays, captions) both draw text, and
neither may import the other, so the fonts live below both.

No system font is assumed: hashbench uses Pillow's bundled scalable font
(``ImageFont.load_default(size=...)``, Pillow >= 10.1) and the DejaVu TrueType fonts that
matplotlib ships in ``matplotlib/mpl-data/fonts/ttf``. The list of usable fonts is therefore the
same on every machine with the same package versions, which keeps generated pixels reproducible.

Text is laid out with FreeType's BASIC engine, not raqm, because raqm is an optional system
library whose presence would otherwise change the pixels from one machine to another.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from dataclasses import dataclass

from PIL import ImageFont

__all__ = ["FontFace", "font_faces", "get_font", "DEFAULT_FACE"]

#: name of the face that is always available (Pillow's bundled font)
DEFAULT_FACE = "pillow-default"

# matplotlib's DejaVu files, by the style they give a page
_DEJAVU = {
    "sans": "DejaVuSans.ttf",
    "sans-bold": "DejaVuSans-Bold.ttf",
    "serif": "DejaVuSerif.ttf",
    "serif-bold": "DejaVuSerif-Bold.ttf",
    "mono": "DejaVuSansMono.ttf",
    "mono-bold": "DejaVuSansMono-Bold.ttf",
    "sans-oblique": "DejaVuSans-Oblique.ttf",
}


@dataclass(frozen=True)
class FontFace:
    """A named font: ``path`` to a TrueType file, or ``None`` for Pillow's bundled font."""

    name: str
    path: str | None


@functools.cache
def font_faces() -> dict[str, FontFace]:
    """Available faces by style name; always contains :data:`DEFAULT_FACE`.

    Styles whose file is missing (matplotlib not installed) fall back to Pillow's font, so
    callers can always ask for ``"mono"`` or ``"serif-bold"``.
    """
    faces = {DEFAULT_FACE: FontFace(DEFAULT_FACE, None)}
    ttf_dir = _matplotlib_ttf_dir()
    for style, filename in _DEJAVU.items():
        path = os.path.join(ttf_dir, filename) if ttf_dir else None
        if path and os.path.isfile(path):
            faces[style] = FontFace(style, path)
        else:
            faces[style] = FontFace(style, None)
    return faces


@functools.lru_cache(maxsize=512)
def get_font(style: str, size: int) -> ImageFont.FreeTypeFont:
    """A FreeType font of ``style`` at ``size`` pixels (cached: loading a face costs ~100 us)."""
    face = font_faces().get(style) or font_faces()[DEFAULT_FACE]
    size = max(4, int(size))
    if face.path is None:
        font = ImageFont.load_default(size=size)
        if not isinstance(font, ImageFont.FreeTypeFont):  # pragma: no cover - Pillow < 10.1
            raise RuntimeError("Pillow >= 10.1 with FreeType is needed for scalable text")
        return font
    return ImageFont.truetype(face.path, size=size, layout_engine=ImageFont.Layout.BASIC)


def _matplotlib_ttf_dir() -> str | None:
    # find_spec locates the package without importing it (importing matplotlib costs ~0.2 s)
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - a dependency
        return None
    return os.path.join(list(spec.submodule_search_locations)[0], "mpl-data", "fonts", "ttf")
