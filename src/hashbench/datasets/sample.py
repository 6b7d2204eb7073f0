"""The ``sample`` dataset: real images that ship inside hashbench's installed dependencies.

Synthetic families cannot stand in for photographs everywhere, and a benchmark that runs offline
cannot download any. scikit-image, scikit-learn and matplotlib each ship a few real images in
their wheels; this module lists them with the source and licence their packages state, keeps the
ones present on disk (scikit-image ships only part of its gallery; the rest would need
``skimage.data.download_all``, which hashbench never calls), and removes duplicates:

- exact duplicates, found by the SHA-256 of the decoded pixels (scikit-image's
  ``chessboard_GRAY.png`` and ``chessboard_RGB.png`` decode to the same pixels);
- declared near-duplicates, listed in the catalogue (the right image of a stereo pair is a
  shifted copy of the left one, so it would be counted as a false positive that is really true).

Images are ``kind="photo"`` (camera, telescope, microscope or scanner captures) or
``kind="graphic"`` (logos, diagrams, a colour wheel, a phantom); the default selection is photos.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from ..imageio import read_image
from .base import Dataset, Item, RGBArray, register

__all__ = ["SampleImage", "CATALOGUE", "SampleItem", "SampleDataset", "KINDS"]

KINDS = ("photo", "graphic")


@dataclass(frozen=True)
class SampleImage:
    """One catalogue entry: where the file lives inside a package, and what its package says about it."""

    name: str  # short name, unique within the package
    package: str  # import name: skimage, sklearn, matplotlib
    relpath: str  # path inside the package directory
    kind: str  # "photo" or "graphic"
    licence: str
    credit: str
    duplicate_of: str | None = None  # id of the entry this one nearly duplicates


_NOT_STATED = "not stated by the package (distributed inside it)"

CATALOGUE: tuple[SampleImage, ...] = (
    # scikit-image: licences as stated in the skimage.data docstrings
    SampleImage("astronaut", "skimage", "data/astronaut.png", "photo", "public domain", "NASA (Eileen Collins)"),
    SampleImage("camera", "skimage", "data/camera.png", "photo", "CC0", "Lav Varshney"),
    SampleImage("chelsea", "skimage", "data/chelsea.png", "photo", "CC0", "Stefan van der Walt"),
    SampleImage("coffee", "skimage", "data/coffee.png", "photo", "CC0", "Rachel Michetti"),
    SampleImage("coins", "skimage", "data/coins.png", "photo", "no known copyright restrictions", "Brooklyn Museum"),
    SampleImage("hubble_deep_field", "skimage", "data/hubble_deep_field.jpg", "photo", "public domain", "NASA"),
    SampleImage("retina", "skimage", "data/retina.jpg", "photo", "CC0", "Mikael Häggström"),
    SampleImage("rocket", "skimage", "data/rocket.jpg", "photo", "public domain", "SpaceX"),
    SampleImage("brick", "skimage", "data/brick.png", "photo", "CC0", "CC0Textures (Bricks25)"),
    SampleImage("grass", "skimage", "data/grass.png", "photo", "CC0", "linolafett (DeviantArt)"),
    SampleImage("gravel", "skimage", "data/gravel.png", "photo", "CC0", "CC0Textures (Gravel04)"),
    SampleImage("moon", "skimage", "data/moon.png", "photo", _NOT_STATED, "scikit-image"),
    SampleImage("page", "skimage", "data/page.png", "photo", _NOT_STATED, "scikit-image (scanned page)"),
    SampleImage("text", "skimage", "data/text.png", "photo", "public domain", "Wikipedia (File:Corner.png)"),
    SampleImage("clock_motion", "skimage", "data/clock_motion.png", "photo", "public domain", "Stefan van der Walt"),
    SampleImage("cell", "skimage", "data/cell.png", "photo", "CC0", "Paul Müller et al."),
    SampleImage("ihc", "skimage", "data/ihc.png", "photo", "no known copyright restrictions", "CMMI"),
    SampleImage("microaneurysms", "skimage", "data/microaneurysms.png", "photo", "CC0", "Andreas Maier (HRF database)"),
    SampleImage(
        "motorcycle_left",
        "skimage",
        "data/motorcycle_left.png",
        "photo",
        _NOT_STATED,
        "Middlebury 2014 stereo benchmark (Scharstein et al.)",
    ),
    SampleImage(
        "motorcycle_right",
        "skimage",
        "data/motorcycle_right.png",
        "photo",
        _NOT_STATED,
        "Middlebury 2014 stereo benchmark (Scharstein et al.)",
        duplicate_of="sample/skimage/motorcycle_left",
    ),
    SampleImage("horse", "skimage", "data/horse.png", "graphic", "CC0", "Andreas Preuss (openclipart)"),
    SampleImage("logo", "skimage", "data/logo.png", "graphic", _NOT_STATED, "scikit-image logo"),
    SampleImage("color", "skimage", "data/color.png", "graphic", _NOT_STATED, "scikit-image (colour wheel)"),
    SampleImage("chessboard_RGB", "skimage", "data/chessboard_RGB.png", "graphic", _NOT_STATED, "scikit-image"),
    SampleImage("chessboard_GRAY", "skimage", "data/chessboard_GRAY.png", "graphic", _NOT_STATED, "scikit-image"),
    SampleImage("phantom", "skimage", "data/phantom.png", "graphic", _NOT_STATED, "Shepp-Logan phantom"),
    # scikit-learn: sklearn/datasets/images/README.txt
    SampleImage("china", "sklearn", "datasets/images/china.jpg", "photo", "CC BY 2.0", "danielbuechele (Flickr)"),
    SampleImage("flower", "sklearn", "datasets/images/flower.jpg", "photo", "CC BY 2.0", "vultilion (Flickr)"),
    # matplotlib: mpl-data/sample_data
    SampleImage(
        "grace_hopper",
        "matplotlib",
        "mpl-data/sample_data/grace_hopper.jpg",
        "photo",
        "public domain (U.S. Navy photograph)",
        "U.S. Navy",
    ),
    SampleImage(
        "Minduka_Present_Blue_Pack",
        "matplotlib",
        "mpl-data/sample_data/Minduka_Present_Blue_Pack.png",
        "graphic",
        _NOT_STATED,
        "matplotlib sample data (clip art)",
    ),
    SampleImage("logo2", "matplotlib", "mpl-data/sample_data/logo2.png", "graphic", _NOT_STATED, "matplotlib logo"),
)

_DISTRIBUTIONS = {"skimage": "scikit-image", "sklearn": "scikit-learn", "matplotlib": "matplotlib"}


@dataclass(frozen=True, repr=False)
class SampleItem(Item):
    """One shipped image file; ``source`` carries its package, version, licence and hashes."""

    id: str
    source: dict[str, Any]
    path: str

    def load(self) -> RGBArray:
        return read_image(self.path, item_id=self.id).pixels


@register(
    "sample",
    description="real images shipped inside scikit-image, scikit-learn and matplotlib "
    "(deduplicated; licences recorded)",
    params={"kinds": "photo (default), graphic, photo+graphic or all"},
)
class SampleDataset(Dataset):
    """The deduplicated shipped images of the selected ``kinds`` that are present on disk."""

    name = "sample"
    has_files = True

    def __init__(self, kinds: str | Sequence[str] = "photo") -> None:
        if isinstance(kinds, str):
            kinds = KINDS if kinds == "all" else tuple(k.strip() for k in kinds.split("+"))
        bad = sorted(set(kinds) - set(KINDS))
        if bad:
            raise UsageError(f"unknown sample kind(s) {bad}; kinds: {', '.join(KINDS)} or 'all'")
        self.kinds = tuple(k for k in KINDS if k in kinds)
        self._items = [it for it in _deduplicated_items() if it.source["kind"] in self.kinds]

    def __len__(self) -> int:
        return len(self._items)

    def item(self, index: int) -> SampleItem:
        return self._items[index]

    def describe(self) -> dict[str, Any]:
        return {"dataset": "sample", "kinds": list(self.kinds), "count": len(self._items)}

    def excluded(self) -> list[dict[str, str]]:
        """Catalogue entries left out, with the reason (missing on disk, duplicate of another)."""
        return [row for row in _scan()[1] if row["kind"] in self.kinds]

    def __repr__(self) -> str:
        return f"SampleDataset(kinds={self.kinds!r}, count={len(self)})"


def _package_dir(package: str) -> str | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(_DISTRIBUTIONS.get(package, package))
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def _file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@functools.cache
def _scan() -> tuple[tuple[SampleItem, ...], tuple[dict[str, str], ...]]:
    """(kept items, excluded entries): present files, minus declared and exact duplicates.

    Cached per process: it decodes about thirty small files once (well under a second).
    """
    kept: list[SampleItem] = []
    excluded: list[dict[str, str]] = []
    pixel_owner: dict[str, str] = {}
    for entry in CATALOGUE:
        item_id = f"sample/{entry.package}/{entry.name}"
        base = _package_dir(entry.package)
        path = os.path.join(base, entry.relpath) if base else None
        if path is None or not os.path.isfile(path):
            excluded.append({"id": item_id, "kind": entry.kind, "reason": "not present in the installed package"})
            continue
        if entry.duplicate_of is not None:
            excluded.append({"id": item_id, "kind": entry.kind, "reason": f"near-duplicate of {entry.duplicate_of}"})
            continue
        pixels = read_image(path, item_id=item_id).pixels
        pixel_sha = hashlib.sha256(f"{pixels.shape}".encode() + pixels.tobytes()).hexdigest()
        if pixel_sha in pixel_owner:
            excluded.append({"id": item_id, "kind": entry.kind, "reason": f"same pixels as {pixel_owner[pixel_sha]}"})
            continue
        pixel_owner[pixel_sha] = item_id
        height, width = pixels.shape[:2]
        source = {
            "dataset": "sample",
            "package": _DISTRIBUTIONS[entry.package],
            "package_version": _version(entry.package),
            # No absolute path: it names this machine's site-packages, and the input digest
            # (which hashes every source) must be the same wherever the package is installed.
            "file": f"{entry.package}/{entry.relpath}",
            "sha256": _file_sha256(path),
            "pixels_sha256": pixel_sha,
            "width": width,
            "height": height,
            "kind": entry.kind,
            "licence": entry.licence,
            "credit": entry.credit,
        }
        kept.append(SampleItem(item_id, source, path))
    return tuple(kept), tuple(excluded)


def _deduplicated_items() -> tuple[SampleItem, ...]:
    return _scan()[0]
