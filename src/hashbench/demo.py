"""A small end-to-end run on images that ship inside the installed dependencies.

It exists so that `make demo` shows the whole flow on a fresh machine with no network:
bundled photos -> a few edits (JPEG re-encode, half size, mirror) -> every default hasher ->
a table of how far each edit moves each hash and how far apart distinct photos are. The full
evaluator (`hashbench run`) supersedes it once it exists.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .bits import hamming, hamming_matrix
from .hashing import HashResult, hash_arrays

__all__ = ["bundled_photo_paths", "DemoResult", "run_demo"]


def bundled_photo_paths() -> list[Path]:
    """Photographs shipped inside scikit-image and scikit-learn (no download)."""
    import skimage
    import sklearn

    skdir = Path(skimage.__file__).parent / "data"
    names = ["astronaut.png", "camera.png", "chelsea.png", "coffee.png", "coins.png", "horse.png",
             "moon.png", "page.png", "rocket.jpg", "retina.jpg", "hubble_deep_field.jpg", "grass.png",
             "gravel.png", "brick.png", "motorcycle_left.png"]
    paths = [skdir / n for n in names if (skdir / n).is_file()]
    sk = Path(sklearn.__file__).parent / "datasets" / "images"
    paths += sorted(sk.glob("*.jpg"))
    return paths


def _edits(px: np.ndarray) -> dict[str, tuple[np.ndarray, bytes | None]]:
    im = Image.fromarray(px)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=70)
    jpeg = buf.getvalue()
    jpeg_px = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))
    half = np.asarray(im.resize((max(1, im.width // 2), max(1, im.height // 2)), Image.Resampling.LANCZOS))
    return {"jpeg-q70": (jpeg_px, jpeg), "resize-0.5": (half, None), "hflip": (np.ascontiguousarray(px[:, ::-1]), None)}


@dataclass
class DemoResult:
    hashes: HashResult
    edits: list[str]
    genuine: dict[str, dict[str, np.ndarray]]  # hasher -> edit -> distances
    impostor_min: dict[str, int]  # hasher -> smallest distance between distinct photos


def run_demo(*, workers: int | None = None, progress: bool = True) -> DemoResult:
    from .imageio import read_image

    ids, sources = [], []
    for p in bundled_photo_paths():
        img = read_image(p, item_id=p.name)
        ids.append(f"{p.name}/original")
        sources.append((img.pixels, img.data))
        for name, src in _edits(img.pixels).items():
            ids.append(f"{p.name}/{name}")
            sources.append(src)
    from .hashers import DEFAULT_HASHERS

    result = hash_arrays(sources, ids, DEFAULT_HASHERS, workers=workers, progress=progress)
    edits = ["jpeg-q70", "resize-0.5", "hflip"]
    n_edit = len(edits) + 1
    genuine: dict[str, dict[str, np.ndarray]] = {}
    impostor_min: dict[str, int] = {}
    for h in result.hashers:
        codes = result.codes[h.name].reshape(-1, n_edit, h.nbytes)
        variants = result.variant_codes[h.name]
        if variants is not None:  # dihedral matching: the closest of the query's 8 variants
            v = variants.reshape(-1, n_edit, h.variants, h.nbytes)
            genuine[h.name] = {e: hamming(codes[:, 0, None], v[:, k + 1]).min(axis=1) for k, e in enumerate(edits)}
        else:
            genuine[h.name] = {e: np.atleast_1d(hamming(codes[:, 0], codes[:, k + 1])) for k, e in enumerate(edits)}
        d = hamming_matrix(codes[:, 0], codes[:, 0])
        impostor_min[h.name] = int(d[np.triu_indices(len(d), 1)].min())
    return DemoResult(result, edits, genuine, impostor_min)
