"""tmkpy's TMK+PDQF features and scores of some videos, as JSON (the reference side of the tmk parity).

Runs only where the reference is installed: a throwaway venv with PyPI ``tmkpy`` 0.1.1 (built with
Debian's ``swig``) and numpy, and the ``ffmpeg`` program (Debian 12: FFmpeg 5.1), e.g.

    python3 -m venv /tmp/venv-tmk && /tmp/venv-tmk/bin/pip install tmkpy==0.1.1 numpy
    /tmp/venv-tmk/bin/python tests/golden/video_tmk_reference.py tests/golden/video_tmk.json \\
        tests/golden/video/*.mp4 tests/golden/video_tmk/*.mp4

For every video: the resampled frame count, the level-1 (mean) feature and a digest of the level-2
features (their sums and norms per period); for every unordered pair: tmkpy's level-1 and level-2
scores. ``--npz DIR`` also writes each video's full features (for development checks).
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import shutil
import subprocess
from pathlib import Path

import numpy as np
import tmkpy

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("videos", nargs="+")
    ap.add_argument("--npz", default=None)
    args = ap.parse_args()
    root = Path(args.out).resolve().parent.parent.parent  # the repository: names are relative to it
    tmks, videos = {}, {}
    for v in args.videos:
        name = str(Path(v).resolve().relative_to(root)) if Path(v).resolve().is_relative_to(root) else Path(v).name
        t = tmkpy.hashVideo(str(v), FFMPEG)
        tmks[name] = t
        cos, sin = np.array(t.getCosFeatures(), np.float32), np.array(t.getSinFeatures(), np.float32)
        videos[name] = {
            "frames": t.getFrameFeatureCount(),
            "average": [float(x) for x in t.getPureAverageFeature()],
            "cos_sum": cos.sum(axis=(1, 2)).tolist(),
            "sin_sum": sin.sum(axis=(1, 2)).tolist(),
        }
        if args.npz:
            Path(args.npz).mkdir(parents=True, exist_ok=True)
            avg = np.array(t.getPureAverageFeature(), np.float32)
            np.savez(
                Path(args.npz) / (Path(v).stem + ".npz"), frames=t.getFrameFeatureCount(), average=avg, cos=cos, sin=sin
            )
    pairs = []
    for a, b in itertools.combinations(sorted(tmks), 2):
        l1 = tmkpy.TMKFeatureVectors.computeLevel1Score(tmks[a], tmks[b])
        l2 = tmkpy.TMKFeatureVectors.computeLevel2Score(tmks[a], tmks[b])
        pairs.append({"a": a, "b": b, "level1": float(l1), "level2": float(l2)})
    version = subprocess.run([FFMPEG, "-version"], capture_output=True, text=True).stdout.splitlines()[0]
    out = {
        "reference": {"tmkpy": "0.1.1", "ffmpeg": version, "machine": platform.machine()},
        "videos": videos,
        "pairs": pairs,
    }
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
