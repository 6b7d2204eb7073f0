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

import json
import math
import os
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
from .hashing import ChunkResult, HashResult, Source, collect, hash_stream
from .parallel import Executor

# atomic_write_* live in hashbench.atomic; re-exported for the callers that import them from here.
__all__ = ["ChunkStore", "atomic_write_bytes", "atomic_write_text", "hash_checkpointed"]

_PART = "chunk-{:06d}.parquet"


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
    """The parts of one stage of one run. ``digest`` ties parts to the configuration that made them."""

    def __init__(self, root: str | os.PathLike, stage: str, hashers: Sequence[Hasher], digest: str) -> None:
        self.folder = Path(root) / "parts" / stage
        self.stage = stage
        self.hashers = list(hashers)
        self.digest = digest

    def _path(self, index: int) -> Path:
        return self.folder / _PART.format(index)

    def done(self) -> frozenset[int]:
        """Indices of the chunks already saved by this configuration.

        Temporary files left by a write that was killed half-way are removed here.
        """
        if not self.folder.is_dir():
            return frozenset()
        for tmp in self.folder.glob(".chunk-*.tmp"):
            tmp.unlink(missing_ok=True)
        out = set()
        for p in self.folder.glob("chunk-*.parquet"):
            try:
                meta = pq.read_schema(p).metadata or {}
                info = json.loads(meta.get(b"hashbench", b"{}"))
            except (OSError, pa.ArrowInvalid, ValueError):
                continue  # unreadable part: recompute it
            if info.get("digest") == self.digest and info.get("stage") == self.stage:
                out.add(int(info["index"]))
        return frozenset(out)

    def write(self, chunk: ChunkResult) -> None:
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
            "stage": self.stage,
            "index": chunk.index,
            "decode_seconds": chunk.decode_seconds,
            "hash_seconds": chunk.hash_seconds,
        }
        table = pa.table(cols).replace_schema_metadata({"hashbench": json.dumps(info)})
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        path = self._path(chunk.index)
        try:
            atomic_write_bytes(path, sink.getvalue().to_pybytes())
        except OSError as exc:
            raise UsageError(
                f"cannot save checkpoint {path}: {exc.strerror or exc}; free some space or "
                "choose another --out, then run the same command again to resume"
            ) from None

    def read(self, indices: Sequence[int]) -> Iterator[ChunkResult]:
        """The saved chunks, in the order given (all must exist)."""
        for index in indices:
            p = self._path(index)
            try:
                table = pq.read_table(p)
            except (OSError, pa.ArrowInvalid) as exc:
                raise UsageError(
                    f"checkpoint {p} is unreadable ({exc}); delete it and run again to redo that chunk"
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
            )


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
) -> tuple[HashResult, dict[str, Any]]:
    """Hash ``items`` chunk by chunk, saving each chunk; skip the chunks already saved.

    Killed at any moment and called again with the same arguments, it recomputes only the
    chunks that were not saved and returns exactly what an uninterrupted call returns.
    """
    from tqdm.auto import tqdm

    from .imageio import DEFAULT_MAX_PIXELS

    store = ChunkStore(root, stage, hashers, digest)
    n_chunks = math.ceil(len(items) / chunk_size)
    done = store.done() & frozenset(range(n_chunks))
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
            max_pixels=max_pixels or DEFAULT_MAX_PIXELS,
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
    return res, {"items": len(items), "chunks": n_chunks, "resumed_chunks": len(done), "wall_seconds": wall}
