"""The ``folder`` dataset: any directory of images, with a cached manifest.

A user's own collection (or a public set downloaded by hand, see ``datasets/README.md``) is a
folder scanned recursively in sorted order. Item ids are paths relative to the folder, so
results do not depend on where the folder is mounted. The manifest records, per file, the id,
SHA-256, width, height, size in bytes and modification time; it is what a report cites as the
dataset's identity, and it is cached in a Parquet file (by default none; the runner keeps it
beside the results) so a second run re-hashes only files whose size or mtime changed.

An optional ``file_list`` (one relative path per line) selects and orders a subset, e.g. the
reference half of a collection; an optional ``exclude`` file (such as the one written by
``hashbench datasets dedupe``) removes ids, e.g. true duplicates.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from ..errors import ImageDecodeError, UsageError
from ..files import find_images
from ..imageio import allowed_formats, read_file, read_image
from ..parallel import chunked, ordered_chunked_map
from .base import Dataset, Item, RGBArray, register

__all__ = ["ManifestRow", "FileItem", "FolderDataset", "read_id_list", "MANIFEST_COLUMNS"]

MANIFEST_COLUMNS = ("id", "sha256", "width", "height", "bytes", "mtime_ns", "error")


@dataclass(frozen=True)
class ManifestRow:
    """One file of a folder: identity (sha256, bytes) and header size, or why it is unreadable."""

    id: str
    sha256: str
    width: int  # after EXIF orientation; -1 when the header cannot be read
    height: int
    bytes: int
    mtime_ns: int
    error: str = ""


@dataclass(frozen=True, repr=False)
class FileItem(Item):
    """An image file; ``load()`` decodes it with :func:`hashbench.imageio.read_image`."""

    id: str
    source: dict[str, Any]
    path: str

    def load(self) -> RGBArray:
        return read_image(self.path, item_id=self.id).pixels


def read_id_list(path: str | os.PathLike[str]) -> list[str]:
    """Ids (relative paths) from a text file: one per line; blank lines and ``#`` comments skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read id list {os.fspath(path)!r}: {exc.strerror or exc}") from None
    ids: list[str] = []
    seen: set[str] = set()
    for line in text.splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        entry = entry.replace("\\", "/").removeprefix("./")
        if entry not in seen:
            seen.add(entry)
            ids.append(entry)
    return ids


@register(
    "folder",
    description="every image under a folder (recursive, sorted); ids are relative paths; manifest cached",
    params={
        "root": "the folder",
        "file_list": "text file of relative paths to keep, in order (optional)",
        "exclude": "text file of ids to drop, e.g. from `hashbench datasets dedupe` (optional)",
        "manifest": "Parquet file to cache the manifest in (optional)",
        "workers": "processes used to compute the manifest (default: all cores)",
        "progress": "show a progress bar while computing the manifest",
    },
)
class FolderDataset(Dataset):
    """The image files under ``root`` (recursive, sorted), optionally a listed subset.

    ``file_list``: text file of relative paths to keep, in that order (unknown entries are an
    error). ``exclude``: text file of ids to drop. ``manifest``: Parquet file to reuse and
    update. ``workers``/``progress`` apply when the manifest has to be (re)computed.
    """

    name = "folder"
    has_files = True

    def __init__(
        self,
        root: str | os.PathLike[str],
        file_list: str | os.PathLike[str] | None = None,
        exclude: str | os.PathLike[str] | None = None,
        manifest: str | os.PathLike[str] | None = None,
        workers: int | None = None,
        progress: bool = False,
    ) -> None:
        """Scan ``root`` now (so ids and skipped paths are known at once); the manifest waits for use."""
        self.root = Path(root)
        if not self.root.is_dir():
            raise UsageError(f"not a folder: {os.fspath(root)!r}")
        found = find_images([self.root])
        #: (relative path, reason) of what the scan passed over: no image suffix, symlinked or
        #: unreadable folders; printed on stderr, as `hashbench hash` does.
        self.skipped: list[tuple[str, str]] = list(found.skipped)
        for rel, reason in self.skipped:
            print(f"hashbench: folder {os.fspath(root)}: skipped {rel}: {reason}", file=sys.stderr)
        by_id = dict(zip(found.ids, (os.fspath(p) for p in found.paths)))
        ids = list(found.ids)
        if file_list is not None:
            wanted = read_id_list(file_list)
            missing = [i for i in wanted if i not in by_id]
            if missing:
                raise UsageError(
                    f"{len(missing)} entries of {os.fspath(file_list)!r} are not images under "
                    f"{os.fspath(root)!r}, e.g. {missing[:3]}"
                )
            ids = wanted
        if exclude is not None:
            dropped = set(read_id_list(exclude))
            ids = [i for i in ids if i not in dropped]
        self.file_list = None if file_list is None else os.fspath(file_list)
        self.exclude = None if exclude is None else os.fspath(exclude)
        self.manifest_path = None if manifest is None else Path(manifest)
        self.workers = workers
        self.progress = progress
        self._ids = ids
        self._paths = [by_id[i] for i in ids]
        self._rows: dict[str, ManifestRow] | None = None

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> list[str]:
        return list(self._ids)

    @property
    def paths(self) -> list[str]:
        """Absolute-or-as-given file paths, aligned with :attr:`ids`."""
        return list(self._paths)

    def item(self, index: int) -> FileItem:
        row = self.manifest()[self._ids[index]]
        source = {
            "dataset": "folder",
            "root": os.fspath(self.root),
            "path": self._ids[index],
            "sha256": row.sha256,
            "bytes": row.bytes,
            "width": row.width,
            "height": row.height,
        }
        return FileItem(self._ids[index], source, self._paths[index])

    def describe(self) -> dict[str, Any]:
        return {
            "dataset": "folder",
            "root": os.fspath(self.root),
            "file_list": self.file_list,
            "exclude": self.exclude,
            "count": len(self),
        }

    def manifest(self) -> dict[str, ManifestRow]:
        """Manifest rows by id, computed on first use and reused from the cache file if given.

        A file that is not a readable image file (FIFO, device, broken link, loop, unreadable)
        gets a row whose ``error`` is the reason :func:`hashbench.imageio.read_file` gives, as
        ``hashbench hash`` reports it; nothing here opens anything that could block.
        """
        if self._rows is None:
            cached = _read_manifest(self.manifest_path) if self.manifest_path else {}
            todo: list[tuple[str, str, int, int]] = []
            rows: dict[str, ManifestRow] = {}
            for item_id, path in zip(self._ids, self._paths):
                try:
                    st = os.stat(path)
                    size, mtime_ns = (st.st_size, st.st_mtime_ns) if stat.S_ISREG(st.st_mode) else (-1, -1)
                except OSError:
                    size = mtime_ns = -1
                old = cached.get(item_id)
                if size >= 0 and old is not None and old.bytes == size and old.mtime_ns == mtime_ns:
                    rows[item_id] = old
                else:
                    todo.append((item_id, path, size, mtime_ns))
            if todo:
                rows.update(_describe_files(todo, self.workers, self.progress))
            self._rows = {i: rows[i] for i in self._ids}
            if self.manifest_path and (todo or set(cached) != set(self._rows)):
                _write_manifest(self.manifest_path, {**cached, **self._rows}.values())
        return self._rows

    def __repr__(self) -> str:
        return f"FolderDataset(root={os.fspath(self.root)!r}, count={len(self)})"


def _describe_one(job: tuple[str, str, int, int]) -> ManifestRow:
    """A file's manifest row: digest and displayed size, or the reason it cannot be read."""
    item_id, path, size, mtime_ns = job
    try:
        data = read_file(path, item_id=item_id)
    except ImageDecodeError as exc:
        return ManifestRow(item_id, "", -1, -1, size, mtime_ns, exc.reason)
    try:
        width, height = _header_size(data)
        error = ""
    except ImageDecodeError as exc:
        width = height = -1
        error = exc.reason
    return ManifestRow(item_id, hashlib.sha256(data).hexdigest(), width, height, size, mtime_ns, error)


def _describe_chunk(jobs: list[tuple[str, str, int, int]]) -> list[ManifestRow]:
    return [_describe_one(j) for j in jobs]


def _describe_files(
    jobs: Sequence[tuple[str, str, int, int]], workers: int | None, progress: bool
) -> dict[str, ManifestRow]:
    from tqdm.auto import tqdm

    rows: dict[str, ManifestRow] = {}
    n_workers = 1 if len(jobs) < 256 else workers
    with tqdm(total=len(jobs), disable=not progress, unit="file", desc="manifest", dynamic_ncols=True) as bar:
        for row in ordered_chunked_map(_describe_chunk, chunked(iter(jobs), 64), n_workers):
            rows[row.id] = row
            bar.update(1)
    return rows


def _header_size(data: bytes) -> tuple[int, int]:
    """(width, height) as displayed, read from the header only (EXIF orientations 5-8 swap them).

    Only the decoder's raster formats are tried, so an EPS named ``.jpg`` never reaches Ghostscript.
    """
    try:
        with Image.open(io.BytesIO(data), formats=allowed_formats()) as im:
            width, height = im.size
            try:
                orientation = im.getexif().get(0x0112)
            except Exception:
                orientation = None
    except Exception as exc:
        raise ImageDecodeError(None, f"unreadable image header: {type(exc).__name__}") from None
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return int(width), int(height)


def _read_manifest(path: Path) -> dict[str, ManifestRow]:
    if not path.is_file():
        return {}
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise UsageError(f"cannot read manifest {os.fspath(path)!r}: {exc}") from None
    if not set(MANIFEST_COLUMNS) <= set(table.column_names):
        raise UsageError(f"{os.fspath(path)!r} is not a hashbench folder manifest (columns {table.column_names})")
    cols = {c: table.column(c).to_pylist() for c in MANIFEST_COLUMNS}
    return {cols["id"][k]: ManifestRow(*(cols[c][k] for c in MANIFEST_COLUMNS)) for k in range(table.num_rows)}


def _write_manifest(path: Path, rows: Iterable[ManifestRow]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = sorted(rows, key=lambda r: r.id)
    table = pa.table(
        {
            "id": pa.array([r.id for r in rows], pa.string()),
            "sha256": pa.array([r.sha256 for r in rows], pa.string()),
            "width": pa.array([r.width for r in rows], pa.int32()),
            "height": pa.array([r.height for r in rows], pa.int32()),
            "bytes": pa.array([r.bytes for r in rows], pa.int64()),
            "mtime_ns": pa.array([r.mtime_ns for r in rows], pa.int64()),
            "error": pa.array([r.error for r in rows], pa.string()),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
