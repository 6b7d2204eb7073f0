"""Hashing and all-pairs statistics on a Dask cluster, for work that outgrows one machine.

hashbench does not ship a distributed engine of its own: it hands its two big jobs to Dask
(``dask.distributed``), which already schedules numpy/numba work across machines.

* **Hashing**: a connected :class:`distributed.Client` is a :class:`hashbench.parallel.Executor`
  (``submit(fn, *args)``), so it goes where a process pool goes: ``hash_stream(..., pool=client)``.
  Each task carries its chunk's recipes (file paths, generated or edited images) and its hashers;
  the pixels are made on the worker, and at most ``2 * worker_slots(client)`` chunks are in flight.
* **All-pairs histogram** (:func:`impostor_histogram_on`): the codes are cut into chunks and
  scattered to the workers once; the pairs are then the blocks ``(i, j), i <= j`` of chunks.
  A diagonal block is :func:`~hashbench.evaluate.impostor_histogram` of chunk ``i``, an
  off-diagonal one :func:`~hashbench.evaluate.cross_histogram` of chunks ``i`` and ``j``: the
  same numba kernel as on one machine. Every pair ``a < b`` falls in exactly one block, and the
  partial histograms are integer counts, so their sum is *identical* to the single-machine
  result, not merely close. Dihedral matching (:func:`variant_impostor_pairs_on`) counts
  the same unordered pairs (either direction matches) in the same blocks, with the dihedral
  kernel; each chunk carries its images' variants and codes.

Dask is an optional dependency (the ``cluster`` extra: ``pip install 'dist/hashbench-*.whl[cluster]'``
or ``pip install '.[cluster]'`` in the repository; README, Install); importing this module
does not import it. ``connect("local")`` starts a cluster of worker processes on this machine
that listens on 127.0.0.1 only; any other address is an existing scheduler.

**A cluster never hangs a run and never ends it in a traceback** (:func:`session`, what every
command uses): connecting, handshake included, takes at most :data:`CONNECT_TIMEOUT` seconds; a
run that has work waiting while the cluster has no worker (or its scheduler does not answer) for
:data:`NO_WORKER_TIMEOUT` seconds stops; a lost scheduler stops it at once. Each ends in one
:class:`ClusterError` line (exit code :data:`EXIT_CLUSTER_LOST`); the chunks already saved stay,
and the same command resumes from them. A hashing task that kills every worker it runs on is
hashed again item by item, and the item that kills workers is reported as
``worker died (memory?)``, as on a local pool (:func:`hash_chunks_on`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numba
import numpy as np
import numpy.typing as npt

from .bits import nbytes_for
from .errors import HashbenchError, UsageError
from .threads import numba_threads

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

    from .hashers import Hasher
    from .hashing import ChunkResult, DecodeSettings, Source

__all__ = [
    "CONNECT_TIMEOUT",
    "NO_WORKER_TIMEOUT",
    "EXIT_CLUSTER_LOST",
    "MIN_CHUNK",
    "ClusterError",
    "connect",
    "session",
    "hash_chunks_on",
    "worker_slots",
    "chunk_bounds",
    "impostor_histogram_on",
    "impostor_pairs_on",
    "variant_impostor_pairs_on",
    "pair_histogram_on",
]

#: Seconds to wait for a scheduler (and for its first worker) before giving up;
#: ``HASHBENCH_CLUSTER_TIMEOUT`` overrides it.
CONNECT_TIMEOUT = float(os.environ.get("HASHBENCH_CLUSTER_TIMEOUT", "10"))

#: Seconds a run waits, with work submitted, while the cluster has no worker or its scheduler does
#: not answer, before it stops; ``HASHBENCH_NO_WORKER_TIMEOUT`` overrides it. Long enough for a
#: nanny to restart a worker or an autoscaler to start one, short enough that a cluster whose
#: workers all died is noticed within a minute instead of never.
NO_WORKER_TIMEOUT = float(os.environ.get("HASHBENCH_NO_WORKER_TIMEOUT", "60"))

#: Exit code of a command stopped because its cluster went away (no worker, scheduler lost).
EXIT_CLUSTER_LOST = 4

#: Fewest codes per chunk when the chunk size is chosen for you: a block of 4,096 x 4,096 codes
#: is 1.7e7 pairs (tens of milliseconds of kernel time), enough to hide a task's overhead.
MIN_CHUNK = 4096

#: Blocks per worker thread when the chunk size is chosen for you: enough that the last block
#: leaves the other threads little idle time (1 / 48 of the run on average), few enough that each
#: block is long next to a task's few milliseconds of overhead. On 2 workers, 250,000 codes,
#: 21 blocks measured 0.76-0.94 of one process's throughput, 55 blocks 0.96-1.04.
BLOCKS_PER_SLOT = 24

_INSTALL_HINT = "--cluster needs Dask: pip install 'dask[distributed]' (or install hashbench with its [cluster] extra)"


def _distributed() -> Any:
    """The ``distributed`` module, or a UsageError saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise UsageError(_INSTALL_HINT) from None
    return distributed


def connect(address: str | os.PathLike[str], *, n_workers: int | None = None, timeout: float | None = None) -> Client:
    """A client of the Dask cluster at ``address``; close it when done (it is a context manager).

    ``address``:

    * ``"local"``: start a cluster on this machine, ``n_workers`` processes (default: the CPUs
      this process may use) of one thread each. Its scheduler, workers and dashboard listen on
      127.0.0.1 only. Closing the client stops it.
    * ``"tcp://host:8786"`` or ``"host:8786"``: an existing scheduler (``dask scheduler``).
    * a path to a scheduler file (``dask scheduler --scheduler-file FILE``).

    Raises :class:`UsageError` (one line, naming the address) when Dask is not installed, the
    scheduler cannot be reached within ``timeout`` seconds (default :data:`CONNECT_TIMEOUT`),
    or it has no worker by then.
    """
    distributed = _distributed()
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    text = os.fspath(address).strip()
    if not text:
        raise UsageError("--cluster is empty: give a scheduler address (tcp://host:8786) or 'local'")
    if text == "local":
        from .cpus import default_workers

        n = default_workers() if n_workers is None else n_workers
        if n < 1:
            raise UsageError(f"a local cluster needs at least 1 worker, got {n}")
        try:
            return distributed.Client(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
                set_as_default=False,
                timeout=max(timeout, 60.0),
            )
        except (OSError, RuntimeError) as exc:
            raise UsageError(f"could not start a local Dask cluster: {_one_line(exc)}") from None
    where = {"scheduler_file": text} if Path(text).is_file() else {"address": text}
    try:
        client = _within(timeout + 2.0, partial(distributed.Client, **where, timeout=timeout, set_as_default=False))
    except _Silent:
        raise UsageError(
            f"no answer from a Dask scheduler at {text} within {timeout:g} s (something there accepts "
            "connections but does not speak Dask's protocol); is the address right?"
        ) from None
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(
            f"cannot reach the Dask scheduler at {text} within {timeout:g} s ({_root_cause(exc)}); "
            "is `dask scheduler` running there, and is the address right?"
        ) from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (TimeoutError, OSError):
        client.close()
        raise UsageError(
            f"the Dask scheduler at {text} has no worker after {timeout:g} s; start some with `dask worker {text}`"
        ) from None
    return client


class _Silent(Exception):
    """The scheduler (or whatever listens there) did not finish the handshake in time."""


def _within(seconds: float, make: Callable[[], Client]) -> Client:
    """``make()``, given at most ``seconds``: else :class:`_Silent`.

    Dask bounds the TCP connect by its ``timeout`` but then waits for the scheduler's handshake
    with no limit: an address that accepts connections and never answers (a stopped scheduler, a
    proxy, another program) hung ``--cluster`` for 13.5 minutes. The client is made in a daemon
    thread that is abandoned if it does not finish: it holds one idle socket until this process
    ends or the peer closes it.
    """
    box: dict[str, Any] = {}

    def attempt() -> None:
        try:
            box["client"] = make()
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc

    thread = threading.Thread(target=attempt, name="hashbench-cluster-connect", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise _Silent()
    if "error" in box:
        raise box["error"]
    return box["client"]


def _root_cause(exc: BaseException) -> str:
    """The innermost telling error (``Connection refused``) rather than Dask's ``Timed out ...``.

    A retry cut short by the timeout ends its chain in a bare ``CancelledError``, which says
    nothing: the deepest other error is used, else Dask's own message.
    """
    import asyncio

    best, seen = exc, exc.__cause__ or exc.__context__
    while seen is not None:
        if not isinstance(seen, (asyncio.CancelledError, asyncio.TimeoutError)):
            best = seen
        seen = seen.__cause__ or seen.__context__
    return _one_line(best) if best is exc else f"{type(best).__name__}: {_one_line(best)}"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


class ClusterError(HashbenchError):
    """The cluster went away while a command used it: every worker gone, or the scheduler lost,
    silent, or killing workers with a task. One line; the command exits :data:`EXIT_CLUSTER_LOST`."""

    exit_code = EXIT_CLUSTER_LOST


@contextlib.contextmanager
def session(
    address: str | os.PathLike[str],
    *,
    n_workers: int | None = None,
    timeout: float | None = None,
    no_worker_timeout: float | None = None,
    saved: str | None = None,
) -> Iterator[Client]:
    """A client of the cluster at ``address`` (:func:`connect`) that cannot hang or traceback.

    While the block runs, a watchdog thread asks the scheduler for its workers every second; when
    work is waiting but there has been no worker, or no answer, for ``no_worker_timeout`` seconds
    (default :data:`NO_WORKER_TIMEOUT`), it closes the client, which ends every wait of the block.
    A Dask error out of the block (a lost scheduler, a task that killed its workers, a closed
    connection) becomes one :class:`ClusterError` line naming the cluster and the cause, with
    ``saved`` (where the finished work is kept) appended; any other error passes unchanged. Dask's
    own log lines are held back meanwhile: they repeat that one fact in many lines.
    """
    grace = NO_WORKER_TIMEOUT if no_worker_timeout is None else float(no_worker_timeout)
    text = os.fspath(address).strip()
    label = "the local Dask cluster" if text == "local" else f"the Dask cluster at {text}"
    with _dask_logs_held():
        client = connect(address, n_workers=n_workers, timeout=timeout)
        watchdog = _Watchdog(client, grace)
        try:
            yield client
        except (KeyboardInterrupt, SystemExit, GeneratorExit, HashbenchError):
            raise
        except BaseException as exc:  # asyncio.CancelledError (a cancelled future) is a BaseException
            reason = watchdog.reason or _diagnose(exc, client)
            if reason is None:
                raise
            tail = f"; {saved}" if saved else ""
            raise ClusterError(f"{label}: {reason}{tail}") from None
        finally:
            watchdog.stop()
            with contextlib.suppress(Exception):
                client.close()


class _Watchdog:
    """Closes ``client`` once it has had work waiting and no worker (or no scheduler answer) for
    ``grace`` seconds; :attr:`reason` then says which, for the one line the user sees."""

    def __init__(self, client: Client, grace: float) -> None:
        self.client, self.grace = client, grace
        self.poll = min(1.0, max(0.05, grace / 4))
        self.reason: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="hashbench-cluster-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        bad_since: float | None = None
        while not self._stop.wait(self.poll):
            trouble = self._trouble()
            if trouble is None:
                bad_since = None
                continue
            now = time.monotonic()
            bad_since = now if bad_since is None else bad_since
            if now - bad_since >= self.grace:
                self.reason = trouble
                with contextlib.suppress(Exception):
                    self.client.close(timeout=min(10.0, max(1.0, self.grace)))
                return

    def _trouble(self) -> str | None:
        """What is wrong now, or None. No worker is trouble only while work waits (a cluster may
        scale to zero between jobs); a scheduler that does not answer always is, since any call
        into the client (counting its workers, scattering codes) would wait for it forever."""
        if self.client.status != "running":
            return None  # the connection is lost: Dask cancels every future, the block's own error
        count = _worker_count(self.client, timeout=min(5.0, max(0.5, self.grace / 2)))
        if count is None:
            return f"its scheduler has not answered for {self.grace:g} s (stopped or overloaded?)"
        if count == 0 and self.client.futures:
            return f"no worker for {self.grace:g} s while work was waiting (every worker died or left); start workers"
        return None


def _worker_count(client: Client, timeout: float) -> int | None:
    """Workers the scheduler knows now, or None if it does not answer within ``timeout``."""
    try:
        return len(client.nthreads(callback_timeout=timeout))
    except Exception:
        return None


def _diagnose(exc: BaseException, client: Client) -> str | None:
    """One line saying how the cluster failed ``exc``'s wait, or None if ``exc`` is not the cluster's."""
    from distributed import KilledWorker
    from distributed.comm import CommClosedError

    if isinstance(exc, KilledWorker):
        return (
            f"task {exc.task!r} killed {exc.allowed_failures + 1} workers in a row, the last "
            f"{exc.last_worker.address} (out of memory?)"
        )
    if client.status != "running":
        return "lost the connection to its scheduler (it stopped, or the network failed)"
    import asyncio

    if isinstance(exc, (asyncio.CancelledError, OSError, TimeoutError)):
        count = _worker_count(client, timeout=5.0)
        if count == 0:
            return "no worker left (every worker died or left); start workers"
        if count is None:
            return "its scheduler stopped answering"
        if isinstance(exc, (asyncio.CancelledError, CommClosedError)):
            return f"the cluster dropped the work ({_one_line(exc)})"
    return None


@contextlib.contextmanager
def _dask_logs_held() -> Iterator[None]:
    """Raise the ``distributed`` logger to CRITICAL for the block, then restore it."""
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def hash_chunks_on(
    executor: Any,
    tasks: Iterable[tuple[int, list[str], list[Source]]],
    hashers: list[Hasher],
    settings: DecodeSettings,
    window: int,
) -> Iterator[ChunkResult]:
    """Hash ``(index, ids, sources)`` chunks on a Dask client (or any Executor), in order.

    Like :func:`hashbench.parallel.ordered_results` (``window`` chunks in flight), but a chunk
    whose task killed every worker it ran on (Dask retries it, then raises ``KilledWorker``) is
    hashed again one item at a time, and an item that kills workers alone is recorded as
    ``worker died (memory?)``, as on a local pool: one bad image costs its row, not the run.
    ``settings``: how tasks decode (no memory budget: this machine's memory says nothing of a
    cluster worker's).
    """
    from .hashing import _hash_chunk

    pending: deque[tuple[tuple[int, list[str], list[Source]], Any]] = deque()
    for task in tasks:
        pending.append((task, executor.submit(_hash_chunk, *task, hashers, settings)))
        if len(pending) >= window:
            yield _taken(executor, *pending.popleft(), hashers, settings)
    while pending:
        yield _taken(executor, *pending.popleft(), hashers, settings)


def _taken(
    executor: Any,
    task: tuple[int, list[str], list[Source]],
    future: Any,
    hashers: list[Hasher],
    settings: DecodeSettings,
) -> ChunkResult:
    """The result of one chunk's task; item by item if the task killed its workers."""
    from .hashing import WORKER_DIED, _failed_chunk, _hash_chunk, _join_chunks

    killed = _killed_worker_type()
    try:
        return future.result()
    except killed:
        pass
    index, ids, sources = task
    parts = []
    for item_id, source in zip(ids, sources):  # one at a time: no other item of it shares the worker
        try:
            parts.append(executor.submit(_hash_chunk, index, [item_id], [source], hashers, settings).result())
        except killed:
            parts.append(_failed_chunk(index, [item_id], WORKER_DIED, hashers))
    return _join_chunks(index, parts, hashers)


def _killed_worker_type() -> type[BaseException]:
    """Dask's ``KilledWorker``, or an exception nothing raises when Dask is not installed."""
    try:
        from distributed import KilledWorker
    except ImportError:
        return _NeverRaised
    return KilledWorker


class _NeverRaised(Exception):
    pass


def worker_slots(client: Client) -> int:
    """Task slots of the cluster: the sum of its workers' threads (at least 1)."""
    return max(1, sum(client.nthreads().values()))


def chunk_bounds(n: int, chunk: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` cutting ``range(n)`` into runs of ``chunk`` (the last may be shorter)."""
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, got {chunk}")
    return [(s, min(s + chunk, n)) for s in range(0, n, chunk)]


def _default_chunk(n: int, slots: int, least: int = MIN_CHUNK) -> int:
    """Codes per chunk giving about :data:`BLOCKS_PER_SLOT` blocks per slot, at least ``least``.

    ``k`` chunks make ``k (k + 1) / 2`` blocks; ``k`` is the smallest giving enough of them, and
    the chunks are as equal as possible so the blocks are too.
    """
    target = BLOCKS_PER_SLOT * max(1, slots)
    k = max(1, math.ceil((math.sqrt(8 * target + 1) - 1) / 2))
    return max(least, math.ceil(n / k)) if n else least


# ---------------------------------------------------------------------------------------------
# Worker side

# One kernel at a time per worker process, on as many numba threads as the worker has task
# threads: numba's threading layers are not all safe to enter from several threads at once, and
# a worker's threads are its share of the machine's cores.
_KERNEL_LOCK = threading.Lock()


def _slots_here() -> int:
    try:
        from distributed import get_worker

        return int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):  # not on a worker (tests call this directly)
        return numba.get_num_threads()


def _block_histogram(codes_a: np.ndarray, codes_b: np.ndarray | None, nbits: int) -> np.ndarray:
    """One block of pairs: chunk ``a`` against itself (``codes_b is None``) or against chunk ``b``."""
    from .evaluate import cross_histogram, impostor_histogram

    with _KERNEL_LOCK, numba_threads(_slots_here()):
        if codes_b is None:
            return impostor_histogram(codes_a, nbits)
        return cross_histogram(codes_a, codes_b, nbits)


def _block_counts(
    codes_a: np.ndarray,
    codes_b: np.ndarray | None,
    nbits: int,
    labels_a: np.ndarray | None = None,
    labels_b: np.ndarray | None = None,
    *,
    thresholds: tuple[int, ...],
    max_listed: int = 0,
    n_groups: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, list[Any]]:
    """One block of pairs with the per-image match counts of its two row ranges (of ``a``,
    then of ``b``; ``None`` for a diagonal block, whose rows are ``a``'s) and, per threshold,
    its ``max_listed`` smallest pairs (:class:`hashbench.evaluate.pairs.PairList`, block rows).
    With ``labels_a`` (group codes of ``a``'s rows, and of ``b``'s for an off-diagonal block),
    each list's ``by_group`` too (rows of ``a`` then of ``b``)."""
    from .evaluate.pairs import cross_pairs, impostor_pairs

    groups = _block_groups(labels_a, labels_b, n_groups)
    with _KERNEL_LOCK, numba_threads(_slots_here()):
        if codes_b is None:
            hist, counts, lists = impostor_pairs(codes_a, nbits, thresholds, max_listed, groups=groups)
            return hist, counts, None, lists
        return cross_pairs(codes_a, codes_b, nbits, thresholds, max_listed, groups=groups)


def _block_groups(
    labels_a: np.ndarray | None, labels_b: np.ndarray | None, n_groups: int
) -> tuple[np.ndarray, int] | None:
    """The group codes of a block's images (``a``'s then ``b``'s), as the kernels take them."""
    if labels_a is None:
        return None
    codes = labels_a if labels_b is None else np.concatenate([labels_a, labels_b])
    return codes, n_groups


def _variant_block_histogram(
    rows_a: np.ndarray,
    rows_b: np.ndarray | None,
    nbits: int,
    labels_a: np.ndarray | None = None,
    labels_b: np.ndarray | None = None,
    *,
    variants: int,
    thresholds: tuple[int, ...],
    max_listed: int = 0,
    n_groups: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, list[Any]]:
    """One block of unordered dihedral pairs (either direction matches) with the per-image
    counts of its row ranges and its pair lists, as :func:`_block_counts`. A chunk's rows are
    each image's ``variants`` codes then its own code, flat (:func:`_split_variant_rows`)."""
    from .evaluate.pairs import variant_cross_pairs, variant_impostor_pairs

    va, a = _split_variant_rows(rows_a, variants)
    groups = _block_groups(labels_a, labels_b, n_groups)
    with _KERNEL_LOCK, numba_threads(_slots_here()):
        if rows_b is None:
            hist, counts, lists = variant_impostor_pairs(va, a, nbits, thresholds, max_listed, groups)
            return hist, counts, None, lists
        vb, b = _split_variant_rows(rows_b, variants)
        return variant_cross_pairs(va, a, vb, b, nbits, thresholds, max_listed, groups)


def _split_variant_rows(rows: np.ndarray, variants: int) -> tuple[np.ndarray, np.ndarray]:
    nb = rows.shape[1] // (variants + 1)
    return rows[:, : variants * nb].reshape(len(rows), variants, nb), rows[:, variants * nb :]


# ---------------------------------------------------------------------------------------------
# Client side


def _checked(codes: npt.ArrayLike, nbits: int | None) -> tuple[np.ndarray, int]:
    """Codes and their bit count, refused here (not on a worker) when they cannot be counted."""
    arr = np.asarray(codes)
    if arr.ndim != 2 or arr.dtype != np.uint8:
        raise ValueError(f"codes must be a 2-D uint8 (n, nbytes) array of packed codes, got {arr.dtype} {arr.shape}")
    nbits = 8 * arr.shape[1] if nbits is None else int(nbits)
    if nbits <= 0 or nbytes_for(nbits) != arr.shape[1]:
        raise ValueError(f"codes have {arr.shape[1]} bytes each, which does not hold {nbits} bits")
    pad = 8 * arr.shape[1] - nbits
    if pad and len(arr) and np.any(arr[:, 0] >> np.uint8(8 - pad)):
        raise ValueError(f"some codes have bits set above bit {nbits} (not {nbits}-bit codes)")
    return np.ascontiguousarray(arr), nbits


def impostor_histogram_on(
    client: Client,
    codes: npt.ArrayLike,
    nbits: int | None = None,
    *,
    block: int | None = None,
    progress: bool = False,
) -> npt.NDArray[np.int64]:
    """:func:`hashbench.evaluate.impostor_histogram`, computed on the workers of ``client``.

    Returns the same array, exactly: ``hist[d]`` unordered pairs ``i < j`` of rows at Hamming
    distance ``d``, ``hist.sum() == n (n - 1) / 2``. ``block`` is the number of codes per chunk
    (default: about :data:`BLOCKS_PER_SLOT` blocks per worker thread, at least :data:`MIN_CHUNK`
    codes). Each chunk is sent to the cluster once; a task holds two chunks and returns
    ``nbits + 1`` counts. ``progress`` shows Dask's progress bar (on stderr).
    """
    arr, nbits = _checked(codes, nbits)
    n = len(arr)
    if n < 2:
        return np.zeros(nbits + 1, dtype=np.int64)
    futures, parts = _submit_blocks(client, arr, nbits, _chunk(client, n, block), _block_histogram)
    return _sum_blocks(client, futures, parts, nbits, n * (n - 1) // 2, n, progress)


def impostor_pairs_on(
    client: Client,
    codes: npt.ArrayLike,
    nbits: int | None,
    thresholds: tuple[int, ...],
    max_listed: int,
    *,
    block: int | None = None,
    progress: bool = False,
    groups: tuple[npt.ArrayLike, int] | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[Any]]:
    """:func:`hashbench.evaluate.pairs.impostor_pairs` on the workers: histogram, per-image
    counts and the ``max_listed`` smallest pairs per threshold, identical to the single-machine
    ones (each block lists its own smallest; the client keeps the smallest of all). ``groups =
    (group code per row, number of groups)``: each list's ``by_group`` too, the blocks' rows
    added into the whole set's."""
    arr, nbits = _checked(codes, nbits)
    thresholds = tuple(int(t) for t in thresholds)
    n_groups = 0 if groups is None else int(groups[1])
    kernel = partial(_block_counts, thresholds=thresholds, max_listed=max_listed, n_groups=n_groups)
    chunk = _chunk(client, len(arr), block)
    return _counted_blocks(client, arr, nbits, thresholds, chunk, kernel, progress, max_listed, groups)


def _counted_blocks(
    client: Client,
    arr: np.ndarray,
    nbits: int,
    thresholds: tuple[int, ...],
    chunk: int,
    kernel: Callable[..., Any],
    progress: bool,
    max_listed: int,
    groups: tuple[npt.ArrayLike, int] | None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[Any]]:
    """Run ``kernel`` on every block of rows of ``arr`` and add its histogram and per-image counts
    into the whole set's. The kernel returns ``(hist, counts of a, counts of b or None)`` and,
    per threshold, its block's pair list in block rows (:class:`hashbench.evaluate.pairs.PairList`),
    shifted here to rows of ``arr`` and merged (the ``max_listed`` smallest of all). With
    ``groups``, each block's ``by_group`` rows are added into the whole set's (``n x G`` int64 a
    threshold on the client: 26 MB at 550,000 images and 6 groups)."""
    from .evaluate.pairs import PairList, merge_pair_lists

    n = len(arr)
    counts = np.zeros((len(thresholds), n), dtype=np.int64)
    found: list[list[PairList]] = [[] for _ in thresholds]
    labels = None if groups is None else np.asarray(groups[0], dtype=np.int64).reshape(-1)
    by_group = None if groups is None else np.zeros((len(thresholds), n, int(groups[1])), dtype=np.int64)
    if labels is not None and len(labels) != n:
        raise ValueError(f"{len(labels)} group codes for {n} images")
    if n < 2:
        hist = np.zeros(nbits + 1, dtype=np.int64)
    else:
        futures, parts = _submit_blocks(client, arr, nbits, chunk, kernel, labels)
        bounds = chunk_bounds(n, chunk)
        k = len(bounds)
        where = [(i, j) for i in range(k) for j in range(i + 1, k)] + [(i, None) for i in range(k)]

        def add(index: int, part: tuple[Any, ...]) -> np.ndarray:
            i, j = where[index]
            counts[:, slice(*bounds[i])] += part[1]
            if j is not None and part[2] is not None:
                counts[:, slice(*bounds[j])] += part[2]
            off_b = bounds[j][0] if j is not None else bounds[i][0]
            n_i = bounds[i][1] - bounds[i][0]
            for q, pl in enumerate(part[3]):
                found[q].append(PairList(pl.threshold, pl.count, pl.a + bounds[i][0], pl.b + off_b, pl.distance))
                if by_group is not None and pl.by_group is not None:
                    by_group[q, slice(*bounds[i])] += pl.by_group[:n_i]
                    if j is not None:
                        by_group[q, slice(*bounds[j])] += pl.by_group[n_i:]
            return np.asarray(part[0])

        hist = _sum_blocks(client, futures, parts, nbits, n * (n - 1) // 2, n, progress, add)
    lists = [merge_pair_lists(found_q, max_listed) for found_q in found]
    if by_group is not None:
        lists = [dataclasses.replace(pl, by_group=by_group[q]) for q, pl in enumerate(lists)]
    return hist, counts, lists


def _chunk(client: Client, n: int, block: int | None) -> int:
    """Codes per chunk: ``block``, or the default for this cluster (chosen once per count)."""
    return _default_chunk(n, worker_slots(client)) if block is None else int(block)


def _submit_blocks(
    client: Client,
    arr: np.ndarray,
    nbits: int,
    chunk: int,
    kernel: Callable[..., Any],
    labels: np.ndarray | None = None,
) -> tuple[list[Any], list[Any]]:
    """Scatter the chunks and submit ``kernel(chunk_i, chunk_j or None, nbits)`` for every block
    ``i < j`` then every diagonal one; returns the futures (in that order) and the chunks. With
    ``labels`` (a group code per row), their chunks are scattered too and the kernel gets them
    after ``nbits``: ``kernel(chunk_i, chunk_j, nbits, labels_i, labels_j or None)``."""
    n = len(arr)
    bounds = chunk_bounds(n, chunk)
    parts = client.scatter([arr[a:b] for a, b in bounds], broadcast=False, hash=False)
    k = len(parts)
    labs: list[Any] = [None] * k
    if labels is not None:
        labs = list(client.scatter([labels[a:b] for a, b in bounds], broadcast=False, hash=False))

    def extra(i: int, j: int | None) -> tuple[Any, ...]:
        return () if labels is None else (labs[i], None if j is None else labs[j])

    # Full off-diagonal blocks first and the half-size diagonal ones last: the small tasks fill
    # the gaps at the end, so no thread waits long for the last big one.
    futures = [
        client.submit(kernel, parts[i], parts[j], nbits, *extra(i, j), pure=False)
        for i in range(k)
        for j in range(i + 1, k)
    ]
    futures += [client.submit(kernel, parts[i], None, nbits, *extra(i, None), pure=False) for i in range(k)]
    return futures, list(parts) + ([] if labels is None else labs)


def variant_impostor_pairs_on(
    client: Client,
    variant_codes: npt.ArrayLike,
    codes: npt.ArrayLike,
    nbits: int,
    thresholds: tuple[int, ...] = (),
    max_listed: int = 0,
    *,
    block: int | None = None,
    progress: bool = False,
    groups: tuple[npt.ArrayLike, int] | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[Any]]:
    """:func:`hashbench.evaluate.pairs.variant_impostor_pairs` on the workers: histogram,
    per-image counts and the ``max_listed`` smallest pairs per threshold (``groups``: as
    :func:`impostor_pairs_on`).

    Dihedral matching (pdq8): unordered pairs ``i < j`` at ``min(d(i -> j), d(j -> i))``, with
    ``d(i -> j) = min_v d(variant_codes[i, v], codes[j])``; ``hist.sum() == n (n - 1) / 2``.
    The blocks ``i <= j`` of chunks, as for plain pairs (a diagonal block with the dihedral
    kernel, an off-diagonal one with both directions between its two chunks); each chunk
    carries its images' variants and codes. The result is identical to the single-machine one.
    """
    arr, nbits = _checked(codes, nbits)
    var = np.ascontiguousarray(np.asarray(variant_codes))
    if var.ndim != 3 or var.dtype != np.uint8 or var.shape[0] != arr.shape[0] or var.shape[2] != arr.shape[1]:
        raise ValueError(
            f"expected (n, variants, nbytes) uint8 variants for {arr.shape} codes, got {var.dtype} {var.shape}"
        )
    n, nv = len(arr), var.shape[1]
    rows = np.ascontiguousarray(np.concatenate([var.reshape(n, -1), arr], axis=1))  # each image's variants, code
    thresholds = tuple(int(t) for t in thresholds)
    # a pair costs 2 * variants distances, not one: smaller chunks than plain pairs
    chunk = _default_chunk(n, worker_slots(client), MIN_CHUNK // 8) if block is None else int(block)
    n_groups = 0 if groups is None else int(groups[1])
    kernel = partial(
        _variant_block_histogram, variants=nv, thresholds=thresholds, max_listed=max_listed, n_groups=n_groups
    )
    return _counted_blocks(client, rows, nbits, thresholds, chunk, kernel, progress, max_listed, groups)


def _sum_blocks(
    client: Client,
    futures: list[Any],
    data: list[Any],
    nbits: int,
    expected: int,
    n: int,
    progress: bool,
    unpack: Callable[[int, Any], np.ndarray] | None = None,
) -> np.ndarray:
    """Wait for the block tasks (with Dask's progress bar), sum their counts, release everything.

    ``unpack(index, result)``, when given, takes each block's result (e.g. to add its per-image
    counts) and returns its histogram."""
    try:
        if progress:
            print(
                f"counting {expected:,} pairs of {n:,} codes in {len(futures)} blocks on the cluster", file=sys.stderr
            )
            _show_progress(client, futures)
        hist = np.zeros(nbits + 1, dtype=np.int64)
        for index, part in enumerate(client.gather(futures)):
            hist += np.asarray(part if unpack is None else unpack(index, part), dtype=np.int64)
    finally:
        client.cancel(futures + data)
    if int(hist.sum()) != expected:  # every pair in exactly one block
        raise RuntimeError(f"the cluster counted {int(hist.sum())} pairs, expected {expected}")
    return hist


def _show_progress(client: Client, futures: list[Any]) -> None:
    """Dask's text progress bar, until every task is done; on stderr so stdout stays parseable."""
    from distributed import progress as dask_progress

    with contextlib.redirect_stdout(sys.stderr):
        dask_progress(futures, notebook=False, scheduler=client.scheduler.address)


def pair_histogram_on(
    client: Client, *, progress: bool = False, min_pairs_for_progress: int = 200_000_000
) -> Callable[..., np.ndarray]:
    """``f(codes, nbits, variants=None) -> histogram`` counting impostor pairs on ``client``.

    The shape :class:`hashbench.evaluate.study.StudySettings` takes for ``pair_histogram``
    (:data:`hashbench.evaluate.codes.PairCounter`): unordered pairs of ``codes``, with
    ``variants`` under the dihedral rule (either direction); with ``thresholds=(...)`` it
    returns ``(histogram, per-image counts)``, and with ``max_listed=k`` too the pair lists
    (:func:`impostor_pairs_on`, :func:`variant_impostor_pairs_on`; ``groups=(codes, G)`` fills
    their ``by_group``). The progress bar is shown
    only for histograms of at least ``min_pairs_for_progress`` pairs (a run makes many small
    ones too).
    """
    return partial(_pair_histogram_on, client, progress, min_pairs_for_progress)


def _pair_histogram_on(
    client: Client,
    progress: bool,
    min_pairs: int,
    codes: np.ndarray,
    nbits: int,
    variants: np.ndarray | None = None,
    *,
    thresholds: tuple[int, ...] | None = None,
    max_listed: int | None = None,
    groups: tuple[npt.ArrayLike, int] | None = None,
) -> Any:
    n = len(codes)
    show = progress and n * (n - 1) // 2 >= min_pairs
    if thresholds is None and variants is None:
        return impostor_histogram_on(client, codes, nbits, progress=show)
    if variants is None:
        hist, counts, lists = impostor_pairs_on(
            client, codes, nbits, thresholds or (), max_listed or 0, progress=show, groups=groups
        )
    else:
        hist, counts, lists = variant_impostor_pairs_on(
            client, variants, codes, nbits, thresholds or (), max_listed or 0, progress=show, groups=groups
        )
    if thresholds is None:
        return hist
    return (hist, counts) if max_listed is None else (hist, counts, lists)
