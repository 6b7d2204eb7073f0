import imagehash
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from hashbench import bits


@given(st.integers(1, 300), st.integers(0, 5), st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None)
def test_pack_unpack_hex_round_trip(nbits, n, seed):
    rng = np.random.default_rng(seed)
    b = rng.integers(0, 2, (n, nbits), dtype=np.uint8)
    codes = bits.pack_bits(b, nbits)
    assert codes.shape == (n, bits.nbytes_for(nbits)) and codes.dtype == np.uint8
    assert np.array_equal(bits.unpack_bits(codes, nbits), b)
    hexes = bits.codes_to_hex(codes, nbits)
    assert all(len(h) == (nbits + 3) // 4 for h in hexes)
    back = bits.codes_from_hex(hexes, nbits)
    assert np.array_equal(back.reshape(codes.shape), codes)
    # The hex is the big-endian integer of the bit string, as imagehash and ThreatExchange write it.
    for row, h in zip(b, hexes):
        assert int(h, 16) == int("".join(map(str, row)) or "0", 2)


def test_multiple_of_eight_is_numpy_packbits():
    b = np.random.default_rng(1).integers(0, 2, (4, 256), dtype=np.uint8)
    assert np.array_equal(bits.pack_bits(b), np.packbits(b, axis=1))


@pytest.mark.parametrize(
    "fn,kw", [(imagehash.phash, {}), (imagehash.colorhash, {}), (imagehash.phash, {"hash_size": 16})]
)
def test_hex_matches_imagehash_str(fn, kw, photo):
    h = fn(Image.fromarray(photo), **kw)
    nbits = h.hash.size
    code = bits.pack_bits(h.hash.reshape(-1), nbits)
    assert bits.code_to_hex(code, nbits) == str(h)
    assert np.array_equal(bits.code_from_hex(str(h), nbits), code)


def test_hex_errors_are_clear():
    with pytest.raises(ValueError, match="not a hex"):
        bits.code_from_hex("xyz", 64)
    with pytest.raises(ValueError, match="more than 8 bits"):
        bits.code_from_hex("1ff", 8)
    with pytest.raises(ValueError, match="empty"):
        bits.code_from_hex("  ", 8)
    assert np.array_equal(bits.code_from_hex("0xFF", 8), [255])


@given(st.integers(1, 130), st.integers(1, 6), st.integers(0, 2**32 - 1))
@settings(max_examples=40, deadline=None)
def test_words_and_hamming_agree_with_bit_count(nbits, n, seed):
    rng = np.random.default_rng(seed)
    a = bits.pack_bits(rng.integers(0, 2, (n, nbits)), nbits)
    b = bits.pack_bits(rng.integers(0, 2, (n, nbits)), nbits)
    expected = (bits.unpack_bits(a, nbits) != bits.unpack_bits(b, nbits)).sum(axis=1)
    assert np.array_equal(bits.hamming(a, b), expected)
    wa, wb = bits.to_words(a), bits.to_words(b)
    assert wa.dtype == np.uint64 and wa.shape == (n, bits.nwords_for(nbits)) and wa.flags.c_contiguous
    assert np.array_equal(np.bitwise_count(wa ^ wb).sum(axis=1), expected)
    m = bits.hamming_matrix(a, b)
    assert m.shape == (n, n) and np.array_equal(np.diag(m), expected)
