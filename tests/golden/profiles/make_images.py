"""Make the generated test images of tests/golden/profiles from te-shrink-a-little.jpg (run once; committed).

Each exercises one place where the decoder profiles differ: EXIF orientation, alpha (PNG, WebP,
palette tRNS, LA), 16-bit gray, 1-bit, CMYK, palette, gray JPEG, and a format the C++ tool does
not read. Sizes stay small (the suite's files are a few hundred KB); the JPEGs keep a side above
512 px so the C++ tool's shrink to 512x512 is exercised.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).parent


def main() -> None:
    base = Image.open(HERE / "te-shrink-a-little.jpg").convert("RGB")
    big = base.resize((640, 402), Image.Resampling.LANCZOS)
    small = base.resize((320, 201), Image.Resampling.LANCZOS)
    for orientation in (3, 6, 8):
        exif = Image.Exif()
        exif[0x0112] = orientation
        big.save(HERE / f"gen-exif{orientation}.jpg", quality=85, exif=exif)
    big.convert("L").save(HERE / "gen-gray.jpg", quality=85)
    big.convert("CMYK").save(HERE / "gen-cmyk.jpg", quality=85)
    rgba = small.convert("RGBA")
    a = np.asarray(rgba).copy()
    a[:, : a.shape[1] // 3, 3] = 0  # a fully transparent left third (its RGB kept)
    a[a.shape[0] // 2 :, :, 3] //= 2
    rgba = Image.fromarray(a, "RGBA")
    rgba.save(HERE / "gen-rgba.png")
    rgba.save(HERE / "gen-rgba.webp", lossless=True)
    rgba.convert("LA").save(HERE / "gen-la.png")
    small.quantize(64).save(HERE / "gen-palette.png")
    pal = small.quantize(64)
    pal.save(HERE / "gen-palette-trns.png", transparency=0)
    small.convert("1").save(HERE / "gen-1bit.png")
    gray16 = np.asarray(small.convert("L"), dtype=np.uint16) * 257 + np.arange(201 * 320).reshape(201, 320) % 97
    Image.fromarray(gray16.astype(np.uint16)).save(HERE / "gen-gray16.png")
    # Flat and pure-gradient images: PDQ's bits there are decided by rounding noise, where the C++
    # core's float32 luma and pdqhash's float64 luma part (docs/decoders.md, known differences).
    ramp = np.repeat(np.linspace(0, 255, 37)[None, :, None], 23, axis=0).repeat(3, axis=2)
    Image.fromarray(ramp.astype(np.uint8)).save(HERE / "gen-tiny-gradient.png")
    Image.new("RGB", (16, 16), (200, 120, 40)).save(HERE / "gen-tiny-flat.png")
    small.save(HERE / "gen-rgb.webp", quality=80)
    small.save(HERE / "gen-rgb.png")


if __name__ == "__main__":
    main()
