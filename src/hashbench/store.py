"""The hash store: one Parquet table, one row per (image, hasher), written atomically.

Long format keeps the table readable by any tool (pandas, DuckDB, Spark) and lets hashers of
different lengths share one file. Columns:

=============  ==========================================================================
id             the item's id (for files: the path relative to the folder given)
hasher         hasher name
nbits          bits in the hash
hash_hex       lowercase hex, ``ceil(nbits/4)`` digits; null when the item failed
quality        PDQ quality 0-100; null for hashers without one, or on failure
variants_hex   list of hex strings (pdq8: the 8 dihedral hashes, identity first); else null
error          why the item failed for this hasher; null when it was hashed
=============  ==========================================================================

The file's metadata records the hashbench version and each hasher's library and version, so a
table says how it was made. Writes go to a temporary file in the same folder and are renamed
into place: a reader never sees half a table, and an interrupted write leaves the old one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import __version__
from .atomic import Locked, check_target, hold_lock
from .bits import codes_from_hex, codes_to_hex
from .errors import UsageError
from .hashing import HashResult
from .imageio import is_url

if TYPE_CHECKING:
    from .hashers import Hasher

__all__ = ["SCHEMA", "result_to_table", "write_table", "read_table", "codes_from_table", "hash_files_to_table"]

SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("hasher", pa.string(), nullable=False),
        pa.field("nbits", pa.int32(), nullable=False),
        pa.field("hash_hex", pa.string()),
        pa.field("quality", pa.int16()),
        pa.field("variants_hex", pa.list_(pa.string())),
        pa.field("error", pa.string()),
    ]
)


def result_to_table(result: HashResult) -> pa.Table:
    """Long table of a :class:`HashResult`: rows ordered by item, then by hasher as given."""
    n = len(result.ids)
    ok = result.ok
    per_hasher: list[dict[str, list]] = []
    for h in result.hashers:
        name = h.name
        mask = ok[name]
        hexes = codes_to_hex(result.codes[name], h.nbits) if n else []
        q = result.quality[name]
        v = result.variant_codes[name]
        errors = [result.decode_errors[i] or result.hasher_errors[name][i] for i in range(n)]
        per_hasher.append(
            {
                "hash_hex": [hexes[i] if mask[i] else None for i in range(n)],
                "quality": [int(q[i]) if (q is not None and mask[i] and q[i] >= 0) else None for i in range(n)],
                "variants_hex": [
                    codes_to_hex(v[i], h.nbits) if (v is not None and mask[i]) else None for i in range(n)
                ],
                "error": errors,
            }
        )
    cols: dict[str, list] = {k: [] for k in SCHEMA.names}
    for i in range(n):
        for h, col in zip(result.hashers, per_hasher):
            cols["id"].append(result.ids[i])
            cols["hasher"].append(h.name)
            cols["nbits"].append(h.nbits)
            for k in ("hash_hex", "quality", "variants_hex", "error"):
                cols[k].append(col[k][i])
    meta = {
        "hashbench_version": __version__,
        "hashers": [h.describe() for h in result.hashers],
        "decoding": result.settings,  # decode mode (draft: its measured distances), pixel limit
        "decode_profile": result.decode_profile,  # whose pixels were hashed (hashbench.decoders)
        "timing": result.timing(),  # CPU seconds beside wall, decode and each hasher apart
    }
    table = pa.Table.from_pydict(cols, schema=SCHEMA)
    return table.replace_schema_metadata({"hashbench": json.dumps(meta, default=str)})


def write_table(table: pa.Table, path: str | os.PathLike) -> Path:
    """Write ``table`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    from .atomic import atomic_write_bytes

    out = Path(path)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    try:
        atomic_write_bytes(out, sink.getvalue().to_pybytes())
    except OSError as exc:
        raise UsageError(
            f"cannot write {out}: {exc.strerror or exc}; choose another --out or free some space"
        ) from None
    return out


def read_table(path: str | os.PathLike) -> pa.Table:
    """Read a hash store written by :func:`write_table`."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise UsageError(f"cannot read hash table {path}: {exc}") from None
    missing = [c for c in ("id", "hasher", "nbits", "hash_hex", "error") if c not in table.column_names]
    if missing:
        raise UsageError(f"{path} is not a hashbench hash table (missing columns: {', '.join(missing)})")
    return table


def codes_from_table(
    table: pa.Table, hasher: str
) -> tuple[list[str], npt.NDArray[np.uint8], npt.NDArray[np.int16] | None]:
    """Ids, packed codes and quality (or None) of one hasher's successfully hashed rows."""
    rows = table.filter(pc.and_(pc.equal(table["hasher"], hasher), pc.is_valid(table["hash_hex"])))
    if rows.num_rows == 0:
        known = sorted(set(table["hasher"].to_pylist()))
        if hasher not in known:
            raise UsageError(f"no hasher {hasher!r} in this table; it has: {', '.join(known)}")
    nbits = int(rows["nbits"][0].as_py()) if rows.num_rows else 0
    ids = rows["id"].to_pylist()
    codes = codes_from_hex(rows["hash_hex"].to_pylist(), nbits) if rows.num_rows else np.zeros((0, 0), np.uint8)
    quality = None
    if "quality" in rows.column_names and rows["quality"].null_count < rows.num_rows:
        quality = np.array([q if q is not None else -1 for q in rows["quality"].to_pylist()], dtype=np.int16)
    return ids, codes, quality


def hash_files_to_table(
    paths: Sequence[Path | str],
    ids: list[str],
    hashers: Sequence[Hasher],
    out: str | os.PathLike,
    *,
    workers: int,
    max_pixels: int | None,
    progress: bool,
    chunk_size: int | None = None,
    client: Any = None,
    fresh: bool = False,
    decode: str = "full",
    decode_profile: str = "hashbench",
) -> tuple[HashResult, pa.Table]:
    """Hash files into the table at ``out``, resumably.

    Chunks are checkpointed in ``<out>.parts/`` while the run goes; killed and started again
    with the same inputs and hashers, it hashes only what is missing, and again any chunk whose
    files changed since (:func:`hashbench.checkpoint.chunk_keys`); ``fresh`` ignores saved
    chunks. The folder is removed once the table is written. ``client`` (a Dask client,
    :func:`hashbench.cluster.connect`) hashes on its workers, which must see the files at the
    same absolute paths. ``decode_profile`` names whose pixels are hashed (:mod:`hashbench.decoders`).
    """
    import hashlib
    import shutil

    from .checkpoint import hash_checkpointed

    out = Path(out)
    parts = out.with_name(out.name + ".parts")
    try:
        check_target(out)  # before any hashing: a device, FIFO or symlink as --out is refused
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    if chunk_size is None:
        # At least 16 chunks (so 2-8 workers all stay busy), and independent of --workers, so a
        # run resumed with another worker count still finds its saved chunks.
        from .hashing import balanced_chunk_size

        chunk_size = balanced_chunk_size(len(ids), 4)
    # the decoder's settings (mode, profile) are in every chunk's key (checkpoint.chunk_keys)
    key = json.dumps(
        {"hashers": [[h.name, h.nbits] for h in hashers], "ids": ids, "max_pixels": max_pixels, "chunk": chunk_size},
        sort_keys=True,
    ).encode()
    digest = hashlib.sha256(key).hexdigest()[:16]
    if client is not None:  # a worker elsewhere has another working directory
        from .cluster import worker_slots

        paths, workers = [p if is_url(p) else Path(os.path.abspath(p)) for p in paths], worker_slots(client)
    with _output_lock(out, parts):
        result, _ = hash_checkpointed(
            "files",
            list(zip(ids, paths)),
            hashers,
            parts,
            digest,
            workers=workers,
            chunk_size=chunk_size,
            progress=progress,
            max_pixels=max_pixels,
            pool=client,
            fresh=fresh,
            decode=decode,
            decode_profile=decode_profile,
        )
        table = result_to_table(result)
        write_table(table, out)
        shutil.rmtree(parts, ignore_errors=True)
    return result, table


@contextmanager
def _output_lock(out: Path, parts: Path) -> Iterator[None]:
    """Hold ``out``'s lock (in its checkpoint folder) so a second run into ``out`` stops at once."""
    try:
        parts.mkdir(parents=True, exist_ok=True)
        lock = hold_lock(parts / "lock")
        lock.__enter__()
    except Locked:
        raise UsageError(
            f"another hashbench run is writing {out} (it holds {parts / 'lock'}); wait for it or choose another --out"
        ) from None
    except OSError as exc:
        raise UsageError(f"cannot write next to {out}: {exc.strerror or exc}; choose another --out") from None
    try:
        yield
    finally:
        lock.__exit__(None, None, None)
