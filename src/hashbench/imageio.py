"""The one place where images are decoded.

Every hasher must see the same pixels for the same file, or a comparison between hashers measures
decoders instead of hashers. So a file is read once, decoded once here, and the resulting RGB
uint8 array (plus the file's bytes, for the exact hashers) goes to every hasher.

Decoding rules, chosen to match what a person sees when the image is displayed:

- EXIF orientation is applied (a phone photo stored sideways is hashed upright).
- Animated images (GIF, WebP, APNG) contribute their first frame.
- Transparency (RGBA, LA, PA, P with a transparent colour) is composited on white.
- CMYK, YCbCr, LAB, HSV, 1-bit and palette images are converted to RGB by Pillow.
- 16-bit and 32-bit integer images are scaled to 8 bits by their bit depth (not clipped), and
  floating-point images are clipped to 0..255.

Hostile input is refused with :class:`~hashbench.errors.ImageDecodeError` (item id + reason)
instead of exhausting memory: files larger than ``max_bytes`` and images whose header declares more
than ``max_pixels`` pixels are refused before any pixel is decoded.

Memory is bounded before decoding too: an image whose decoding and hashing would need more than
this worker's memory budget (:func:`set_memory_budget`, by default the memory available divided by
the workers) is refused from its header, so a small file that inflates to gigabytes (a 190 KB
14000x14000 grey PNG needs 5.3 GB with pdq) is reported instead of getting the worker killed.

Only the raster formats of :data:`RASTER_FORMATS` are opened, whatever a file's name says: left to
sniff, Pillow would hand PostScript hidden in a ``.jpg`` (EPS) to Ghostscript, a full interpreter
that must never run on untrusted input. A file in any other format is refused, naming the format.
"""

from __future__ import annotations

import io
import os
import stat
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageDecodeError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MAX_BYTES",
    "RASTER_FORMATS",
    "IMAGE_SUFFIXES",
    "LoadedImage",
    "allowed_formats",
    "decode_memory",
    "memory_budget",
    "set_memory_budget",
    "read_file",
    "read_image",
    "read_url",
    "is_url",
    "decode_bytes",
    "to_rgb",
]

#: Refuse images whose header declares more pixels than this (a 16k x 16k photo is 268 Mpx).
DEFAULT_MAX_PIXELS = 200_000_000
#: Refuse files larger than this many bytes before reading them.
DEFAULT_MAX_BYTES = 512 * 1024 * 1024

#: File suffixes treated as images when a folder is scanned (case-insensitive).
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".bmp", ".dib", ".tif", ".tiff", ".ppm", ".pgm", ".pbm", ".pnm"}
)

#: Pillow formats that are decoded (set ``HASHBENCH_IMAGE_FORMATS=JPEG,PNG,...`` to change it). Pure
#: raster decoders only: EPS, PS and PDF are absent because Pillow runs Ghostscript to read them.
RASTER_FORMATS: tuple[str, ...] = tuple(
    f.strip().upper()
    for f in os.environ.get("HASHBENCH_IMAGE_FORMATS", "JPEG,PNG,WEBP,GIF,BMP,DIB,TIFF,PPM,ICO,TGA,PCX,QOI,AVIF").split(
        ","
    )
    if f.strip()
)
#: Formats never opened even when named in HASHBENCH_IMAGE_FORMATS: they execute code (Ghostscript).
_NEVER = frozenset({"EPS", "PS", "PDF"})

RGBArray = npt.NDArray[np.uint8]

#: Bytes per pixel the hashers need on top of the decoded image. Measured: pdq (and pdq, phash,
#: dhash, md5 together) on a 14000x14000 grey PNG peak at 5.3 GB, 27 bytes per pixel, of which
#: decoding takes 8 (1 stored, 4 for Pillow's RGB, 3 for the array).
HASH_BYTES_PER_PIXEL = 20
#: Test and tuning override of the per-worker memory budget, in bytes.
MEMORY_ENV = "HASHBENCH_WORKER_MEMORY"
_memory_budget: int | None = None
_OUT_OF_MEMORY = "out of memory decoding the {w}x{h} image (memory limit of this worker)"


@dataclass(frozen=True, slots=True)
class LoadedImage:
    """A decoded image: ``pixels`` (H, W, 3) RGB uint8 and the encoded ``data`` it came from."""

    pixels: RGBArray
    data: bytes


def read_image(
    path: str | os.PathLike[str],
    *,
    item_id: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> LoadedImage:
    """Read and decode one file; raise :class:`ImageDecodeError` with ``item_id`` on any failure."""
    item = item_id if item_id is not None else os.fsdecode(path)
    data = read_file(path, item_id=item, max_bytes=max_bytes)
    return LoadedImage(decode_bytes(data, item_id=item, max_pixels=max_pixels), data)


def read_file(path: str | os.PathLike[str], *, item_id: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of a regular file, or :class:`ImageDecodeError` saying why not, without ever blocking.

    The file is opened non-blocking and checked on the open descriptor (no race with a rename):
    a FIFO, a device (a symlink to ``/dev/zero``), a folder, a broken symlink or a symlink loop,
    an unreadable, empty or oversized file is refused with its reason. Every reader of images
    (``hashbench hash``, folder datasets, their manifests) goes through here, so all give the
    same reasons.
    """
    item = item_id if item_id is not None else os.fsdecode(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ImageDecodeError(item, f"cannot read file: {exc.strerror or exc}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise ImageDecodeError(item, "not a regular file")
    with os.fdopen(fd, "rb") as fh:
        if st.st_size == 0:
            raise ImageDecodeError(item, "empty file (0 bytes)")
        if st.st_size > max_bytes:
            raise ImageDecodeError(item, f"file is {st.st_size} bytes, above the limit of {max_bytes}")
        try:
            data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise ImageDecodeError(item, f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise ImageDecodeError(item, f"file grew above the limit of {max_bytes} bytes while being read")
    return data


def is_url(path: object) -> bool:
    """True for ``scheme://...`` strings (fsspec URLs such as s3://, gs://, http://, file://)."""
    return isinstance(path, str) and "://" in path


def read_url(
    url: str,
    *,
    item_id: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> LoadedImage:
    """Read an image where it is (any fsspec URL) and decode it like a local file.

    Cluster workers read images straight from object stores this way; fsspec and the protocol's
    own package (s3fs, gcsfs, ...) must be installed where the image is read.
    """
    item = item_id if item_id is not None else url
    try:
        import fsspec
    except ImportError:
        raise ImageDecodeError(
            item, "reading URLs needs fsspec: pip install fsspec (or install hashbench with its [cluster] extra)"
        ) from None
    try:
        with fsspec.open(url, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except (OSError, ValueError, ImportError) as exc:
        raise ImageDecodeError(item, f"cannot read {url}: {_describe(exc)}") from None
    if len(data) > max_bytes:
        raise ImageDecodeError(item, f"file is larger than the limit of {max_bytes} bytes")
    return LoadedImage(decode_bytes(data, item_id=item, max_pixels=max_pixels), data)


def decode_bytes(
    data: bytes,
    *,
    item_id: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    formats: Sequence[str] = RASTER_FORMATS,
) -> RGBArray:
    """Decode an encoded image to (H, W, 3) RGB uint8, applying the rules in the module docstring.

    ``formats`` are the Pillow formats tried (the allow-list); any other is refused by name.
    """
    if not data:
        raise ImageDecodeError(item_id, "empty file (0 bytes)")
    allowed = allowed_formats(formats)
    with warnings.catch_warnings():
        # Pillow warns about large images (the explicit pixel limit below decides instead) and
        # about damaged metadata it recovers from; neither should flood a run's output.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.simplefilter("ignore", UserWarning)
        if Image.MAX_IMAGE_PIXELS is not None and max_pixels > 2 * Image.MAX_IMAGE_PIXELS:
            # Pillow's own guard would refuse what the caller explicitly allows; widen it (only
            # ever upwards) and keep the caller's limit, checked below, as the one that decides.
            Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            # the base type: EXIF orientation may replace it
            im: Image.Image = Image.open(io.BytesIO(data), formats=allowed)
        except UnidentifiedImageError:
            raise ImageDecodeError(item_id, _unidentified_reason(data, allowed)) from None
        except Image.DecompressionBombError as exc:
            raise ImageDecodeError(
                item_id, f"refused: more pixels than the limit (possible decompression bomb): {exc}"
            ) from None
        except Exception as exc:  # corrupt headers raise assorted errors inside Pillow plugins
            raise ImageDecodeError(item_id, f"unreadable image header: {_describe(exc)}") from None
        with im:
            w, h = im.size
            if w <= 0 or h <= 0:
                raise ImageDecodeError(item_id, f"image has no pixels ({w}x{h})")
            if w * h > max_pixels:
                raise ImageDecodeError(
                    item_id,
                    f"{w}x{h} = {w * h} pixels is above the limit of {max_pixels} "
                    "(possible decompression bomb; raise max_pixels to accept it)",
                )
            _check_memory(item_id, im)
            try:
                im.seek(0)
                im.load()
            except Image.DecompressionBombError as exc:
                raise ImageDecodeError(item_id, f"refused as a decompression bomb: {exc}") from None
            except MemoryError:
                raise ImageDecodeError(item_id, _OUT_OF_MEMORY.format(w=w, h=h)) from None
            except Exception as exc:
                raise ImageDecodeError(item_id, f"corrupt or truncated image data: {_describe(exc)}") from None
            try:
                im = _apply_orientation(im)
                return to_rgb(im)
            except ImageDecodeError:
                raise
            except MemoryError:
                raise ImageDecodeError(item_id, _OUT_OF_MEMORY.format(w=w, h=h)) from None
            except Exception as exc:
                raise ImageDecodeError(item_id, f"cannot convert {im.mode} image to RGB: {_describe(exc)}") from None


def allowed_formats(formats: Sequence[str] = RASTER_FORMATS) -> list[str]:
    """The formats of ``formats`` this Pillow can open, minus those that run programs (EPS, PDF)."""
    Image.init()
    return [f.upper() for f in formats if f.upper() in Image.OPEN and f.upper() not in _NEVER]


def _unidentified_reason(data: bytes, allowed: Sequence[str]) -> str:
    """Why no allowed decoder took ``data``: the format it is in, when Pillow knows it, else unknown.

    Only the plugins' ``accept`` functions run here: they look at the first bytes and decode nothing.
    """
    prefix = data[:16]
    if prefix.startswith((b"%!PS", b"\xc5\xd0\xd3\xc6")):
        found: str | None = "EPS"
    elif prefix.startswith(b"%PDF"):
        found = "PDF"
    else:
        found = next((name for name, (_, accept) in Image.OPEN.items() if accept and _accepts(accept, prefix)), None)
    if found is None or found in allowed:
        return "not an image Pillow can identify"
    why = " (it would run Ghostscript)" if found in _NEVER else ""
    return f"{found} file refused{why}: only {', '.join(allowed)} images are decoded"


def _accepts(accept: Callable[[bytes], object], prefix: bytes) -> bool:
    try:
        return bool(accept(prefix))
    except Exception:
        return False


def decode_memory(mode: str, width: int, height: int) -> int:
    """Bytes needed to decode a ``mode`` image of ``width`` x ``height`` to RGB and hash it.

    Pillow keeps 1, 2 (16-bit) or 4 bytes per pixel for the stored mode and 4 for RGB; the
    array is 3 more; transparency is composited through two RGBA images (8 more).
    """
    stored = 1 if mode in ("1", "L", "P") else 2 if mode.startswith("I;16") else 4
    alpha = 8 if mode in ("RGBA", "LA", "PA", "RGBa", "La", "P") else 0
    return width * height * (stored + 4 + 3 + alpha + HASH_BYTES_PER_PIXEL)


def available_memory() -> int | None:
    """Bytes this process may still allocate: MemAvailable, capped by the cgroup's limit (Linux)."""
    found: list[int] = []
    try:
        with open("/proc/meminfo") as fh:
            found += [int(line.split()[1]) * 1024 for line in fh if line.startswith("MemAvailable:")]
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit != "max":
            found.append(int(limit) - int(used))
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def memory_budget(workers: int) -> int | None:
    """Each of ``workers`` processes' share of the available memory (``HASHBENCH_WORKER_MEMORY`` wins)."""
    if os.environ.get(MEMORY_ENV):
        return int(float(os.environ[MEMORY_ENV]))
    avail = available_memory()
    return None if avail is None else max(1, avail // max(1, workers))


def set_memory_budget(nbytes: int | None) -> None:
    """Set this process's decode budget (None: no limit), lowered to what RLIMIT_AS still allows.

    Hashing workers call it at start with their share (:func:`memory_budget`).
    """
    global _memory_budget
    room = _address_space_left()
    _memory_budget = nbytes if room is None else room if nbytes is None else min(nbytes, room)


def _address_space_left() -> int | None:
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/status") as fh:
            vm = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
        return max(0, soft - vm)
    except (ImportError, OSError, ValueError, StopIteration):
        return None


def _check_memory(item_id: str | None, im: Image.Image) -> None:
    """Refuse, from the header alone, an image this process has no memory to decode and hash."""
    if _memory_budget is None:
        return
    need = decode_memory(im.mode, *im.size)
    if need > _memory_budget:
        mib = 1 << 20
        raise ImageDecodeError(
            item_id,
            f"{im.size[0]}x{im.size[1]} {im.mode} image needs about {need // mib:,} MiB to decode and hash, "
            f"above this worker's memory budget of {_memory_budget // mib:,} MiB "
            f"(available memory / workers; use fewer --workers or set {MEMORY_ENV})",
        )


def _apply_orientation(im: Image.Image) -> Image.Image:
    """Rotate/flip by the EXIF orientation tag; an invalid tag leaves the image as stored."""
    try:
        orientation = im.getexif().get(0x0112)
    except Exception:
        return im
    if orientation not in (2, 3, 4, 5, 6, 7, 8):
        return im
    return ImageOps.exif_transpose(im)


def _int_gray(im: Image.Image) -> npt.NDArray[np.uint8]:
    """An integer gray image scaled to 8 bits by the bit depth its file declares.

    Pillow loads 16-bit data and true 32-bit data alike into mode "I" (int32). A file that says
    it holds 32 bits per sample (a TIFF's BitsPerSample) keeps its top 8 bits, after shifting a
    signed range to start at 0, so a 32-bit image is scaled, not clipped to white (issue 16,
    item 16). Anything else is 16-bit data in a wider container: values above 65535 clip.
    """
    arr = np.asarray(im)
    tags = getattr(im, "tag_v2", None) or {}
    if im.mode == "I" and _first(tags.get(258)) == 32:
        if _first(tags.get(339)) == 2:  # SampleFormat: two's-complement signed
            return ((arr.astype(np.int64) + 2**31) >> 24).astype(np.uint8)
        return (arr.astype(np.int32).view(np.uint32) >> 24).astype(np.uint8)
    if im.mode == "I":
        arr = np.clip(arr, 0, 65535)
    return (arr.astype(np.uint32) >> 8).astype(np.uint8)


def _first(value: object) -> object:
    """The first value of a TIFF tag, which Pillow gives as a tuple or a bare value."""
    return value[0] if isinstance(value, tuple) and value else value


def to_rgb(im: Image.Image) -> RGBArray:
    """Convert a loaded Pillow image of any mode to a C-contiguous (H, W, 3) uint8 RGB array."""
    mode = im.mode
    if mode == "RGB" and "transparency" not in im.info:
        return _as_rgb_array(im)
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        gray = _int_gray(im)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    if mode == "F":
        gray = np.clip(np.nan_to_num(np.asarray(im, dtype=np.float32)), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode in ("P", "L", "RGB") and "transparency" in im.info)
    if has_alpha:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return _as_rgb_array(Image.alpha_composite(white, rgba).convert("RGB"))
    return _as_rgb_array(im.convert("RGB"))


def _as_rgb_array(im: Image.Image) -> RGBArray:
    arr = np.asarray(im, dtype=np.uint8)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ImageDecodeError(None, f"unexpected decoded shape {arr.shape}")
    return np.ascontiguousarray(arr)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
