"""Decoder profiles: the pixels a deployed tool computes its hash from, for parity with real hash lists.

hashbench decodes carefully (:mod:`hashbench.imageio`: EXIF applied, alpha on white, 16-bit
scaled). The tools that build real hash lists do not, so the same file gets another PDQ there:
ThreatExchange's C++ ``pdq-photo-hasher`` shrinks images over 512 px to 512x512 and ignores EXIF,
python-threatexchange (and HMA) hands Pillow's raw array to ``pdqhash``. A user who wants to
measure what their deployment computes picks that tool's profile; the project's PDQ then gives
the tool's hash bit for bit (pinned by ``tests/golden/profiles``; docs/decoders.md has the table).

A profile only turns an opened Pillow image into (H, W, 3) uint8 pixels; the safety checks of
:func:`hashbench.imageio.decode_bytes` (size limits, format allow-list, memory) run first for every
profile. A file the tool itself cannot hash (the C++ tool exits on alpha) is refused with the
tool's reason, so it is reported by id instead of hashed the way no deployment would.

Profiles register in :data:`PROFILES` (the :mod:`hashbench.registry` idiom; plugins through the
entry-point group ``hashbench.decode_profiles``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from PIL import Image

from .errors import ImageDecodeError, UsageError
from .registry import Registry

__all__ = ["DEFAULT_PROFILE", "DecodeProfile", "PROFILES", "get_profile", "profile_names", "check_profile"]

RGBArray = npt.NDArray[np.uint8]

#: hashbench's own decoding (imageio's rules); decode_bytes takes its path without importing this module.
DEFAULT_PROFILE = "hashbench"


class DecodeProfile(ABC):
    """How one tool turns a decoded Pillow image into the RGB pixels it hashes.

    ``formats``: the Pillow formats the tool reads (None: every format imageio allows);
    ``exif``: whether EXIF orientation is applied before :meth:`pixels`; ``tool``: what is
    reproduced, for reports.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    tool: ClassVar[str] = ""
    formats: ClassVar[tuple[str, ...] | None] = None
    exif: ClassVar[bool] = False

    @abstractmethod
    def pixels(self, im: Image.Image, data: bytes, item_id: str | None) -> RGBArray:
        """The (H, W, 3) uint8 pixels the tool hashes; raise ImageDecodeError where the tool fails."""

    def describe(self) -> dict[str, object]:
        """What a report records about the profile."""
        return {"name": self.name, "tool": self.tool, "exif": self.exif, "formats": list(self.formats or [])}


PROFILES: Registry[DecodeProfile] = Registry(
    "decode profile", "hashbench.decode_profiles", name_attr="name", base=DecodeProfile
)


def get_profile(name: str) -> DecodeProfile:
    """The profile registered as ``name``; UsageError naming the known ones otherwise."""
    return PROFILES.get(name)


def profile_names() -> list[str]:
    """Every profile's name, the default first."""
    return PROFILES.names()


def check_profile(name: str) -> str:
    """``name`` if it is a profile, else a one-line UsageError (config and CLI validation)."""
    if not isinstance(name, str) or name not in PROFILES:
        raise UsageError(PROFILES.unknown_message(str(name)))
    return name


def _gray3(gray: npt.NDArray[np.uint8]) -> RGBArray:
    return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))


@PROFILES.register("hashbench")
class HashbenchProfile(DecodeProfile):
    """hashbench's own decoding: EXIF applied, alpha on white, 16/32-bit scaled (imageio's rules)."""

    tool = "hashbench"
    exif = True

    def pixels(self, im: Image.Image, data: bytes, item_id: str | None) -> RGBArray:
        from .imageio import to_rgb

        return to_rgb(im)


#: The C++ tool's intermediate size: images with a side above it are resized to it, both sides.
CPP_DOWNSAMPLE_DIMS = 512


def cimg_nearest_index(old: int, new: int) -> npt.NDArray[np.intp]:
    """The source index of each of ``new`` samples in CImg's nearest-neighbour resize (``resize(.., 1)``).

    CImg steps through the source by ``floor((x + 1.0) * old / new) - floor(x * old / new)``, so
    output ``x`` reads source ``floor(x * old / new)``, computed in double precision as here.
    """
    return np.floor(np.arange(new, dtype=np.float64) * old / new).astype(np.intp)


def _png_header(data: bytes) -> tuple[int, int] | None:
    """(bit depth, colour type) from a PNG's IHDR, which Pillow does not keep for 16-bit RGB."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 26 or data[12:16] != b"IHDR":
        return None
    return data[24], data[25]


@PROFILES.register("threatexchange-cpp")
class ThreatExchangeCppProfile(DecodeProfile):
    """ThreatExchange's C++ pdq-photo-hasher: CImg with libjpeg/libpng, no EXIF, >512 px shrunk to 512x512."""

    tool = "ThreatExchange pdq-photo-hasher (C++, CImg + libjpeg/libpng)"
    formats = ("JPEG", "PNG")
    exif = False

    def pixels(self, im: Image.Image, data: bytes, item_id: str | None) -> RGBArray:
        mode = im.mode
        if mode in ("RGBA", "LA", "PA", "RGBa", "La", "CMYK") or "transparency" in im.info:
            # CImg gives 2 or 4 channels (alpha, tRNS, CMYK) and the tool exits (pdqio.cpp, 'Internal coding error')
            raise ImageDecodeError(item_id, f"the C++ tool cannot hash {mode} images with 2 or 4 channels (it exits)")
        header = _png_header(data)
        if header is not None and header[0] == 16 and header[1] == 2:
            # CImg keeps each 16-bit sample's low byte; Pillow gives only the high byte of 16-bit RGB
            raise ImageDecodeError(item_id, "16-bit RGB PNG: the C++ tool's low-byte samples are not reproduced")
        if mode in ("I;16", "I;16B", "I;16L", "I"):
            # libpng's 16-bit gray, cast to uint8 by CImg: the low byte of each sample
            px = _gray3((np.asarray(im).astype(np.uint32) & 0xFF).astype(np.uint8))
        elif mode in ("1", "L"):
            px = _gray3(np.asarray(im.convert("L"), dtype=np.uint8))
        elif mode in ("RGB", "P"):
            px = np.asarray(im.convert("RGB"), dtype=np.uint8)
        else:
            raise ImageDecodeError(item_id, f"the C++ tool does not read {mode} images")
        h, w = px.shape[:2]
        if h > CPP_DOWNSAMPLE_DIMS or w > CPP_DOWNSAMPLE_DIMS:
            rows = cimg_nearest_index(h, CPP_DOWNSAMPLE_DIMS)
            cols = cimg_nearest_index(w, CPP_DOWNSAMPLE_DIMS)
            px = px[rows][:, cols]
        return np.ascontiguousarray(px)


@PROFILES.register("python-threatexchange")
class PythonThreatExchangeProfile(DecodeProfile):
    """python-threatexchange / HMA: Pillow's raw array to pdqhash, no EXIF, LA and I;16 converted to RGB."""

    tool = "python-threatexchange PdqSignal (Pillow + pdqhash)"
    exif = False

    def pixels(self, im: Image.Image, data: bytes, item_id: str | None) -> RGBArray:
        # Its rule: only LA and I;16 are converted; every other mode's array goes to pdqhash as it
        # is, which reads channels 0-2 (alpha ignored, CMYK's C, M, Y taken for R, G, B) and a 2-D
        # array (L, P's palette indices, 1-bit's 0/1) repeated three times.
        if im.mode in ("LA", "I;16"):
            im = im.convert("RGB")
        arr = np.asarray(im)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if arr.dtype not in (np.uint8, np.bool_):
            # pdqhash's binding takes 8-bit samples only: the tool fails on these files
            raise ImageDecodeError(item_id, f"python-threatexchange cannot hash {im.mode} images ({arr.dtype} samples)")
        if arr.shape[2] == 1:
            arr = np.repeat(arr, 3, axis=2)
        if arr.shape[2] < 3:
            raise ImageDecodeError(
                item_id, f"python-threatexchange cannot hash {im.mode} images ({arr.shape[2]} channels)"
            )
        return np.ascontiguousarray(arr[:, :, :3], dtype=np.uint8)
