"""The index benchmark harness (``python -m hashbench.bench index``) on a small database: every
method it times must have returned exactly FlatIndex's results, and the table must carry the
ratios the closing notes quote. Speed itself is measured in benchmarks/, not here."""

from __future__ import annotations

import pytest

from hashbench.index.benchmark import format_table, make_codes, make_queries, run_index_benchmark

pytest.importorskip("faiss")


@pytest.mark.parametrize("data", ["uniform", "clustered"])
def test_every_timed_method_is_exact_and_reported(data: str) -> None:
    res = run_index_benchmark(
        4000,
        40,
        data=data,
        rounds=1,
        threads=2,
        faiss_multihash=((16, 16, 1), (11, 23, 2), (4, 16, 1)),
    )
    names = [m.name for m in res.methods]
    assert names[0] == "hashbench FlatIndex" and names[1].startswith("hashbench MIHIndex (m=")
    multihash = [m for m in res.methods if m.name.startswith("faiss MultiHash")]
    # (4, 16, 1) cannot be exact at r=31 (nflip < 31 // 4): skipped with a note, not timed
    assert [m.name for m in multihash] == [
        "faiss MultiHash nhash=16 b=16 nflip=1",
        "faiss MultiHash nhash=11 b=23 nflip=2",
    ]
    assert any("nhash=4" in note for note in res.notes)
    for m in res.methods:
        assert all(m.exact.values()), (m.name, m.exact)
        if m.name != "popcount ceiling":
            assert m.times and all(t > 0 for t in m.times.values()), m.name
    for m in multihash:
        assert m.exact == {"range": True} and m.build_s > 0
    table = format_table(res)
    assert "MIHIndex range vs fastest exact faiss MultiHash" in table and "popcount ceiling" in table
    assert res.popcount_per_core > 0


def test_clustered_codes_hold_near_duplicates_and_queries_half_altered_copies() -> None:
    import numpy as np

    from hashbench.index import FlatIndex

    xb = make_codes(6400, 256, "clustered", seed=3)
    index = FlatIndex(256)
    index.add(xb)
    counts = index.count_within(xb[:200], 31)
    assert (counts >= 2).mean() > 0.5  # most codes have another within PDQ's threshold
    xq = make_queries(xb, 100, seed=4)
    near = index.count_within(xq[:50], 31)
    assert (near >= 1).mean() > 0.9 and np.array_equal(xq.shape, (100, 32))
