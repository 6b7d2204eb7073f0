"""Write goldens.json: each tool's PDQ hash and quality (or its failure) for every image here.

Not run by the tests (they read goldens.json). Run it with a python that has python-threatexchange
installed, and the C++ pdq-photo-hasher built from ThreatExchange's pdq/cpp (see its README):

    /path/to/venv-with-threatexchange/bin/python make_goldens.py /path/to/pdq-photo-hasher
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file

HERE = Path(__file__).parent
IMAGES = sorted(p for p in HERE.iterdir() if p.suffix in (".jpg", ".png", ".webp"))


def cpp(tool: str, path: Path) -> dict:
    out = subprocess.run([tool, path.name], capture_output=True, text=True, cwd=HERE)
    lines = [x for x in out.stdout.splitlines() if x.count(",") >= 2]
    if "CImgIOException" in out.stderr:
        # the tool cannot load the file, yet prints an all-zero hash with an uninitialised quality
        return {"error": "CImgIOException: " + out.stderr.split("load(): ")[-1].strip()[:160]}
    if out.returncode == 0 and lines:
        h, q, _ = lines[0].split(",", 2)
        return {"hash": h, "quality": int(q)}
    return {"error": (out.stderr or out.stdout).strip().splitlines()[-1][:200]}


def tx(path: Path) -> dict:
    try:
        h, q = pdq_from_file(path)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:200]}
    return {"hash": h, "quality": int(q)}


def main() -> None:
    tool = sys.argv[1]
    goldens = {p.name: {"threatexchange-cpp": cpp(tool, p), "python-threatexchange": tx(p)} for p in IMAGES}
    (HERE / "goldens.json").write_text(json.dumps(goldens, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
