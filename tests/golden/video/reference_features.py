"""Write the vpdq C++ reference's features of every golden video (run with a venv that has vpdq).

One file per video and seconds_per_hash: NAME.sph-S.txt with lines ``frame,quality,hex,timestamp``.
"""

import sys
from pathlib import Path

import vpdq

SECONDS_PER_HASH = (0.0, 0.5, 1.0)

folder = Path(sys.argv[1])
for video in sorted(folder.glob("*.mp4")):
    for sph in SECONDS_PER_HASH:
        lines = [
            f"{f.frame_number},{f.quality},{f.hex},{f.timestamp:.6f}"
            for f in vpdq.computeHash(str(video), seconds_per_hash=sph)
        ]
        (folder / f"{video.stem}.sph-{sph:g}.txt").write_text("\n".join(lines) + "\n")
        print(video.name, sph, len(lines))
