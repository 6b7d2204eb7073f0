"""Regenerate tests/golden/hashes.json: pinned hashes of bundled photos, with library versions.

Run after a deliberate upgrade of Pillow, pdqhash or imagehash:
    .venv/bin/python tests/golden/regenerate.py
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

from hashbench.bits import codes_to_hex
from hashbench.datasets import get as get_dataset
from hashbench.hashing import hash_files

PINNED = ["pdq", "phash", "phash16", "dhash", "ahash", "whash", "colorhash", "md5"]
VERSIONED = ["pillow", "pdqhash", "imagehash", "numpy", "scipy", "pywavelets"]


def main() -> None:
    paths = [Path(it.path) for it in get_dataset("sample")][:10]
    res = hash_files(paths, [p.name for p in paths], PINNED, workers=1, progress=False)
    out = {
        "versions": {d: importlib.metadata.version(d) for d in VERSIONED},
        "hashes": {h.name: dict(zip(res.ids, codes_to_hex(res.codes[h.name], h.nbits))) for h in res.hashers},
    }
    target = Path(__file__).with_name("hashes.json")
    target.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
