"""Fuzzing the decoder and every hasher with random and mutated image bytes.

`make test` runs a bounded number of examples; `make fuzz` sets HASHBENCH_FUZZ_EXAMPLES higher.
The property: any bytes either decode to an (H, W, 3) uint8 array that every hasher hashes, or
raise ImageDecodeError with a reason. Nothing else may escape, hang or crash the process.
"""

import io
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from hashbench import hashers
from hashbench.errors import ImageDecodeError
from hashbench.hashers import ImageItem
from hashbench.imageio import decode_bytes

EXAMPLES = int(os.environ.get("HASHBENCH_FUZZ_EXAMPLES", "60"))
HASHERS = [hashers.get(n) for n in hashers.BUILTIN if n != "command"]


def _seed_files() -> list[bytes]:
    rng = np.random.default_rng(0)
    px = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    out = []
    for fmt, mode, kw in [
        ("PNG", "RGB", {}),
        ("PNG", "RGBA", {}),
        ("JPEG", "RGB", {"quality": 80}),
        ("GIF", "P", {}),
        ("WEBP", "RGB", {}),
        ("TIFF", "RGB", {}),
        ("BMP", "RGB", {}),
        ("PNG", "I;16", {}),
        ("JPEG", "CMYK", {}),
    ]:
        im = (
            Image.fromarray(px).convert(mode) if mode != "I;16" else Image.fromarray(px[..., 0].astype(np.uint16) * 257)
        )
        buf = io.BytesIO()
        im.save(buf, format=fmt, **kw)
        out.append(buf.getvalue())
    return out


SEEDS = _seed_files()


def check(data: bytes) -> None:
    try:
        px = decode_bytes(data, item_id="fuzz", max_pixels=4_000_000)
    except ImageDecodeError as exc:
        assert exc.item_id == "fuzz" and exc.reason
        return
    assert px.dtype == np.uint8 and px.ndim == 3 and px.shape[2] == 3 and px.flags.c_contiguous
    item = ImageItem("fuzz", px, data)
    for h in HASHERS:
        batch = h.hash_many([item])
        assert batch.errors == [None], (h.name, batch.errors)
        assert batch.codes.shape == (1, h.nbytes)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_random_bytes(data):
    check(data)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8),
    st.one_of(st.none(), st.integers(0, 10**6)),
)
def test_mutated_real_files(seed, flips, cut):
    data = bytearray(seed)
    for pos, value in flips:
        data[pos % len(data)] = value
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    check(bytes(data))


@pytest.mark.parametrize("data", SEEDS)
def test_seed_files_decode(data):
    check(data)
    decode_bytes(data)  # the unmutated seeds are valid images
