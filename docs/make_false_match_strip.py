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
import csv
import json
from pathlib import Path

from PIL import Image, ImageDraw

from hashbench.fonts import get_font

THUMB = 120
GAP = 6
LABEL = 30
PAIRS_PER_ROW = 3


def _rows(run: Path, hasher: str) -> dict[tuple[str, str], dict[str, str]]:
    """``false_matches.csv`` rows of ``hasher`` by (id_a, id_b), the ``#`` count lines skipped."""
    with open(run / "false_matches.csv", newline="", encoding="utf-8") as fh:
        lines = [ln for ln in fh if not ln.startswith("#")]
    return {(r["id_a"], r["id_b"]): r for r in csv.DictReader(lines) if r["hasher"] == hasher}


def _pair(run: Path, thumbs: list[str], row: dict[str, str]) -> Image.Image:
    """Two thumbnails side by side, the distance, qualities and families below."""
    tile = Image.new("RGB", (2 * THUMB + GAP, THUMB + LABEL), (255, 255, 255))
    for k, name in enumerate(thumbs):
        with Image.open(run / "thumbs" / name) as im:
            tile.paste(im.convert("RGB"), (k * (THUMB + GAP), 0))
    draw = ImageDraw.Draw(tile)
    font = get_font("sans", 11)
    draw.text((2, THUMB + 2), f"distance {row['distance']}, {row['group_a']}", fill=(0, 0, 0), font=font)
    draw.text((2, THUMB + 15), f"quality {row['quality_a']} and {row['quality_b']}", fill=(0, 0, 0), font=font)
    return tile


def strip(run: Path, hasher: str, out: Path) -> Path:
    """Make the picture of ``hasher``'s false matches in ``run``'s gallery into ``out``."""
    gallery = json.loads((run / "thumbs" / "gallery.json").read_text(encoding="utf-8"))
    rows = _rows(run, hasher)
    tiles = [
        _pair(run, names, rows[(ids[0], ids[1])])
        for section in gallery["sections"]
        for caption, names, ids in section["tiles"]
        if caption.startswith(f"`{hasher}` ") and (ids[0], ids[1]) in rows and all(names)
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
