"""The one chunker and the one bounded, ordered process map every parallel stage uses.

Hashing, dataset loading and generation, manifests and transform exports all do the same thing:
cut a stream into chunks, run a function on each chunk in worker processes, and take the results
back in input order with only a few chunks in flight, so memory stays flat for any stream length
and output never depends on scheduling. This module does it once, and imports nothing of
hashbench, so every layer may use it.

Worker processes start with ``forkserver`` on Linux (``spawn`` elsewhere): ``fork`` is unsafe
once the parent has threads (numba's pool, tqdm's monitor, a Dask client), because the child
inherits locks held by threads that do not exist in it.

Workers die with the process that started them: they watch it (a pidfd on Linux, else a poll
every second) and exit when it ends, so a run killed with SIGKILL or SIGTERM leaves no worker,
forkserver or resource tracker behind (the last two end when the workers, which hold their pipes,
are gone).

Anything with ``submit(fn, *args) -> future`` whose future has ``.result()`` is an
:class:`Executor`: a :class:`concurrent.futures.ProcessPoolExecutor` from :func:`process_pool`,
or a Dask ``distributed.Client`` (so a stage can run on a cluster unchanged).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import select
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from itertools import islice
from typing import Any, Protocol, TypeVar, runtime_checkable

from .cpus import default_workers

__all__ = [
    "Executor",
    "ResultLike",
    "chunked",
    "mp_context",
    "process_pool",
    "ordered_results",
    "ordered_chunked_map",
    "WINDOW_PER_WORKER",
    "exit_with_parent",
]

T = TypeVar("T")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)

#: Chunks in flight per worker: one being computed, one queued so the worker never waits.
WINDOW_PER_WORKER = 2


class ResultLike(Protocol[R_co]):
    """What :meth:`Executor.submit` returns: ``concurrent.futures.Future`` or a Dask future."""

    def result(self) -> R_co: ...


@runtime_checkable
class Executor(Protocol):
    """Runs ``fn(*args)`` somewhere and hands back a future.

    ``concurrent.futures`` executors and ``distributed.Client`` both satisfy it; nothing else of
    theirs is used, so a test double is a class with one method.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> ResultLike[Any]: ...


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Cut ``items`` into lists of ``size`` (the last one shorter), reading only one chunk ahead."""
    if size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {size}")
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def mp_context(preload: Sequence[str] = ()) -> mp.context.BaseContext:
    """The safe start method: ``forkserver`` on Linux, ``spawn`` elsewhere.

    forkserver forks each worker from a clean server process that has imported ``preload``, so
    workers start fast and without the parent's threads. The preload list takes effect when the
    server starts (once per process), so the first pool's list is the one that counts.
    """
    if sys.platform.startswith("linux"):
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(list(preload))
        return ctx
    return mp.get_context("spawn")


def process_pool(
    workers: int,
    *,
    preload: Sequence[str] = (),
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes started the safe way (:func:`mp_context`), which exit when
    this process dies (:func:`exit_with_parent`) before ``initializer(*initargs)`` runs."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=mp_context(preload),
        initializer=_start_worker,
        initargs=(os.getpid(), initializer, initargs),
    )


def _start_worker(parent: int, initializer: Callable[..., object] | None, initargs: tuple[Any, ...]) -> None:
    """Every pool worker's first act: tie its life to the run's process, then the pool's own start."""
    exit_with_parent(parent)
    if initializer is not None:
        initializer(*initargs)


def exit_with_parent(parent: int) -> None:
    """End this process as soon as process ``parent`` ends, however it ends (kill -9 included).

    A forkserver worker's parent is the forkserver, not the run, so ``PR_SET_PDEATHSIG`` would
    not fire; a daemon thread waits on a pidfd of the run's process instead (or polls it).
    """
    try:
        fd: int | None = os.pidfd_open(parent)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        fd = None

    def watch() -> None:
        if fd is not None:
            select.select([fd], [], [])
        else:
            while _alive(parent):
                time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="hashbench-exit-with-parent", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ordered_results(
    executor: Executor, fn: Callable[..., R], tasks: Iterable[tuple[Any, ...]], window: int
) -> Iterator[R]:
    """``fn(*args)`` for each ``args`` of ``tasks``, run on ``executor``, yielded in task order.

    At most ``window`` tasks are submitted and not yet taken, so a long (or endless) stream of
    tasks never sits whole in memory; ``tasks`` is read lazily, one task per result taken.
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    pending: deque[ResultLike[R]] = deque()
    for args in tasks:
        pending.append(executor.submit(fn, *args))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def ordered_chunked_map(
    fn: Callable[[Any], Iterable[R]],
    chunks: Iterable[Any],
    workers: int | None,
    *,
    preload: Sequence[str] | None = None,
) -> Iterator[R]:
    """Apply ``fn`` to each chunk in worker processes; yield the elements of its results, in order.

    ``workers=None`` uses every CPU this process may use, ``workers <= 1`` runs in this process
    (nothing is pickled). Otherwise a pool is started for this call and stopped when the
    iterator ends or is closed, with :data:`WINDOW_PER_WORKER` chunks in flight per worker.
    ``preload`` defaults to the module defining ``fn``, which every worker imports anyway.
    """
    n_workers = default_workers() if workers is None else int(workers)
    if n_workers <= 1:
        for chunk in chunks:
            yield from fn(chunk)
        return
    pool = process_pool(n_workers, preload=_module_of(fn) if preload is None else preload)
    try:
        for result in ordered_results(pool, fn, ((c,) for c in chunks), WINDOW_PER_WORKER * n_workers):
            yield from result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _module_of(fn: Callable[..., object]) -> tuple[str, ...]:
    """The module a (possibly partial) function is defined in, when it can be imported by name."""
    while isinstance(fn, partial):
        fn = fn.func
    module = getattr(fn, "__module__", None)
    return (module,) if module and module != "__main__" else ()
