"""Distinct synthetic draws: the same-picture criterion, its exact search, and the families."""

from __future__ import annotations

import numpy as np
import pytest

from hashbench.datasets.distinct import FLOOR, DistinctSet, difference, lab_of, signature
from hashbench.datasets.synthetic import FAMILIES, SyntheticDataset, distinct_redraws, generate

#: Draws per family checked in the suite (the 20,000 at the default size: benchmarks/bench_distinct.py).
DRAWS = 2000
#: Size of the suite's draws (small, to keep it to seconds; the criterion works on a 16 x 16 downscale).
SIZE = 32


def test_lab_matches_scikit_image():
    skcolor = pytest.importorskip("skimage.color")
    rgb = np.random.default_rng(0).integers(0, 256, size=(50, 3), dtype=np.uint8)
    np.testing.assert_allclose(lab_of(rgb), skcolor.rgb2lab(rgb[None].astype(np.float64) / 255.0)[0], atol=0.01)


def test_the_criterion_on_flat_images():
    """One JND: two flat images 1 Delta E apart are the same picture, 5 apart are not."""

    def flat(lab_l: float) -> np.ndarray:
        # grey of a given lightness, through the sRGB curve (grey has a = b = 0)
        y = ((lab_l + 16) / 116) ** 3
        c = 12.92 * y if y <= 0.0031308 else 1.055 * y ** (1 / 2.4) - 0.055
        return np.full((64, 64, 3), round(255 * c), np.uint8)

    same = float(difference(signature(flat(50)), signature(flat(51))))
    other = float(difference(signature(flat(50)), signature(flat(55))))
    assert same < FLOOR < other


def lab_of_signatures(sigs: np.ndarray) -> np.ndarray:
    """(n, cells, 3) Lab values of quantised signatures (L * 2.55, a + 128, b + 128)."""
    q = sigs.reshape(len(sigs), -1, 3).astype(np.float64)
    return np.stack([q[..., 0] / 2.55, q[..., 1] - 128, q[..., 2] - 128], axis=-1)


def brute_first_same(sigs: np.ndarray) -> list[int]:
    """For each signature, the first earlier one within the floor (-1: none), by brute force."""
    out = []
    for i in range(len(sigs)):
        d = difference(sigs[:i], sigs[i]) if i else np.zeros(0)
        hit = np.flatnonzero(d < FLOOR)
        out.append(int(hit[0]) if len(hit) else -1)
    return out


def test_the_search_is_exact():
    """DistinctSet finds exactly what a brute force finds, with planted near-copies and flat
    images crowding a few keys."""
    rng = np.random.default_rng(1)
    base = rng.integers(0, 256, size=(60, 16 * 16 * 3)).astype(np.int16)
    flat = np.repeat(rng.integers(100, 140, size=(60, 1, 3)), 256, axis=1).reshape(60, -1).astype(np.int16)
    noisy = np.concatenate(
        [base, base + rng.integers(-2, 3, size=base.shape), flat, flat + rng.integers(-3, 4, size=flat.shape)]
    )
    sigs = np.clip(noisy, 0, 255).astype(np.uint8)[rng.permutation(240)]
    want = brute_first_same(sigs)
    s = DistinctSet()
    for i, sig in enumerate(sigs):
        got = s.find(sig)
        assert (got >= 0) == (want[i] >= 0), i
        s.add(sig)  # all added: the search must find the first of several
        if got >= 0:
            assert got == want[i]
    assert sum(w >= 0 for w in want) > 50


@pytest.mark.parametrize("family", [*FAMILIES, "mixed"])
def test_no_two_draws_are_the_same_picture(family):
    """2,000 draws per family (size 32): no pair within the floor, by brute force."""
    ds = SyntheticDataset(family, count=DRAWS, seed=4, size=SIZE)
    red = ds.redraws(workers=1)
    sigs = np.stack([signature(generate(family, i, 4, SIZE, int(red[i]))) for i in range(DRAWS)])
    # every pair: a same picture has its mean colour within the floor (the mean of the cells'
    # differences bounds the difference of their means), so only those pairs need the full check
    lab = lab_of_signatures(sigs)
    means = lab.mean(axis=1)
    gap = np.sqrt(((means[:, None, :] - means[None, :, :]) ** 2).sum(axis=2))
    a, b = np.nonzero(np.triu(gap < FLOOR, k=1))
    d = difference(sigs[a], sigs[b])
    assert not np.any(d < FLOOR), (family, list(zip(a[d < FLOOR][:5].tolist(), b[d < FLOOR][:5].tolist(), strict=True)))


def test_redraws_are_recorded_and_replayed():
    ds = SyntheticDataset("low-detail", count=400, seed=2, size=SIZE)
    red = ds.redraws(workers=1)
    assert red.sum() > 0  # flat draws do repeat at this count
    k = int(np.flatnonzero(red)[0])
    item = ds.item(k)
    assert item.redraw == red[k] and item.source["redraw"] == red[k]
    np.testing.assert_array_equal(item.load(), generate("low-detail", k, 2, SIZE, int(red[k])))
    assert item.id == f"synthetic/low-detail/s2/{k:08d}"  # ids do not change
    raw = SyntheticDataset("low-detail", count=400, seed=2, size=SIZE, distinct="false")
    assert raw.redraws().sum() == 0 and raw.item(k).redraw == 0
    # a later window of the same draws has the same redraws (the search always starts at 0)
    window = SyntheticDataset("low-detail", count=10, seed=2, size=SIZE, start=k - 5)
    assert [window.item(j).redraw for j in range(10)] == red[k - 5 : k + 5].tolist()
    np.testing.assert_array_equal(distinct_redraws("low-detail", 2, (SIZE, SIZE), 400, workers=1), red)
    pop = ds.population()
    assert pop["by_family"]["low-detail"]["redraws"] == int(red.sum())


def test_low_detail_keeps_its_hard_low_quality_cases():
    """Distinct low-detail draws still give PDQ hashes of low quality (the cases the family is for)."""
    from hashbench.hashers import get

    pdq = get("pdq")
    ds = SyntheticDataset("low-detail", count=150, seed=0, size=64)
    quality = pdq.hash_many([ds.item(i).load() for i in range(150)]).quality
    assert quality is not None
    raw = SyntheticDataset("low-detail", count=150, seed=0, size=64, distinct=False)
    raw_quality = pdq.hash_many([raw.item(i).load() for i in range(150)]).quality
    assert raw_quality is not None
    low, raw_low = float((quality < 50).mean()), float((raw_quality < 50).mean())
    assert low > 0.5 and low >= raw_low - 0.05, (low, raw_low)  # redraws keep the hard cases


@pytest.mark.parametrize("workers", [1, 2])
def test_known_signatures_with_gaps_give_the_same_redraws(workers):
    """Signatures handed over by the hash stage, some missing (chunks resumed from an older run):
    the missing ones are made (in the workers) and the counts are those of a search from nothing."""
    want = distinct_redraws("low-detail", 2, (SIZE, SIZE), 400, workers=1)
    firsts = [signature(generate("low-detail", i, 2, SIZE)) for i in range(400)]
    known = [None if (i // 70) % 2 or i % 13 == 0 else s for i, s in enumerate(firsts[100:], start=100)]
    got = distinct_redraws("low-detail", 2, (SIZE, SIZE), 400, workers=workers, known=known)
    np.testing.assert_array_equal(got, want)
    assert want.sum() > 0
