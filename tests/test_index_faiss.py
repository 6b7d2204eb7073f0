"""Parity with faiss.IndexBinaryFlat, the reference implementation users already trust."""

from __future__ import annotations

import numpy as np
import pytest

from hashbench.index import FlatIndex, MIHIndex

faiss = pytest.importorskip("faiss")


def _data(nbits: int, n: int, nq: int, seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    nbytes = nbits // 8
    xb = rng.integers(0, 256, (n, nbytes), dtype=np.uint8)
    noise = np.packbits(rng.random((nq, nbits)) < 0.08, axis=1)
    xq = np.concatenate([xb[rng.integers(0, n, nq)] ^ noise, rng.integers(0, 256, (nq, nbytes), dtype=np.uint8)])
    return xb, xq


@pytest.mark.parametrize("nbits", [64, 256])
@pytest.mark.parametrize("make", [FlatIndex, MIHIndex], ids=["flat", "mih"])
def test_range_search_equals_faiss_with_radius_plus_one(make, nbits: int) -> None:  # type: ignore[no-untyped-def]
    xb, xq = _data(nbits, 4000, 30, seed=nbits)
    ref = faiss.IndexBinaryFlat(nbits)
    ref.add(xb)
    index = make(nbits)
    index.add(xb)
    radius = nbits // 8 - 1
    flims, fD, fI = ref.range_search(xq, radius + 1)  # faiss: distance < radius
    lims, D, I = index.range_search(xq, radius)  # hashbench: distance <= radius
    np.testing.assert_array_equal(lims, flims.astype(np.int64))
    assert lims[-1] > 0
    for q in range(len(xq)):
        a, b = lims[q], lims[q + 1]
        order = np.argsort(fI[a:b])
        np.testing.assert_array_equal(I[a:b], fI[a:b][order])
        np.testing.assert_array_equal(D[a:b], fD[a:b][order].astype(np.int32))


@pytest.mark.parametrize("k", [1, 10])
@pytest.mark.parametrize("make", [FlatIndex, MIHIndex], ids=["flat", "mih"])
def test_knn_equals_faiss_up_to_ties(make, k: int) -> None:  # type: ignore[no-untyped-def]
    xb, xq = _data(256, 4000, 30, seed=k)
    ref = faiss.IndexBinaryFlat(256)
    ref.add(xb)
    index = make(256)
    index.add(xb)
    fD, fI = ref.search(xq, k)
    D, I = index.search(xq, k)
    np.testing.assert_array_equal(D, fD)
    for q in range(len(xq)):
        kth = D[q, -1]
        # faiss's order among equal distances is unspecified; ids strictly inside agree
        assert set(I[q][D[q] < kth]) == set(fI[q][fD[q] < kth])
        # and every id we return really is at the distance we report
        true = np.bitwise_count(xb[I[q]] ^ xq[q]).sum(axis=1)
        np.testing.assert_array_equal(true, D[q])


def test_padding_equals_faiss_when_k_exceeds_ntotal() -> None:
    xb, xq = _data(64, 3, 2, seed=1)
    ref = faiss.IndexBinaryFlat(64)
    ref.add(xb)
    index = FlatIndex(64)
    index.add(xb)
    fD, fI = ref.search(xq, 6)
    D, I = index.search(xq, 6)
    np.testing.assert_array_equal(D[:, 3:], fD[:, 3:])
    np.testing.assert_array_equal(I[:, 3:], fI[:, 3:])
