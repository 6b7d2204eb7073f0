"""Make the extra videos of the tmk parity test (run once; the files are committed, tests never encode).

    PYTHONPATH=src python tests/golden/video_tmk_make.py

Two more frame rates than tests/golden/video/ has (10 fps: the ffmpeg program repeats frames to
reach 15; 24 fps: drops some), and edited copies of ``pan-x264-160x120-30fps`` (the edits of
``video.edits``' default suite that keep the content recognisable, plus a flip that should not).
Then compute tmkpy's features and scores of all of them and of tests/golden/video/*.mp4
(``video_tmk_reference.py``; its docstring says how).
"""

from __future__ import annotations

from pathlib import Path

from hashbench.video.edits import SUITES, apply_edit
from hashbench.video.synthetic import VideoRecipe, encode, render

HERE = Path(__file__).parent
OUT = HERE / "video_tmk"
SOURCE = HERE / "video" / "pan-x264-160x120-30fps.mp4"

#: name -> (recipe, frame rate written to the container)
VIDEOS = {
    "zoom-x264-96x72-10fps": (VideoRecipe(kind="zoom", index=6, width=96, height=72, fps=10, seconds=3.0), 10),
    "fade-x264-112x80-24fps": (VideoRecipe(kind="fade", index=7, width=112, height=80, fps=24, seconds=2.5), 24),
}
EDITS = ("grayscale", "brightness-contrast", "trim-0.6", "framerate-15", "flip")

if __name__ == "__main__":
    for name, (recipe, rate) in VIDEOS.items():
        out = encode(render(recipe), OUT / f"{name}.mp4", fps=rate, codec=recipe.codec, quality=recipe.quality)
        print(out, out.stat().st_size)
    specs = {s.label: s for s in SUITES["default"]}
    for label in EDITS:
        out = OUT / f"pan-30fps-{label}.mp4"
        record = apply_edit(SOURCE, out, specs[label], seed=0, video_id="pan-x264-160x120-30fps")
        print(out, out.stat().st_size, record["applied"])
