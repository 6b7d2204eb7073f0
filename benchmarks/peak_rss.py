"""Peak memory of one hashing worker on very large images, in bytes per pixel.

    python benchmarks/peak_rss.py [--sizes 20,50,150] [--formats png,jpeg,grey-png]
        [--hasher pdq,phash,md5] [--dir /tmp/hashbench-rss] [--src SRC ...]

Images of 20, 50 and 150 megapixels (4:3, a smooth photo-like pattern so the files stay small)
are generated once into ``--dir`` (never committed). Each image is then hashed by a fresh Python
process that runs exactly what a pool worker runs (:func:`hashbench.hashing.hash_stream` with one
worker: decode once, every hasher on the same pixels) after hashing a small image first, so imports
and numba compilation are done (a PNG and a JPEG file too, so decoded arrays meet kernels
already compiled for them). Then the process's peak resident memory (``VmHWM``) is reset to its
current resident memory (``/proc/self/clear_refs``, Linux), the big image is hashed, and the
figure is the peak's growth over the resident memory before, divided by the pixel count: the
bytes per pixel this image cost on top of an idle worker. ``--src`` may name several source trees (the
current one and a git worktree of an earlier commit) to compare them in the same run.

Not a test: it allocates gigabytes and takes minutes. ``grey-png`` is the issue-16 bomb shape: a
14000x14000 single-channel PNG (196 Mpx) of a few hundred KB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Run in the child: warm up on a small image, then hash the big one and report the peak growth.
CHILD = r"""
import json, os, sys, time
import numpy as np
from hashbench.hashing import hash_stream
from hashbench import imageio
path, hashers = sys.argv[1], sys.argv[2].split(",")
decode = sys.argv[3] if len(sys.argv) > 3 else "full"
kw = {"decode": decode} if decode != "full" else {}
from PIL import Image
small = np.random.default_rng(0).integers(0, 256, (600, 800, 3), dtype=np.uint8)
warm = [(f"warm{i}", sys.argv[4] + f"/warm.{ext}") for i, ext in enumerate(("png", "jpg"))]
for _, p in warm:
    Image.fromarray(small).save(p)
list(hash_stream([("warm", small)] + warm, hashers, workers=1, **kw))
def status(key):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith(key + ":"))
with open("/proc/self/clear_refs", "w") as fh:  # peak RSS (VmHWM) := current RSS (Linux >= 4.0)
    fh.write("5")
before = status("VmRSS")
t0, c0 = time.perf_counter(), time.process_time()
(chunk,) = list(hash_stream([("big", path)], hashers, workers=1, **kw))
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
peak = status("VmHWM")
errors = [chunk.decode_errors[0]] + [b.errors[0] for b in chunk.batches.values()]
print(json.dumps({"before": before, "peak": peak, "wall": wall, "cpu": cpu,
                  "error": next((e for e in errors if e), None), "file": imageio.__file__}))
"""


def _pattern(width: int, height: int, grey: bool):
    """A photo-like image: smooth gradients and a few soft blobs, upscaled (small files)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    small = rng.normal(128, 40, (48, 64, 1 if grey else 3)).clip(0, 255).astype(np.uint8)
    im = Image.fromarray(small[:, :, 0] if grey else small)
    return im.resize((width, height), Image.Resampling.BICUBIC)


def generate(folder: Path, megapixels: int, fmt: str) -> Path:
    """The image of ``megapixels`` in ``fmt`` (png, jpeg or grey-png), made once and kept."""
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "grey-png":
        width = height = 14000
    else:
        width = int(round((megapixels * 1e6 * 4 / 3) ** 0.5))
        height = int(round(megapixels * 1e6 / width))
    ext = "jpg" if fmt == "jpeg" else "png"
    path = folder / f"{fmt}-{width}x{height}.{ext}"
    if not path.exists():
        im = _pattern(width, height, fmt == "grey-png")
        tmp = path.with_suffix(".tmp")
        im.save(tmp, format="JPEG" if fmt == "jpeg" else "PNG", quality=90, compress_level=1)
        tmp.rename(path)
    return path


def measure(path: Path, hashers: str, src: Path, decode: str = "full") -> dict:
    """Run the child on ``path`` with ``src`` first on PYTHONPATH; its JSON line, plus the image's pixels."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # only the header is read here, to count the pixels
    with Image.open(path) as im:
        pixels = im.size[0] * im.size[1]
    env = {
        **os.environ,
        "PYTHONPATH": str(src),
        "HASHBENCH_WORKER_MEMORY": str(64 << 30),
        "HASHBENCH_ITEM_TIMEOUT": "7200",  # a shared machine may take minutes of wall time
    }
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(path), hashers, decode, tmp], env=env, capture_output=True, text=True
        )
    if out.returncode != 0:
        return {"pixels": pixels, "error": f"exit {out.returncode}: {out.stderr.strip()[-300:]}"}
    rec = json.loads(out.stdout.strip().splitlines()[-1])
    if not Path(rec["file"]).resolve().is_relative_to(src.resolve()):
        raise SystemExit(f"the child imported {rec['file']}, not the tree {src}")
    rec["pixels"] = pixels
    rec["file_bytes"] = path.stat().st_size
    rec["bytes_per_pixel"] = (rec["peak"] - rec["before"]) / pixels
    return rec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="20,50,150", help="megapixels, comma-separated")
    ap.add_argument("--formats", default="png,jpeg", help="png, jpeg, grey-png (the 14000x14000 bomb)")
    ap.add_argument("--hasher", default="pdq,phash,md5")
    ap.add_argument("--decode", default="full", help="full or draft (the head only)")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/hashbench-rss"))
    ap.add_argument("--src", type=Path, action="append", help="source trees to compare (default: this one)")
    args = ap.parse_args(argv)
    srcs = args.src or [ROOT / "src"]
    print("| image | Mpx | file MB | tree | peak growth MB | bytes/pixel | CPU s | wall s | error |")
    print("|---|---|---|---|---|---|---|---|---|")
    for fmt in args.formats.split(","):
        for mp in [int(s) for s in args.sizes.split(",")] if fmt != "grey-png" else [196]:
            path = generate(args.dir, mp, fmt)
            for src in srcs:
                r = measure(path, args.hasher, src, args.decode)
                grow = (r["peak"] - r["before"]) / 2**20 if "peak" in r else float("nan")
                print(
                    f"| {path.name} | {r['pixels'] / 1e6:.0f} | {path.stat().st_size / 1e6:.1f} | {src} | "
                    f"{grow:,.0f} | {r.get('bytes_per_pixel', float('nan')):.2f} | {r.get('cpu', 0):.1f} | "
                    f"{r.get('wall', 0):.1f} | {r.get('error') or ''} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
