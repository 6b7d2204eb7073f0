"""docs/decode.md's table: what ``decode = "draft"`` does to each hasher on the bundled sample photos.

    python benchmarks/draft_table.py            # prints the Markdown table
    python benchmarks/draft_table.py --write    # and replaces it in docs/decode.md

Each sample photo (``datasets/sample.py``: the real photos that ship in scikit-image,
scikit-learn and matplotlib) is encoded as a JPEG at quality 95 (draft decoding applies to JPEGs
only; most sample photos are PNGs), then decoded twice, in full and in draft, and hashed both ways
(:func:`hashbench.drafts.draft_distances`, every photo, no sampling). A row gives the draft side
(twice the largest ``decode_size`` of the hashers run together), how many photos draft actually
reduced, and the distribution of the Hamming distances between the draft and full hashes: the
image is the sampling unit, every figure a count of photos. Deterministic: no timing, no seed
beyond the photos themselves.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "decode.md"
BEGIN, END = "<!-- draft-table:begin -->", "<!-- draft-table:end -->"
#: Hashers measured alone (each at its own draft side), then together (the side of the largest).
ALONE = ("pdq", "phash", "phash16", "dhash", "ahash")
TOGETHER = ("pdq", "phash", "phash16", "dhash", "ahash")
#: Draft sides below the rule, measured to show what they would cost.
SMALLER = (128,)


def _photos(folder: Path) -> list[tuple[str, Path]]:
    from PIL import Image

    from hashbench.datasets import get as get_dataset

    out = []
    for item in get_dataset("sample"):
        path = folder / (item.id.replace("/", "_") + ".jpg")
        Image.fromarray(item.load()).save(path, quality=95)
        out.append((item.id, path))
    return out


def _row(label: str, dist: dict, name: str) -> str:
    d = dist["hashers"][name]
    hist = d["histogram"]
    dists = np.repeat([int(k) for k in hist], list(hist.values()))
    p90 = int(np.percentile(dists, 90, method="higher")) if dists.size else "-"
    spread = ", ".join(f"{k}: {v}" for k, v in hist.items())
    return (
        f"| {name} | {label} | {dist['draft_side']} | {d['images']} | {dist['reduced']} | {d['identical']} | "
        f"{d['median']:g} | {p90} | {d['max']} | {spread} |"
    )


def table() -> str:
    from hashbench.drafts import draft_distances
    from hashbench.hashers import get

    lines = [
        "| hasher | run with | draft side | photos | reduced | identical | median | 90th pct | max | "
        "photos per distance |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        items = _photos(Path(tmp))
        n = len(items)
        for name in ALONE:
            dist = draft_distances(items, [get(name)], sample=n)
            lines.append(_row("alone", dist, name))
        together = draft_distances(items, [get(h) for h in TOGETHER], sample=n)
        for name in TOGETHER:
            lines.append(_row("all five", together, name))
        for side in SMALLER:  # what sides below the rule would do: why the rule is what it is
            forced = draft_distances(items, [get(h) for h in TOGETHER], sample=n, side=side)
            for name in TOGETHER:
                lines.append(_row(f"all five, side forced to {side}", forced, name))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help=f"replace the table between the markers in {DOC}")
    args = ap.parse_args(argv)
    text = table()
    print(text)
    if args.write:
        doc = DOC.read_text(encoding="utf-8")
        head, rest = doc.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        DOC.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
