"""Render the false-match pairs a run's gallery shows for one hasher as one small PNG.

    PYTHONPATH=src python docs/make_false_match_strip.py  # results/fpr-50b, pdq: docs/img/fpr-50b-pdq-false-matches.png
    PYTHONPATH=src python docs/make_false_match_strip.py --run RUN_DIR --hasher phash16 --out /tmp/strip.png

The README shows what PDQ's false matches in the headline study look like. The picture is made
from the run's own files, not from images made again: the thumbnails in ``thumbs/`` and the tiles
``thumbs/gallery.json`` lists, with each image's quality and family from ``false_matches.csv``.
So it shows exactly what the committed report shows.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from hashbench import results
from hashbench.fonts import get_font
from hashbench.report.gallery import load_gallery

THUMB = 120
GAP = 6
LABEL = 30
PAIRS_PER_ROW = 3


def _pair(run: Path, thumbs: tuple[str, ...], row: Any) -> Image.Image:
    """Two thumbnails side by side, the distance, qualities and family below."""
    tile = Image.new("RGB", (2 * THUMB + GAP, THUMB + LABEL), (255, 255, 255))
    for k, name in enumerate(thumbs):
        with Image.open(run / "thumbs" / name) as im:
            tile.paste(im.convert("RGB"), (k * (THUMB + GAP), 0))
    draw = ImageDraw.Draw(tile)
    font = get_font("sans", 11)
    draw.text((2, THUMB + 2), f"distance {row.distance}, {row.group_a}", fill=(0, 0, 0), font=font)
    draw.text((2, THUMB + 15), f"quality {row.quality_a:.0f} and {row.quality_b:.0f}", fill=(0, 0, 0), font=font)
    return tile


def strip(run: Path, hasher: str, out: Path) -> Path:
    """Make the picture of ``hasher``'s false matches in ``run``'s gallery into ``out``."""
    gallery = load_gallery({f"thumbs/{p.name}": p.read_bytes() for p in (run / "thumbs").iterdir()})
    fm = results.load(run).false_matches
    rows = {(r.id_a, r.id_b): r for r in fm[fm["hasher"] == hasher].itertuples()}
    tiles = [
        _pair(run, tile.thumbs, rows[(tile.ids[0], tile.ids[1])])
        for section in (gallery.sections if gallery else [])
        for tile in section.tiles
        if tile.caption.startswith(f"`{hasher}` ") and (tile.ids[0], tile.ids[1]) in rows and all(tile.thumbs)
    ]
    if not tiles:
        raise SystemExit(f"{run}: the gallery shows no false match of {hasher}")
    w, h = tiles[0].size
    n_rows = -(-len(tiles) // PAIRS_PER_ROW)
    cols = min(len(tiles), PAIRS_PER_ROW)
    sheet = Image.new("RGB", (cols * (w + 3 * GAP) - 3 * GAP, n_rows * (h + GAP) - GAP), (255, 255, 255))
    for i, t in enumerate(tiles):
        sheet.paste(t, ((i % PAIRS_PER_ROW) * (w + 3 * GAP), (i // PAIRS_PER_ROW) * (h + GAP)))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, optimize=True)
    return out


def main() -> None:
    here = Path(__file__).resolve().parent
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--run", type=Path, default=here.parent / "results" / "fpr-50b", help="run folder")
    p.add_argument("--hasher", default="pdq", help="hasher whose false matches to show")
    p.add_argument("--out", type=Path, default=here / "img" / "fpr-50b-pdq-false-matches.png", help="PNG to write")
    a = p.parse_args()
    print(strip(a.run, a.hasher, a.out))


if __name__ == "__main__":
    main()
