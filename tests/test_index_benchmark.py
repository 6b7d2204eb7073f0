"""The index benchmark harness (benchmarks/index_harness.py) on a small database: every
method it times must have returned exactly FlatIndex's results, the table must carry the
ratios the closing notes quote, and the thread counts it sets are restored. Speed itself is
measured in benchmarks/, not here."""

from __future__ import annotations

import json
from pathlib import Path

import numba
import pytest

from harness import harness_module

faiss = pytest.importorskip("faiss")
_harness = harness_module("index_harness")
format_table = _harness.format_table
make_codes = _harness.make_codes
make_queries = _harness.make_queries
run_index_benchmark = _harness.run_index_benchmark


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


def test_thread_counts_are_restored_after_a_run() -> None:
    """The harness sets numba's and faiss's thread counts for its run only."""
    numba_before = numba.get_num_threads()
    faiss_before = faiss.omp_get_max_threads()
    target = 1 if numba_before != 1 else 2
    faiss.omp_set_num_threads(3)
    try:
        res = run_index_benchmark(1500, 10, rounds=1, threads=target, faiss_multihash=((16, 16, 1),))
        assert res.threads == min(target, numba.config.NUMBA_NUM_THREADS)
        assert numba.get_num_threads() == numba_before
        assert faiss.omp_get_max_threads() == 3
    finally:
        faiss.omp_set_num_threads(faiss_before)


def test_command_line_prints_a_table_per_size_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "index.json"
    argv = ["--n", "1000,1500", "--q", "10", "--data", "uniform", "--rounds", "1", "--no-faiss", "--json", str(out)]
    assert _harness.main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.count("hashbench FlatIndex") == 2 and "N=1,500 256-bit uniform codes" in printed
    results = json.loads(out.read_text())
    assert [r["n"] for r in results] == [1000, 1500]
    assert all(all(all(m["exact"].values()) for m in r["methods"]) for r in results)
