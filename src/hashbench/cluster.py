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
  result, not merely close. Dihedral matching (:func:`variant_impostor_histogram_on`) counts
  ordered pairs, so every block ``(i, j)`` is counted, with the dihedral kernel.

Dask is an optional dependency (the ``cluster`` extra: ``pip install 'dist/hashbench-*.whl[cluster]'``
or ``pip install '.[cluster]'`` in the repository; README, Install); importing this module
does not import it. ``connect("local")`` starts a cluster of worker processes on this machine
that listens on 127.0.0.1 only; any other address is an existing scheduler.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numba
import numpy as np
import numpy.typing as npt

from .bits import nbytes_for
from .errors import UsageError
from .threads import numba_threads

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

__all__ = [
    "CONNECT_TIMEOUT",
    "MIN_CHUNK",
    "connect",
    "worker_slots",
    "chunk_bounds",
    "impostor_histogram_on",
    "impostor_histogram_with_counts_on",
    "variant_impostor_histogram_on",
    "pair_histogram_on",
]

#: Seconds to wait for a scheduler (and for its first worker) before giving up;
#: ``HASHBENCH_CLUSTER_TIMEOUT`` overrides it.
CONNECT_TIMEOUT = float(os.environ.get("HASHBENCH_CLUSTER_TIMEOUT", "10"))

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
    try:
        if Path(text).is_file():
            client = distributed.Client(scheduler_file=text, timeout=timeout, set_as_default=False)
        else:
            client = distributed.Client(text, timeout=timeout, set_as_default=False)
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


def worker_slots(client: Client) -> int:
    """Task slots of the cluster: the sum of its workers' threads (at least 1)."""
    return max(1, sum(client.nthreads().values()))


def chunk_bounds(n: int, chunk: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` cutting ``range(n)`` into runs of ``chunk`` (the last may be shorter)."""
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, got {chunk}")
    return [(s, min(s + chunk, n)) for s in range(0, n, chunk)]


def _default_chunk(n: int, slots: int) -> int:
    """Codes per chunk giving about :data:`BLOCKS_PER_SLOT` blocks per slot, at least :data:`MIN_CHUNK`.

    ``k`` chunks make ``k (k + 1) / 2`` blocks; ``k`` is the smallest giving enough of them, and
    the chunks are as equal as possible so the blocks are too.
    """
    target = BLOCKS_PER_SLOT * max(1, slots)
    k = max(1, math.ceil((math.sqrt(8 * target + 1) - 1) / 2))
    return max(MIN_CHUNK, math.ceil(n / k)) if n else MIN_CHUNK


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
    codes_a: np.ndarray, codes_b: np.ndarray | None, nbits: int, thresholds: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """One block of pairs with the per-image match counts of its two row ranges (of ``a``,
    then of ``b``; ``None`` for a diagonal block, whose rows are ``a``'s)."""
    from .evaluate.distances import cross_histogram_with_counts, impostor_histogram_with_counts

    with _KERNEL_LOCK, numba_threads(_slots_here()):
        if codes_b is None:
            hist, counts = impostor_histogram_with_counts(codes_a, nbits, thresholds)
            return hist, counts, None
        return cross_histogram_with_counts(codes_a, codes_b, nbits, thresholds)


def _variant_block_histogram(variants_a: np.ndarray, codes_b: np.ndarray, nbits: int, same: bool) -> np.ndarray:
    """One block of ordered dihedral pairs: queries of chunk ``a`` (their variants) against the
    codes of chunk ``b``; ``same`` when both are one chunk (then a query never meets itself)."""
    from .evaluate.dihedral import variant_cross_histogram, variant_impostor_histogram

    with _KERNEL_LOCK, numba_threads(_slots_here()):
        if same:
            return variant_impostor_histogram(variants_a, codes_b, nbits)
        return variant_cross_histogram(variants_a, codes_b, nbits)


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


def impostor_histogram_with_counts_on(
    client: Client,
    codes: npt.ArrayLike,
    nbits: int | None,
    thresholds: tuple[int, ...],
    *,
    block: int | None = None,
    progress: bool = False,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """:func:`hashbench.evaluate.distances.impostor_histogram_with_counts` on the workers.

    Each block returns its histogram and the per-image match counts of its two row ranges;
    the client adds them into ``(len(thresholds), n)`` counts (every pair is in exactly one
    block, so each image's count is exact, identical to the single-machine one).
    """
    arr, nbits = _checked(codes, nbits)
    n = len(arr)
    thresholds = tuple(int(t) for t in thresholds)
    counts = np.zeros((len(thresholds), n), dtype=np.int64)
    if n < 2:
        return np.zeros(nbits + 1, dtype=np.int64), counts
    kernel = partial(_block_counts, thresholds=thresholds)
    chunk = _chunk(client, n, block)
    futures, parts = _submit_blocks(client, arr, nbits, chunk, kernel)
    bounds = chunk_bounds(n, chunk)
    k = len(bounds)
    where = [(i, j) for i in range(k) for j in range(i + 1, k)] + [(i, None) for i in range(k)]

    def add(index: int, part: tuple[np.ndarray, np.ndarray, np.ndarray | None]) -> np.ndarray:
        i, j = where[index]
        counts[:, slice(*bounds[i])] += part[1]
        if j is not None and part[2] is not None:
            counts[:, slice(*bounds[j])] += part[2]
        return part[0]

    hist = _sum_blocks(client, futures, parts, nbits, n * (n - 1) // 2, n, progress, add)
    return hist, counts


def _chunk(client: Client, n: int, block: int | None) -> int:
    """Codes per chunk: ``block``, or the default for this cluster (chosen once per count)."""
    return _default_chunk(n, worker_slots(client)) if block is None else int(block)


def _submit_blocks(
    client: Client, arr: np.ndarray, nbits: int, chunk: int, kernel: Callable[..., Any]
) -> tuple[list[Any], list[Any]]:
    """Scatter the chunks and submit ``kernel(chunk_i, chunk_j or None, nbits)`` for every block
    ``i < j`` then every diagonal one; returns the futures (in that order) and the chunks."""
    n = len(arr)
    parts = client.scatter([arr[a:b] for a, b in chunk_bounds(n, chunk)], broadcast=False, hash=False)
    k = len(parts)
    # Full off-diagonal blocks first and the half-size diagonal ones last: the small tasks fill
    # the gaps at the end, so no thread waits long for the last big one.
    futures = [client.submit(kernel, parts[i], parts[j], nbits, pure=False) for i in range(k) for j in range(i + 1, k)]
    futures += [client.submit(kernel, parts[i], None, nbits, pure=False) for i in range(k)]
    return futures, list(parts)


def variant_impostor_histogram_on(
    client: Client,
    variant_codes: npt.ArrayLike,
    codes: npt.ArrayLike,
    nbits: int,
    *,
    block: int | None = None,
    progress: bool = False,
) -> npt.NDArray[np.int64]:
    """:func:`hashbench.evaluate.dihedral.variant_impostor_histogram` on the workers of ``client``.

    Dihedral matching (pdq8): ordered pairs ``i != j`` at ``min_v d(variant_codes[i, v],
    codes[j])``, ``hist.sum() == n (n - 1)``. The relation is not symmetric, so every block
    ``(i, j)`` of chunks is counted, the diagonal ones without a query meeting itself. Identical
    to the single-machine result.
    """
    arr, nbits = _checked(codes, nbits)
    var = np.ascontiguousarray(np.asarray(variant_codes))
    if var.ndim != 3 or var.dtype != np.uint8 or var.shape[0] != arr.shape[0] or var.shape[2] != arr.shape[1]:
        raise ValueError(
            f"expected (n, variants, nbytes) uint8 variants for {arr.shape} codes, got {var.dtype} {var.shape}"
        )
    n = len(arr)
    if n < 2:
        return np.zeros(nbits + 1, dtype=np.int64)
    if block is None:  # k * k blocks, about BLOCKS_PER_SLOT per slot
        k = math.ceil(math.sqrt(BLOCKS_PER_SLOT * worker_slots(client)))
        block = max(MIN_CHUNK // 8, math.ceil(n / k))  # a query costs 8 distances: smaller chunks
    bounds = chunk_bounds(n, int(block))
    code_parts = client.scatter([arr[a:b] for a, b in bounds], broadcast=False, hash=False)
    var_parts = client.scatter([var[a:b] for a, b in bounds], broadcast=False, hash=False)
    k = len(bounds)
    futures = [
        client.submit(_variant_block_histogram, var_parts[i], code_parts[j], nbits, i == j, pure=False)
        for i in range(k)
        for j in range(k)
    ]
    return _sum_blocks(client, futures, list(code_parts) + list(var_parts), nbits, n * (n - 1), n, progress)


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

    The shape :class:`hashbench.evaluate.study.StudySettings` takes for ``pair_histogram``:
    unordered pairs of ``codes``, or with ``variants`` the ordered dihedral pairs; with
    ``thresholds=(...)`` it returns ``(histogram, per-image counts)`` of the unordered pairs
    (:func:`impostor_histogram_with_counts_on`). The progress
    bar is shown only for histograms of at least ``min_pairs_for_progress`` pairs (a run makes
    many small ones too).
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
) -> Any:
    n = len(codes)
    if thresholds is not None:  # plain pairs with per-image counts: (histogram, counts)
        if variants is not None:
            raise ValueError("per-image counts are for unordered (plain) pairs only")
        show = progress and n * (n - 1) // 2 >= min_pairs
        return impostor_histogram_with_counts_on(client, codes, nbits, thresholds, progress=show)
    if variants is not None:
        return variant_impostor_histogram_on(
            client, variants, codes, nbits, progress=progress and n * (n - 1) >= min_pairs
        )
    return impostor_histogram_on(client, codes, nbits, progress=progress and n * (n - 1) // 2 >= min_pairs)
