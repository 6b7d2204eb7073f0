"""Make the interop goldens with the tools themselves, in a throwaway virtualenv (never a test dependency).

    python3 -m venv /tmp/venv-tx && /tmp/venv-tx/bin/pip install threatexchange perception
    /tmp/venv-tx/bin/python tests/golden/interop/make_goldens.py /path/to/site-packages-with-the-sample-photos

Writes, for the sample photos (the ``sample`` dataset: skimage, sklearn and matplotlib images,
in the order of their ids):

- ``tx_pdq_sample.txt``: what ``tx hash photo FILE`` prints for each photo (``pdq HASH``), the
  form python-threatexchange's local-file collaboration loads. tx prints nothing for a photo
  whose PDQ quality is below its floor (50), so that photo has no line;
- ``tx_pdq_sample_quality.json``: ``{id: {"pdq_from_file": [hash, quality], "tx_line": line or
  null}}``: python-threatexchange's own PDQ hasher (``pdq_hasher.pdq_from_file``), as the tx
  line has no quality, and the line ``tx hash`` printed;
- ``perception_pdq_sample.csv``: perception's ``PDQHash`` hashes (base64, its default) in the
  columns of its ``BenchmarkHashes`` CSV, ``filepath`` replaced by the sample id.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SAMPLES = {  # sample id -> file under site-packages (hashbench.datasets.sample)
    "sample/skimage/astronaut": "skimage/data/astronaut.png",
    "sample/skimage/camera": "skimage/data/camera.png",
    "sample/skimage/chelsea": "skimage/data/chelsea.png",
    "sample/skimage/coffee": "skimage/data/coffee.png",
    "sample/skimage/coins": "skimage/data/coins.png",
    "sample/skimage/hubble_deep_field": "skimage/data/hubble_deep_field.jpg",
    "sample/skimage/retina": "skimage/data/retina.jpg",
    "sample/skimage/rocket": "skimage/data/rocket.jpg",
    "sample/skimage/brick": "skimage/data/brick.png",
    "sample/skimage/grass": "skimage/data/grass.png",
    "sample/skimage/gravel": "skimage/data/gravel.png",
    "sample/skimage/moon": "skimage/data/moon.png",
    "sample/skimage/page": "skimage/data/page.png",
    "sample/skimage/text": "skimage/data/text.png",
    "sample/skimage/clock_motion": "skimage/data/clock_motion.png",
    "sample/skimage/cell": "skimage/data/cell.png",
    "sample/skimage/ihc": "skimage/data/ihc.png",
    "sample/skimage/microaneurysms": "skimage/data/microaneurysms.png",
    "sample/skimage/motorcycle_left": "skimage/data/motorcycle_left.png",
    "sample/sklearn/china": "sklearn/datasets/images/china.jpg",
    "sample/sklearn/flower": "sklearn/datasets/images/flower.jpg",
    "sample/matplotlib/grace_hopper": "matplotlib/mpl-data/sample_data/grace_hopper.jpg",
}


def main(site: Path) -> None:
    import pandas as pd
    from perception import hashers
    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file

    here = Path(__file__).parent
    tx = Path(sys.executable).with_name("tx")
    lines, quality = [], {}
    for sid, rel in SAMPLES.items():
        path = site / rel
        out = subprocess.run([str(tx), "hash", "photo", str(path)], capture_output=True, text=True, check=True)
        line = out.stdout.strip() or None
        if line:
            lines.append(line)
        h, q = pdq_from_file(path)
        quality[sid] = {"pdq_from_file": [h, int(q)], "tx_line": line}
    (here / "tx_pdq_sample.txt").write_text("\n".join(lines) + "\n")
    from importlib.metadata import version

    versions = {d: version(d) for d in ("threatexchange", "perception", "pdqhash", "pillow")}
    doc = {"versions": versions, "photos": quality}
    (here / "tx_pdq_sample_quality.json").write_text(json.dumps(doc, indent=1) + "\n")

    hasher = hashers.PDQHash()
    paths = [str(site / rel) for rel in SAMPLES.values()]
    records = list(hasher.compute_parallel(paths, max_workers=1))
    df = pd.DataFrame.from_records(records).assign(
        hasher_name="pdq",
        hasher_hash_length=hasher.hash_length,
        hasher_dtype=hasher.dtype,
        hasher_distance_metric=hasher.distance_metric,
    )
    by_path = {str(site / rel): sid for sid, rel in SAMPLES.items()}
    df["filepath"] = df["filepath"].map(by_path)
    df.sort_values("filepath").to_csv(here / "perception_pdq_sample.csv", index=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
