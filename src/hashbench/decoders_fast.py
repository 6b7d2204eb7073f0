"""Pillow's RGB pixels into a numpy array with one copy, the same bytes ``np.asarray(image)`` gives.

Pillow stores an RGB image as 4 bytes a pixel (R, G, B, padding). ``np.asarray(image)`` goes
through ``Image.tobytes()``: the raw encoder packs the pixels into 64 KiB chunks, ``b"".join``
copies them into one bytes object, and the caller copies that into its array. On a 1024x768 JPEG
that took 4.5 ms, more than libjpeg's decoding of the file (issue 18: ``hashbench hash`` at 3x).

Pillow 11.2 and later export an image's memory through the Arrow C data interface
(``Image.__arrow_c_array__``): an RGB image is a fixed-size list of 4 uint8 per pixel over its own
buffer, without a copy. :func:`pack_rgb` reads that buffer in place (``ctypes``, the interface's
stable C structs, so no pyarrow import in workers) and a numba kernel drops every fourth byte into
the caller's array: 0.45 ms. Pillow refuses the export for an image stored in several blocks
(above its 16 MiB block size) and older Pillow has no export; then :func:`pack_rgb` returns False
and the caller converts as before. The packed bytes are those of Pillow's ``RGB`` raw packer
(``Pack.c``: the first three bytes of each pixel); the tests compare every path with
``np.asarray``.
"""

from __future__ import annotations

import ctypes

import numpy as np
import numpy.typing as npt
from numba import njit
from PIL import Image

__all__ = ["pack_rgb"]


class _ArrowArray(ctypes.Structure):
    """``struct ArrowArray`` of the Arrow C data interface (a stable ABI)."""


_ArrowArray._fields_ = [
    ("length", ctypes.c_int64),
    ("null_count", ctypes.c_int64),
    ("offset", ctypes.c_int64),
    ("n_buffers", ctypes.c_int64),
    ("n_children", ctypes.c_int64),
    ("buffers", ctypes.POINTER(ctypes.c_void_p)),
    ("children", ctypes.POINTER(ctypes.POINTER(_ArrowArray))),
    ("dictionary", ctypes.c_void_p),
    ("release", ctypes.c_void_p),
    ("private_data", ctypes.c_void_p),
]

_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


@njit(nogil=True, cache=True)
def _rgbx_to_rgb(src, out):
    """``out`` (flat, 3 bytes a pixel) = the first three of every four bytes of ``src``."""
    for i in range(out.size // 3):
        out[3 * i] = src[4 * i]
        out[3 * i + 1] = src[4 * i + 1]
        out[3 * i + 2] = src[4 * i + 2]


def _pixel_buffer(array: _ArrowArray, n_pixels: int) -> int | None:
    """The address of the 4-byte pixels of an exported RGB image, or None if the export is not the
    expected one (one child of ``4 * n_pixels`` uint8 in a data buffer, no offset)."""
    if array.length != n_pixels or array.offset != 0 or array.n_children != 1 or not array.children:
        return None
    child = array.children[0].contents
    if child.length != 4 * n_pixels or child.offset != 0 or child.n_buffers != 2 or not child.buffers:
        return None
    return child.buffers[1] or None


def pack_rgb(im: Image.Image, out: npt.NDArray[np.uint8]) -> bool:
    """Fill the C-contiguous (H, W, 3) uint8 ``out`` with the loaded RGB image ``im``'s pixels, read
    in place; False (``out`` untouched or partly written, to be overwritten) when Pillow cannot
    export them (older Pillow, an image stored in several blocks)."""
    w, h = im.size
    if im.mode != "RGB" or out.shape != (h, w, 3) or not out.flags.c_contiguous or w * h == 0:
        return False
    try:
        _, capsule = im.__arrow_c_array__()
        pointer = _capsule_pointer(capsule, b"arrow_array")  # raises on another capsule name
    except (AttributeError, TypeError, ValueError, OSError, RuntimeError, MemoryError):
        return False
    if not pointer:
        return False
    # The capsule holds a reference to Pillow's image memory until it is released (dropped).
    address = _pixel_buffer(_ArrowArray.from_address(pointer), w * h)
    if address is None:
        return False
    src = np.ctypeslib.as_array((ctypes.c_uint8 * (4 * w * h)).from_address(address))
    _rgbx_to_rgb(src, out.reshape(-1))
    del src, capsule
    # Rows must be stored back to back (Pillow 13 checks; earlier versions assume it): the last row,
    # read by Pillow itself, tells a padded layout apart.
    return out[h - 1].tobytes() == im.crop((0, h - 1, w, h)).tobytes()
