"""Render a contact sheet of the video edits: one frame of every edit of a video suite.

    PYTHONPATH=src python docs/make_video_contact_sheets.py            # suite full -> docs/img/video-edits.png
    PYTHONPATH=src python docs/make_video_contact_sheets.py --suite default --out /tmp/default.png

Each edit goes through :func:`hashbench.video.edits.apply_edit` exactly as in a study (decode,
edit, H.264 encode), and the tile shows the middle frame of the edited file as decoded, so
compression and resizing show as they are. The source is one seeded synthetic video (moving
shapes and a caption over a bundled sample photograph). The sheet is quantized to 256 colours
to stay small enough to commit (under 300 KB).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from hashbench.fonts import get_font
from hashbench.video.edits import apply_edit, read_clip, suite
from hashbench.video.synthetic import VideoRecipe, make_video

TILE = (160, 120)
LABEL = 16
COLUMNS = 6
RECIPE = VideoRecipe(kind="shapes", index=2, seed=0, width=160, height=120, fps=10, seconds=3.0, stills="sample")


def _tile(frame: np.ndarray, label: str) -> Image.Image:
    """The frame scaled to fit the tile (aspect kept, dark grey around it) with its label below."""
    tile = Image.new("RGB", (TILE[0], TILE[1] + LABEL), (48, 48, 48))
    img = Image.fromarray(frame)
    img.thumbnail(TILE, Image.Resampling.LANCZOS)
    tile.paste(img, ((TILE[0] - img.width) // 2, (TILE[1] - img.height) // 2))
    ImageDraw.Draw(tile).text((4, TILE[1] + 2), label, fill=(255, 255, 255), font=get_font("sans", 11))
    return tile


def _middle(path: Path) -> np.ndarray:
    frames = read_clip(path).frames
    return frames[len(frames) // 2]


def contact_sheet(suite_name: str, out: Path) -> Path:
    """Make the sheet of ``suite_name`` into ``out`` (PNG); returns ``out``."""
    with tempfile.TemporaryDirectory(prefix="hashbench-sheet-") as tmp:
        src = make_video(RECIPE, Path(tmp) / "original.mp4")
        clip = read_clip(src)
        tiles = [_tile(_middle(src), "original")]
        for spec in suite(suite_name):
            dst = Path(tmp) / f"{spec.label.replace(':', '_')}.mp4"
            apply_edit(src, dst, spec, seed=0, video_id=RECIPE.id, clip=clip)
            tiles.append(_tile(_middle(dst), spec.label))
    rows = -(-len(tiles) // COLUMNS)
    sheet = Image.new("RGB", (COLUMNS * TILE[0], rows * (TILE[1] + LABEL)), (255, 255, 255))
    for i, t in enumerate(tiles):
        sheet.paste(t, ((i % COLUMNS) * TILE[0], (i // COLUMNS) * (TILE[1] + LABEL)))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, optimize=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", default="full", help="video suite (default: full = default + overlays)")
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "img" / "video-edits.png")
    args = p.parse_args()
    path = contact_sheet(args.suite, args.out)
    print(f"{path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
