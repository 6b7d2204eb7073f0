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

These are hashbench's own rules (the ``hashbench`` decoder profile). To measure what a deployed
tool computes, a :mod:`hashbench.decoders` profile (``threatexchange-cpp``,
``python-threatexchange``) replaces them after the checks below (:func:`set_decode_profile`).

Hostile input is refused with :class:`~hashbench.errors.ImageDecodeError` (item id + reason)
instead of exhausting memory: files larger than ``max_bytes`` and images whose header declares more
than ``max_pixels`` pixels are refused before any pixel is decoded.

Memory is bounded per pixel (issue 18). Decoding keeps two full-size copies alive at most,
Pillow's image (1 to 4 bytes a pixel, :func:`stored_bytes_per_pixel`) and the RGB array (3):
conversion to RGB (transparency composited on white, palettes, 16-bit) goes band by band of rows
into the array, and EXIF orientation is applied to the array once Pillow's image is freed. Hashers
then add their declared ``bytes_per_pixel`` on top of the array. :func:`decode_memory` states the
whole need from the header alone, and an image whose need exceeds this worker's budget
(:func:`set_memory_budget`: the memory available divided by the workers) is refused before any
pixel is decoded, so a small file that inflates to gigabytes is reported, not fatal to the worker.
:func:`pixel_limit` turns the same budget into the default pixel limit.

``draft`` decoding (``decode = "draft"``) asks libjpeg for a DCT-domain reduced image (1/2, 1/4 or
1/8 of each side) no smaller than a given side: faster and smaller, but not the same pixels, so
hashbench measures what it does to the hashes (:mod:`hashbench.drafts`) and says so in its outputs.

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
from typing import Literal

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from .errors import ImageDecodeError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DECODE_MODES",
    "PixelLimit",
    "pixel_limit",
    "stored_bytes_per_pixel",
    "set_draft",
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
    "decode_profile",
    "set_decode_profile",
    "decode_state",
    "restore_decode_state",
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

#: The decoded (H, W, 3) uint8 array every hasher shares.
ARRAY_BYTES_PER_PIXEL = 3
#: What a hasher that declares nothing is assumed to need on top of the array (a Pillow RGB copy
#: and a float32 plane; hashbench's own hashers declare measured figures, see Hasher.bytes_per_pixel).
HASH_BYTES_PER_PIXEL = 8
#: Bytes per pixel libjpeg keeps for a progressive JPEG's coefficients (2 per sample, 3 samples).
PROGRESSIVE_BYTES_PER_PIXEL = 6
#: Bytes outside the image a worker needs: band buffers, libjpeg's and zlib's state.
DECODE_SLACK = 64 << 20
#: Test and tuning override of the per-worker memory budget, in bytes.
MEMORY_ENV = "HASHBENCH_WORKER_MEMORY"
_memory_budget: int | None = None
_hash_bytes_per_pixel: float = HASH_BYTES_PER_PIXEL
#: The decoder profile of this process (:mod:`hashbench.decoders`); workers get their run's at start.
_decode_profile = "hashbench"
_OUT_OF_MEMORY = "out of memory decoding the {w}x{h} image (memory limit of this worker)"
#: The decoding settings: ``full`` (every pixel) or ``draft`` (JPEG DCT-domain reduction).
DECODE_MODES = ("full", "draft")
#: The smallest side a draft decode may give (None: full decoding), set per worker by :func:`set_draft`.
_draft_side: int | None = None
#: Rows of an image converted to RGB at a time: about this many bytes of Pillow's image per band.
_BAND_BYTES = 4 << 20


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
    draft: int | None | Literal["worker"] = "worker",
) -> LoadedImage:
    """Read and decode one file; raise :class:`ImageDecodeError` with ``item_id`` on any failure.

    ``draft``: the smallest side a JPEG may be reduced to in the DCT domain, None for every pixel;
    by default this worker's setting (:func:`set_draft`), so every reader of a run decodes alike.
    """
    item = item_id if item_id is not None else os.fsdecode(path)
    data = read_file(path, item_id=item, max_bytes=max_bytes)
    side = _draft_side if draft == "worker" else draft
    return LoadedImage(decode_bytes(data, item_id=item, max_pixels=max_pixels, draft=side), data)


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
    return LoadedImage(decode_bytes(data, item_id=item, max_pixels=max_pixels, draft=_draft_side), data)


def decode_bytes(
    data: bytes,
    *,
    item_id: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    formats: Sequence[str] = RASTER_FORMATS,
    draft: int | None = None,
    profile: str | None = None,
) -> RGBArray:
    """Decode an encoded image to (H, W, 3) RGB uint8, applying the rules in the module docstring.

    ``formats`` are the Pillow formats tried (the allow-list); any other is refused by name.
    ``draft``: a JPEG is reduced by libjpeg (1/2, 1/4 or 1/8 a side) to no less than this many
    pixels on its shorter side; other formats, and None, decode every pixel.
    ``profile`` (default: this process's, :func:`set_decode_profile`) names a
    :mod:`hashbench.decoders` profile that turns the loaded image into a deployed tool's pixels
    instead; the limits and checks here apply to every profile.
    """
    if not data:
        raise ImageDecodeError(item_id, "empty file (0 bytes)")
    allowed = allowed_formats(formats)
    prof = None
    if (profile or _decode_profile) != "hashbench":
        from .decoders import get_profile

        prof = get_profile(profile or _decode_profile)
        if prof.formats is not None:
            allowed = [f for f in allowed if f in prof.formats]
    with warnings.catch_warnings():
        # Pillow warns about large images (the explicit pixel limit below decides instead) and
        # about damaged metadata it recovers from; neither should flood a run's output.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.simplefilter("ignore", UserWarning)
        # Pillow's own guard (a fixed 179 Mpx) would refuse what the caller allows, or refuse a
        # bomb with a message that names neither its size nor the limit; the caller's limit,
        # checked below against the header's size, decides alone. Only opening reads the header.
        pillow_guard, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            im: Image.Image = Image.open(io.BytesIO(data), formats=allowed)
        except UnidentifiedImageError:
            raise ImageDecodeError(item_id, _unidentified_reason(data, allowed)) from None
        except Image.DecompressionBombError as exc:
            raise ImageDecodeError(
                item_id, f"refused: more pixels than the limit (possible decompression bomb): {exc}"
            ) from None
        except Exception as exc:  # corrupt headers raise assorted errors inside Pillow plugins
            raise ImageDecodeError(item_id, f"unreadable image header: {_describe(exc)}") from None
        finally:
            Image.MAX_IMAGE_PIXELS = pillow_guard
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
            if draft is not None and im.format == "JPEG":
                im.draft(im.mode, (draft, draft))  # same mode: only the scale changes
            _check_memory(item_id, im, len(data), (w, h))
            try:
                im.seek(0)
                im.load()
            except Image.DecompressionBombError as exc:
                raise ImageDecodeError(item_id, f"refused as a decompression bomb: {exc}") from None
            except MemoryError:
                raise ImageDecodeError(item_id, _OUT_OF_MEMORY.format(w=w, h=h)) from None
            except Exception as exc:
                raise ImageDecodeError(item_id, f"corrupt or truncated image data: {_describe(exc)}") from None
            orientation = _orientation(im)
            try:
                if prof is not None:
                    rgb = prof.pixels(im, data, item_id)
                    orientation = orientation if prof.exif else 1  # a tool that ignores EXIF
                else:
                    rgb = to_rgb(im)
            except ImageDecodeError:
                raise
            except MemoryError:
                raise ImageDecodeError(item_id, _OUT_OF_MEMORY.format(w=w, h=h)) from None
            except Exception as exc:
                raise ImageDecodeError(item_id, f"cannot convert {im.mode} image to RGB: {_describe(exc)}") from None
        # Pillow's image is closed: only now may the oriented copy of the array be made.
        try:
            return _orient(rgb, orientation)
        except MemoryError:
            raise ImageDecodeError(item_id, _OUT_OF_MEMORY.format(w=w, h=h)) from None


def decode_profile() -> str:
    """The name of the decoder profile :func:`decode_bytes` uses when given none."""
    return _decode_profile


def set_decode_profile(name: str) -> None:
    """Make ``name`` this process's decoder profile (every file decoded here, in every stage).

    One setting per process, like the memory budget, because images are decoded in many places
    (datasets, sources, re-encoding edits) and all must give the pixels of the same tool.
    """
    global _decode_profile
    if name != "hashbench":
        from .decoders import check_profile

        check_profile(name)
    _decode_profile = name


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


def stored_bytes_per_pixel(mode: str) -> int:
    """Bytes a pixel takes in Pillow's memory for an image of ``mode``: 1 for 1-bit, grey and palette
    images, 2 for 16-bit grey, 4 for everything else (RGB is stored as 4 bytes)."""
    return 1 if mode in ("1", "L", "P") else 2 if mode.startswith("I;16") else 4


def decode_memory(
    mode: str,
    width: int,
    height: int,
    *,
    file_bytes: int = 0,
    hash_bytes_per_pixel: float = HASH_BYTES_PER_PIXEL,
    progressive: bool = False,
    stored_size: tuple[int, int] | None = None,
) -> int:
    """Peak bytes to decode a ``mode`` image of ``width`` x ``height`` to RGB and hash it.

    The file's bytes stay in memory throughout (exact hashers read them). Decoding holds Pillow's
    image (:func:`stored_bytes_per_pixel`) and the RGB array (3 bytes) at once; conversion goes
    band by band, so nothing else of full size. Hashing holds the array and what the most
    demanding hasher declares (``hash_bytes_per_pixel``), one hasher at a time. A progressive
    JPEG also keeps its coefficients for every pixel of ``stored_size`` (the size before a draft
    reduction). :data:`DECODE_SLACK` covers band buffers and decoder state.
    """
    pixels = width * height
    decode = pixels * (stored_bytes_per_pixel(mode) + ARRAY_BYTES_PER_PIXEL)
    if progressive:
        sw, sh = stored_size or (width, height)
        decode += sw * sh * PROGRESSIVE_BYTES_PER_PIXEL
    hashing = pixels * (ARRAY_BYTES_PER_PIXEL + hash_bytes_per_pixel)
    return int(file_bytes + max(decode, hashing) + DECODE_SLACK)


def worst_bytes_per_pixel(hash_bytes_per_pixel: float) -> float:
    """Bytes per pixel of :func:`decode_memory` for the most demanding stored mode (4 bytes a pixel)."""
    return max(4 + ARRAY_BYTES_PER_PIXEL, ARRAY_BYTES_PER_PIXEL + hash_bytes_per_pixel)


@dataclass(frozen=True, slots=True)
class PixelLimit:
    """The pixel limit of a run and how it was derived (recorded in every output).

    ``source`` is ``"option"`` (given by the user), ``"memory"`` (``worker_memory /
    bytes_per_pixel``) or ``"cap"`` (:data:`DEFAULT_MAX_PIXELS`, the decompression-bomb cap, was
    lower than what memory allows, or the memory available is unknown).
    """

    max_pixels: int
    source: str
    worker_memory: int | None
    workers: int
    bytes_per_pixel: float
    cap: int

    def describe(self) -> dict[str, object]:
        why = {
            "option": "given by --max-pixels (or the caller)",
            "memory": f"worker memory {self.worker_memory} bytes / {self.bytes_per_pixel:g} bytes per pixel",
            "cap": f"the decompression-bomb cap {self.cap} (memory would allow more, or is unknown)",
        }[self.source]
        return {
            "max_pixels": self.max_pixels,
            "source": self.source,
            "derivation": why,
            "worker_memory_bytes": self.worker_memory,
            "workers": self.workers,
            "bytes_per_pixel": self.bytes_per_pixel,
        }


def pixel_limit(
    worker_memory: int | None,
    workers: int,
    hash_bytes_per_pixel: float,
    *,
    given: int | None = None,
    cap: int = DEFAULT_MAX_PIXELS,
) -> PixelLimit:
    """The pixel limit a worker with ``worker_memory`` bytes can decode and hash, or ``given``.

    Pure: the worker's memory (its share of what is available, :func:`hashbench.cpus.worker_memory`)
    less :data:`DECODE_SLACK`, divided by the bytes per pixel of the most demanding mode
    (:func:`worst_bytes_per_pixel`), and never above ``cap``. Files add their own size at decode
    time (:func:`decode_memory`), which the per-image check counts.
    """
    bpp = worst_bytes_per_pixel(hash_bytes_per_pixel)
    if given is not None:
        return PixelLimit(given, "option", worker_memory, workers, bpp, cap)
    if worker_memory is None:
        return PixelLimit(cap, "cap", None, workers, bpp, cap)
    by_memory = max(1, int(max(0, worker_memory - DECODE_SLACK) // bpp))
    if by_memory >= cap:
        return PixelLimit(cap, "cap", worker_memory, workers, bpp, cap)
    return PixelLimit(by_memory, "memory", worker_memory, workers, bpp, cap)


def memory_budget(workers: int) -> int | None:
    """Each of ``workers`` processes' share of the available memory (``HASHBENCH_WORKER_MEMORY`` wins)."""
    from .cpus import worker_memory

    return worker_memory(workers, env=MEMORY_ENV)


def set_memory_budget(nbytes: int | None, hash_bytes_per_pixel: float = HASH_BYTES_PER_PIXEL) -> None:
    """Set this process's decode budget (None: no limit), lowered to what RLIMIT_AS still allows,
    and what its hashers need per pixel on top of the decoded array.

    Hashing workers call it at start with their share (:func:`memory_budget`).
    """
    global _memory_budget, _hash_bytes_per_pixel
    room = _address_space_left()
    _memory_budget = nbytes if room is None else room if nbytes is None else min(nbytes, room)
    _hash_bytes_per_pixel = hash_bytes_per_pixel


#: This process's decoding, as :func:`decode_state` gives it: memory budget, what the hashers need
#: per pixel, draft side and decoder profile.
DecodeState = tuple[int | None, float, int | None, str]


def decode_state() -> DecodeState:
    """Everything :func:`set_memory_budget`, :func:`set_draft` and :func:`set_decode_profile` set in
    this process, for :func:`restore_decode_state` (a run hashed in-process leaves no trace)."""
    return _memory_budget, _hash_bytes_per_pixel, _draft_side, _decode_profile


def restore_decode_state(state: DecodeState) -> None:
    """Put back what :func:`decode_state` returned, exactly (no budget lowered again)."""
    global _memory_budget, _hash_bytes_per_pixel, _draft_side, _decode_profile
    _memory_budget, _hash_bytes_per_pixel, _draft_side, _decode_profile = state


def set_draft(side: int | None) -> None:
    """Set this process's draft side: JPEGs read by :func:`read_image` are reduced to no less than
    ``side`` pixels on their shorter side (None: every pixel). Hashing workers call it at start."""
    global _draft_side
    _draft_side = side


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


def _check_memory(item_id: str | None, im: Image.Image, file_bytes: int, stored_size: tuple[int, int]) -> None:
    """Refuse, from the header alone, an image this process has no memory to decode and hash."""
    if _memory_budget is None:
        return
    progressive = im.format == "JPEG" and bool(im.info.get("progressive") or im.info.get("progression"))
    need = decode_memory(
        im.mode,
        *im.size,
        file_bytes=file_bytes,
        hash_bytes_per_pixel=_hash_bytes_per_pixel,
        progressive=progressive,
        stored_size=stored_size,
    )
    if need > _memory_budget:
        mib = 1 << 20
        raise ImageDecodeError(
            item_id,
            f"{im.size[0]}x{im.size[1]} {im.mode} image needs about {need // mib:,} MiB to decode and hash, "
            f"above this worker's memory budget of {_memory_budget // mib:,} MiB "
            f"(available memory / workers; use fewer --workers or set {MEMORY_ENV})",
        )


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation tag (1 to 8); an absent or invalid tag counts as 1 (as stored)."""
    try:
        value = im.getexif().get(0x0112)
    except Exception:
        return 1
    return value if value in (2, 3, 4, 5, 6, 7, 8) else 1


def _orient(rgb: RGBArray, orientation: int) -> RGBArray:
    """The array as ``ImageOps.exif_transpose`` would turn the image (tests check every tag).

    Done on the array after Pillow's image is freed, so the turned copy is the only other
    full-size buffer; tags 2 to 8 are Pillow's FLIP_LEFT_RIGHT, ROTATE_180, FLIP_TOP_BOTTOM,
    TRANSPOSE, ROTATE_270, TRANSVERSE and ROTATE_90.
    """
    views = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: a.transpose(1, 0, 2)[:, ::-1],
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
        8: lambda a: a.transpose(1, 0, 2)[::-1],
    }
    turn = views.get(orientation)
    return rgb if turn is None else np.ascontiguousarray(turn(rgb))


def _int_gray(im: Image.Image, tags: dict | None = None) -> npt.NDArray[np.uint8]:
    """An integer gray image scaled to 8 bits by the bit depth its file declares.

    Pillow loads 16-bit data and true 32-bit data alike into mode "I" (int32). A file that says
    it holds 32 bits per sample (a TIFF's BitsPerSample) keeps its top 8 bits, after shifting a
    signed range to start at 0, so a 32-bit image is scaled, not clipped to white (issue 16,
    item 16). Anything else is 16-bit data in a wider container: values above 65535 clip.
    ``tags`` are the file's TIFF tags (a band cut from the image has none of its own).
    """
    arr = np.asarray(im)
    tags = tags if tags is not None else (getattr(im, "tag_v2", None) or {})
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


def _grey3(gray: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    return np.repeat(gray[:, :, None], 3, axis=2)


def _band_converter(im: Image.Image) -> Callable[[Image.Image], npt.NDArray[np.uint8]]:
    """The conversion of one band of rows of ``im`` (same mode) to an (h, W, 3) uint8 array.

    Every conversion here is per pixel (palette lookup, channel mixing, compositing on white,
    bit-depth scaling), so converting band by band gives exactly the pixels of converting the
    whole image, without a second full-size image in memory.
    """
    mode = im.mode
    if mode == "RGB" and "transparency" not in im.info:
        return np.asarray
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        tags = dict(getattr(im, "tag_v2", None) or {})
        return lambda band: _grey3(_int_gray(band, tags))
    if mode == "F":
        return lambda band: _grey3(np.clip(np.nan_to_num(np.asarray(band, dtype=np.float32)), 0, 255).astype(np.uint8))
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode in ("P", "L", "RGB") and "transparency" in im.info)
    if has_alpha:

        def composite(band: Image.Image) -> npt.NDArray[np.uint8]:
            rgba = band.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))

        return composite
    return lambda band: np.asarray(band.convert("RGB"))


def to_rgb(im: Image.Image) -> RGBArray:
    """Convert a loaded Pillow image of any mode to a C-contiguous (H, W, 3) uint8 RGB array.

    Rows go over in bands of about 4 MB into one array allocated up front, so the peak is
    Pillow's image plus the array (a whole-image ``convert("RGB")`` and ``np.asarray`` would add
    Pillow's 4-byte RGB copy and ``tobytes``'s chunks and joined copy: 10 bytes a pixel more).
    An RGB image's pixels are read in place where Pillow exports them
    (:func:`hashbench.decoders_fast.pack_rgb`: the same bytes, a tenth of the time): the whole
    image at once when Pillow stores it in one block, else band by band.
    """
    w, h = im.size
    convert = _band_converter(im)
    out = np.empty((h, w, 3), dtype=np.uint8)
    rgb = convert is np.asarray
    if rgb and _pack_rgb(im, out):
        return out
    rows = max(1, _BAND_BYTES // (4 * max(1, w)))
    for y in range(0, h, rows):
        band = im if rows >= h else im.crop((0, y, w, min(h, y + rows)))
        if rgb and band is not im and _pack_rgb(band, out[y : y + band.height]):
            continue
        arr = convert(band)
        if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
            raise ImageDecodeError(None, f"unexpected decoded shape {arr.shape}")
        out[y : y + arr.shape[0]] = arr
    return out


def _pack_rgb(im: Image.Image, out: RGBArray) -> bool:
    """:func:`hashbench.decoders_fast.pack_rgb`, imported on first use (it compiles a numba kernel)."""
    from .decoders_fast import pack_rgb

    return pack_rgb(im, out)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
