"""Packed bit codes: the one representation of a hash inside hashbench.

A hash of ``nbits`` bits is stored as ``ceil(nbits / 8)`` bytes, most significant bit first, as
the big-endian integer whose binary digits are the hash bits. For ``nbits`` a multiple of 8 this
is exactly ``np.packbits(bits)``; for other lengths (imagehash's ``colorhash`` has 42 bits) the
unused high bits of the first byte are zero. This convention makes the hex form identical to the
one users already have: ``str(imagehash.phash(img))`` and python-threatexchange's 64-character
PDQ hex both read as this integer in lowercase hex, zero-padded to ``ceil(nbits / 4)`` digits.

Arrays of codes are ``uint8`` arrays of shape ``(n, nbytes)``. Hot loops (the index, the
impostor histogram) view them as ``uint64`` words through :func:`to_words`; Python objects never
enter a hot loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

__all__ = [
    "nbytes_for",
    "nwords_for",
    "pack_bits",
    "unpack_bits",
    "code_to_hex",
    "code_from_hex",
    "codes_to_hex",
    "codes_from_hex",
    "to_words",
    "popcount",
    "hamming",
    "hamming_matrix",
]

Codes = npt.NDArray[np.uint8]


def nbytes_for(nbits: int) -> int:
    """Bytes needed to hold ``nbits`` bits."""
    if nbits <= 0:
        raise ValueError(f"nbits must be positive, got {nbits}")
    return (nbits + 7) // 8


def nwords_for(nbits: int) -> int:
    """64-bit words needed to hold ``nbits`` bits."""
    return (nbytes_for(nbits) + 7) // 8


def pack_bits(bits: npt.ArrayLike, nbits: int | None = None) -> Codes:
    """Pack a ``(n, nbits)`` (or ``(nbits,)``) array of 0/1 values into codes.

    The first bit is the most significant. When ``nbits`` is not a multiple of 8 the code is
    left-padded with zero bits so that the bytes read as the big-endian integer of the bits.
    """
    arr = np.asarray(bits)
    single = arr.ndim == 1
    arr2 = np.atleast_2d(arr)
    if arr2.ndim != 2:
        raise ValueError(f"bits must be 1-D or 2-D, got shape {arr.shape}")
    n_in = arr2.shape[1]
    if nbits is None:
        nbits = n_in
    if n_in != nbits:
        raise ValueError(f"expected {nbits} bits per code, got {n_in}")
    pad = 8 * nbytes_for(nbits) - nbits
    b = (arr2 != 0).astype(np.uint8)
    if pad:
        b = np.concatenate([np.zeros((b.shape[0], pad), dtype=np.uint8), b], axis=1)
    packed = np.packbits(b, axis=1)
    return packed[0] if single else packed


def unpack_bits(codes: npt.ArrayLike, nbits: int) -> npt.NDArray[np.uint8]:
    """Inverse of :func:`pack_bits`: ``(n, nbytes)`` codes to ``(n, nbits)`` 0/1 values."""
    arr = np.asarray(codes, dtype=np.uint8)
    single = arr.ndim == 1
    arr2 = np.atleast_2d(arr)
    nb = nbytes_for(nbits)
    if arr2.shape[1] != nb:
        raise ValueError(f"expected {nb} bytes per {nbits}-bit code, got {arr2.shape[1]}")
    bits = np.unpackbits(arr2, axis=1)[:, 8 * nb - nbits :]
    return bits[0] if single else bits


def code_to_hex(code: npt.ArrayLike, nbits: int) -> str:
    """One code as lowercase hex, ``ceil(nbits / 4)`` digits (imagehash / ThreatExchange form)."""
    raw = np.asarray(code, dtype=np.uint8).tobytes().hex()
    return raw[len(raw) - (nbits + 3) // 4 :]


def code_from_hex(text: str, nbits: int) -> Codes:
    """Parse a hex string (any case, optional ``0x``) into one code of ``nbits`` bits.

    Raises ``ValueError`` naming the problem when the string is not hex or holds more bits.
    """
    s = text.strip().lower()
    if s.startswith("0x"):
        s = s[2:]
    if not s:
        raise ValueError("empty hash string")
    try:
        value = int(s, 16)
    except ValueError:
        raise ValueError(f"not a hex string: {text!r}") from None
    if value.bit_length() > nbits:
        raise ValueError(f"hash {text!r} has more than {nbits} bits")
    return np.frombuffer(value.to_bytes(nbytes_for(nbits), "big"), dtype=np.uint8).copy()


def codes_to_hex(codes: npt.ArrayLike, nbits: int) -> list[str]:
    """Hex strings of every row of a ``(n, nbytes)`` code array."""
    arr = np.atleast_2d(np.asarray(codes, dtype=np.uint8))
    return [code_to_hex(row, nbits) for row in arr]


def codes_from_hex(texts: Iterable[str], nbits: int) -> Codes:
    """Parse hex strings into a ``(n, nbytes)`` code array."""
    rows = [code_from_hex(t, nbits) for t in texts]
    if not rows:
        return np.zeros((0, nbytes_for(nbits)), dtype=np.uint8)
    return np.stack(rows)


def to_words(codes: npt.ArrayLike) -> npt.NDArray[np.uint64]:
    """View ``(n, nbytes)`` codes as C-contiguous ``(n, nwords)`` uint64, zero-padded.

    The byte order inside a word does not matter for Hamming distances, so the native order
    is used; padding bytes are zero in every code and add nothing to a distance.
    """
    arr = np.ascontiguousarray(np.atleast_2d(np.asarray(codes, dtype=np.uint8)))
    n, nb = arr.shape
    nw = (nb + 7) // 8
    if nb != 8 * nw:
        padded = np.zeros((n, 8 * nw), dtype=np.uint8)
        padded[:, :nb] = arr
        arr = padded
    return arr.view(np.uint64).reshape(n, nw)


def popcount(values: npt.ArrayLike) -> npt.NDArray[np.integer]:
    """Number of set bits per element (numpy's hardware popcount)."""
    return np.bitwise_count(np.asarray(values))


def hamming(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.int64] | int:
    """Hamming distance between codes ``a`` and ``b`` (broadcast over leading axes).

    A numpy reference for small inputs and tests; large searches belong to ``hashbench.index``.
    """
    x = np.bitwise_xor(np.asarray(a, dtype=np.uint8), np.asarray(b, dtype=np.uint8))
    d = np.bitwise_count(x).sum(axis=-1, dtype=np.int64)
    return int(d) if np.ndim(d) == 0 else d


def hamming_matrix(xq: Sequence | npt.ArrayLike, xb: Sequence | npt.ArrayLike) -> npt.NDArray[np.int64]:
    """All ``(len(xq), len(xb))`` distances by brute force (numpy reference; small inputs only)."""
    q = np.atleast_2d(np.asarray(xq, dtype=np.uint8))
    b = np.atleast_2d(np.asarray(xb, dtype=np.uint8))
    if q.shape[1] != b.shape[1]:
        raise ValueError(f"code widths differ: {q.shape[1]} vs {b.shape[1]} bytes")
    return np.bitwise_count(q[:, None, :] ^ b[None, :, :]).sum(axis=-1, dtype=np.int64)
