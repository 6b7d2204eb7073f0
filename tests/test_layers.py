"""One-way layers and the bottom modules they share: imports, chunker, process map, threads, writes."""

from __future__ import annotations

import ast
import multiprocessing as mp
import os
import stat
import subprocess
import sys
from concurrent.futures import Future
from pathlib import Path

import numba
import pytest

import hashbench
from hashbench import evaluate
from hashbench.atomic import atomic_write_bytes, atomic_write_text
from hashbench.parallel import Executor, chunked, mp_context, ordered_chunked_map, ordered_results, process_pool
from hashbench.threads import numba_threads

PACKAGE = Path(hashbench.__file__).parent
#: Modules every layer may import: they import nothing of hashbench but each other.
BOTTOM = {"errors", "cpus", "parallel", "atomic", "threads", "fonts"}


def _imported_modules(path: Path) -> set[str]:
    """Absolute names of the hashbench modules ``path`` imports, anywhere in the file (lazy too)."""
    package = ".".join(("hashbench", *path.parent.relative_to(PACKAGE).parts))
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("hashbench"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("hashbench"):
                out.add(mod)
                out.update(f"{mod}.{a.name}" for a in node.names)  # `from .. import transforms`
    return out


@pytest.mark.parametrize(("layer", "other"), [("datasets", "transforms"), ("transforms", "datasets")])
def test_datasets_and_transforms_do_not_import_each_other(layer, other):
    for path in sorted((PACKAGE / layer).glob("*.py")):
        bad = {m for m in _imported_modules(path) if m == f"hashbench.{other}" or m.startswith(f"hashbench.{other}.")}
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_video_sits_above_the_image_layers():
    """hashbench.video builds on datasets, hashers and evaluate; nothing below it imports it, and it
    imports neither the CLI nor the image runner (only cli/ and runner.py hand a run to it)."""
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in ("video", "cli") or rel.name in ("runner.py", "config.py"):
            continue
        bad = {m for m in _imported_modules(path) if m == "hashbench.video" or m.startswith("hashbench.video.")}
        assert not bad, f"{rel} imports {sorted(bad)}"
    for path in sorted((PACKAGE / "video").glob("*.py")):
        above = {m for m in _imported_modules(path) if m.startswith(("hashbench.cli", "hashbench.runner"))}
        assert not above, f"video/{path.name} imports {sorted(above)}"


def test_bottom_modules_import_only_bottom_modules():
    for name in sorted(BOTTOM):
        imported = {m.split(".")[1] for m in _imported_modules(PACKAGE / f"{name}.py") if m != "hashbench"}
        assert imported <= BOTTOM, f"{name}.py imports {sorted(imported - BOTTOM)}"


def test_tools_are_used_by_the_cli_only():
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent.name in ("tools", "cli"):
            continue
        tools = {m for m in _imported_modules(path) if m.startswith("hashbench.tools")}
        assert not tools, f"{path.relative_to(PACKAGE)} imports {sorted(tools)}"


def test_importing_the_report_imports_no_numba_pyarrow_or_hashing():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PACKAGE.parent), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import hashbench.report"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    modules = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "hashbench.report" in modules and "hashbench.report.writers" in modules  # the probe works
    heavy = sorted(
        m
        for m in modules
        if m.split(".")[0] in ("numba", "pyarrow", "llvmlite", "matplotlib")
        or m in ("hashbench.hashing", "hashbench.checkpoint", "hashbench.hashers", "scipy.stats")
    )
    assert not heavy, f"import hashbench.report imported {heavy}"


def test_evaluate_names_resolve_lazily_to_their_modules():
    import importlib

    assert set(evaluate._SUBMODULE_OF) == set(evaluate.__all__)
    for name, module in evaluate._SUBMODULE_OF.items():
        assert getattr(evaluate, name) is getattr(importlib.import_module(f"hashbench.evaluate.{module}"), name)
    from hashbench.evaluate import clopper_pearson  # `from` imports go through __getattr__ too

    assert clopper_pearson is evaluate.rates.clopper_pearson
    assert set(evaluate.__all__) <= set(dir(evaluate))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        evaluate.nope  # noqa: B018


# ---------------------------------------------------------------------------------------------
# parallel


def test_chunked_cuts_lazily_and_refuses_size_zero():
    taken: list[int] = []

    def source():
        for i in range(7):
            taken.append(i)
            yield i

    chunks = chunked(source(), 3)
    assert next(chunks) == [0, 1, 2] and taken == [0, 1, 2]  # one chunk read, no more
    assert list(chunks) == [[3, 4, 5], [6]]
    assert list(chunked([], 3)) == []
    with pytest.raises(ValueError, match="chunk_size"):
        list(chunked([1], 0))


class ShuffledExecutor:
    """An :class:`Executor` test double: runs each task at once, but hands results back only when
    asked, and records how many tasks were submitted and not yet taken."""

    def __init__(self) -> None:
        self.outstanding = 0
        self.most_outstanding = 0

    def submit(self, fn, /, *args):
        fut: Future = Future()
        fut.set_result(fn(*args))
        self.outstanding += 1
        self.most_outstanding = max(self.most_outstanding, self.outstanding)
        outer = self

        class Taken:
            def result(self):
                outer.outstanding -= 1
                return fut.result()

        return Taken()


def test_ordered_results_keep_order_and_bound_the_window():
    ex = ShuffledExecutor()
    assert isinstance(ex, Executor)
    tasks_read: list[int] = []

    def tasks():
        for i in range(20):
            tasks_read.append(i)
            yield (i, 2)

    out = ordered_results(ex, pow, tasks(), window=3)
    assert next(out) == 0 and len(tasks_read) == 3  # nothing read beyond the window
    assert [0, *out] == [i**2 for i in range(20)]
    assert ex.most_outstanding == 3
    with pytest.raises(ValueError, match="window"):
        list(ordered_results(ex, pow, [(1, 1)], window=0))


def test_pools_start_workers_with_a_safe_start_method():
    # forkserver on Linux (fork is unsafe once numba's threads exist); spawn elsewhere
    expected = "forkserver" if sys.platform.startswith("linux") else "spawn"
    assert mp_context().get_start_method() == expected
    with process_pool(1) as pool:
        assert isinstance(pool, Executor)
        # a forked (or spawned) worker is our child; a forkserver worker is the server's child
        assert pool.submit(os.getppid).result() != os.getpid()


def test_ordered_chunked_map_in_processes_equals_in_process():
    chunks = [[5, 3, 9], [1], [8, 2], [7, 7, 0], [4]]
    here = list(ordered_chunked_map(sorted, iter(chunks), workers=1))
    there = list(ordered_chunked_map(sorted, iter(chunks), workers=2))
    assert here == there == [3, 5, 9, 1, 2, 8, 0, 7, 7, 4]


def test_ordered_chunked_map_starts_its_pool_the_safe_way_preloading_the_function_module(monkeypatch):
    import functools

    import hashbench.parallel as parallel

    seen = []

    def spy(workers, **kwargs):
        seen.append((workers, kwargs))
        return process_pool(workers, **kwargs)

    monkeypatch.setattr(parallel, "process_pool", spy)
    assert parallel._module_of(functools.partial(functools.partial(chunked, size=2))) == ("hashbench.parallel",)
    assert list(ordered_chunked_map(sorted, iter([[2, 1], [3]]), workers=2)) == [1, 2, 3]
    assert seen == [(2, {"preload": ("builtins",)})]


def test_a_map_stopped_early_shuts_its_pool_down():
    out = ordered_chunked_map(sorted, ([i] for i in range(1000)), workers=2)
    assert next(out) == 0
    out.close()  # must return, with no worker left running
    assert not [p for p in mp.active_children() if p.is_alive()]


# ---------------------------------------------------------------------------------------------
# threads and atomic writes


def test_numba_threads_sets_clamps_and_restores():
    before = numba.get_num_threads()
    with numba_threads(1) as used:
        assert used == 1 == numba.get_num_threads()
    assert numba.get_num_threads() == before
    with numba_threads(10**6) as used:
        assert used == numba.config.NUMBA_NUM_THREADS == numba.get_num_threads()
    with pytest.raises(RuntimeError), numba_threads(0) as used:
        assert used == 1 == numba.get_num_threads()
        raise RuntimeError
    assert numba.get_num_threads() == before


def test_atomic_writes_leave_a_whole_file_or_none(tmp_path):
    out = tmp_path / "sub" / "report.json"
    atomic_write_text(out, "é\n")
    assert out.read_bytes() == "é\n".encode()
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~mask
    with pytest.raises(TypeError):
        atomic_write_bytes(out, "not bytes")  # type: ignore[arg-type]
    assert out.read_text(encoding="utf-8") == "é\n"
    assert [p.name for p in out.parent.iterdir()] == ["report.json"]  # no temporary file left behind
