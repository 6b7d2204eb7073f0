import io

import numpy as np
import pytest
from PIL import Image

from hashbench.errors import ImageDecodeError
from hashbench.imageio import decode_bytes, read_image, to_rgb


def enc(im: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.fixture
def rgb():
    return np.random.default_rng(3).integers(0, 256, (24, 32, 3), dtype=np.uint8)


def test_rgb_png_is_lossless(rgb):
    out = decode_bytes(enc(Image.fromarray(rgb)))
    assert out.dtype == np.uint8 and out.flags.c_contiguous
    assert np.array_equal(out, rgb)


def test_grey_modes_become_three_equal_channels(rgb):
    g = Image.fromarray(rgb).convert("L")
    out = decode_bytes(enc(g))
    assert out.shape == (24, 32, 3)
    assert np.array_equal(out[..., 0], np.asarray(g)) and np.array_equal(out[..., 0], out[..., 2])
    bilevel = decode_bytes(enc(g.convert("1")))
    assert set(np.unique(bilevel)) <= {0, 255}


def test_sixteen_bit_is_scaled_not_clipped():
    v = np.array([[0, 257 * 100, 65535, 257 * 7]], dtype=np.uint16)
    out = decode_bytes(enc(Image.fromarray(v)))
    assert out[0, :, 0].tolist() == [0, 100, 255, 7]


def test_alpha_is_composited_on_white(rgb):
    rgba = np.dstack([rgb, np.zeros(rgb.shape[:2], np.uint8)])
    rgba[0, 0, 3] = 255
    out = decode_bytes(enc(Image.fromarray(rgba, "RGBA")))
    assert np.array_equal(out[0, 0], rgb[0, 0])
    assert (out.reshape(-1, 3)[1:] == 255).all()
    la = Image.fromarray(np.dstack([rgb[..., 0], np.zeros(rgb.shape[:2], np.uint8)]), "LA")
    assert (decode_bytes(enc(la)) == 255).all()


def test_palette_transparency_index_is_white():
    p = Image.new("P", (4, 4), 0)
    p.putpalette([10, 20, 30] + [200, 100, 50] * 255)
    p.putpixel((1, 1), 1)
    out = decode_bytes(enc(p, transparency=0))
    assert out[1, 1].tolist() == [200, 100, 50]
    assert out[0, 0].tolist() == [255, 255, 255]


def test_cmyk_jpeg_decodes_close_to_rgb(rgb):
    smooth = np.asarray(Image.fromarray(rgb).resize((8, 6)).resize((64, 48), Image.Resampling.BILINEAR))
    out = decode_bytes(enc(Image.fromarray(smooth).convert("CMYK"), "JPEG", quality=95))
    assert out.shape == smooth.shape
    assert np.abs(out.astype(int) - smooth.astype(int)).mean() < 12


def test_gif_gives_first_frame(rgb):
    frames = [Image.fromarray(np.zeros((8, 8, 3), np.uint8)), Image.fromarray(np.full((8, 8, 3), 255, np.uint8))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    assert (decode_bytes(buf.getvalue()) == 0).all()


@pytest.mark.parametrize(
    "orientation,undo",
    [
        (3, lambda a: np.rot90(a, 2)),
        (6, lambda a: np.rot90(a, 1)),  # stored rotated CCW; viewer turns it clockwise
        (8, lambda a: np.rot90(a, -1)),
        (2, lambda a: a[:, ::-1]),
    ],
)
def test_exif_orientation_is_applied(orientation, undo):
    upright = np.zeros((6, 10, 3), np.uint8)
    upright[0, 0] = 255  # a marker in the top-left corner as displayed
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = np.ascontiguousarray(undo(upright))
    out = decode_bytes(enc(Image.fromarray(stored), "PNG", exif=exif))
    assert np.array_equal(out, upright)


def test_invalid_orientation_leaves_image_as_stored(rgb):
    exif = Image.Exif()
    exif[0x0112] = 99
    assert np.array_equal(decode_bytes(enc(Image.fromarray(rgb), "PNG", exif=exif)), rgb)


@pytest.mark.parametrize(
    "data,reason",
    [
        (b"", "empty"),
        (b"hello, this is text" * 10, "not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "header|not an image"),
    ],
)
def test_bad_bytes_raise_typed_error_with_reason(data, reason):
    with pytest.raises(ImageDecodeError, match=reason) as info:
        decode_bytes(data, item_id="x/1")
    assert info.value.item_id == "x/1"


def test_truncated_png_is_reported(rgb):
    data = enc(Image.fromarray(np.random.default_rng(1).integers(0, 256, (200, 200, 3), np.uint8)))
    with pytest.raises(ImageDecodeError, match="truncated|corrupt"):
        decode_bytes(data[: len(data) // 2], item_id="t")


def test_pixel_limit_refuses_before_decoding(png_bomb):
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ImageDecodeError, match="(40000x40000|1600000000).*limit|limit.*1600000000") as info:
        decode_bytes(png_bomb, item_id="bomb.png")
    assert info.value.item_id == "bomb.png"
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert after - before < 100_000  # KiB: nowhere near the 1.6 GB the pixels would take
    small = enc(Image.new("RGB", (100, 100)))
    with pytest.raises(ImageDecodeError, match="limit"):
        decode_bytes(small, max_pixels=9_999)
    assert decode_bytes(small, max_pixels=10_000).shape == (100, 100, 3)


def test_read_image_keeps_bytes_and_reports_files(tmp_path, rgb):
    p = tmp_path / "a.png"
    data = enc(Image.fromarray(rgb))
    p.write_bytes(data)
    img = read_image(p, item_id="a.png")
    assert img.data == data and np.array_equal(img.pixels, rgb)
    with pytest.raises(ImageDecodeError, match="cannot read"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageDecodeError, match="empty"):
        read_image(tmp_path / "empty.png")
    with pytest.raises(ImageDecodeError, match="not a regular file"):
        read_image(tmp_path)
    with pytest.raises(ImageDecodeError, match="above the limit"):
        read_image(p, max_bytes=10)


def test_error_survives_pickling():
    import pickle

    e = pickle.loads(pickle.dumps(ImageDecodeError("id/1", "broken")))
    assert (e.item_id, e.reason) == ("id/1", "broken")


def test_to_rgb_float_and_int_modes():
    f = Image.fromarray(np.array([[-5.0, 100.4, 300.0]], dtype=np.float32), "F")
    assert to_rgb(f)[0, :, 0].tolist() == [0, 100, 255]
    i32 = Image.fromarray(np.array([[0, 65535, 70000]], dtype=np.int32), "I")
    assert to_rgb(i32)[0, :, 0].tolist() == [0, 255, 255]


def test_32_bit_integer_tiff_is_scaled_not_clipped(tmp_path):
    # Issue 16, item 16: a true 32-bit image used to clip to 65535 and so come out all white.
    values = np.array([[-(2**31), -1, 0, 2**30, 2**31 - 1]], dtype=np.int32)
    path = tmp_path / "i32.tif"
    Image.fromarray(values, "I").save(path)
    gray = read_image(path).pixels[0, :, 0].tolist()
    assert gray == [0, 127, 128, 192, 255]
    # 16-bit data keeps its own scale
    Image.fromarray(np.array([[0, 32768, 65535]], dtype=np.uint16)).save(tmp_path / "i16.tif")
    assert read_image(tmp_path / "i16.tif").pixels[0, :, 0].tolist() == [0, 128, 255]


# ---------------------------------------------------------------------------------------------
# RGB pixels read in place (hashbench.decoders_fast): the bytes np.asarray gives, every path


@pytest.mark.parametrize("size", [(1, 1), (7, 5), (1024, 768), (4097, 1), (1, 3000), (3000, 1500)])
def test_rgb_read_in_place_gives_pillows_bytes(size):
    """One block (read whole), several blocks (3000x1500 is 18 MB: read band by band), odd shapes."""
    from hashbench.decoders_fast import pack_rgb

    w, h = size
    px = np.random.default_rng(w * h).integers(0, 256, (h, w, 3), dtype=np.uint8)
    im = Image.fromarray(px)
    out = np.empty_like(px)
    whole = pack_rgb(im, out)
    several_blocks = w * h * 4 > Image.core.get_block_size()
    assert whole == (not several_blocks and hasattr(Image.Image, "__arrow_c_array__"))
    got = to_rgb(im)
    assert got.flags.c_contiguous and np.array_equal(got, px) and np.array_equal(got, np.asarray(im))


def test_jpeg_decodes_to_pillows_pixels_with_or_without_the_in_place_read(monkeypatch):
    from hashbench import decoders_fast

    rng = np.random.default_rng(18)
    small = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    photo = np.asarray(Image.fromarray(small).resize((1024, 768), Image.Resampling.BICUBIC))
    data = enc(Image.fromarray(photo), "JPEG", quality=90)
    want = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    fast = decode_bytes(data)
    assert np.array_equal(fast, want)
    monkeypatch.setattr(decoders_fast, "pack_rgb", lambda im, out: False)  # an older Pillow
    assert np.array_equal(decode_bytes(data), want)


def test_padded_rows_are_not_read_in_place():
    """Rows aligned to 64 bytes are not back to back: refused (by Pillow 13, else by the last-row
    check), and converted the usual way."""
    from hashbench.decoders_fast import pack_rgb

    px = np.random.default_rng(5).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    before = Image.core.get_alignment()
    Image.core.set_alignment(64)
    try:
        im = Image.fromarray(px)
        assert not pack_rgb(im, np.empty_like(px))
        assert np.array_equal(to_rgb(im), px)
    finally:
        Image.core.set_alignment(before)


def test_an_unexpected_arrow_export_is_not_read(monkeypatch):
    """A Pillow whose export is not the 4-byte layout (another capsule, no export) is converted the usual way."""
    from hashbench.decoders_fast import pack_rgb

    px = np.random.default_rng(6).integers(0, 256, (6, 9, 3), dtype=np.uint8)
    im = Image.fromarray(px)
    schema_only = (im.__arrow_c_schema__(), im.__arrow_c_schema__())  # the wrong capsule name
    monkeypatch.setattr(Image.Image, "__arrow_c_array__", lambda self, requested_schema=None: schema_only)
    assert not pack_rgb(im, np.empty_like(px))
    assert np.array_equal(to_rgb(im), px)
    monkeypatch.delattr(Image.Image, "__arrow_c_array__")  # Pillow before 11.2
    assert not pack_rgb(im, np.empty_like(px))
    assert np.array_equal(to_rgb(im), px)
