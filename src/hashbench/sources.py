"""Picklable recipes for the images of a run, materialised inside the hashing workers.

A worker receives a small recipe (a dataset item, or a reference plus a transform and a seed)
and makes the pixels itself, so images never cross a process boundary. This module imports only
what making an image needs (datasets, transforms, the decoder), which keeps worker start-up cheap.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from . import datasets as datasets_mod
from . import transforms as transforms_mod
from .datasets.distinct import signature
from .errors import ImageDecodeError
from .hashers import ImageItem
from .hashing import LazySource
from .imageio import read_image

__all__ = ["DatasetSource", "SignedSource", "EditSource"]


@dataclass(frozen=True)
class DatasetSource(LazySource):
    """A dataset item: a file is read and decoded (its bytes kept for exact hashers); a
    generated item is generated."""

    item: datasets_mod.Item

    def input_paths(self) -> tuple[str, ...]:
        return () if self.item.path is None else (self.item.path,)

    def materialise(self, item_id: str) -> tuple[ImageItem, dict | None]:
        path = self.item.path
        if path is not None:
            img = read_image(path, item_id=item_id)
            return ImageItem(id=item_id, pixels=img.pixels, data=img.data, path=str(path)), None
        return ImageItem(id=item_id, pixels=self.item.load()), None


@dataclass(frozen=True)
class SignedSource(DatasetSource):
    """A synthetic image as first drawn, before its dataset's search for redraws
    (:meth:`~hashbench.datasets.SyntheticDataset.settle`): made and hashed like any dataset item,
    it also reports its distinct-draw signature (:func:`~hashbench.datasets.distinct.signature`,
    in ``meta["signature"]``), so the search does not generate the image a second time."""

    def materialise(self, item_id: str) -> tuple[ImageItem, dict | None]:
        made, _ = super().materialise(item_id)
        sig = signature(cast(np.ndarray, made.pixels))
        return made, {"signature": base64.b64encode(sig.tobytes()).decode("ascii")}

    @staticmethod
    def signature_of(meta: dict | None) -> npt.NDArray[np.uint8] | None:
        """The signature a first draw reported (None when it was not made)."""
        if not meta or "signature" not in meta:
            return None
        return np.frombuffer(base64.b64decode(meta["signature"]), np.uint8)


_REFERENCE_CACHE: dict[str, Any] = {}


def _reference_pixels(item: datasets_mod.Item) -> np.ndarray:
    """The decoded pixels of a reference, kept for the next edit of the same reference."""
    cached = _REFERENCE_CACHE.get("id")
    if cached == item.id:
        return _REFERENCE_CACHE["pixels"]
    try:
        # A DatasetSource always decodes or generates pixels; only ImageItem in general may lack them.
        pixels = cast(np.ndarray, DatasetSource(item).materialise(item.id)[0].pixels)
    except ImageDecodeError as exc:
        raise ImageDecodeError(item.id, f"its reference could not be read: {exc.reason}") from None
    _REFERENCE_CACHE.update(id=item.id, pixels=pixels)
    return pixels


@dataclass(frozen=True)
class EditSource(LazySource):
    """One transform of one reference, with a random stream fixed by (seed, reference, transform)."""

    item: datasets_mod.Item
    transform: transforms_mod.Transform
    seed: int

    def input_paths(self) -> tuple[str, ...]:
        return () if self.item.path is None else (self.item.path,)

    def materialise(self, item_id: str) -> tuple[ImageItem, dict | None]:
        pixels = _reference_pixels(self.item)
        rng = transforms_mod.transform_rng(self.seed, self.item.id, self.transform.name)
        out = self.transform.apply(pixels, rng)
        meta = {"ref": self.item.id, "transform": self.transform.name, "params": out.params}
        return ImageItem(id=item_id, pixels=out.pixels, data=out.data), meta
