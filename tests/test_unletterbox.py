"""pdq+unletterbox: tx's --photo-preprocess unletterbox before PDQ, as a hasher of its own.

The trim is checked against a transcription of tx's four per-side scans, and its purpose is
measured on the default suite's ``pad_10_black`` edit of the bundled photos and seeded synthetic
images: plain PDQ matches none of the padded copies at its threshold, pdq+unletterbox all of them.
"""

from __future__ import annotations

import numpy as np
import pytest

from hashbench.datasets import get as get_dataset
from hashbench.hashers import BUILTIN, check_conformance
from hashbench.hashers import get as get_hasher
from hashbench.hashers.base import ImageItem
from hashbench.hashers.preprocess import unletterbox
from hashbench.transforms.base import transform_rng
from hashbench.transforms.suites import get_suite


def _tx_borders(px: np.ndarray, threshold: int) -> tuple[int, int, int, int]:
    """tx's detect_top/bottom/left/right_border, transcribed: each side scanned on the whole image."""
    black = lambda line: bool(np.all(line <= threshold))  # noqa: E731
    h, w = px.shape[:2]
    top = next((y for y in range(h) if not black(px[y])), h)
    bottom = next((h - y - 1 for y in range(h - 1, -1, -1) if not black(px[y])), h)
    left = next((x for x in range(w) if not black(px[:, x])), w)
    right = next((w - x - 1 for x in range(w - 1, -1, -1) if not black(px[:, x])), w)
    return top, bottom, left, right


@pytest.mark.parametrize("seed", range(40))
def test_unletterbox_trims_what_tx_trims(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(1, 30, 2)
    px = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    if seed % 3:  # black-ish borders of random widths, some pixels exactly at the threshold
        t, b, l, r = rng.integers(0, 6, 4)
        px = np.pad(px, ((t, b), (l, r), (0, 0)), constant_values=int(rng.integers(0, 16)))
    if seed % 5 == 0:
        px[:, :2] = rng.integers(0, 16, (px.shape[0], min(2, px.shape[1]), 3))  # noisy dark column
    top, bottom, left, right = _tx_borders(px, 15)
    got = unletterbox(px, 15)
    if top == px.shape[0]:  # black all over: tx's crop box would be empty; kept whole here
        assert got is px
    else:
        np.testing.assert_array_equal(got, px[top : px.shape[0] - bottom, left : px.shape[1] - right])


def test_threshold_is_inclusive_and_other_channels_count():
    px = np.full((5, 5, 3), 200, np.uint8)
    px[0] = 15
    px[-1] = (15, 16, 0)  # one channel above 15: not black
    assert unletterbox(px).shape == (4, 5, 3)
    assert unletterbox(px, black_threshold=16).shape == (3, 5, 3)


def test_pdq_unletterbox_is_a_conforming_builtin_recorded_with_its_setting():
    assert "pdq+unletterbox" in BUILTIN
    h = get_hasher("pdq+unletterbox")
    assert h.describe()["preprocess"] == {"name": "unletterbox", "black_threshold": 15}
    assert check_conformance(h).ok


def test_pad_10_black_tpr_rises_from_zero_with_unletterbox():
    """The default suite's pad_10_black on 12 bundled photos and 20 seeded synthetic images."""
    pad = next(t for t in get_suite("default") if t.name == "pad_10_black")
    items = [it for it in get_dataset("sample")][:12]
    items += list(get_dataset("synthetic", family="mixed", count=20, size=256, seed=0))
    pdq, unl = get_hasher("pdq"), get_hasher("pdq+unletterbox")
    hits = {"pdq": 0, "pdq+unletterbox": 0}
    for it in items:
        px = it.load()
        padded = pad.apply(px, transform_rng(0, it.id, pad.name)).pixels
        for h in (pdq, unl):
            a = h.hash_one(ImageItem(id=it.id, pixels=px)).code
            b = h.hash_one(ImageItem(id=it.id, pixels=padded)).code
            hits[h.name] += int(np.unpackbits(a ^ b).sum()) <= h.default_threshold
    assert hits == {"pdq": 0, "pdq+unletterbox": len(items)}


def test_a_run_reports_both_matchers_and_records_the_step_and_the_decode_profile(tmp_path):
    """A tiny seeded run: pdq and pdq+unletterbox on the same padded copies and impostor pairs."""
    from hashbench.config import parse_config
    from hashbench.runner import run
    from hashbench.schema import Report
    from typed_shape import shape_errors

    config = parse_config(
        {
            "run": {"name": "unl", "seed": 3, "chunk_size": 8, "decode_profile": "python-threatexchange"},
            "references": [{"dataset": "synthetic", "family": "mixed", "count": 8, "size": 128, "seed": 0}],
            "distractors": [{"dataset": "synthetic", "family": "mixed", "count": 12, "size": 128, "seed": 1}],
            "transforms": {"custom": [{"kind": "pad", "name": "pad_10_black", "fraction": 0.1, "colour": "black"}]},
            "hashers": {"names": ["pdq", "pdq+unletterbox"], "composites": []},
            "matching": {"quality_floor": 0},
        },
        origin="unl",
    )
    r = run(config, out_root=tmp_path, workers=1, progress=False).report
    assert r["config"]["decode_profile"] == "python-threatexchange"
    assert r["hashers"]["pdq+unletterbox"]["preprocess"] == {"name": "unletterbox", "black_threshold": 15}
    assert "preprocess" not in r["hashers"]["pdq"]
    tp = {name: h["at_threshold"]["tpr"]["count"] for name, h in r["hashers"].items()}
    assert tp == {"pdq": 0, "pdq+unletterbox": 8}
    fpr = {name: h["at_threshold"]["fpr_per_pair"] for name, h in r["hashers"].items()}
    assert fpr["pdq"]["n"] == fpr["pdq+unletterbox"]["n"] > 0  # both FPRs reported, over the same pairs
    assert shape_errors(r, Report) == []
