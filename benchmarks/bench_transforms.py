"""Transform throughput: images/s of every catalogue kind (default parameters) at two sizes.

Run: ``.venv/bin/python -m pytest benchmarks/bench_transforms.py --benchmark-only -s`` (or
``make bench``). Each figure comes with a ratio against a baseline measured in the same run and
interleaved with it: a Pillow round trip of the same image (``np.asarray(Image.fromarray(img))``,
the least any Pillow-based edit pays: one copy in, one copy out).
The input is a real photo (scikit-image's chelsea, the cat) resized to 256x256 and 1024x768.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from hashbench import transforms as tf
from hashbench.datasets import SampleDataset
from timing import interleaved_min

SIZES = {"256x256": (256, 256), "1024x768": (1024, 768)}
N_IMAGES = {"256x256": 20, "1024x768": 4}
KINDS = [c.kind for c in tf.available()]


def photo(size: tuple[int, int]) -> np.ndarray:
    item = next(it for it in SampleDataset() if it.id.endswith("chelsea"))
    return np.asarray(Image.fromarray(item.load()).resize(size, Image.Resampling.LANCZOS))


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("kind", KINDS)
def bench_transform(benchmark, kind, size):
    img = photo(SIZES[size])
    t = tf.get(kind)
    n = N_IMAGES[size]
    rngs = [np.random.default_rng(i) for i in range(n)]

    def run() -> None:
        for r in rngs:
            t.apply(img, r)

    def base() -> None:
        for _ in range(n):
            np.asarray(Image.fromarray(img))

    run()  # warm caches (fonts)
    best = interleaved_min({"transform": run, "baseline": base}, rounds=3)
    benchmark.group = f"transform {size}"
    benchmark.pedantic(run, rounds=3, warmup_rounds=1)
    ips = n / best["transform"]
    base_ips = n / best["baseline"]
    benchmark.extra_info.update(
        images_per_s=round(ips, 1),
        baseline_pillow_roundtrip_images_per_s=round(base_ips, 1),
        ratio_to_baseline=round(ips / base_ips, 5),
    )
    print(f"\n{kind:18s} {size:9s} {ips:9.1f} img/s   baseline {base_ips:10.1f} img/s   ratio {ips / base_ips:.4f}")
