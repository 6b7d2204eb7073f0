"""Per-image-by-group counts from the all-pairs pass, and the per-family rates built from them,
against a numpy brute force over every pair, with a pair list cut far short (``max_listed``)."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from hashbench.evaluate.codes import Codes, PairCounting
from hashbench.evaluate.impostor import group_codes
from hashbench.evaluate.pairs import Evidence, PairList, cross_pairs, impostor_pairs, variant_cross_pairs
from hashbench.evaluate.population import population_step
from hashbench.evaluate.rates import clopper_pearson

N = 240
GROUPS = ("flat", "noise", "photo", "text")


def clustered(n: int, nbytes: int, seed: int) -> np.ndarray:
    """Heavy clustering: 12 centres, each image a centre with a few bits flipped, so most images
    match many others and the matches concentrate in some groups."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 256, size=(12, nbytes), dtype=np.uint8)
    which = np.where(rng.random(n) < 0.7, rng.integers(0, 3, n), rng.integers(0, 12, n))  # 3 crowded centres
    flips = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    flips &= rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    flips &= rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    return centres[which] ^ flips


def labels_for(n: int, seed: int) -> np.ndarray:
    """Group labels correlated with the clusters' rows (the first third mostly one family)."""
    rng = np.random.default_rng(seed)
    lab = rng.choice(np.array(GROUPS, dtype=object), size=n)
    lab[: n // 3] = "flat"
    return lab


def bit_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distance of every row of ``a`` to every row of ``b`` (numpy, small sets only)."""
    x = np.unpackbits(a, axis=-1).astype(np.int64)
    y = np.unpackbits(b, axis=-1).astype(np.int64)
    return (x[:, None, :] != y[None, :, :]).sum(axis=2)


def dihedral_distances(variants: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``min(d(i -> j), d(j -> i))`` with ``d(i -> j) = min_v d(variants[i, v], codes[j])``."""
    bits_v = np.unpackbits(variants, axis=2).astype(np.int64)
    bits_c = np.unpackbits(codes, axis=1).astype(np.int64)
    d_dir = (bits_v[:, :, None, :] != bits_c[None, None, :, :]).sum(axis=3).min(axis=1)
    return np.minimum(d_dir, d_dir.T)


def brute_by_group(dist: np.ndarray, threshold: int, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """``C[i, h]``: image ``i``'s matches (pairs ``i != j`` within ``threshold``) with group ``h``."""
    match = (dist <= threshold).astype(np.int64)
    np.fill_diagonal(match, 0)
    return np.stack([match[:, codes == h].sum(axis=1) for h in range(n_groups)], axis=1)


def with_threads(threads: int):  # type: ignore[no-untyped-def]
    """Set numba's thread count for a block, restoring it after."""

    class _Ctx:
        def __enter__(self) -> None:
            self.before = numba.get_num_threads()
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))

        def __exit__(self, *exc: object) -> None:
            numba.set_num_threads(self.before)

    return _Ctx()


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("nbytes", [8, 32, 3])
def test_plain_kernel_counts_by_group_equal_a_brute_force(threads, nbytes):
    codes = clustered(N, nbytes, seed=nbytes)
    gc, G = group_codes(labels_for(N, seed=1))
    dist = bit_distances(codes, codes)
    thresholds = (8 * nbytes // 8, 8 * nbytes // 4)
    with with_threads(threads):
        for block in (7, 64):
            _, counts, lists = impostor_pairs(codes, 8 * nbytes, thresholds, 3, block=block, groups=(gc, G))
            for t, pl, c in zip(thresholds, lists, counts, strict=True):
                want = brute_by_group(dist, t, gc, G)
                assert pl.by_group is not None
                np.testing.assert_array_equal(pl.by_group, want)
                np.testing.assert_array_equal(pl.by_group.sum(axis=1), c)  # row sums: the per-image counts
    assert lists[1].truncated  # the list holds 3 of thousands: the matrix does not need it


@pytest.mark.parametrize("threads", [1, 2])
def test_dihedral_kernel_counts_by_group_equal_a_brute_force(threads):
    rng = np.random.default_rng(3)
    n, nv = 150, 4
    codes = clustered(n, 4, seed=7)
    variants = rng.integers(0, 256, size=(n, nv, 4), dtype=np.uint8)
    variants[:, 0] = codes
    variants[::5, 2] = codes[rng.integers(0, n, size=len(variants[::5]))] ^ np.uint8(1)  # some rotated matches
    gc, G = group_codes(labels_for(n, seed=2))
    dist = dihedral_distances(variants, codes)
    images = Codes(codes, np.ones(n, bool), variants=variants)
    with with_threads(threads):
        _, counts, lists = PairCounting(32, dihedral=True).with_pairs(images, np.arange(n), (4, 8), 2, (gc, G))
    for t, pl, c in zip((4, 8), lists, counts, strict=True):
        assert pl.by_group is not None and pl.truncated
        np.testing.assert_array_equal(pl.by_group, brute_by_group(dist, t, gc, G))
        np.testing.assert_array_equal(pl.by_group.sum(axis=1), c)


def test_cross_blocks_count_rows_of_a_then_b():
    """A block between two sets (what a cluster worker computes): rows of ``a`` then of ``b``."""
    codes = clustered(120, 8, seed=11)
    gc, G = group_codes(labels_for(120, seed=3))
    dist = bit_distances(codes, codes)
    dist[:70, :70] = 999  # only pairs across the two sets count
    dist[70:, 70:] = 999
    _, _, _, (pl,) = cross_pairs(codes[:70], codes[70:], 64, (16,), 0, block=16, groups=(gc, G))
    np.testing.assert_array_equal(pl.by_group, brute_by_group(dist, 16, gc, G))
    variants = np.repeat(codes[:, None], 2, axis=1)
    _, _, _, (vl,) = variant_cross_pairs(variants[:70], codes[:70], variants[70:], codes[70:], 64, (16,), 0, (gc, G))
    np.testing.assert_array_equal(vl.by_group, brute_by_group(dist, 16, gc, G))


def brute_rate(per_image: np.ndarray) -> tuple[int, int, int]:
    """(images, false matches, pairs) of a set from its images' counts within it."""
    n = len(per_image)
    return n, int(per_image.sum()) // 2, n * (n - 1) // 2


@pytest.mark.parametrize("dihedral", [False, True])
def test_population_from_the_matrix_equals_the_brute_force_and_the_whole_pair_list(dihedral):
    """A truncated list with the kernel's matrix gives the same section as the whole list
    (the old path) and the brute force's per-family counts and equal-weights rate."""
    n = 180
    codes = clustered(n, 4, seed=21)
    lab = labels_for(n, seed=5)
    gc, G = group_codes(lab)
    images = Codes(codes, np.ones(n, bool), variants=np.repeat(codes[:, None], 2, axis=1) if dihedral else None)
    count = PairCounting(32, dihedral=dihedral)
    _, (per_image,), (cut,) = count.with_pairs(images, np.arange(n), (6,), 5, (gc, G))
    _, _, (whole,) = count.with_pairs(images, np.arange(n), (6,), 10**6)
    assert cut.truncated and not whole.truncated
    new = population_step(cut, per_image, lab.tolist(), 0.05)
    old = population_step(whole, per_image, lab.tolist(), 0.05)
    assert new["complete"] and old["complete"]
    assert new == old
    dist = dihedral_distances(images.variant_codes(), codes) if dihedral else bit_distances(codes, codes)
    c = brute_by_group(dist, 6, gc, G)
    names = sorted(set(lab.tolist()))
    size = np.bincount(gc, minlength=G)
    ew = 0.0
    for g, name in enumerate(names):
        inside = gc == g
        r = new["by_group"][name]
        assert (r["images"], r["count"], r["n"]) == brute_rate(c[inside, g])
        w = new["without"][name]
        assert (w["images"], w["count"], w["n"]) == brute_rate(c[~inside].sum(axis=1) - c[~inside, g])
        for h in range(G):
            k = int(c[inside, h].sum()) // (2 if g == h else 1)
            ew += k / (size[g] * (size[g] - 1) // 2 if g == h else size[g] * size[h])
    assert new["equal_weights_rate"] == pytest.approx(ew / G**2, rel=1e-12)
    pooled = new["pooled"]
    assert pooled["count"] == cut.count and pooled["n"] == n * (n - 1) // 2
    low, high = clopper_pearson(pooled["count"], pooled["n"], 0.05)
    assert pooled["ci_pair_level"] == [float(low), float(high)]
    assert pooled["ci_image_level"][1] > pooled["ci_pair_level"][1]  # clustered: wider than pair-level


def test_population_without_the_matrix_and_a_cut_list_says_incomplete():
    """An evidence with neither the kernel's matrix nor the whole list (a pair counter that does
    not fill ``by_group``) is reported incomplete, not guessed."""
    z = np.zeros(1, np.int64)
    out = population_step(PairList(6, 10, z, z + 1, z), np.array([10, 10, 0]), ["a", "b", "b"], 0.05)
    assert out == {"complete": False, "by_group": {}, "without": {}}


def test_a_matrix_that_does_not_fit_the_images_is_an_error_not_a_fallback():
    """A ``by_group`` of the wrong shape means the codes and the rows disagree: raised, never
    silently replaced by a count from the (cut) list."""
    z = np.zeros(1, np.int64)
    wrong = PairList(6, 1, z, z + 1, z, by_group=np.ones((2, 2), np.int64))
    with pytest.raises(RuntimeError, match="shape"):
        population_step(wrong, np.array([1, 1, 0]), ["a", "b", "b"], 0.05)


def test_group_codes_follow_the_sorted_labels():
    codes, n = group_codes(["text", "flat", "text", "photo"])
    assert n == 3 and codes.tolist() == [2, 0, 2, 1]


def test_bad_group_codes_are_refused():
    codes = clustered(10, 8, seed=1)
    with pytest.raises(ValueError, match="group codes"):
        impostor_pairs(codes, 64, (8,), 0, groups=(np.arange(10), 3))
    with pytest.raises(ValueError, match="group codes"):
        impostor_pairs(codes, 64, (8,), 0, groups=(np.zeros(9, np.int64), 1))


@pytest.mark.parametrize("dihedral", [False, True])
def test_a_study_with_a_short_list_gets_the_whole_population_section(dihedral):
    """The runner's route: study_hasher fills the evidence (list cut to 3 pairs) and its
    population from the kernel's matrix, which the evidence then does not keep; every family's
    count equals the brute force's."""
    import dataclasses

    from hashbench.evaluate.study import StudySettings, study_hasher

    n_ref, n_dis = 90, 70
    codes = clustered(n_ref + n_dis, 4, seed=31)
    lab = labels_for(n_ref + n_dis, seed=8)
    variants = np.repeat(codes[:, None], 2, axis=1) if dihedral else None
    refs = Codes(codes[:n_ref], np.ones(n_ref, bool), variants=None if variants is None else variants[:n_ref])
    dis = Codes(codes[n_ref:], np.ones(n_dis, bool), variants=None if variants is None else variants[n_ref:])
    s = StudySettings("h", 6, dihedral, None, 0, 0.05, (0.1,), (1e6,), 1e9, 1e6)
    s = dataclasses.replace(s, max_listed=3)
    ev = Evidence()
    study_hasher(32, refs, refs, np.arange(n_ref), ["x"] * n_ref, dis, s, (lab[:n_ref], lab[n_ref:]), ev)
    assert ev.pairs is not None and ev.pairs.truncated and ev.pairs.listed == 3
    assert ev.pairs.by_group is None and ev.population is not None
    pop = ev.population
    assert pop["complete"]
    gc, G = group_codes(lab)
    c = brute_by_group(bit_distances(codes, codes), 6, gc, G)
    for g, name in enumerate(sorted(set(lab.tolist()))):
        assert pop["by_group"][name]["count"] == int(c[gc == g, g].sum()) // 2
    assert pop["pooled"]["count"] == ev.pairs.count == int(c.sum()) // 2


def test_the_report_renders_the_family_table_or_says_why_not():
    from hashbench.report.population import _hasher_table

    n = 150
    codes = clustered(n, 4, seed=41)
    lab = labels_for(n, seed=9)
    _, (per_image,), (cut,) = impostor_pairs(codes, 32, (6,), 2, groups=group_codes(lab))
    pop = population_step(cut, per_image, lab.tolist(), 0.05)
    report = {"config": {"alpha": 0.05}, "hashers": {"h": {"threshold": 6, "population": pop}}}
    text = repr(_hasher_table(report, "h"))  # type: ignore[arg-type]
    assert "within flat" in text and "equal family weights" in text
    old = {"config": {"alpha": 0.05}, "hashers": {"h": {"threshold": 6, "population": {"complete": False}}}}
    old["hashers"]["h"]["population"].update({"by_group": {}, "without": {}})
    text = repr(_hasher_table(old, "h"))  # type: ignore[arg-type]
    assert "no per-family breakdown" in text and "within" not in text
