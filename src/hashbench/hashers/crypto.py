"""MD5 and SHA-256: the exact-match baseline that perceptual hashes are compared with.

They hash the file's bytes, so only an identical file matches (``exact = True``): a re-encode, a
resize or a one-pixel edit is a miss. Items that exist only as pixels (synthetic images, edits
that were not encoded) are hashed over a canonical byte form of the pixels: the shape as text
followed by the raw RGB bytes, so identical pixels still match and any change does not.
"""

from __future__ import annotations

import hashlib
from typing import ClassVar

import numpy as np

from ..errors import HasherError
from .base import Hasher, HashOutput, ImageItem, register

__all__ = ["CryptoHasher", "MD5Hasher", "SHA256Hasher", "canonical_bytes"]


def canonical_bytes(item: ImageItem) -> bytes:
    """The bytes an exact hash is taken over: the file's bytes, else the pixels' canonical form."""
    if item.data is not None:
        return item.data
    if item.pixels is None:
        raise HasherError("nothing to hash: neither file bytes nor pixels")
    px = np.ascontiguousarray(item.pixels, dtype=np.uint8)
    return f"{px.shape}".encode() + px.tobytes()


class CryptoHasher(Hasher):
    kind = "cryptographic"
    exact = True
    default_threshold = 0  # only identical bytes match
    needs = "bytes"
    library = "hashlib"
    #: A decoded file's bytes are already counted by the decoder; pixel-only items are not decoded.
    bytes_per_pixel = 0.0
    algorithm: ClassVar[str]

    def library_version(self) -> str:
        import ssl

        return " ".join(ssl.OPENSSL_VERSION.split()[:2])

    def hash_one(self, item: ImageItem) -> HashOutput:
        digest = hashlib.new(self.algorithm, canonical_bytes(item)).digest()
        return HashOutput(code=np.frombuffer(digest, dtype=np.uint8).copy())


@register("md5")
class MD5Hasher(CryptoHasher):
    name = "md5"
    nbits = 128
    algorithm = "md5"
    description = "MD5 of the file bytes: exact matches only"


@register("sha256")
class SHA256Hasher(CryptoHasher):
    name = "sha256"
    nbits = 256
    algorithm = "sha256"
    description = "SHA-256 of the file bytes: exact matches only"
