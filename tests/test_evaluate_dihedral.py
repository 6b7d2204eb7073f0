import numpy as np
import pytest

from hashbench.bits import hamming_matrix
from hashbench.evaluate import min_distance_over_variants
from hashbench.evaluate.dihedral import variant_cross_histogram, variant_impostor_histogram


def brute(variants, codes, same):
    n, nv, _ = variants.shape
    d = np.stack([hamming_matrix(variants[:, v], codes) for v in range(nv)]).min(axis=0)
    if same:
        d = d[~np.eye(n, dtype=bool)]
    return d.ravel()


@pytest.mark.parametrize("nbytes,n,nv", [(32, 0, 8), (32, 1, 8), (32, 37, 8), (8, 20, 3), (6, 9, 2)])
def test_matches_brute_force(nbytes, n, nv):
    rng = np.random.default_rng(n + nbytes)
    base = rng.integers(0, 256, (n, nbytes), dtype=np.uint8)
    variants = rng.integers(0, 256, (n, nv, nbytes), dtype=np.uint8)
    if n:
        variants[:, 0] = base
        variants[: n // 2, 1] = base[::-1][: n // 2] ^ 1  # near duplicates across rows
    nbits = 8 * nbytes
    h = variant_impostor_histogram(variants, base, nbits)
    assert h.sum() == n * (n - 1)
    if n >= 2:
        assert np.array_equal(h, np.bincount(brute(variants, base, True), minlength=nbits + 1))
    other = rng.integers(0, 256, (11, nbytes), dtype=np.uint8)
    c = variant_cross_histogram(variants, other, nbits)
    assert c.sum() == n * 11
    if n:
        assert np.array_equal(c, np.bincount(brute(variants, other, False), minlength=nbits + 1))
        m = min_distance_over_variants(variants, base)
        assert (m == 0).all()  # variant 0 is the image itself


def test_shape_errors():
    with pytest.raises(ValueError, match="same images"):
        variant_impostor_histogram(np.zeros((3, 8, 32), np.uint8), np.zeros((4, 32), np.uint8), 256)
    with pytest.raises(ValueError, match="variants, nbytes"):
        variant_cross_histogram(np.zeros((3, 32), np.uint8), np.zeros((3, 32), np.uint8), 256)
