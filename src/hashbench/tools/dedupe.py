"""Near-duplicate screening of a benign set, so true duplicates are not counted as false positives.

Real collections contain the same photo twice (re-uploads, bursts, resized copies). A hasher
that matches them is right, yet a false-positive measurement would count each such pair
against it. Screening finds pairs within a Hamming radius of one hash (PDQ, radius 10 by
default: far below PDQ's match threshold of 31, so these are very probably the same picture),
groups them, and proposes to keep the first member of each group and exclude the rest.

The search is exact: ``hashbench.index.FlatIndex.range_search`` when the index package is
importable, else a blocked numpy scan with :func:`hashbench.bits.hamming_matrix`. Both count a
pair when ``distance <= radius``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..bits import hamming_matrix
from ..datasets.base import Dataset
from ..errors import UsageError

__all__ = [
    "NearDuplicates",
    "find_near_duplicates",
    "hash_dataset",
    "dedupe_dataset",
    "write_pairs_csv",
    "write_exclusions",
]


#: ``(i, j, distance)`` int64 arrays of pairs
_Pairs = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]


@dataclass
class NearDuplicates:
    """Pairs ``(i[k], j[k])`` with ``i < j`` at Hamming ``distance[k] <= radius``, sorted by (i, j)."""

    ids: list[str]
    i: npt.NDArray[np.int64]
    j: npt.NDArray[np.int64]
    distance: npt.NDArray[np.int64]
    radius: int
    method: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.i.shape[0])

    def pairs(self) -> Iterator[tuple[str, str, int]]:
        """``(id_a, id_b, distance)`` for each pair."""
        for a, b, d in zip(self.i.tolist(), self.j.tolist(), self.distance.tolist()):
            yield self.ids[a], self.ids[b], d

    def groups(self) -> list[list[int]]:
        """Connected components of the pair graph (each sorted, size >= 2), by first member.

        A chain a~b~c puts a, b and c in one group even when a and c are farther apart than
        the radius: all three are copies of one picture for screening purposes.
        """
        parent = np.arange(len(self.ids), dtype=np.int64)

        def find(x: int) -> int:
            root = x
            while parent[root] != root:
                root = int(parent[root])
            while parent[x] != root:  # path compression
                parent[x], x = root, int(parent[x])
            return root

        for a, b in zip(self.i.tolist(), self.j.tolist()):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
        members: dict[int, list[int]] = {}
        for x in sorted(set(self.i.tolist()) | set(self.j.tolist())):
            members.setdefault(find(x), []).append(x)
        return [sorted(g) for _, g in sorted(members.items())]

    def exclusions(self) -> list[str]:
        """Ids to exclude: every member of every group except its first (lowest index)."""
        return [self.ids[x] for g in self.groups() for x in g[1:]]


def find_near_duplicates(
    codes: npt.ArrayLike, ids: Sequence[str], radius: int, *, nbits: int | None = None, block: int = 2048
) -> NearDuplicates:
    """All pairs of ``codes`` (uint8 ``(n, nbytes)``) within Hamming ``radius`` (inclusive).

    Uses :class:`hashbench.index.FlatIndex` when available, else numpy in ``block``-row tiles
    (memory ~ ``block**2 * nbytes`` bytes), and returns the same pairs either way.
    """
    arr = np.ascontiguousarray(np.atleast_2d(np.asarray(codes, dtype=np.uint8)))
    n = arr.shape[0]
    if len(ids) != n:
        raise ValueError(f"{len(ids)} ids for {n} codes")
    if radius < 0:
        raise UsageError(f"radius must be >= 0, got {radius}")
    nbits = 8 * arr.shape[1] if nbits is None else int(nbits)
    try:
        from ..index import FlatIndex
    except ImportError:
        FlatIndex = None  # type: ignore[assignment,misc]
    if FlatIndex is not None and n:
        i, j, d = _pairs_with_index(FlatIndex, arr, nbits, radius)
        method = "hashbench.index.FlatIndex.range_search"
    else:
        i, j, d = _pairs_numpy(arr, radius, block)
        method = "numpy blocked hamming_matrix"
    order = np.lexsort((j, i))
    return NearDuplicates(list(ids), i[order], j[order], d[order], int(radius), method)


def _pairs_with_index(flat_index_cls: Any, arr: npt.NDArray[np.uint8], nbits: int, radius: int) -> _Pairs:
    index = flat_index_cls(nbits)
    index.add(arr)
    lims, D, I = index.range_search(arr, radius)
    q = np.repeat(np.arange(arr.shape[0], dtype=np.int64), np.diff(np.asarray(lims)))
    I = np.asarray(I, dtype=np.int64)
    keep = q < I  # each unordered pair once, no self-pairs
    return q[keep], I[keep], np.asarray(D, dtype=np.int64)[keep]


def _pairs_numpy(arr: npt.NDArray[np.uint8], radius: int, block: int) -> _Pairs:
    n = arr.shape[0]
    out_i, out_j, out_d = [], [], []
    for a0 in range(0, n, block):
        a1 = min(n, a0 + block)
        for b0 in range(a0, n, block):
            b1 = min(n, b0 + block)
            dist = hamming_matrix(arr[a0:a1], arr[b0:b1])
            ii, jj = np.nonzero(dist <= radius)
            gi, gj = ii + a0, jj + b0
            keep = gi < gj
            out_i.append(gi[keep])
            out_j.append(gj[keep])
            out_d.append(dist[ii[keep], jj[keep]])
    if not out_i:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy()
    return (
        np.concatenate(out_i).astype(np.int64),
        np.concatenate(out_j).astype(np.int64),
        np.concatenate(out_d).astype(np.int64),
    )


def hash_dataset(
    dataset: Dataset, hasher: str = "pdq", *, workers: int | None = None, progress: bool = True, chunk: int = 2048
) -> tuple[list[str], npt.NDArray[np.uint8], list[tuple[str, str]], int]:
    """Hash every item with ``hasher``: ``(ids, codes, errors, nbits)`` for the items that hashed.

    File datasets are hashed from their files (:func:`hashbench.hashing.hash_files`); generated
    ones are streamed through :func:`hashbench.hashing.hash_arrays` in chunks of ``chunk`` images,
    so memory holds one chunk of pixels at a time.
    """
    from ..hashers import get as get_hasher
    from ..hashing import hash_arrays, hash_files

    h = get_hasher(hasher)
    ids: list[str] = []
    parts: list[npt.NDArray[np.uint8]] = []
    errors: list[tuple[str, str]] = []

    def take(result: Any) -> None:
        ok = np.asarray(result.ok[h.name], dtype=bool)
        ids.extend(i for i, good in zip(result.ids, ok.tolist()) if good)
        parts.append(np.asarray(result.codes[h.name])[ok])
        errors.extend(result.errors)

    if dataset.has_files:
        items = list(dataset)
        take(
            hash_files([str(it.path) for it in items], [it.id for it in items], [h], workers=workers, progress=progress)
        )
    else:
        stream = dataset.iter_arrays(workers=1)
        while True:
            batch = [pair for _, pair in zip(range(chunk), stream)]
            if not batch:
                break
            take(hash_arrays([a for _, a in batch], [i for i, _ in batch], [h], workers=workers, progress=progress))
    codes = np.concatenate(parts) if parts else np.zeros((0, h.nbytes), dtype=np.uint8)
    return ids, codes, errors, h.nbits


def dedupe_dataset(
    dataset: Dataset, hasher: str = "pdq", radius: int = 10, *, workers: int | None = None, progress: bool = True
) -> NearDuplicates:
    """Hash ``dataset`` and find its near-duplicate pairs (items that failed to hash are left out)."""
    ids, codes, errors, nbits = hash_dataset(dataset, hasher, workers=workers, progress=progress)
    result = find_near_duplicates(codes, ids, radius, nbits=nbits)
    result.meta = {"hasher": hasher, "items": len(dataset), "hashed": len(ids), "errors": errors}
    return result


def write_pairs_csv(path: str | os.PathLike[str], result: NearDuplicates) -> Path:
    """CSV with columns ``id_a, id_b, distance`` (one row per pair)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id_a", "id_b", "distance"])
        writer.writerows(result.pairs())
    return out


def write_exclusions(path: str | os.PathLike[str], result: NearDuplicates) -> Path:
    """Text file of ids to exclude (one per line, ``#`` header), readable by ``folder:exclude=``."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    hasher = result.meta.get("hasher", "?")
    lines = [
        f"# near-duplicates excluded by hashbench datasets dedupe ({hasher}, distance <= {result.radius})",
        "# each group keeps its first member; the others are listed here",
        *result.exclusions(),
    ]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out
