"""The hasher interface, its batch result, and the registry of hashers by name.

A hasher turns one image into a fixed-length bit string. Class-level metadata says what it is
(``name``, ``nbits``, ``kind``, ``exact``, ``needs``, ``variants``), so callers never sniff
capabilities with ``hasattr``. A subclass implements one hook, :meth:`Hasher.hash_one`; the batch
method :meth:`Hasher.hash_many` packs results into arrays and records per-item failures, so a bad
item never aborts a run.

A hasher registers itself with ``@register("name")`` (:mod:`hashbench.registry`). Third-party
packages add hashers through the entry-point group ``hashbench.hashers`` (``name =
"package.module:HasherClass"``, or a module that uses the decorator); :func:`check_conformance`
is the public check every plugin should pass in its own tests.
"""

from __future__ import annotations

import importlib.metadata
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt

from ..bits import nbytes_for
from ..errors import UsageError
from ..registry import Registry

__all__ = [
    "ImageItem",
    "HashOutput",
    "HashBatch",
    "Hasher",
    "HASHERS",
    "register",
    "get",
    "available",
    "check_conformance",
    "ENTRY_POINT_GROUP",
]

ENTRY_POINT_GROUP = "hashbench.hashers"

Kind = Literal["perceptual", "cryptographic", "external"]
Needs = Literal["pixels", "bytes", "path"]


@dataclass(frozen=True, slots=True)
class ImageItem:
    """What a hasher may look at for one image.

    ``pixels`` is the decoded (H, W, 3) RGB uint8 array (the same array for every hasher);
    ``data`` the encoded file bytes when the image came from a file or an encoder; ``path``
    the file it came from, for external programs that read files themselves.
    """

    id: str
    pixels: npt.NDArray[np.uint8] | None
    data: bytes | None = None
    path: str | None = None


@dataclass(frozen=True, slots=True)
class HashOutput:
    """One image's hash: packed ``code`` (nbytes,), optional ``quality`` and dihedral ``variants``."""

    code: npt.NDArray[np.uint8]
    quality: int | None = None
    variants: npt.NDArray[np.uint8] | None = None  # (n_variants, nbytes), variant 0 = identity


@dataclass(slots=True)
class HashBatch:
    """Hashes of a batch of items, aligned with the input order.

    Rows whose ``errors[i]`` is not None failed; their code is all zeros and must not be used
    (``ok`` is the mask of rows that may). ``quality`` is -1 where a hasher gives no quality.
    """

    codes: npt.NDArray[np.uint8]
    errors: list[str | None]
    quality: npt.NDArray[np.int16] | None = None
    variant_codes: npt.NDArray[np.uint8] | None = None

    @property
    def ok(self) -> npt.NDArray[np.bool_]:
        return np.array([e is None for e in self.errors], dtype=bool)

    def __len__(self) -> int:
        return len(self.errors)


class Hasher(ABC):
    """Base class of every hasher. Subclasses set the class attributes and ``hash_one``.

    Attributes:
        name: registry name, as typed on the command line.
        nbits: bits per hash.
        kind: "perceptual", "cryptographic" or "external".
        exact: True when only identical hashes are a meaningful match (MD5, SHA-256, any
            cryptographic digest): a digest's bits carry no notion of "close", so an exact hasher
            is evaluated at distance 0 only (one operating point: no EER, AP, curves or
            calibrated thresholds) and its named threshold must be 0.
        needs: what ``hash_one`` reads from an :class:`ImageItem`: "pixels", "bytes" or "path".
        variants: hashes per image (8 for PDQ's dihedral set), variant 0 being the plain hash.
        has_quality: whether ``HashOutput.quality`` is filled (PDQ's 0-100 quality).
        library: the backing distribution's name, for reports.
        same_as_variant0_of: a hasher whose variant 0 equals this one's hash (see below).
        default_threshold: the named operating point (see the property).
        bytes_per_pixel: memory ``hash_one`` needs per image pixel on top of the shared decoded
            array (measured for the built-ins, benchmarks/peak_rss.py); None: not declared, a
            conservative figure is assumed (:data:`hashbench.imageio.HASH_BYTES_PER_PIXEL`).
        decode_size: the side this hasher reduces every image to before hashing it (pHash 32,
            PDQ 64), so ``decode = "draft"`` may hand it any image whose shorter side is twice
            that; None: it reads every pixel (a draft decode then keeps the full size).
    """

    # Not ClassVar: the command hasher sets these per instance (its name, width and exactness
    # come from its spec).
    name: str
    nbits: int
    exact: bool = False
    kind: ClassVar[Kind] = "perceptual"
    needs: ClassVar[Needs] = "pixels"
    variants: ClassVar[int] = 1
    has_quality: ClassVar[bool] = False
    library: ClassVar[str] = "hashbench"
    description: ClassVar[str] = ""
    #: Name of a hasher whose variant 0 and quality are exactly this hasher's output. When both
    #: run on the same images, the pipeline computes only that one (pdq from pdq8 halves PDQ cost).
    same_as_variant0_of: ClassVar[str | None] = None
    bytes_per_pixel: float | None = None  # not ClassVar: PDQ sets it per backend
    decode_size: ClassVar[int | None] = None

    @property
    def nbytes(self) -> int:
        return nbytes_for(self.nbits)

    @property
    def default_threshold(self) -> int:
        """The named operating point: a match is distance <= this when a run names no threshold.

        Hashers with a conventional cut-off declare it as a class attribute (``default_threshold =
        31`` for PDQ, ThreatExchange's advice), which replaces this property. Every other hasher,
        including command and plugin hashers whose ``nbits`` is only known per instance, gets
        ``nbits // 8`` (at least 1), or 0 when only identical hashes can match (``exact``).
        """
        return Hasher.threshold_rule(self.nbits, self.exact)

    @staticmethod
    def threshold_rule(nbits: int, exact: bool) -> int:
        """The base rule of :attr:`default_threshold`, for hashes whose hasher is not installed here
        (``hashbench impostors`` on a table written elsewhere knows only their nbits)."""
        return 0 if exact else max(1, nbits // 8)

    def library_version(self) -> str:
        """Version of the backing library; recorded with every result for reproducibility."""
        try:
            return importlib.metadata.version(self.library)
        except importlib.metadata.PackageNotFoundError:
            return "unknown"

    @abstractmethod
    def hash_one(self, item: ImageItem) -> HashOutput:
        """Hash one image. Raise any exception to mark this item as failed with its message."""

    def hash_many(self, items: Sequence[ImageItem]) -> HashBatch:
        """Hash a batch; failures are recorded per item and never abort the batch."""
        n = len(items)
        codes = np.zeros((n, self.nbytes), dtype=np.uint8)
        quality = np.full(n, -1, dtype=np.int16) if self.has_quality else None
        variant_codes = np.zeros((n, self.variants, self.nbytes), dtype=np.uint8) if self.variants > 1 else None
        errors: list[str | None] = [None] * n
        for i, item in enumerate(items):
            try:
                out = self.hash_one(item)
            except Exception as exc:  # one bad item must not stop the others
                errors[i] = _describe(exc)
                continue
            codes[i] = out.code
            if quality is not None and out.quality is not None:
                quality[i] = out.quality
            if variant_codes is not None and out.variants is not None:
                variant_codes[i] = out.variants
        return HashBatch(codes=codes, errors=errors, quality=quality, variant_codes=variant_codes)

    def describe(self) -> dict[str, object]:
        """Metadata for listings and reports."""
        return {
            "name": self.name,
            "nbits": self.nbits,
            "kind": self.kind,
            "exact": self.exact,
            "variants": self.variants,
            "library": self.library,
            "version": self.library_version(),
            "description": self.description,
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.nbits} bits>"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ---------------------------------------------------------------------------------------------
# Registry (the one idiom of :mod:`hashbench.registry`)

#: Every hasher by name. ``argument=`` metadata (e.g. ``"PROGRAM ARGS"``) declares that the hasher
#: takes one argument after a colon (``command:/path/to/program --flag``).
HASHERS: Registry[Hasher] = Registry("hasher", ENTRY_POINT_GROUP, name_attr="name")

#: ``@register("name", **metadata)`` on a Hasher subclass (or ``register(name, factory)``).
register = HASHERS.register


def available() -> list[str]:
    """Names of every registered hasher, built-in and plugin, sorted."""
    return sorted(HASHERS.names())


def get(spec: str, **params: object) -> Hasher:
    """Return the hasher named by ``spec``.

    ``spec`` is a registered name, or ``NAME:ARGUMENT`` for a hasher that declares an
    ``argument`` (``command:/path/to/program --flag``). Unknown names raise :class:`UsageError`
    with the closest known names.
    """
    name, sep, argument = spec.partition(":")
    entry = HASHERS.entry(name.strip())
    if not sep:
        return entry.factory(**params)
    if not entry.metadata.get("argument"):
        raise UsageError(f"hasher {entry.name!r} takes no argument after ':' (got {spec!r})")
    return entry.factory(argument, **params)


# ---------------------------------------------------------------------------------------------
# Conformance


@dataclass
class ConformanceReport:
    hasher: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_conformance(hasher: Hasher, images: Sequence[npt.NDArray[np.uint8]] | None = None) -> ConformanceReport:
    """Check that a hasher honours the interface: shapes, dtypes, determinism, hex round-trip.

    Plugin authors call this in their tests; hashbench runs it on every built-in hasher.
    """
    import io

    from PIL import Image

    from ..bits import code_from_hex, code_to_hex

    report = ConformanceReport(hasher.name)
    if images is None:
        rng = np.random.default_rng(1234)
        images = [
            rng.integers(0, 256, (64, 80, 3), dtype=np.uint8),
            np.repeat(np.linspace(0, 255, 96, dtype=np.uint8)[None, :, None], 3, axis=2).repeat(48, axis=0),
            rng.integers(0, 256, (33, 17, 3), dtype=np.uint8),
        ]
    items = []
    for i, px in enumerate(images):
        buf = io.BytesIO()
        Image.fromarray(px).save(buf, format="PNG")
        items.append(ImageItem(id=f"conformance/{i}", pixels=px, data=buf.getvalue()))
    for attr in ("name", "nbits"):
        if not hasattr(type(hasher), attr):
            report.problems.append(f"class attribute {attr!r} missing")
    if report.problems:
        return report
    if not isinstance(hasher.nbits, int) or hasher.nbits <= 0:
        report.problems.append(f"nbits must be a positive int, got {hasher.nbits!r}")
        return report
    first = hasher.hash_many(items)
    second = hasher.hash_many(items)
    if first.codes.shape != (len(items), hasher.nbytes) or first.codes.dtype != np.uint8:
        report.problems.append(
            f"codes have shape {first.codes.shape} {first.codes.dtype}, expected ({len(items)}, {hasher.nbytes}) uint8"
        )
    if any(e is not None for e in first.errors):
        report.problems.append(f"failed on plain test images: {first.errors}")
    if not np.array_equal(first.codes, second.codes):
        report.problems.append("not deterministic: two runs gave different codes")
    pad = 8 * hasher.nbytes - hasher.nbits
    if pad and np.any(first.codes[:, 0] >> (8 - pad)):
        report.problems.append("padding bits of the first byte are not zero")
    for code in first.codes:
        if not np.array_equal(code_from_hex(code_to_hex(code, hasher.nbits), hasher.nbits), code):
            report.problems.append("hex round-trip changed a code")
            break
    if hasher.exact and hasher.default_threshold != 0:
        report.problems.append(
            f"exact hashers match at distance 0 only, but default_threshold is {hasher.default_threshold}"
        )
    if hasher.has_quality and (first.quality is None or first.quality.shape != (len(items),)):
        report.problems.append("has_quality is set but no quality array was returned")
    if hasher.variants > 1:
        vc = first.variant_codes
        if vc is None or vc.shape != (len(items), hasher.variants, hasher.nbytes):
            report.problems.append("variants > 1 but variant_codes has the wrong shape")
        elif not np.array_equal(vc[:, 0], first.codes):
            report.problems.append("variant 0 must equal the plain code")
    return report
