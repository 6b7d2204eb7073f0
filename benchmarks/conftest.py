"""What every benchmark suite shares: the ``gate`` marker and provenance in the JSON.

* ``gate``: the quick subset (one or a few benchmarks per suite) that ``make bench-compare``
  runs for a base and a head, several times each, interleaved. It is listed here, by node id,
  rather than as decorators in each suite, so the whole gate is reviewed in one place and the
  suites stay owned by their authors. With ``-m gate`` a listed id that no longer exists in a
  collected file is an error: a renamed benchmark must not silently shrink the gate.
* Every JSON written with ``--benchmark-json`` records which ``hashbench`` was imported
  (``hashbench.file``): the comparison driver (benchmarks/compare.py) checks that the base run
  really timed the base's code and the head run the head's.
* The gate's demonstration slows a side on purpose from here, never from the library:
  ``HASHBENCH_BENCH_FLAT_QUERY_BLOCK=1`` in a run's environment patches
  ``hashbench.index.flat.QUERY_BLOCK`` before any benchmark runs (:func:`patch_flat_query_block`),
  and the JSON records the patch (``hashbench.patched``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import pytest

#: The gate: ``<file>::<test name with parameters>``. Sizes are chosen so the whole gate runs in
#: about a minute per side on 2 cores (the driver also sets HASHBENCH_INDEX_N and
#: HASHBENCH_EVALUATE_N, see compare.GATE_ENV), and each benchmark's minimum is tens of ms or
#: more, long enough that timer resolution and scheduler noise stay well under the tolerance.
#: Left out on purpose: JPEG decoding and the jpeg transform (their CPU time moved by +-20%
#: between runs of the same code here: allocation and page faults), and everything with worker
#: processes (the CPU timer sees only the parent).
GATE: tuple[str, ...] = (
    "bench_hashing.py::bench_hash_one_hasher[pdq-256x256]",
    "bench_hashing.py::bench_hash_one_hasher[phash-256x256]",
    "bench_hashing.py::bench_hash_one_hasher[md5-256x256]",
    "bench_datasets.py::bench_generate_family[mixed-256x256]",
    "bench_transforms.py::bench_transform[rotate-256x256]",
    "bench_transforms.py::bench_transform[text_overlay-256x256]",
    "bench_index.py::bench_flat_range[uniform]",
    "bench_index.py::bench_flat_knn1[uniform]",
    "bench_index.py::bench_mih_range[uniform]",
    "bench_evaluate.py::bench_impostor_histogram",
)


#: Set for the head only by benchmarks/demo_gate.sh (``compare.py --head-env``): FlatIndex then
#: scans the database once per query instead of once per block of 64 queries. Same results,
#: 1.5-5x slower, which the gate must catch.
FLAT_QUERY_BLOCK_ENV = "HASHBENCH_BENCH_FLAT_QUERY_BLOCK"
#: What this run patched (``{"module.NAME": value}``), recorded in every JSON it writes.
PATCHED: dict[str, int] = {}


def patch_flat_query_block(environ: Mapping[str, str] = os.environ) -> int | None:
    """Set ``hashbench.index.flat.QUERY_BLOCK`` from :data:`FLAT_QUERY_BLOCK_ENV` when it is set;
    returns the value patched in (None: nothing to do). The library reads the attribute at every
    call and no environment variable at all, so the slowdown exists only in benchmark runs."""
    value = environ.get(FLAT_QUERY_BLOCK_ENV, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise pytest.UsageError(f"{FLAT_QUERY_BLOCK_ENV} must be a positive integer, got {value!r}")
    from hashbench.index import flat

    if not hasattr(flat, "QUERY_BLOCK"):  # a slowdown that silently does nothing would pass the gate
        raise pytest.UsageError(f"{FLAT_QUERY_BLOCK_ENV} is set, but {flat.__file__} has no QUERY_BLOCK to patch")
    flat.QUERY_BLOCK = int(value)
    PATCHED["hashbench.index.flat.QUERY_BLOCK"] = int(value)
    return int(value)


def gate_key(item: pytest.Item) -> str:
    """``<file name>::<name with parameters>``: the form :data:`GATE` lists."""
    return f"{item.path.name}::{item.name}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "gate: the quick subset compared between base and head by `make bench-compare` (benchmarks/conftest.py)",
    )
    patch_flat_query_block()


@pytest.hookimpl(tryfirst=True)  # before pytest's own -m deselection sees the items
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    matched: set[str] = set()
    for item in items:
        key = gate_key(item)
        if key in GATE:
            item.add_marker(pytest.mark.gate)
            matched.add(key)
    if "gate" in (config.getoption("markexpr", "") or ""):
        collected_files = {item.path.name for item in items}
        stale = [g for g in GATE if g not in matched and g.split("::", 1)[0] in collected_files]
        if stale:
            raise pytest.UsageError(
                "benchmarks/conftest.py GATE lists benchmarks that no longer exist: "
                + ", ".join(stale)
                + " (renamed? update GATE so the CI gate keeps covering that suite)"
            )


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: list[Any], output_json: dict[str, Any]) -> None:
    """Record which hashbench these figures timed (the file imported, and its version)."""
    import hashbench

    output_json["hashbench"] = {
        "file": str(hashbench.__file__),
        "version": str(getattr(hashbench, "__version__", "")),
        "patched": dict(PATCHED),
    }
