"""Make the pinned golden videos (run once; the files are committed, the test never re-encodes).

The committed files were made by synthetic.GENERATOR_VERSION 1 (stills' families tied to the
kind); a newer generator makes other videos, which would need new reference features.

    PYTHONPATH=src python tests/golden/video/make_golden_videos.py

Then compute the vpdq C++ reference's features for each with a throwaway venv that has
``pip install vpdq`` (0.2.5, built against Debian's FFmpeg) and write them next to the videos:

    /tmp/venv-vpdq/bin/python tests/golden/video/reference_features.py tests/golden/video
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from hashbench.video.synthetic import VideoRecipe, encode, render

HERE = Path(__file__).parent

#: name -> (recipe, frame rate written to the container)
VIDEOS = {
    "pan-x264-160x120-30fps": (VideoRecipe(kind="pan", index=3, width=160, height=120, fps=30, seconds=2.0), 30),
    "shapes-mpeg4-176x144-25fps": (
        VideoRecipe(kind="shapes", index=4, width=176, height=144, fps=25, seconds=2.0, codec="mpeg4", quality=5),
        25,
    ),
    "cuts-x264-128x96-29.97fps": (
        VideoRecipe(kind="cuts", index=5, width=128, height=96, fps=30, seconds=3.0),
        Fraction(30000, 1001),
    ),
}

if __name__ == "__main__":
    for name, (recipe, rate) in VIDEOS.items():
        out = encode(render(recipe), HERE / f"{name}.mp4", fps=rate, codec=recipe.codec, quality=recipe.quality)
        print(out, out.stat().st_size)
