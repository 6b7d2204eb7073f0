"""Galleries: the images behind the numbers, as small JPEG thumbnails.

A reviewer of a false-positive claim asks first to see the pairs. The gallery shows the worst
false matches of each hasher (smallest distance first, then the images with the most false matches),
a sample of the missed edits of each transform, and one example of every edit. The thumbnails are
written to ``thumbs/`` beside report.md (which links to them) and embedded in report.html as JPEG
data URIs, so the page stays one self-contained file: their total is capped at
:data:`MAX_THUMB_BYTES` (a thumbnail that would pass the cap is left out, and the report says so).

Images are not kept by a run, so they are made again here: a generated item from its recipe, a
file from its path (skipped with a note when the file is gone), an edited copy by re-applying its
transform with the same random stream (``image_of``, given by the run). ``thumbs/gallery.json``
records what the gallery shows, so ``hashbench report`` re-renders it from the files without
re-making any image. PIL is imported only when thumbnails are made.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Tile",
    "Section",
    "Gallery",
    "MAX_THUMB_BYTES",
    "THUMB_SIZE",
    "GALLERY_FILE",
    "read_rows",
    "worst_pairs",
    "miss_sample",
    "build_gallery",
    "gallery_files",
    "load_gallery",
    "image_maker",
]

#: The most bytes of JPEG all thumbnails together may take (report.html adds a third for base64).
MAX_THUMB_BYTES = 1_500_000
#: The longer side of a thumbnail, in pixels.
THUMB_SIZE = 120  # the size report.html shows them at
_QUALITY = 75
#: False-match pairs shown per hasher, missed edits per transform.
PAIRS_PER_HASHER = 6
MISSES_PER_EDIT = 2
#: What the gallery shows, in ``thumbs/`` (the re-render reads it back).
GALLERY_FILE = "thumbs/gallery.json"


@dataclass(frozen=True)
class Tile:
    """Some images side by side (a pair, or an original and its edit) with what they are."""

    caption: str
    thumbs: tuple[str, ...]  # file names in thumbs/ ("" where the image could not be made)
    ids: tuple[str, ...]


@dataclass(frozen=True)
class Section:
    title: str
    note: str
    tiles: tuple[Tile, ...]


@dataclass
class Gallery:
    sections: list[Section] = field(default_factory=list)
    thumbs: dict[str, bytes] = field(default_factory=dict)  # file name in thumbs/ -> JPEG
    notes: list[str] = field(default_factory=list)  # images skipped, and why

    def to_json(self) -> str:
        sections = [
            {"title": s.title, "note": s.note, "tiles": [[t.caption, list(t.thumbs), list(t.ids)] for t in s.tiles]}
            for s in self.sections
        ]
        return json.dumps({"sections": sections, "notes": self.notes}, indent=1, ensure_ascii=False) + "\n"


def read_rows(data: bytes | None) -> list[dict[str, str]]:
    """The rows of a per-item CSV file (its ``#`` comment lines skipped); none without a file."""
    if not data:
        return []
    lines = [ln for ln in data.decode("utf-8").splitlines() if not ln.startswith("#")]
    return list(csv.DictReader(lines))


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None  # a composite's distances ("12;-1"): not one number to sort by


def worst_pairs(rows: Sequence[Mapping[str, str]], per_hasher: int = PAIRS_PER_HASHER) -> list[Mapping[str, str]]:
    """The false matches to show, per hasher (composites left out: their parts are shown): the
    smallest distance first, then the pair whose images have the most listed false matches."""
    out: list[Mapping[str, str]] = []
    hashers = list(dict.fromkeys(r["hasher"] for r in rows))
    for name in hashers:
        mine = [r for r in rows if r["hasher"] == name and _int(r["distance"]) is not None]
        matched = Counter(x for r in mine for x in (r["id_a"], r["id_b"]))
        mine.sort(key=lambda r: (_int(r["distance"]), -(matched[r["id_a"]] + matched[r["id_b"]]), r["id_a"], r["id_b"]))
        out += mine[:per_hasher]
    return out


def miss_sample(rows: Sequence[Mapping[str, str]], per_edit: int = MISSES_PER_EDIT) -> list[Mapping[str, str]]:
    """Up to ``per_edit`` missed edits of each transform (the first listed; each edited copy once)."""
    out: list[Mapping[str, str]] = []
    taken: Counter[str] = Counter()
    seen: set[str] = set()
    for r in rows:
        if taken[r["transform"]] < per_edit and r["query_id"] not in seen:
            out.append(r)
            taken[r["transform"]] += 1
            seen.add(r["query_id"])
    return out


def _thumb(pixels: np.ndarray) -> bytes:
    """A JPEG no larger than :data:`THUMB_SIZE` on its longer side (same bytes for the same pixels)."""
    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(pixels[..., :3], dtype=np.uint8), "RGB")
    im.thumbnail((THUMB_SIZE, THUMB_SIZE), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=_QUALITY, optimize=True)
    return buf.getvalue()


def _name(item_id: str) -> str:
    """A file name for an id (ids hold '/', '#', spaces): a digest, the same in every run."""
    return hashlib.sha256(item_id.encode("utf-8")).hexdigest()[:20] + ".jpg"


class _Maker:
    """Makes each thumbnail once, within the byte budget, noting what it could not make."""

    def __init__(self, image_of: Callable[[str], np.ndarray | None], budget: int) -> None:
        self.image_of, self.budget = image_of, budget
        self.gallery = Gallery()
        self.used = 0
        self.over = 0

    def __call__(self, item_id: str) -> str:
        name = _name(item_id)
        if name in self.gallery.thumbs:
            return name
        try:
            pixels = self.image_of(item_id)
        except Exception as exc:  # an untrusted file: say which and why, and go on
            pixels = None
            self.gallery.notes.append(f"`{item_id}`: not shown ({type(exc).__name__}: {exc})")
        if pixels is None:
            if not any(n.startswith(f"`{item_id}`") for n in self.gallery.notes):
                self.gallery.notes.append(f"`{item_id}`: not shown (its file is absent or cannot be re-made)")
            return ""
        jpeg = _thumb(pixels)
        if self.used + len(jpeg) > self.budget:
            self.over += 1
            return ""
        self.used += len(jpeg)
        self.gallery.thumbs[name] = jpeg
        return name


def _tile(make: _Maker, caption: str, ids: Sequence[str]) -> Tile:
    return Tile(caption, tuple(make(i) for i in ids), tuple(ids))


def build_gallery(
    report: Mapping[str, Any],
    false_matches: Sequence[Mapping[str, str]],
    misses: Sequence[Mapping[str, str]],
    image_of: Callable[[str], np.ndarray | None],
    reference: str | None = None,
    budget: int = MAX_THUMB_BYTES,
) -> Gallery:
    """The gallery of a run from the rows of its per-item files; ``image_of(id)`` re-makes an
    image (reference, distractor or edited copy ``<reference>#<transform>``), None when it cannot.
    ``reference``: the image every edit is shown on (the run's first reference)."""
    make = _Maker(image_of, budget)
    edits = _edit_examples(report, reference, make)  # made first: the cap never leaves an edit unshown
    pairs = worst_pairs(false_matches)
    sections = []
    if pairs:
        tiles = [
            _tile(make, f"`{r['hasher']}` ≤ {r['threshold']}: distance {r['distance']}", (r["id_a"], r["id_b"]))
            for r in pairs
        ]
        sections.append(
            Section(
                "The closest false matches",
                f"Up to {PAIRS_PER_HASHER} per hasher from `false_matches.csv`: the smallest distance first, then "
                "the pair whose images have the most false matches. Two distinct images each.",
                tuple(tiles),
            )
        )
    sample = miss_sample(misses)
    if sample:
        tiles = [
            _tile(
                make,
                f"`{r['transform']}`, `{r['hasher']}` ≤ {r['threshold']}: distance {r['distance']}",
                (r["reference_id"], r["query_id"]),
            )
            for r in sample
        ]
        sections.append(
            Section(
                "Missed edits",
                f"Up to {MISSES_PER_EDIT} per transform from `misses.csv`: an original and its edited copy whose "
                "hashes are beyond the hasher's named threshold.",
                tuple(tiles),
            )
        )
    sections += edits
    make.gallery.sections = sections
    if make.over:
        make.gallery.notes.append(
            f"{make.over} thumbnails left out: the gallery is capped at {budget / 1e6:.1f} MB of JPEG."
        )
    return make.gallery


def _edit_examples(report: Mapping[str, Any], ref: str | None, make: _Maker) -> list[Section]:
    """One edited copy of every transform, all of one reference, beside it."""
    transforms = [t["name"] for t in report["inputs"]["queries"].get("transforms", [])]
    if not transforms or ref is None:
        return []
    tiles = [_tile(make, f"`{t}`", (ref, f"{ref}#{t}")) for t in transforms]
    return [Section("Every edit", f"The reference `{ref}` and its copy made by each transform.", tuple(tiles))]


def gallery_files(gallery: Gallery) -> dict[str, bytes]:
    """``thumbs/*.jpg`` and the manifest, as report files."""
    out = {f"thumbs/{name}": jpeg for name, jpeg in sorted(gallery.thumbs.items())}
    out[GALLERY_FILE] = gallery.to_json().encode("utf-8")
    return out


def load_gallery(files: Mapping[str, bytes]) -> Gallery | None:
    """The gallery back from its files (None without a manifest, or with an unreadable one)."""
    raw = files.get(GALLERY_FILE)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        sections = [
            Section(s["title"], s["note"], tuple(Tile(c, tuple(th), tuple(ids)) for c, th, ids in s["tiles"]))
            for s in data["sections"]
        ]
        notes = [str(n) for n in data.get("notes", [])]
    except (ValueError, KeyError, TypeError):
        return None
    names = {n for s in sections for t in s.tiles for n in t.thumbs if n}
    thumbs = {n: files[f"thumbs/{n}"] for n in names if f"thumbs/{n}" in files}
    return Gallery(sections, thumbs, notes)


def image_maker(items: Sequence[Any], suite: Sequence[Any], seed: int) -> Callable[[str], np.ndarray | None]:
    """``image_of`` for a run: dataset items (generated from their recipe, or read from their
    path: None when the file is gone) and edited copies ``<reference id>#<transform>`` made
    again with the run's random stream for that (seed, reference, transform), by the recipes the
    run hashed them from (:mod:`hashbench.sources`: a reference is decoded once for its edits)."""
    from pathlib import Path

    from ..sources import DatasetSource, EditSource

    by_id = {it.id: it for it in items}
    by_name = {t.name: t for t in suite}

    def image_of(item_id: str) -> np.ndarray | None:
        ref, _, name = item_id.rpartition("#")
        original = item_id in by_id
        item = by_id.get(item_id if original else ref)
        if item is None or not (original or name in by_name):
            return None
        if item.path is not None and not Path(item.path).is_file():
            return None
        source = DatasetSource(item) if original else EditSource(item, by_name[name], seed)
        return np.asarray(source.materialise(item_id)[0].pixels)

    return image_of
