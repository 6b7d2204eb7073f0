"""Issue 16, hashing/decoding side: each reproduction of the attack, made small."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from hashbench.errors import ImageDecodeError
from hashbench.imageio import RASTER_FORMATS, decode_bytes

EPS = b"""%!PS-Adobe-3.0 EPSF-3.0
%%BoundingBox: 0 0 10 10
newpath 0 0 moveto 10 10 lineto stroke
showpage
%%EOF
"""


def _fake_gs(bin_dir: Path, marker: Path) -> None:
    """A `gs` that leaves a marker file behind if anything ever runs it."""
    bin_dir.mkdir()
    gs = bin_dir / "gs"
    gs.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    gs.chmod(0o755)


def test_eps_named_jpg_never_starts_ghostscript(tmp_path):
    marker = tmp_path / "gs-ran"
    _fake_gs(tmp_path / "bin", marker)
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "photo.jpg").write_bytes(EPS)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "imgs" / "ok.png")
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"}
    proc = subprocess.run(
        [sys.executable, "-m", "hashbench", "hash", str(tmp_path / "imgs"), "--hasher", "dhash", "--workers", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert not marker.exists()
    assert proc.returncode == 0, proc.stderr
    assert "failed photo.jpg: EPS file refused" in proc.stderr
    assert "ok.png," in proc.stdout


def test_only_raster_formats_are_decoded():
    assert "EPS" not in RASTER_FORMATS and "PDF" not in RASTER_FORMATS and "JPEG" in RASTER_FORMATS
    for data in (EPS, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"):
        try:
            decode_bytes(data, item_id="x")
        except ImageDecodeError as exc:
            assert "refused" in exc.reason or "not an image" in exc.reason
        else:
            raise AssertionError("a PostScript/PDF file was decoded")
    # a format outside a caller's own allow-list is refused by name
    png = _png_bytes()
    try:
        decode_bytes(png, item_id="x", formats=("JPEG",))
    except ImageDecodeError as exc:
        assert exc.reason.startswith("PNG file refused")
    else:
        raise AssertionError("PNG decoded outside the allow-list")


def _png_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(buf, format="PNG")
    return buf.getvalue()
