"""Apply a suite to every item of a dataset and write the outputs as files, with a record of each.

This is what ``hashbench transform`` does: it makes an altered copy of a collection that any
tool, not only hashbench, can hash. Files go to ``OUT/<transform name>/<item id>.<ext>``: the
encoded bytes for jpeg/webp/png transforms (so the file *is* the re-encoded image), lossless
PNG otherwise. ``OUT/transforms.jsonl`` has one JSON line per output with the item id, the
transform, its resolved parameters, the file and the item's source; ``OUT/suite.json`` the
suite and seed, which are enough to regenerate every file bit for bit.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from PIL import Image

from ..datasets.base import Dataset, Item
from ..errors import ImageDecodeError
from ..parallel import chunked, ordered_chunked_map
from ..transforms.base import Transform
from ..transforms.suites import apply_suite

__all__ = ["transform_dataset", "output_relpath"]

_EXT = {"jpeg": ".jpg", "webp": ".webp", "png": ".png"}


def output_relpath(transform_name: str, item_id: str, fmt: str | None, *, keep_suffix: bool = False) -> str:
    """``<transform>/<item id without its suffix>.<ext>`` with a safe, relative item path.

    ``keep_suffix`` keeps the item's own image suffix (``x.jpg`` -> ``x.jpg.png``): needed when
    two items differ only in it, or both would be written to one file (see :func:`clashing_ids`).
    """
    base = _safe_base(item_id)
    root, ext = os.path.splitext(base)
    if not keep_suffix and ext.lower() in _IMAGE_SUFFIXES:
        base = root
    safe_name = transform_name.replace("/", "_")
    return f"{safe_name}/{base}{_EXT.get(fmt or 'png', '.png')}"


_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")


def _safe_base(item_id: str) -> str:
    """The item id as a relative path that cannot climb out of the output folder."""
    stem = item_id.replace("\\", "/").lstrip("/")
    parts = [p for p in stem.split("/") if p not in ("", ".", "..")]
    return "/".join(parts) or "item"


def clashing_ids(item_ids: Sequence[str]) -> frozenset[str]:
    """Ids whose output name without the suffix is shared with another id (``x.jpg`` and
    ``x.png`` in one folder); these keep their suffix so no output overwrites another."""
    by_stem: dict[str, list[str]] = {}
    for item_id in item_ids:
        by_stem.setdefault(output_relpath("", item_id, None), []).append(item_id)
    return frozenset(i for ids in by_stem.values() if len(ids) > 1 for i in ids)


def transform_dataset(
    dataset: Dataset | Sequence[Item],
    suite: Sequence[Transform],
    out_dir: str | os.PathLike[str],
    *,
    seed: int = 0,
    suite_name: str = "custom",
    workers: int | None = None,
    progress: bool = True,
    chunk_size: int = 4,
) -> dict[str, int]:
    """Write every (item, transform) output under ``out_dir``; return counts of outputs and errors.

    Items are processed in worker processes, in chunks; records are written in item order.
    An item that cannot be decoded is recorded with its reason and skipped.
    """
    from tqdm.auto import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "suite.json", "w", encoding="utf-8") as fh:
        json.dump({"suite": suite_name, "seed": seed, "transforms": [t.describe() for t in suite]}, fh, indent=2)
        fh.write("\n")
    items = list(dataset)
    clash = clashing_ids([it.id for it in items])
    work = partial(_transform_chunk, suite=list(suite), out_dir=os.fspath(out), seed=seed, clash=clash)
    counts = {"items": len(items), "outputs": 0, "errors": 0}
    with (
        open(out / "transforms.jsonl", "w", encoding="utf-8") as records,
        tqdm(
            total=len(items),
            disable=not progress,
            unit="img",
            desc=f"transform ({len(suite)} each)",
            dynamic_ncols=True,
        ) as bar,
    ):
        for rows in ordered_chunked_map(work, chunked(iter(items), chunk_size), workers):
            for row in rows:
                records.write(json.dumps(row, sort_keys=True) + "\n")
                counts["errors" if "error" in row else "outputs"] += 1
            bar.update(1)
    return counts


def _transform_chunk(
    chunk: list[Item], *, suite: list[Transform], out_dir: str, seed: int, clash: frozenset[str] = frozenset()
) -> list[list[dict[str, Any]]]:
    """Per item: the list of records of its outputs (or one error record); ids in ``clash``
    keep their suffix in the output name."""
    results: list[list[dict[str, Any]]] = []
    for item in chunk:
        try:
            pixels = item.load()
        except ImageDecodeError as exc:
            results.append([{"item": item.id, "error": exc.reason}])
            continue
        rows: list[dict[str, Any]] = []
        for t, o in zip(suite, apply_suite(pixels, suite, seed, item.id)):
            rel = output_relpath(t.name, item.id, o.format, keep_suffix=item.id in clash)
            path = os.path.join(out_dir, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if o.data is not None:
                with open(path, "wb") as fh:
                    fh.write(o.data)
            else:
                Image.fromarray(o.pixels).save(path, format="PNG", compress_level=1)
            rows.append(
                {
                    "item": item.id,
                    "transform": t.name,
                    "kind": t.kind,
                    "params": o.params,
                    "file": rel,
                    "width": int(o.pixels.shape[1]),
                    "height": int(o.pixels.shape[0]),
                    "source": dict(item.source),
                }
            )
        results.append(rows)
    return results
