"""Chunk checkpoints: a run's hashes saved chunk by chunk, so an interrupted run resumes.

Each hashed chunk of a stage (references, queries, distractors) becomes one Parquet part,
``parts/<stage>/chunk-NNNNNN.parquet``, written to a temporary file and renamed into place: a
part either exists whole or not at all, whatever moment a run is killed at. A resumed run skips
the chunks whose parts exist and were made by the same configuration (the digest is in each
part's metadata), and reads all parts back in chunk order, so its result is identical to an
uninterrupted run: no duplicate and no missing row.

Parts are wide (one column group per hasher) and internal; the public hash table is
:mod:`hashbench.store`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .atomic import atomic_write_bytes, atomic_write_text
from .errors import UsageError
from .hashers import HashBatch, Hasher
from .hashing import (
    ChunkResult,
    DecodeSettings,
    HashResult,
    Source,
    collect,
    decode_settings,
    draft_side,
    hash_stream,
    measure_draft,
    source_fingerprint,
)
from .parallel import Executor

# atomic_write_* live in hashbench.atomic; re-exported for the callers that import them from here.
__all__ = ["ChunkStore", "atomic_write_bytes", "atomic_write_text", "chunk_keys", "hash_checkpointed"]

_PART = "chunk-{:06d}-{}.parquet"
_NAME = re.compile(r"chunk-(?P<index>\d{6})-(?P<sha>[0-9a-f]{64})\.parquet")


def _fixed(codes: np.ndarray, width: int) -> pa.Array:
    flat = np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1)
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width), len(flat) // width if width else 0, [None, pa.py_buffer(flat.tobytes())]
    )


def _unfixed(col: pa.ChunkedArray, width: int) -> np.ndarray:
    arr = col.combine_chunks()
    if len(arr) == 0:
        return np.zeros((0, width), dtype=np.uint8)
    buf = np.frombuffer(arr.buffers()[1], dtype=np.uint8)
    start = arr.offset * width
    return buf[start : start + len(arr) * width].reshape(len(arr), width).copy()


class ChunkStore:
    """The parts of one stage of one run. ``digest`` ties parts to the configuration that made them.

    A part's file name carries the SHA-256 of its bytes (``chunk-NNNNNN-<sha256>.parquet``), so
    a flipped bit anywhere in it is detected, and the one rename that publishes a part publishes
    its checksum with it. Its metadata carries the chunk's key (:func:`chunk_keys`): a part is
    reused only for the same inputs, hashers and decoder settings.
    """

    def __init__(self, root: str | os.PathLike, stage: str, hashers: Sequence[Hasher], digest: str) -> None:
        self.folder = Path(root) / "parts" / stage
        self.stage = stage
        self.hashers = list(hashers)
        self.digest = digest
        self.keys: dict[int, str] = {}
        self.stale = 0  # parts found for other inputs or settings, by the last done()
        self.damaged = 0  # parts that failed their checksum, by the last done()
        self._files: dict[int, Path] = {}

    def _parts(self) -> dict[int, list[tuple[Path, str]]]:
        """Every part file present, by chunk index, with the checksum its name declares."""
        out: dict[int, list[tuple[Path, str]]] = {}
        for p in sorted(self.folder.glob("chunk-*.parquet")):
            m = _NAME.fullmatch(p.name)
            if m is None:  # a part from a version without checksums: never trusted
                p.unlink(missing_ok=True)
                continue
            out.setdefault(int(m["index"]), []).append((p, m["sha"]))
        return out

    def done(self, keys: dict[int, str] | None = None) -> frozenset[int]:
        """Indices of the chunks already saved whole, for the same key (all keys when ``keys`` is None).

        Temporary files of a write killed half-way, parts made for other inputs or settings and
        damaged parts (checksum mismatch, one line on stderr each) are removed: they are recomputed.
        """
        self.keys = dict(keys or {})
        self.stale = self.damaged = 0
        if not self.folder.is_dir():
            return frozenset()
        for tmp in self.folder.glob(".chunk-*.tmp"):
            tmp.unlink(missing_ok=True)
        out = set()
        for index, files in self._parts().items():
            for path, sha in files:
                verdict = self._check(path, sha, index, keys)
                if verdict == "ok" and index not in out:
                    out.add(index)
                    self._files[index] = path
                    continue
                path.unlink(missing_ok=True)
                self.stale += verdict == "stale"
                self.damaged += verdict == "damaged"
        return frozenset(out)

    def _check(self, path: Path, sha: str, index: int, keys: dict[int, str] | None) -> str:
        """ "ok", "stale" (made for other inputs or settings) or "damaged" (checksum or format)."""
        try:
            data = path.read_bytes()
        except OSError:
            return "damaged"
        if hashlib.sha256(data).hexdigest() != sha:
            print(
                f"hashbench: checkpoint {path} is damaged (checksum mismatch); recomputing chunk {index}",
                file=sys.stderr,
            )
            return "damaged"
        try:
            info = json.loads(pq.read_schema(pa.BufferReader(data)).metadata[b"hashbench"])
        except (OSError, pa.ArrowInvalid, ValueError, KeyError, TypeError):
            print(f"hashbench: checkpoint {path} is unreadable; recomputing chunk {index}", file=sys.stderr)
            return "damaged"
        same = info.get("digest") == self.digest and info.get("stage") == self.stage and info.get("index") == index
        if not same or (keys is not None and info.get("key") != keys.get(index)):
            return "stale"
        return "ok"

    def write(self, chunk: ChunkResult) -> None:
        """Save one chunk as a part named by its checksum, replacing any older part of that index.

        Written whole then renamed (:func:`atomic_write_bytes`), so a run killed mid-write leaves
        only a temporary file, which :meth:`done` clears.
        """
        cols: dict[str, pa.Array] = {
            "id": pa.array(chunk.ids, pa.string()),
            "error": pa.array(chunk.decode_errors, pa.string()),
            "meta": pa.array(
                [None if m is None else json.dumps(m, sort_keys=True, default=str) for m in chunk.meta]
                if chunk.meta
                else [None] * len(chunk.ids),
                pa.string(),
            ),
        }
        for h in self.hashers:
            b = chunk.batches[h.name]
            cols[f"{h.name}.code"] = _fixed(b.codes, h.nbytes)
            cols[f"{h.name}.error"] = pa.array(b.errors, pa.string())
            if b.quality is not None:
                cols[f"{h.name}.quality"] = pa.array(b.quality, pa.int16())
            if b.variant_codes is not None:
                cols[f"{h.name}.variants"] = _fixed(b.variant_codes, h.variants * h.nbytes)
        info = {
            "digest": self.digest,
            "key": self.keys.get(chunk.index),
            "stage": self.stage,
            "index": chunk.index,
            "decode_seconds": chunk.decode_seconds,
            "hash_seconds": chunk.hash_seconds,
            "worker": chunk.worker,
            "cpu_seconds": chunk.cpu_seconds,
            "wall_seconds": chunk.wall_seconds,
        }
        table = pa.table(cols).replace_schema_metadata({"hashbench": json.dumps(info)})
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        data = sink.getvalue().to_pybytes()
        path = self.folder / _PART.format(chunk.index, hashlib.sha256(data).hexdigest())
        try:
            for old in self.folder.glob(_PART.format(chunk.index, "*")):
                old.unlink(missing_ok=True)
            atomic_write_bytes(path, data)
            self._files[chunk.index] = path
        except OSError as exc:
            raise UsageError(
                f"cannot save checkpoint {path}: {exc.strerror or exc}; free some space or "
                "choose another --out, then run the same command again to resume"
            ) from None

    def read(self, indices: Sequence[int]) -> Iterator[ChunkResult]:
        """The saved chunks, in the order given (all must exist)."""
        for index in indices:
            p = self._files.get(index) or self.folder / _PART.format(index, "?")
            try:
                data = p.read_bytes()
                m = _NAME.fullmatch(p.name)
                if m is None or hashlib.sha256(data).hexdigest() != m["sha"]:
                    raise OSError("its checksum does not match: it changed while the run was going")
                table = pq.read_table(pa.BufferReader(data))
            except (OSError, pa.ArrowInvalid) as exc:
                raise UsageError(
                    f"checkpoint {p} is unreadable ({exc}); run the same command again to redo it"
                ) from None
            info = json.loads(table.schema.metadata[b"hashbench"])
            batches = {}
            for h in self.hashers:
                quality = (
                    table[f"{h.name}.quality"].to_numpy().astype(np.int16)
                    if f"{h.name}.quality" in table.column_names
                    else None
                )
                variants = None
                if f"{h.name}.variants" in table.column_names:
                    variants = _unfixed(table[f"{h.name}.variants"], h.variants * h.nbytes).reshape(
                        -1, h.variants, h.nbytes
                    )
                batches[h.name] = HashBatch(
                    codes=_unfixed(table[f"{h.name}.code"], h.nbytes),
                    errors=table[f"{h.name}.error"].to_pylist(),
                    quality=quality,
                    variant_codes=variants,
                )
            metas = [None if m is None else json.loads(m) for m in table["meta"].to_pylist()]
            yield ChunkResult(
                index=index,
                ids=table["id"].to_pylist(),
                decode_errors=table["error"].to_pylist(),
                batches=batches,
                decode_seconds=float(info["decode_seconds"]),
                hash_seconds={k: float(v) for k, v in info["hash_seconds"].items()},
                meta=metas,
                worker=int(info.get("worker", 0)),
                cpu_seconds=float(info.get("cpu_seconds", 0.0)),
                wall_seconds=float(info.get("wall_seconds", 0.0)),
            )


def chunk_keys(
    items: Sequence[tuple[str, Source]],
    hashers: Sequence[Hasher],
    chunk_size: int,
    *,
    max_pixels: int | None,
    decode: str = "full",
    decode_profile: str = "hashbench",
) -> dict[int, str]:
    """The key of each chunk: what its hashes depend on, so a saved chunk is reused only when valid.

    It covers each input's id and content fingerprint (:func:`hashing.source_fingerprint`: file
    size, mtime, ctime, inode; or the recipe of a generated image), every hasher's identity (name,
    bits, library and version; a command hasher's full command line) and the decoder's settings
    (decode mode and draft side, pixel limit as given, allowed formats, Pillow's version, and the
    decoder profile when it is not hashbench's own). A pixel limit derived from memory
    (``max_pixels=None``) is keyed as ``"auto"``: it moves with the machine's load, and a resumed
    run keeps the refusals its saved chunks recorded. Full decoding with hashbench's profile keeps
    the keys of runs made before draft and profiles existed.
    """
    import PIL

    from .imageio import allowed_formats

    decoder: dict[str, object] = {
        "max_pixels": "auto" if max_pixels is None else max_pixels,
        "formats": allowed_formats(),
        "pillow": PIL.__version__,
    }
    if decode != "full":  # keys of full decoding stay as they were before draft existed
        decoder.update(decode=decode, draft_side=draft_side(hashers)[0])
    if decode_profile != "hashbench":
        decoder["profile"] = decode_profile
    setting = json.dumps(
        {
            "hashers": [[type(h).__qualname__, h.describe()] for h in hashers],
            "decoder": decoder,
        },
        sort_keys=True,
        default=str,
    ).encode()
    keys = {}
    for start in range(0, len(items), chunk_size):
        h = hashlib.sha256(setting)
        for item_id, source in items[start : start + chunk_size]:
            h.update(json.dumps([item_id, source_fingerprint(source)]).encode())
        keys[start // chunk_size] = h.hexdigest()
    return keys


def hash_checkpointed(
    stage: str,
    items: Sequence[tuple[str, Source]],
    hashers: Sequence[Hasher],
    root: str | os.PathLike,
    digest: str,
    *,
    workers: int,
    chunk_size: int,
    progress: bool,
    pool: Executor | None = None,
    max_pixels: int | None = None,
    fresh: bool = False,
    decode: str = "full",
    settings: DecodeSettings | None = None,
    decode_profile: str = "hashbench",
) -> tuple[HashResult, dict[str, Any]]:
    """Hash ``items`` chunk by chunk, saving each chunk; skip the chunks already saved and still valid.

    Killed at any moment and called again with the same arguments, it recomputes only the
    chunks that were not saved and returns exactly what an uninterrupted call returns. A chunk
    whose inputs, hashers or decoder settings changed (:func:`chunk_keys`), or whose part is
    damaged, is hashed again; one stderr line says how many chunks were reused and recomputed.
    ``fresh`` discards every saved chunk of the stage first. ``settings`` (the ones ``pool`` was
    opened with; else made from ``max_pixels``, ``decode`` and ``decode_profile``) say how images are decoded;
    ``max_pixels=None`` derives the pixel limit from each worker's memory.
    """
    from tqdm.auto import tqdm

    if settings is None:
        settings = decode_settings(hashers, workers, max_pixels=max_pixels, decode=decode, profile=decode_profile)
    store = ChunkStore(root, stage, hashers, digest)
    if fresh:
        shutil.rmtree(store.folder, ignore_errors=True)
    n_chunks = math.ceil(len(items) / chunk_size)
    keys = chunk_keys(
        items, hashers, chunk_size, max_pixels=max_pixels, decode=settings.decode, decode_profile=settings.profile
    )
    done = store.done(keys) & frozenset(range(n_chunks))
    if done or store.stale or store.damaged:
        print(
            f"hashbench: {stage}: reusing {len(done)} saved chunks of {n_chunks}; recomputing "
            f"{store.stale} made for other inputs or settings and {store.damaged} damaged",
            file=sys.stderr,
        )
    t0 = time.perf_counter()
    with tqdm(total=len(items), desc=f"{stage:>11}", unit="img", disable=not progress, dynamic_ncols=True) as bar:
        bar.update(min(len(items), len(done) * chunk_size))
        for result in hash_stream(
            items,
            hashers,
            workers=workers,
            chunk_size=chunk_size,
            skip_chunks=done,
            pool=pool,
            settings=settings,
        ):
            store.write(result)
            bar.update(len(result.ids))
    wall = time.perf_counter() - t0
    res = collect(store.read(range(n_chunks)), hashers)
    if res.ids != [i for i, _ in items]:
        raise UsageError(
            f"the checkpoints in {store.folder} do not belong to these inputs; delete the folder and run again"
        )
    res.wall_seconds = wall
    res.settings = settings.describe()
    measure_draft(res, items)
    # recomputed chunks are said on stderr only; how images were decoded (pixel limit, draft and
    # its measured distances) and the CPU time beside wall time go with the stage's timing
    stage_timing = {"items": len(items), "chunks": n_chunks, "resumed_chunks": len(done), "wall_seconds": wall}
    return res, {**stage_timing, "decoding": res.settings, "cpu": res.timing()}
