"""Pair listing: the kernels' bounded lists against a numpy brute force, the cap, composites."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from hashbench.evaluate.codes import Codes, PairCounting
from hashbench.evaluate.dihedral import variant_impostor_histogram_with_counts
from hashbench.evaluate.distances import impostor_histogram
from hashbench.evaluate.pairs import composite_pairs, impostor_pairs


def brute_distances(codes: np.ndarray) -> np.ndarray:
    """Every pairwise Hamming distance from unpacked bits (numpy, small n only)."""
    bits = np.unpackbits(codes, axis=1).astype(np.int64)
    ones = bits.sum(axis=1)
    return ones[:, None] + ones[None, :] - 2 * bits @ bits.T


def brute_pairs(dist: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs a < b within ``threshold`` sorted by (distance, a, b): the order the kernel lists."""
    a, b = np.nonzero(np.triu(dist <= threshold, k=1))
    d = dist[a, b]
    order = np.lexsort((b, a, d))
    return d[order], a[order], b[order]


def seeded_codes(n: int, nbytes: int, seed: int) -> np.ndarray:
    """Random codes with planted near-duplicates (clusters), so matches are many and shared."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    for k in range(0, n // 3, 3):  # small clusters: an image and two copies with a few flipped bits
        for j in (1, 2):
            flip = rng.integers(0, 256, size=nbytes, dtype=np.uint8) & rng.integers(0, 256, size=nbytes, dtype=np.uint8)
            codes[k + j] = codes[k] ^ (flip & np.uint8(0x11))
    return codes


@pytest.mark.parametrize("nbytes", [8, 32, 3])
def test_listed_pairs_equal_a_numpy_brute_force(nbytes):
    """Every threshold's list is the brute force's first ``max_listed`` pairs, its count exact, on
    several tilings (odd blocks, one tile) and thread counts."""
    nbits = 8 * nbytes
    codes = seeded_codes(301, nbytes, seed=nbytes)
    dist = brute_distances(codes)
    thresholds = (nbits // 8, nbits // 3, nbits // 2)
    for threads in (1, 2):
        with_threads = numba.get_num_threads()
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        try:
            for block in (7, 64, 1024):
                for cap in (0, 5, 100_000):
                    hist, counts, lists = impostor_pairs(codes, nbits, thresholds, cap, block=block)
                    np.testing.assert_array_equal(hist, impostor_histogram(codes, nbits))
                    for t, pl, c in zip(thresholds, lists, counts, strict=True):
                        d, a, b = brute_pairs(dist, t)
                        assert pl.count == len(d)  # the cap keeps the true count
                        assert pl.listed == min(cap, len(d))
                        assert pl.truncated == (len(d) > cap)
                        np.testing.assert_array_equal(pl.distance, d[:cap])
                        np.testing.assert_array_equal(pl.a, a[:cap])
                        np.testing.assert_array_equal(pl.b, b[:cap])
                        np.testing.assert_array_equal(c, np.bincount(a, minlength=301) + np.bincount(b, minlength=301))
        finally:
            numba.set_num_threads(with_threads)


def test_the_cap_keeps_the_true_count_when_most_pairs_are_dropped():
    """Thousands of matches, a cap of 10: ten listed, the smallest, and the count still exact."""
    codes = seeded_codes(400, 8, seed=5)
    dist = brute_distances(codes)
    _, _, (pl,) = impostor_pairs(codes, 64, (30,), 10, block=16)
    d, a, b = brute_pairs(dist, 30)
    assert len(d) > 1000
    assert (pl.count, pl.listed, pl.truncated) == (len(d), 10, True)
    np.testing.assert_array_equal(np.stack([pl.distance, pl.a, pl.b]), np.stack([d[:10], a[:10], b[:10]]))


def test_pair_counting_lists_the_same_pairs_and_counts():
    codes = seeded_codes(250, 8, seed=9)
    dist = brute_distances(codes)
    rows = np.arange(250)
    _, (per_image,), (pl,) = PairCounting(64, dihedral=False).with_pairs(
        Codes(codes, np.ones(250, bool)), rows, (20,), 7
    )
    d, a, b = brute_pairs(dist, 20)
    assert pl.count == len(d)
    np.testing.assert_array_equal(np.stack([pl.distance, pl.a, pl.b]), np.stack([d[:7], a[:7], b[:7]]))
    np.testing.assert_array_equal(per_image, np.bincount(a, minlength=250) + np.bincount(b, minlength=250))


def test_dihedral_pairs_are_unordered_with_the_smaller_direction():
    """A dihedral pair's distance is the min over both images' variants against the other's hash."""
    rng = np.random.default_rng(2)
    n, nv = 60, 3
    variants = rng.integers(0, 256, size=(n, nv, 4), dtype=np.uint8)
    variants[5, 2] = variants[9, 0] ^ np.uint8(1)  # 5's third variant is 1 bit from 9's hash
    codes = variants[:, 0].copy()
    images = Codes(codes, np.ones(n, bool), variants=variants)
    hist, (per_image,), (pl,) = PairCounting(32, dihedral=True).with_pairs(images, np.arange(n), (8,), 100)
    bits = np.unpackbits(variants, axis=2).astype(np.int64)  # (n, nv, 32)
    code_bits = bits[:, 0]
    d_dir = (bits[:, :, None, :] != code_bits[None, None, :, :]).sum(axis=3).min(axis=1)  # d(q -> i)
    d_un = np.minimum(d_dir, d_dir.T)
    d, a, b = brute_pairs(d_un, 8)
    assert pl.count == len(d) and (5, 9) in set(zip(pl.a.tolist(), pl.b.tolist(), strict=True))
    np.testing.assert_array_equal(np.stack([pl.distance, pl.a, pl.b]), np.stack([d, a, b]))
    np.testing.assert_array_equal(per_image, np.bincount(a, minlength=n) + np.bincount(b, minlength=n))
    np.testing.assert_array_equal(hist, variant_impostor_histogram_with_counts(variants, codes, 32)[0])


def test_dihedral_lists_are_the_smallest_pairs_on_any_thread_count():
    """The dihedral kernel's bounded list is the brute force's first ``cap`` pairs, its count exact,
    whatever the thread count (each thread keeps its own smallest; the merge keeps the smallest)."""
    rng = np.random.default_rng(4)
    n, nv = 150, 4
    codes = seeded_codes(n, 4, seed=4)
    variants = rng.integers(0, 256, size=(n, nv, 4), dtype=np.uint8)
    variants[:, 0] = codes
    images = Codes(codes, np.ones(n, bool), variants=variants)
    bits = np.unpackbits(variants, axis=2).astype(np.int64)
    d_dir = (bits[:, :, None, :] != bits[None, None, :, 0]).sum(axis=3).min(axis=1)
    d_un = np.minimum(d_dir, d_dir.T)
    with_threads = numba.get_num_threads()
    try:
        for threads in (1, 2):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            for cap in (0, 5, 100_000):
                _, counts, lists = PairCounting(32, dihedral=True).with_pairs(images, np.arange(n), (6, 12), cap)
                for t, pl, c in zip((6, 12), lists, counts, strict=True):
                    d, a, b = brute_pairs(d_un, t)
                    assert pl.count == len(d) and pl.listed == min(cap, len(d))
                    np.testing.assert_array_equal(np.stack([pl.distance, pl.a, pl.b]), np.stack([d, a, b])[:, :cap])
                    np.testing.assert_array_equal(c, np.bincount(a, minlength=n) + np.bincount(b, minlength=n))
    finally:
        numba.set_num_threads(with_threads)


def test_composite_pairs_any_and_all():
    c1 = seeded_codes(120, 8, seed=11)
    c2 = seeded_codes(120, 4, seed=12)
    d1, d2 = brute_distances(c1), brute_distances(c2)
    ok = np.ones(120, bool)
    parts = [(Codes(c1, ok), 22, False), (Codes(c2, ok), 9, False)]
    for op, combine in (("any", np.logical_or), ("all", np.logical_and)):
        pl, per_image = composite_pairs(parts, op, max_listed=1000)
        m = np.triu(combine(d1 <= 22, d2 <= 9), k=1)
        a, b = np.nonzero(m)
        assert pl.count == len(a)
        assert set(zip(pl.a.tolist(), pl.b.tolist(), strict=True)) == set(zip(a.tolist(), b.tolist(), strict=True))
        got = {(x, y): tuple(dd) for x, y, dd in zip(pl.a.tolist(), pl.b.tolist(), pl.distance.tolist(), strict=True)}
        for x, y in zip(a.tolist(), b.tolist(), strict=True):
            want = (int(d1[x, y]) if d1[x, y] <= 22 else -1, int(d2[x, y]) if d2[x, y] <= 9 else -1)
            assert got[(x, y)] == want
        np.testing.assert_array_equal(per_image, m.sum(axis=0) + m.sum(axis=1))


def test_impostors_cli_writes_the_pair_list(tmp_path, capsys):
    """`hashbench impostors --pairs` lists the table's matching pairs by id, as a brute force does."""
    import csv
    import io

    from _helpers import write_hash_table
    from hashbench.cli import main

    codes = seeded_codes(90, 8, seed=21)
    write_hash_table(tmp_path / "t.parquet", "phash", 64, codes)
    out = tmp_path / "pairs.csv"
    args = ["impostors", str(tmp_path / "t.parquet"), "--hasher", "phash", "--threshold", "6,20"]
    assert main([*args, "--pairs", str(out), "--max-listed", "4", "--no-progress"]) == 0
    lines = out.read_text().splitlines()
    notes = [x for x in lines if x.startswith("#")]
    rows = list(csv.DictReader(io.StringIO("\n".join(x for x in lines if not x.startswith("#")))))
    dist = brute_distances(codes)
    for t in (6, 20):
        d, a, b = brute_pairs(dist, t)
        mine = [r for r in rows if r["threshold"] == str(t)]
        assert [(r["id_a"], r["id_b"], int(r["distance"])) for r in mine] == [
            (f"img{x}", f"img{y}", int(z)) for x, y, z in zip(a[:4], b[:4], d[:4], strict=True)
        ]
        assert f"# phash at threshold {t}: {len(d):,} matching pairs, {min(4, len(d))} listed" in notes
