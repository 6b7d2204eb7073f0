"""The CI speed gate (benchmarks/compare.py, benchmarks/conftest.py) and its slowdown patch.

The comparison is checked on synthetic pytest-benchmark JSON (no timing here); the plumbing
(worktree, PYTHONPATH, which hashbench is imported) on a throwaway git repository; the
benchmark-side slowdown (HASHBENCH_BENCH_FLAT_QUERY_BLOCK, applied by benchmarks/conftest.py)
by the results it gives in a fresh interpreter.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness import harness_module

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


gate = _load("hashbench_bench_compare", ROOT / "benchmarks" / "compare.py")
bench_conftest = _load("hashbench_bench_conftest", ROOT / "benchmarks" / "conftest.py")


def run_json(mins: dict[str, float | None]) -> dict[str, Any]:
    """A pytest-benchmark JSON document with the given minima (None: stats missing)."""
    benchmarks = []
    for name, m in mins.items():
        stats = None if m is None else {"min": m, "max": m * 1.3, "mean": m * 1.1, "rounds": 5}
        benchmarks.append({"name": name.split("::")[-1], "fullname": name, "stats": stats})
    return {"machine_info": {}, "benchmarks": benchmarks, "hashbench": {"file": "/x/src/hashbench/__init__.py"}}


# ------------------------------------------------------------------------------------------------
# comparison logic


def test_minimum_over_every_round_of_each_side_decides() -> None:
    base = [run_json({"a": 0.30, "b": 1.0}), run_json({"a": 0.10, "b": 1.2})]
    head = [run_json({"a": 0.50, "b": 1.1}), run_json({"a": 0.11, "b": 1.0})]
    comp = gate.compare_runs(base, head, 0.15)
    rows = {r.name: r for r in comp.rows}
    assert rows["a"].base_min == 0.10 and rows["a"].head_min == 0.11
    assert rows["a"].ratio == pytest.approx(1.1)
    assert rows["a"].verdict == "ok" and rows["b"].verdict == "ok"
    assert rows["a"].base_mins == (0.30, 0.10) and rows["a"].head_mins == (0.50, 0.11)
    assert not comp.regressed


def test_verdicts_slower_faster_new_missing() -> None:
    base = [run_json({"slow": 1.0, "fast": 1.0, "gone": 1.0, "same": 1.0})]
    head = [run_json({"slow": 1.2, "fast": 0.8, "new": 0.5, "same": 1.0})]
    comp = gate.compare_runs(base, head, 0.15)
    verdicts = {r.name: r.verdict for r in comp.rows}
    assert verdicts == {"slow": "slower", "fast": "faster", "gone": "missing", "new": "new", "same": "ok"}
    assert [r.name for r in comp.regressions] == ["gone", "slow"]
    assert comp.regressed
    d = comp.as_dict()
    assert d["regressed"] is True and d["regressions"] == ["gone", "slow"]
    assert next(b for b in d["benchmarks"] if b["name"] == "slow")["ratio"] == pytest.approx(1.2)
    assert next(b for b in d["benchmarks"] if b["name"] == "new")["ratio"] is None


def test_tolerance_boundary_and_zero_tolerance() -> None:
    base = [run_json({"x": 1.0})]
    at_limit = [run_json({"x": 1.25})]
    over = [run_json({"x": 1.2500001})]
    assert gate.compare_runs(base, at_limit, 0.25).rows[0].verdict == "ok"
    assert gate.compare_runs(base, over, 0.25).rows[0].verdict == "slower"
    assert gate.compare_runs(base, [run_json({"x": 1.0})], 0.0).rows[0].verdict == "ok"
    assert gate.compare_runs(base, [run_json({"x": 1.001})], 0.0).rows[0].verdict == "slower"
    with pytest.raises(ValueError):
        gate.compare_runs(base, base, -0.1)


def test_runs_without_stats_or_benchmarks_count_as_absent() -> None:
    base = [run_json({"x": 1.0}), {}]
    head = [run_json({"x": None}), run_json({"x": 0.9})]
    comp = gate.compare_runs(base, head, 0.15)
    assert comp.rows[0].head_mins == (0.9,) and comp.rows[0].verdict == "ok"
    assert gate.compare_runs([{}], [{}], 0.15).rows == []


def test_table_lists_every_benchmark_with_ratio_and_verdict() -> None:
    comp = gate.compare_runs(
        [run_json({"bench_x[a]": 0.002, "b": 1.5})], [run_json({"bench_x[a]": 0.003, "b": 1.5})], 0.15
    )
    table = gate.format_table(comp)
    lines = table.splitlines()
    assert lines[0] == "| benchmark | base min | head min | head/base | verdict |"
    assert "| bench_x[a] | 2 ms | 3 ms | 1.500 | SLOWER (> 1.15) |" in lines
    assert "| b | 1.5 s | 1.5 s | 1.000 | ok |" in lines


def test_format_seconds_units() -> None:
    assert gate.format_seconds(None) == "-"
    assert gate.format_seconds(2.5) == "2.5 s"
    assert gate.format_seconds(0.01234) == "12.34 ms"
    assert gate.format_seconds(5e-6) == "5 us"
    assert gate.format_seconds(5e-8) == "50 ns"


def test_minima_reads_real_pytest_benchmark_json(tmp_path: Path) -> None:
    """One real (tiny) pytest-benchmark run: the driver reads what pytest-benchmark writes."""
    (tmp_path / "test_tiny.py").write_text(
        "def test_sum(benchmark):\n    benchmark.pedantic(sum, args=(range(1000),), rounds=3, warmup_rounds=1)\n"
    )
    out = tmp_path / "out.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(tmp_path / "test_tiny.py"),
            f"--benchmark-json={out}",
            "--benchmark-timer=time.process_time",
            "--rootdir",
            str(tmp_path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(out.read_text())
    m = gate.minima(data)
    assert list(m) == ["test_tiny.py::test_sum"]
    assert 0 < m["test_tiny.py::test_sum"] < 1
    assert data["benchmarks"][0]["options"]["timer"] == "process_time"


# ------------------------------------------------------------------------------------------------
# plumbing


def test_parse_env() -> None:
    assert gate.parse_env(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}
    for bad in (["A"], ["=1"]):
        with pytest.raises(gate.SetupError):
            gate.parse_env(bad)


def test_side_env_puts_its_src_first(tmp_path: Path) -> None:
    side = gate.Side("base", tmp_path / "src", {"HASHBENCH_BENCH_FLAT_QUERY_BLOCK": "1"})
    env = side.env({"PYTHONPATH": "/elsewhere", "KEEP": "yes"})
    assert env["PYTHONPATH"].split(os.pathsep) == [str(tmp_path / "src"), "/elsewhere"]
    assert env["HASHBENCH_BENCH_FLAT_QUERY_BLOCK"] == "1" and env["KEEP"] == "yes"
    assert gate.Side("head", tmp_path, {}).env({})["PYTHONPATH"] == str(tmp_path)


def test_pytest_command_selects_timer_marker_and_targets(tmp_path: Path) -> None:
    cmd = gate.pytest_command("py", tmp_path / "o.json", "gate", ["-k", "index"], timer="cpu")
    assert "--benchmark-timer=time.process_time" in cmd and cmd[cmd.index("gate") - 1] == "-m"
    assert cmd[-2:] == ["-k", "index"] and "benchmarks" in cmd
    cmd = gate.pytest_command("py", tmp_path / "o.json", None, [], targets=["benchmarks/bench_x.py::b"], timer="wall")
    assert "gate" not in cmd and "benchmarks/bench_x.py::b" in cmd and "benchmarks" not in cmd
    assert "--benchmark-timer=time.perf_counter" in cmd


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture()
def toy_repo(tmp_path: Path) -> Path:
    """A git repository whose only commit holds a fake ``src/hashbench`` package (the speed gate
    works on git worktrees, so git is part of what it needs)."""
    repo = tmp_path / "repo"
    pkg = repo / "src" / "hashbench"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("WHICH = 'toy base'\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "base")
    return repo


def test_worktree_holds_the_base_imports_from_it_and_is_removed(toy_repo: Path) -> None:
    commit = gate.resolve_commit("HEAD", root=toy_repo)
    with gate.base_worktree(commit, root=toy_repo) as wt:
        side = gate.Side("base", wt / "src", {})
        where = gate.check_import(sys.executable, side, side.env(os.environ))
        assert Path(where).resolve() == (wt / "src" / "hashbench" / "__init__.py").resolve()
        assert len(_git(toy_repo, "worktree", "list").splitlines()) == 2
    assert not wt.exists()
    assert len(_git(toy_repo, "worktree", "list").splitlines()) == 1


def test_worktree_is_removed_after_an_error(toy_repo: Path) -> None:
    commit = gate.resolve_commit("HEAD", root=toy_repo)
    with pytest.raises(RuntimeError), gate.base_worktree(commit, root=toy_repo) as wt:
        raise RuntimeError("boom")
    assert not wt.exists()
    assert len(_git(toy_repo, "worktree", "list").splitlines()) == 1


def test_bad_ref_is_a_setup_error(toy_repo: Path) -> None:
    with pytest.raises(gate.SetupError, match="not a commit"):
        gate.resolve_commit("no-such-branch", root=toy_repo)


def test_wrong_hashbench_aborts(tmp_path: Path) -> None:
    """A side whose folder holds no hashbench would import the installed one: refused."""
    side = gate.Side("base", tmp_path / "empty-src", {})
    (tmp_path / "empty-src").mkdir()
    with pytest.raises(gate.SetupError, match="not from"):
        gate.check_import(sys.executable, side, side.env(os.environ))
    assert gate.imported_from(ROOT / "src" / "hashbench" / "__init__.py", ROOT / "src")
    assert not gate.imported_from(ROOT / "src" / "hashbench" / "__init__.py", tmp_path)


def test_gate_selection_exists_and_covers_the_core_suites() -> None:
    """Every GATE id is collected by `-m gate` (a renamed benchmark fails here, not silently)."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "benchmarks", "-m", "gate"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    collected = {line.split("/", 1)[1] for line in done.stdout.splitlines() if line.startswith("benchmarks/")}
    assert collected == set(bench_conftest.GATE)
    suites = {g.split("::")[0] for g in bench_conftest.GATE}
    core = {"bench_hashing.py", "bench_datasets.py", "bench_transforms.py", "bench_index.py", "bench_evaluate.py"}
    assert suites == core


# ------------------------------------------------------------------------------------------------
# the slowdown patch: applied by the benchmarks, same results

_SWITCH_SCRIPT = """
import importlib.util, sys, numpy as np
sys.path.insert(0, sys.argv[2])
from index_harness import make_codes, make_queries
from hashbench.index import flat
spec = importlib.util.spec_from_file_location("bench_conftest", sys.argv[2] + "/conftest.py")
conftest = importlib.util.module_from_spec(spec)
spec.loader.exec_module(conftest)
assert conftest.patch_flat_query_block({}) is None and flat.QUERY_BLOCK == 64
assert conftest.patch_flat_query_block({conftest.FLAT_QUERY_BLOCK_ENV: "1"}) == 1
assert flat.QUERY_BLOCK == 1 and conftest.PATCHED == {"hashbench.index.flat.QUERY_BLOCK": 1}, flat.QUERY_BLOCK
out = {}
for nbits, n in ((256, 40000), (64, 5000)):
    xb = make_codes(n, nbits, "clustered", seed=3)
    xq = make_queries(xb, 300, seed=4)
    index = flat.FlatIndex(nbits)
    index.add(xb)
    lims, D, I = index.range_search(xq, nbits // 8)
    Dk, Ik = index.search(xq, 5)
    out.update({f"{nbits}_lims": lims, f"{nbits}_D": D, f"{nbits}_I": I, f"{nbits}_Dk": Dk, f"{nbits}_Ik": Ik,
                f"{nbits}_count": index.count_within(xq, nbits // 8)})
np.savez(sys.argv[1], **out)
"""


def test_flat_query_block_patch_gives_identical_results(tmp_path: Path) -> None:
    from hashbench.index import flat

    harness = harness_module("index_harness")
    assert flat.QUERY_BLOCK == 64  # the suite runs without the patch
    path = tmp_path / "untiled.npz"
    done = subprocess.run(
        [sys.executable, "-c", _SWITCH_SCRIPT, str(path), str(ROOT / "benchmarks")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    got = np.load(path)
    for nbits, n in ((256, 40000), (64, 5000)):  # 40,000 256-bit codes span 3 tiles
        xb = harness.make_codes(n, nbits, "clustered", seed=3)
        xq = harness.make_queries(xb, 300, seed=4)
        index = flat.FlatIndex(nbits)
        index.add(xb)
        lims, D, I = index.range_search(xq, nbits // 8)
        Dk, Ik = index.search(xq, 5)
        assert lims[-1] > 0  # the comparison covers real matches
        np.testing.assert_array_equal(got[f"{nbits}_lims"], lims)
        np.testing.assert_array_equal(got[f"{nbits}_D"], D)
        np.testing.assert_array_equal(got[f"{nbits}_I"], I)
        np.testing.assert_array_equal(got[f"{nbits}_Dk"], Dk)
        np.testing.assert_array_equal(got[f"{nbits}_Ik"], Ik)
        np.testing.assert_array_equal(got[f"{nbits}_count"], index.count_within(xq, nbits // 8))


def test_benchmark_runs_apply_the_patch_and_refuse_a_bad_value() -> None:
    """pytest over benchmarks/ reads the variable at start-up (conftest.py): a bad value stops
    the run before anything is timed rather than timing unpatched code."""
    env = dict(os.environ, HASHBENCH_BENCH_FLAT_QUERY_BLOCK="0")
    args = ["--collect-only", "-q", "-p", "no:cacheprovider", "benchmarks/bench_index.py"]
    done = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode != 0 and "HASHBENCH_BENCH_FLAT_QUERY_BLOCK must be a positive integer" in done.stderr


def test_library_reads_no_switch_to_slow_itself() -> None:
    """No environment variable can slow the library: the patch is the benchmarks' alone."""
    for path in (ROOT / "src" / "hashbench").rglob("*.py"):
        text = path.read_text()
        assert "HASHBENCH_BENCH_" not in text and "DISABLE_TILING" not in text, path


# ------------------------------------------------------------------------------------------------
# the README table's numpy baseline is itself exact


def test_table_numpy_histogram_matches_brute_force() -> None:
    from hashbench.bits import hamming_matrix

    table = _load("hashbench_bench_table", ROOT / "benchmarks" / "table.py")
    codes = np.random.default_rng(5).integers(0, 256, (301, 32), dtype=np.uint8)
    codes[7] = codes[3]  # a distance-0 pair
    d = hamming_matrix(codes, codes)
    iu = np.triu_indices(len(codes), k=1)
    want = np.bincount(d[iu].astype(np.int64), minlength=257)
    np.testing.assert_array_equal(table.numpy_histogram(codes, 256, block=64), want)
    row = table.Row("index", "x", "y", "queries", 300.0, 100.0)
    assert row.ratio == 3.0
    text = table.format_markdown([row], {"date": "2026-01-01", "cpu": "CPU", "cores": 2})
    assert "| index | x | y | 300 queries | 100 queries | **3.00x** |" in text
    assert text.startswith("Measured 2026-01-01 on CPU")
