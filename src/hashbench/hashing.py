"""Batch hashing: decode each image once, run every hasher on it, in worker processes.

``pdqhash`` holds the GIL while it hashes, so threads do not add throughput; worker processes do.
Inputs are cut into chunks, at most a few chunks are in flight at a time (so a stream of
generated images is never held whole in memory), and results come back in input order whatever
order the workers finish in. A bad item (unreadable file, failing hasher) is recorded with its
reason and the run goes on.

Entry points:

- :func:`hash_stream` yields one :class:`ChunkResult` per chunk, in order (resumable runs build on it);
- :func:`hash_files` and :func:`hash_arrays` collect a whole run into a :class:`HashResult`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import resource
import signal
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .cpus import default_workers
from .errors import ImageDecodeError, UsageError
from .hashers import HashBatch, Hasher, ImageItem
from .hashers import get as get_hasher
from .imageio import (
    DECODE_MODES,
    DEFAULT_MAX_PIXELS,
    HASH_BYTES_PER_PIXEL,
    PixelLimit,
    decode_state,
    is_url,
    memory_budget,
    pixel_limit,
    read_image,
    read_url,
    restore_decode_state,
    set_decode_profile,
    set_draft,
    set_memory_budget,
)
from .parallel import WINDOW_PER_WORKER, Executor, chunked, process_pool

__all__ = [
    "Source",
    "LazySource",
    "DecodeSettings",
    "decode_settings",
    "draft_side",
    "ChunkResult",
    "HashResult",
    "resolve_hashers",
    "hash_stream",
    "hash_files",
    "hash_arrays",
    "default_workers",
    "open_pool",
    "file_fingerprint",
    "source_fingerprint",
]


class LazySource(ABC):
    """A picklable recipe for an image, materialised inside the worker that hashes it.

    Generated and edited images are made where they are hashed, so pixels never cross a process
    boundary; ``materialise`` may return metadata (an edit's resolved parameters) that comes back
    with the hashes in :attr:`ChunkResult.meta`.
    """

    @abstractmethod
    def materialise(self, item_id: str) -> tuple[ImageItem, dict | None]:
        """Return the item every hasher sees, and optional metadata; raise ImageDecodeError."""

    def input_paths(self) -> Sequence[str | os.PathLike]:
        """The files the image is read from, so a checkpoint notices when one of them changes."""
        return ()

    def fingerprint(self) -> str:
        """What the image depends on, for checkpoint keys: the pickled recipe and its input files.

        Equal fingerprints mean the same pixels; a changed recipe or a replaced input file gives
        another fingerprint, so a resumed run hashes it again instead of reusing a stale hash.
        """
        h = hashlib.sha256(pickle.dumps(self, protocol=5))
        for path in self.input_paths():
            h.update(file_fingerprint(path).encode())
        return h.hexdigest()


#: One input: a file path, an fsspec URL string (``s3://...``), a decoded (H, W, 3) uint8 array,
#: (array, encoded bytes), or a LazySource.
Source = str | os.PathLike | npt.NDArray[np.uint8] | tuple | LazySource

DEFAULT_CHUNK_SIZE = 64


def file_fingerprint(path: str | os.PathLike) -> str:
    """A file's identity without reading it: size, mtime, ctime, inode and device (as git does).

    Replacing a file, even by one of the same size with its old mtime restored, changes its ctime
    (which no user call can set back), so a stale checkpoint is never taken for a current one.
    A file that cannot be stat'ed gets the error's name (it will be reported when hashed).
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        return f"error:{exc.errno}"
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}:{st.st_dev}"


def source_fingerprint(source: Source) -> str:
    """What a source's image depends on (see :func:`file_fingerprint`, :meth:`LazySource.fingerprint`).

    URLs are keyed by the URL alone: an object store's content is not checked.
    """
    if isinstance(source, LazySource):
        return source.fingerprint()
    if isinstance(source, str) and is_url(source):
        return "url:" + source
    if isinstance(source, (str, os.PathLike)):
        return "file:" + file_fingerprint(source)
    h = hashlib.sha256()
    for part in source if isinstance(source, tuple) else (source,):
        h.update(np.ascontiguousarray(part).tobytes() if isinstance(part, np.ndarray) else repr(part).encode())
    return "data:" + h.hexdigest()


def resolve_hashers(hashers: Sequence[str | Hasher]) -> list[Hasher]:
    """Turn names (or hasher objects) into hasher objects; unknown names raise UsageError."""
    out = [h if isinstance(h, Hasher) else get_hasher(h) for h in hashers]
    if not out:
        raise UsageError("no hasher given")
    names = [h.name for h in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageError(f"hasher named more than once: {', '.join(dupes)}")
    return out


#: How much larger than a hasher's declared ``decode_size`` a draft decode must stay.
DRAFT_FACTOR = 2
#: The smallest draft side whatever the hashers: measured on the sample photos (docs/decode.md),
#: sides of 16 and 18 (aHash, dHash alone) moved aHash by up to 18 bits, past its threshold of 10.
DRAFT_MIN_SIDE = 256


def draft_side(hashers: Sequence[Hasher]) -> tuple[int | None, str]:
    """The shorter side a draft decode may reduce JPEGs to for ``hashers``, and why.

    :data:`DRAFT_FACTOR` times the largest ``decode_size`` of the hashers that read pixels (at least
    :data:`DRAFT_MIN_SIDE`); None
    (decode every pixel) when one of them declares none (it reads every pixel) or none reads pixels.
    """
    readers = [h for h in hashers if h.needs == "pixels"]
    if not readers:
        return None, "no hasher reads pixels: every image is decoded in full"
    full = [h.name for h in readers if h.decode_size is None]
    if full:
        return None, f"{', '.join(full)} read every pixel (no declared decode_size): images are decoded in full"
    biggest = max(readers, key=lambda h: h.decode_size or 0)
    side = max(DRAFT_MIN_SIDE, DRAFT_FACTOR * int(biggest.decode_size or 0))
    why = f"{DRAFT_FACTOR} x {biggest.name}'s decode_size {biggest.decode_size}, at least {DRAFT_MIN_SIDE}"
    return side, f"JPEGs reduced in the DCT domain to no less than {side} pixels a side ({why})"


def hash_bytes_per_pixel(hashers: Sequence[Hasher]) -> float:
    """The most any of ``hashers`` declares it needs per pixel on top of the decoded array; hashers
    run one after the other, so the most, not the sum. Undeclared: :data:`HASH_BYTES_PER_PIXEL`."""
    return max((HASH_BYTES_PER_PIXEL if h.bytes_per_pixel is None else h.bytes_per_pixel for h in hashers), default=0.0)


@dataclass(frozen=True)
class DecodeSettings:
    """How every worker of a run decodes: the decode mode, the pixel limit (with how it was derived),
    each worker's memory budget, what its hashers need per pixel and the decoder profile (whose
    pixels: :mod:`hashbench.decoders`). Made once in the parent (:func:`decode_settings`) and
    handed to every worker, so all decode alike."""

    decode: str
    limit: PixelLimit
    memory: int | None
    hash_bytes_per_pixel: float
    draft_side: int | None
    draft_note: str
    profile: str = "hashbench"

    @property
    def max_pixels(self) -> int:
        return self.limit.max_pixels

    def describe(self) -> dict[str, object]:
        """For outputs: the decode mode (and what draft did), the pixel limit and its derivation."""
        out: dict[str, object] = {"decode": self.decode, "pixel_limit": self.limit.describe()}
        if self.decode == "draft":
            out["draft"] = {"min_side": self.draft_side, "note": self.draft_note}
        if self.profile != "hashbench":  # outputs of hashbench's own decoding stay as they were
            out["profile"] = self.profile
        return out


def decode_settings(
    hashers: Sequence[Hasher],
    workers: int,
    *,
    max_pixels: int | None = None,
    decode: str = "full",
    profile: str = "hashbench",
) -> DecodeSettings:
    """The :class:`DecodeSettings` of ``workers`` workers running ``hashers``: the pixel limit is
    ``max_pixels`` when given, else what each worker's share of the memory allows. A decoder
    ``profile`` other than hashbench's reproduces a tool's pixels, which a draft (reduced) decode
    would not: the two are refused together, in one line, before any worker starts."""
    if decode not in DECODE_MODES:
        raise UsageError(f"decode must be one of {', '.join(DECODE_MODES)}, got {decode!r}")
    if profile != "hashbench":
        from .decoders import check_profile

        check_profile(profile)
        if decode == "draft":
            raise UsageError(
                f"decode = draft does not give {profile}'s pixels; use decode = full with decode_profile {profile}"
            )
    memory = memory_budget(workers)
    bpp = hash_bytes_per_pixel(hashers)
    limit = pixel_limit(memory, workers, bpp, given=max_pixels)
    side, note = draft_side(hashers) if decode == "draft" else (None, "")
    return DecodeSettings(decode, limit, memory, bpp, side, note, profile)


@dataclass
class ChunkResult:
    """The hashes of one chunk: ``batches[name]`` aligned with ``ids``; timings in CPU seconds.

    ``meta[i]`` is what a :class:`LazySource` reported for item ``i`` (None for other sources).
    ``worker`` is the process that hashed the chunk, ``cpu_seconds`` that process's CPU time
    (every thread, :func:`time.process_time`) over the whole chunk and ``wall_seconds`` the
    chunk's elapsed time there: a chunk read back from a checkpoint keeps the figures of the run
    that hashed it.
    """

    index: int
    ids: list[str]
    decode_errors: list[str | None]
    batches: dict[str, HashBatch]
    decode_seconds: float
    hash_seconds: dict[str, float]
    meta: list[dict | None] = field(default_factory=list)
    worker: int = 0
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0


@dataclass
class HashResult:
    """Every hasher's codes for a run, aligned with ``ids``.

    ``ok[name]`` marks the rows that may be used; a row failed when its image could not be
    decoded (``decode_errors``) or the hasher failed on it (``hasher_errors[name]``).
    ``decode_seconds`` and ``hash_seconds`` are CPU time (:func:`cpu_clock`) summed over workers,
    decode and each hasher apart, so they do not grow when the machine is busy; ``wall_seconds``
    is the elapsed time of the whole call.
    """

    ids: list[str]
    hashers: list[Hasher]
    codes: dict[str, npt.NDArray[np.uint8]]
    quality: dict[str, npt.NDArray[np.int16] | None]
    variant_codes: dict[str, npt.NDArray[np.uint8] | None]
    decode_errors: list[str | None]
    hasher_errors: dict[str, list[str | None]]
    decode_seconds: float = 0.0
    hash_seconds: dict[str, float] = field(default_factory=dict)
    wall_seconds: float = 0.0
    meta: list[dict | None] = field(default_factory=list)
    #: How the images were decoded (:meth:`DecodeSettings.describe`); empty when not recorded.
    settings: dict[str, object] = field(default_factory=dict)
    #: Per worker process (by pid): chunks, CPU seconds of the process and wall seconds in chunks.
    workers: dict[int, dict[str, float]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def decode_profile(self) -> str:
        """The decoder profile the files were decoded with (:mod:`hashbench.decoders`), for provenance:
        the ``profile`` of :attr:`settings`, which names it when it is not hashbench's own."""
        return str(self.settings.get("profile", "hashbench"))

    def timing(self) -> dict[str, object]:
        """The run's time, CPU beside wall: decode and each hasher apart (CPU seconds of the thread
        that did them, summed over workers), each worker's process CPU and wall seconds, and
        images per CPU-second. CPU time does not grow when the machine is busy; wall time does."""
        ok = self.ok
        per_hasher = {
            name: {
                "cpu_seconds": secs,
                "images": int(ok[name].sum()) if name in ok else 0,
                "images_per_cpu_second": (int(ok[name].sum()) / secs) if secs > 0 and name in ok else None,
            }
            for name, secs in self.hash_seconds.items()
        }
        n_decoded = sum(e is None for e in self.decode_errors)
        return {
            "clock": "CPU seconds: time.thread_time of the hashing thread (decode, hashers); "
            "time.process_time of each worker process (workers)",
            "wall_seconds": self.wall_seconds,
            "decode": {
                "cpu_seconds": self.decode_seconds,
                "images": n_decoded,
                "images_per_cpu_second": n_decoded / self.decode_seconds if self.decode_seconds > 0 else None,
            },
            "hashers": per_hasher,
            "workers": [{"pid": pid, **rec} for pid, rec in sorted(self.workers.items())],
        }

    @property
    def ok(self) -> dict[str, npt.NDArray[np.bool_]]:
        decoded = np.array([e is None for e in self.decode_errors], dtype=bool)
        return {
            name: decoded & np.array([e is None for e in errs], dtype=bool) for name, errs in self.hasher_errors.items()
        }

    @property
    def errors(self) -> list[tuple[str, str]]:
        """(id, reason) for every failure: one per undecodable item, one per (item, hasher) failure."""
        out: list[tuple[str, str]] = []
        for i, item_id in enumerate(self.ids):
            decode_error = self.decode_errors[i]
            if decode_error is not None:
                out.append((item_id, decode_error))
                continue
            for name, errs in self.hasher_errors.items():
                if errs[i] is not None:
                    out.append((item_id, f"{name}: {errs[i]}"))
        return out


# ---------------------------------------------------------------------------------------------
# Worker side

_WORKER_HASHERS: list[Hasher] = []
_WORKER_MAX_PIXELS = DEFAULT_MAX_PIXELS
# True in a process started by a hashing pool (see cpu_clock).
_IN_POOL_WORKER = False
#: Seconds one item may take to be made (read, decoded, generated, edited) or hashed by one hasher.
ITEM_TIMEOUT = float(os.environ.get("HASHBENCH_ITEM_TIMEOUT", "120"))


#: Test-only: an address-space limit (bytes) each pool worker sets on itself, to play a small machine.
RLIMIT_ENV = "HASHBENCH_TEST_WORKER_RLIMIT_AS"
#: What a worker that died on an item (killed by the kernel, most often for memory) records for it.
WORKER_DIED = "worker died (memory?)"


def _init_worker(hashers: list[Hasher], settings: DecodeSettings) -> None:
    global _WORKER_HASHERS
    _WORKER_HASHERS = hashers
    _apply(settings)


def _apply(settings: DecodeSettings) -> None:
    """Make this process decode as ``settings`` say: pixel limit, memory budget, draft side, profile."""
    global _WORKER_MAX_PIXELS
    _WORKER_MAX_PIXELS = settings.max_pixels
    set_memory_budget(settings.memory, settings.hash_bytes_per_pixel)
    set_draft(settings.draft_side)
    set_decode_profile(settings.profile)


def _init_pool_worker(hashers: list[Hasher], settings: DecodeSettings) -> None:
    """Start a pool worker: the settings of :func:`_init_worker`, and the test-only memory limit."""
    global _IN_POOL_WORKER
    _IN_POOL_WORKER = True
    limit = os.environ.get(RLIMIT_ENV)
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (int(float(limit)), resource.RLIM_INFINITY))
    _init_worker(hashers, settings)


def cpu_clock() -> float:
    """CPU seconds used by the calling thread: the clock of every per-hasher timing.

    Wall time inside a worker counts the time the worker waited for a core, so the same hasher
    looked slower whenever the machine was busier (issue 16, item 17). Hashers run single-threaded
    in the thread that calls them, so this thread's CPU time is exactly their cost; the other
    threads of the process (progress bars, a Dask worker's other tasks) are not counted. A command
    hasher's work happens in a child program, so in a pool worker, whose only children are those
    programs, the CPU time of finished children is added. Not in the main process: its children
    include the workers of earlier pools, reaped at unpredictable moments.
    """
    if not _IN_POOL_WORKER:
        return time.thread_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.thread_time() + children.ru_utime + children.ru_stime


class ItemTimeout(BaseException):
    """An item took longer than the per-item time limit.

    A BaseException, like KeyboardInterrupt, because the alarm fires anywhere: inside a decoder
    or a hasher whose ``except Exception`` would otherwise turn it into "corrupt or truncated
    image data" (issue 16, item 16). Only the code that set the limit catches it.
    """


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`ItemTimeout` in this thread after ``seconds`` (main thread only, Unix).

    The alarm interrupts Python code and Pillow's decode loop between blocks; elsewhere (another
    thread, no SIGALRM) it does nothing rather than break the caller.
    """
    usable = seconds > 0 and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def on_alarm(signum, frame):  # noqa: ARG001
        raise ItemTimeout(f"took longer than the {seconds:g} s limit per item")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _load(item_id: str, source: Source, max_pixels: int) -> tuple[ImageItem, dict | None]:
    """Decode one source into the item every hasher sees; raises ImageDecodeError."""
    if isinstance(source, LazySource):
        item, meta = source.materialise(item_id)
        _check_pixels(item_id, item.pixels)
        return item, meta
    if isinstance(source, str) and is_url(source):
        loaded = read_url(source, item_id=item_id, max_pixels=max_pixels)
        return ImageItem(id=item_id, pixels=loaded.pixels, data=loaded.data), None
    if isinstance(source, (str, os.PathLike)):
        loaded = read_image(source, item_id=item_id, max_pixels=max_pixels)
        return ImageItem(id=item_id, pixels=loaded.pixels, data=loaded.data, path=os.fspath(source)), None
    data = None
    if isinstance(source, tuple):
        source, data = source
    px = _check_pixels(item_id, np.asarray(source))
    return ImageItem(id=item_id, pixels=np.ascontiguousarray(px), data=data), None


def _check_pixels(item_id: str, px: object) -> npt.NDArray[np.uint8]:
    if (
        not isinstance(px, np.ndarray)
        or px.dtype != np.uint8
        or px.ndim != 3
        or px.shape[2] != 3
        or px.shape[0] == 0
        or px.shape[1] == 0
    ):
        shape = getattr(px, "shape", None)
        raise ImageDecodeError(
            item_id, f"expected an (H, W, 3) uint8 array, got {shape} {getattr(px, 'dtype', type(px).__name__)}"
        )
    return px


def _hash_chunk(
    index: int,
    ids: list[str],
    sources: list[Source],
    hashers: list[Hasher] | None = None,
    settings: DecodeSettings | None = None,
) -> ChunkResult:
    # A task from another executor (a Dask cluster) carries its hashers and settings: no
    # initializer ran there.
    hashers = _WORKER_HASHERS if hashers is None else hashers
    if settings is not None:
        _apply(settings)
    max_pixels = _WORKER_MAX_PIXELS
    w0, p0 = time.perf_counter(), time.process_time()
    t0 = cpu_clock()
    items: list[ImageItem] = []
    decode_errors: list[str | None] = []
    meta: list[dict | None] = []
    for item_id, src in zip(ids, sources):
        try:
            with _time_limit(ITEM_TIMEOUT):
                item, m = _load(item_id, src, max_pixels)
            items.append(item)
            meta.append(m)
            decode_errors.append(None)
        except ImageDecodeError as exc:
            items.append(ImageItem(id=item_id, pixels=None))
            meta.append(None)
            decode_errors.append(exc.reason)
        except ItemTimeout as exc:
            items.append(ImageItem(id=item_id, pixels=None))
            meta.append(None)
            decode_errors.append(f"making the image {exc}")
        except Exception as exc:  # a decoder or generator bug must still not lose the rest of the chunk
            items.append(ImageItem(id=item_id, pixels=None))
            meta.append(None)
            decode_errors.append(f"unexpected failure making the image: {type(exc).__name__}: {exc}")
    decode_seconds = cpu_clock() - t0
    good = [i for i, e in enumerate(decode_errors) if e is None]
    good_items = [items[i] for i in good]
    batches: dict[str, HashBatch] = {}
    hash_seconds: dict[str, float] = {}
    names = {h.name for h in hashers}
    # e.g. pdq is variant 0 of pdq8: computed once, reported for both
    derived = {h.name: h.same_as_variant0_of for h in hashers if h.same_as_variant0_of in names}
    for hasher in hashers:
        if hasher.name in derived:
            continue
        t1 = cpu_clock()
        sub = _hash_with_limit(hasher, good_items)
        hash_seconds[hasher.name] = cpu_clock() - t1
        batches[hasher.name] = _scatter(sub, good, len(items), hasher)
    for name, of in derived.items():
        base = batches[str(of)]
        batches[name] = HashBatch(
            codes=base.codes.copy(),
            errors=list(base.errors),
            quality=None if base.quality is None else base.quality.copy(),
        )
        hash_seconds[name] = 0.0
    cpu, wall = time.process_time() - p0, time.perf_counter() - w0
    return ChunkResult(
        index, list(ids), decode_errors, batches, decode_seconds, hash_seconds, meta, os.getpid(), cpu, wall
    )


def _hash_with_limit(hasher: Hasher, items: list[ImageItem]) -> HashBatch:
    """Hash a batch within ``ITEM_TIMEOUT`` per item; on a timeout, item by item to find the culprit."""
    try:
        with _time_limit(ITEM_TIMEOUT * max(1, len(items))):
            return hasher.hash_many(items)
    except ItemTimeout:
        pass
    parts = []
    for item in items:
        try:
            with _time_limit(ITEM_TIMEOUT):
                parts.append(hasher.hash_many([item]))
        except ItemTimeout as exc:
            parts.append(
                HashBatch(
                    codes=np.zeros((1, hasher.nbytes), np.uint8),
                    errors=[f"hashing {exc}"],
                    quality=np.full(1, -1, np.int16) if hasher.has_quality else None,
                    variant_codes=np.zeros((1, hasher.variants, hasher.nbytes), np.uint8)
                    if hasher.variants > 1
                    else None,
                )
            )
    return HashBatch(
        codes=np.concatenate([p.codes for p in parts]) if parts else np.zeros((0, hasher.nbytes), np.uint8),
        errors=[e for p in parts for e in p.errors],
        quality=np.concatenate([p.quality for p in parts]) if hasher.has_quality and parts else None,
        variant_codes=np.concatenate([p.variant_codes for p in parts]) if hasher.variants > 1 and parts else None,
    )


def _scatter(sub: HashBatch, rows: list[int], n: int, hasher: Hasher) -> HashBatch:
    """Place the hashes of the decoded rows back at their positions in the chunk."""
    codes = np.zeros((n, hasher.nbytes), dtype=np.uint8)
    errors: list[str | None] = ["not decoded"] * n
    quality = np.full(n, -1, dtype=np.int16) if sub.quality is not None else None
    variants = np.zeros((n,) + sub.variant_codes.shape[1:], dtype=np.uint8) if sub.variant_codes is not None else None
    if rows:
        idx = np.asarray(rows)
        codes[idx] = sub.codes
        if quality is not None and sub.quality is not None:
            quality[idx] = sub.quality
        if variants is not None and sub.variant_codes is not None:
            variants[idx] = sub.variant_codes
        for j, r in enumerate(rows):
            errors[r] = sub.errors[j]
    return HashBatch(codes=codes, errors=errors, quality=quality, variant_codes=variants)


# ---------------------------------------------------------------------------------------------
# Parent side


def open_pool(
    hashers: Sequence[Hasher],
    workers: int,
    max_pixels: int | None = None,
    preload: Sequence[str] = ("hashbench.hashing",),
    *,
    settings: DecodeSettings | None = None,
) -> ProcessPoolExecutor:
    """A pool of hashing workers, to share between several :func:`hash_stream` calls.

    Starting workers costs imports (about a second each on a loaded machine); a run with several
    stages opens one pool and passes it to every stage. ``preload`` names the modules the
    forkserver imports once for all workers (see :func:`hashbench.parallel.mp_context`).
    ``settings`` (else made from ``max_pixels``, :func:`decode_settings`) say how they decode.
    """
    if settings is None:
        settings = decode_settings(hashers, workers, max_pixels=max_pixels)
    return process_pool(workers, preload=preload, initializer=_init_pool_worker, initargs=(list(hashers), settings))


def hash_stream(
    items: Iterable[tuple[str, Source]],
    hashers: Sequence[str | Hasher],
    *,
    workers: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    max_pixels: int | None = None,
    skip_chunks: frozenset[int] = frozenset(),
    pool: Executor | None = None,
    decode: str = "full",
    settings: DecodeSettings | None = None,
) -> Iterator[ChunkResult]:
    """Hash ``(id, source)`` pairs chunk by chunk, yielding results in input order.

    ``workers=1`` hashes in this process (no pool). At most ``2 * workers`` chunks are in flight,
    so memory stays bounded for any stream length. Chunks whose index is in ``skip_chunks`` are
    neither loaded nor hashed (a resumed run passes the chunks it already has). ``pool`` (from
    :func:`open_pool`, made with the same hashers) is used instead of starting new workers; any
    other :class:`~hashbench.parallel.Executor` (a ``dask.distributed.Client``) works too, each
    task then carrying the hashers, since no initializer ran on its workers.
    ``settings`` (else made from ``max_pixels`` and ``decode``: :func:`decode_settings`, the
    limit derived from memory when ``max_pixels`` is None) say how images are decoded; a shared
    ``pool`` decodes as its own settings say.
    """
    hs = resolve_hashers(hashers)
    workers = default_workers() if workers is None else workers
    if workers < 1:
        raise UsageError(f"workers must be at least 1, got {workers}")
    if chunk_size < 1:
        raise UsageError(f"chunk size must be at least 1, got {chunk_size}")
    if settings is None:
        settings = decode_settings(hs, workers, max_pixels=max_pixels, decode=decode)
    chunks = (
        (i, [b[0] for b in block], [b[1] for b in block])
        for i, block in enumerate(chunked(items, chunk_size))
        if i not in skip_chunks
    )
    if workers == 1 and pool is None:
        before = decode_state()
        try:
            _init_worker(hs, settings)
            for i, ids, srcs in chunks:
                yield _hash_chunk(i, ids, srcs)
        finally:
            restore_decode_state(before)  # this process decodes as it did: budget, draft, profile
        return
    if pool is not None and not isinstance(pool, ProcessPoolExecutor):  # a cluster: tasks carry hashers
        from .cluster import hash_chunks_on  # survives a task that kills its workers, as below

        # This machine's memory says nothing of a cluster worker's: no memory budget there.
        remote = dataclasses.replace(settings, memory=None)
        yield from hash_chunks_on(pool, chunks, hs, remote, WINDOW_PER_WORKER * workers)
        return
    yield from _SurvivingPool(hs, workers, settings, pool).run(chunks)


Task = tuple[int, list[str], list[Source]]


class _SurvivingPool:
    """Chunks hashed on a process pool that outlives its workers: a dead worker costs one item.

    When a worker dies (the kernel's OOM killer, a crashing decoder), the pool breaks and every
    chunk in flight fails with it. Each is then run again alone in a fresh pool; a chunk that
    kills that one too is run item by item, and the item that kills a worker is recorded as
    :data:`WORKER_DIED`; then the stream goes on in a fresh pool. Results stay in input order.
    ``pool``, when given, is used until it breaks; the replacements are started and stopped here.
    """

    def __init__(self, hashers: list[Hasher], workers: int, settings: DecodeSettings, pool: ProcessPoolExecutor | None):
        self.hashers, self.workers, self.settings = hashers, workers, settings
        self.owned: list[ProcessPoolExecutor] = []
        self.pool = pool if pool is not None else self._new_pool(workers)

    def _new_pool(self, workers: int) -> ProcessPoolExecutor:
        pool = open_pool(self.hashers, workers, settings=self.settings)
        self.owned.append(pool)
        return pool

    def run(self, tasks: Iterable[Task]) -> Iterator[ChunkResult]:
        pending: deque[tuple[Task, Future[ChunkResult] | None]] = deque()
        try:
            for task in tasks:
                pending.append((task, self._submit(task)))
                if len(pending) >= WINDOW_PER_WORKER * self.workers:
                    yield self._take(pending)
            while pending:
                yield self._take(pending)
        finally:
            for pool in self.owned:
                pool.shutdown(wait=True, cancel_futures=True)

    def _submit(self, task: Task) -> Future[ChunkResult] | None:
        try:
            return self.pool.submit(_hash_chunk, *task)
        except BrokenProcessPool:
            return None  # taken as broken in _take

    def _take(self, pending: deque[tuple[Task, Future[ChunkResult] | None]]) -> ChunkResult:
        if pending[0][1] is None:  # the pool was broken before the task was sent (a shared pool)
            self._restart(pending)
        task, future = pending.popleft()
        try:
            if future is not None:
                return future.result()
        except BrokenProcessPool:
            pass
        result = self._alone(task)
        self._restart(pending)
        return result

    def _restart(self, pending: deque[tuple[Task, Future[ChunkResult] | None]]) -> None:
        """Replace the broken pool and send it again the chunks that were in flight in the old one."""
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = self._new_pool(self.workers)
        for k, (task, _) in enumerate(pending):
            pending[k] = (task, self._submit(task))

    def _alone(self, task: Task) -> ChunkResult:
        """Run one chunk in a pool of its own; if a worker dies again, item by item."""
        pool = self._new_pool(1)
        try:
            return pool.submit(_hash_chunk, *task).result()
        except BrokenProcessPool:
            pass
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        index, ids, sources = task
        parts = []
        for item_id, source in zip(ids, sources):
            pool = self._new_pool(1)
            try:
                parts.append(pool.submit(_hash_chunk, index, [item_id], [source]).result())
            except BrokenProcessPool:
                parts.append(_failed_chunk(index, [item_id], WORKER_DIED, self.hashers))
            finally:
                pool.shutdown(wait=False, cancel_futures=True)
        return _join_chunks(index, parts, self.hashers)


def _failed_chunk(index: int, ids: list[str], reason: str, hashers: Sequence[Hasher]) -> ChunkResult:
    """The result of a chunk none of whose items could be made: every row failed with ``reason``."""
    n = len(ids)
    batches = {
        h.name: HashBatch(
            codes=np.zeros((n, h.nbytes), np.uint8),
            errors=["not decoded"] * n,
            quality=np.full(n, -1, np.int16) if h.has_quality else None,
            variant_codes=np.zeros((n, h.variants, h.nbytes), np.uint8) if h.variants > 1 else None,
        )
        for h in hashers
    }
    return ChunkResult(index, list(ids), [reason] * n, batches, 0.0, {h.name: 0.0 for h in hashers}, [None] * n)


def _join_chunks(index: int, parts: Sequence[ChunkResult], hashers: Sequence[Hasher]) -> ChunkResult:
    """One chunk made of the results of its items hashed apart (in order)."""
    whole = collect(parts, hashers)
    batches = {
        h.name: HashBatch(
            codes=whole.codes[h.name],
            errors=whole.hasher_errors[h.name],
            quality=whole.quality[h.name],
            variant_codes=whole.variant_codes[h.name],
        )
        for h in hashers
    }
    return ChunkResult(
        index, whole.ids, whole.decode_errors, batches, whole.decode_seconds, whole.hash_seconds, whole.meta
    )


def collect(chunks: Iterable[ChunkResult], hashers: Sequence[Hasher], progress=None) -> HashResult:
    """Concatenate chunk results (in the order given) into one :class:`HashResult`."""
    ids: list[str] = []
    decode_errors: list[str | None] = []
    meta: list[dict | None] = []
    parts: dict[str, list[HashBatch]] = {h.name: [] for h in hashers}
    decode_seconds = 0.0
    hash_seconds = {h.name: 0.0 for h in hashers}
    workers: dict[int, dict[str, float]] = {}
    for ch in chunks:
        ids.extend(ch.ids)
        decode_errors.extend(ch.decode_errors)
        meta.extend(ch.meta or [None] * len(ch.ids))
        decode_seconds += ch.decode_seconds
        if ch.worker:
            rec = workers.setdefault(ch.worker, {"chunks": 0, "cpu_seconds": 0.0, "wall_seconds": 0.0})
            rec["chunks"] += 1
            rec["cpu_seconds"] += ch.cpu_seconds
            rec["wall_seconds"] += ch.wall_seconds
        for name, b in ch.batches.items():
            parts[name].append(b)
            hash_seconds[name] += ch.hash_seconds[name]
        if progress is not None:
            progress.update(len(ch.ids))
    codes, quality, variants, errors = {}, {}, {}, {}
    for h in hashers:
        bs = parts[h.name]
        codes[h.name] = np.concatenate([b.codes for b in bs]) if bs else np.zeros((0, h.nbytes), np.uint8)
        quality[h.name] = (
            (np.concatenate([b.quality for b in bs]) if bs else np.zeros(0, np.int16)) if h.has_quality else None
        )
        variants[h.name] = (
            (np.concatenate([b.variant_codes for b in bs]) if bs else np.zeros((0, h.variants, h.nbytes), np.uint8))
            if h.variants > 1
            else None
        )
        errors[h.name] = [e for b in bs for e in b.errors]
    return HashResult(
        ids,
        list(hashers),
        codes,
        quality,
        variants,
        decode_errors,
        errors,
        decode_seconds=decode_seconds,
        hash_seconds=hash_seconds,
        meta=meta,
        workers=workers,
    )


def balanced_chunk_size(total: int | None, workers: int, largest: int = DEFAULT_CHUNK_SIZE) -> int:
    """A chunk size that gives every worker several chunks: with 96 images, 2 workers and chunks
    of 64, one worker would get 64 images and the other 32, capping the speed-up at 1.5x.
    A bad ``workers`` (0, negative) is left for :func:`hash_stream` to refuse by name."""
    if not total:
        return largest
    return max(1, min(largest, -(-total // (4 * max(1, workers)))))


def _run(
    items: Iterable[tuple[str, Source]],
    total: int | None,
    hashers: Sequence[str | Hasher],
    *,
    workers: int | None,
    chunk_size: int | None,
    max_pixels: int | None,
    progress: bool,
    desc: str,
    decode: str = "full",
    decode_profile: str = "hashbench",
) -> HashResult:
    from tqdm.auto import tqdm

    hs = resolve_hashers(hashers)
    n_workers = default_workers() if workers is None else workers
    if chunk_size is None:
        chunk_size = balanced_chunk_size(total, n_workers)
    settings = decode_settings(hs, max(1, n_workers), max_pixels=max_pixels, decode=decode, profile=decode_profile)
    t0 = time.perf_counter()
    with tqdm(total=total, disable=not progress, unit="img", desc=desc, dynamic_ncols=True) as bar:
        stream = hash_stream(items, hs, workers=workers, chunk_size=chunk_size, settings=settings)
        result = collect(stream, hs, bar)
    result.wall_seconds = time.perf_counter() - t0
    result.settings = settings.describe()
    return result


def hash_files(
    paths: Sequence[str | os.PathLike],
    ids: Sequence[str] | None = None,
    hashers: Sequence[str | Hasher] = ("pdq",),
    *,
    workers: int | None = None,
    chunk_size: int | None = None,
    max_pixels: int | None = None,
    progress: bool = True,
    decode: str = "full",
    decode_profile: str = "hashbench",
) -> HashResult:
    """Hash image files; ``ids`` default to the paths as given. ``chunk_size=None`` picks one
    that keeps every worker busy (:func:`balanced_chunk_size`); ``max_pixels=None`` derives the
    pixel limit from each worker's memory; ``decode="draft"`` lets JPEGs decode reduced;
    ``decode_profile`` names the tool whose pixels are hashed (:mod:`hashbench.decoders`)."""
    ids = [os.fspath(p) for p in paths] if ids is None else list(ids)
    if len(ids) != len(paths):
        raise ValueError(f"{len(ids)} ids for {len(paths)} paths")
    items: list[tuple[str, Source]] = list(zip(ids, [p if is_url(p) else Path(p) for p in paths]))
    result = _run(
        items,
        len(ids),
        hashers,
        workers=workers,
        chunk_size=chunk_size,
        max_pixels=max_pixels,
        progress=progress,
        desc="hashing",
        decode=decode,
        decode_profile=decode_profile,
    )
    measure_draft(result, items)
    return result


def measure_draft(result: HashResult, items: Sequence[tuple[str, Source]]) -> None:
    """With draft decoding, add to ``result.settings["draft"]`` the distances between draft and full
    hashes on a sample of ``items`` (:func:`hashbench.drafts.draft_distances`): never silent."""
    draft = result.settings.get("draft")
    if not isinstance(draft, dict):
        return
    from .drafts import draft_distances

    limit = result.settings.get("pixel_limit")
    max_pixels = limit.get("max_pixels", DEFAULT_MAX_PIXELS) if isinstance(limit, dict) else DEFAULT_MAX_PIXELS
    draft["distances"] = draft_distances(items, result.hashers, max_pixels=int(max_pixels))


def hash_arrays(
    arrays: Iterable[Source],
    ids: Iterable[str],
    hashers: Sequence[str | Hasher] = ("pdq",),
    *,
    workers: int | None = None,
    chunk_size: int | None = None,
    total: int | None = None,
    progress: bool = True,
) -> HashResult:
    """Hash decoded images (arrays, or (array, encoded bytes) pairs), streamed in chunks."""
    if total is None and hasattr(arrays, "__len__"):
        total = len(arrays)  # type: ignore[arg-type]
    return _run(
        zip(ids, arrays, strict=True),
        total,
        hashers,
        workers=workers,
        chunk_size=chunk_size,
        max_pixels=DEFAULT_MAX_PIXELS,
        progress=progress,
        desc="hashing",
    )
