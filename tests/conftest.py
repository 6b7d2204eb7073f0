"""Shared fixtures: real photos that ship inside dependencies, and a folder of hostile files."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hashbench.datasets import get as get_dataset


@pytest.fixture(scope="session")
def photo_paths() -> list[Path]:
    paths = [Path(it.path) for it in get_dataset("sample")]
    assert len(paths) >= 10, f"expected at least 10 bundled photos, found {len(paths)}"
    return paths


@pytest.fixture(scope="session")
def photo(photo_paths) -> np.ndarray:
    """A real colour photo (scikit-image's astronaut), as RGB uint8."""
    p = next(p for p in photo_paths if p.name == "astronaut.png")
    return np.asarray(Image.open(p).convert("RGB"))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def make_png_bomb(width: int = 40000, height: int = 40000) -> bytes:
    """A real decompression bomb: a 1-bit PNG of width x height zeros, about 200 KB on disk."""
    row = b"\x00" * (1 + (width + 7) // 8)
    comp = zlib.compressobj(6)
    parts = []
    block = row * 1000
    for _ in range(height // 1000):
        parts.append(comp.compress(block))
    parts.append(comp.compress(row * (height % 1000)))
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


@pytest.fixture(scope="session")
def png_bomb() -> bytes:
    return make_png_bomb()


def _encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="session")
def hostile_folder(tmp_path_factory, photo, png_bomb) -> dict[str, Path]:
    """A folder mixing good images of every awkward kind with broken and hostile files.

    Returns the folder under key "root" and the good/bad file names under "good" / "bad".
    """
    root = tmp_path_factory.mktemp("hostile")
    small = Image.fromarray(photo).resize((128, 128))
    rgb = np.asarray(small)
    files: dict[str, bytes] = {}
    files["cmyk.jpg"] = _encode(small.convert("CMYK"), "JPEG", quality=90)
    gray16 = np.asarray(small.convert("L"), dtype=np.uint16) * 257
    files["gray16.png"] = _encode(Image.fromarray(gray16), "PNG")
    pal = small.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    files["palette_transparent.png"] = _encode(pal, "PNG", transparency=0)
    rgba = np.dstack([rgb, np.tile(np.linspace(0, 255, 128, dtype=np.uint8), (128, 1))])
    files["rgba.png"] = _encode(Image.fromarray(rgba, "RGBA"), "PNG")
    frames = [small, Image.fromarray(255 - rgb)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    files["animated.gif"] = buf.getvalue()
    # Stored rotated 90 degrees counter-clockwise with orientation 6 (rotate 90 clockwise to view):
    # displayed, it is the upright photo.
    exif = Image.Exif()
    exif[0x0112] = 6
    files["exif_rotated.jpg"] = _encode(
        Image.fromarray(np.ascontiguousarray(np.rot90(rgb, 1))), "JPEG", quality=95, exif=exif
    )
    files["plain.jpg"] = _encode(small, "JPEG", quality=95)
    files["bilevel.png"] = _encode(small.convert("1"), "PNG")
    good = sorted(files)
    jpeg = _encode(small, "JPEG", quality=90)
    rng = np.random.default_rng(7)
    files["corrupt.jpg"] = jpeg[:4] + rng.integers(0, 256, 2000, dtype=np.uint8).tobytes()
    png = _encode(small, "PNG")
    files["truncated.png"] = png[: len(png) // 2]
    files["empty.jpg"] = b""
    files["notes.jpg"] = b"these are my notes, not an image\n" * 20
    files["bomb.png"] = png_bomb
    bad = sorted(set(files) - set(good))
    for name, data in files.items():
        (root / name).write_bytes(data)
    (root / "README.txt").write_text("not an image and not named like one\n")
    return {"root": root, "good": good, "bad": bad, "upright": rgb}


@pytest.fixture(scope="session", autouse=True)
def every_written_report_matches_the_shipped_schema():
    """Issue 19 item 4: every report.json a test writes through ``write_report`` (``hashbench run``,
    :func:`hashbench.runner.run`) is validated against the shipped JSON Schema as it is written."""
    import json

    import jsonschema

    import hashbench.report as report_pkg
    from hashbench.report import writers
    from hashbench.schemas import REPORT_FILE, load

    validator = jsonschema.Draft202012Validator(load(REPORT_FILE))
    original = writers.write_report

    def checked(report, run_dir, *args, **kwargs):
        errors = sorted(validator.iter_errors(json.loads(writers.to_json(report))), key=lambda e: list(e.path))
        assert not errors, "report.json does not match report.schema.json: " + "; ".join(
            f"{'/'.join(map(str, e.path))}: {e.message[:200]}" for e in errors[:5]
        )
        return original(report, run_dir, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(writers, "write_report", checked)
        mp.setattr(report_pkg, "write_report", checked)
        yield
