"""`hashbench datasets`, `datasets preview` and `generate`."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from hashbench.cli import main
from hashbench.datasets import generate


def test_generate_png_is_exact_and_start_continues(tmp_path, capsys):
    out = tmp_path / "gen"
    assert (
        main(
            [
                "generate",
                "mixed",
                "--count",
                "6",
                "--size",
                "48x32",
                "--seed",
                "4",
                "--out",
                str(out),
                "--workers",
                "2",
                "--no-progress",
            ]
        )
        == 0
    )
    files = sorted(p.name for p in out.glob("*.png"))
    assert files == [f"{i:08d}.png" for i in range(6)]
    for i in range(6):
        assert np.array_equal(
            np.asarray(Image.open(out / f"{i:08d}.png").convert("RGB")), generate("mixed", i, 4, (48, 32))
        )
    meta = json.loads((out / "generated.json").read_text())
    assert meta["family"] == "mixed" and meta["seed"] == 4 and meta["size"] == [48, 32]
    assert (
        main(
            [
                "generate",
                "mixed",
                "--count",
                "2",
                "--start",
                "6",
                "--size",
                "48x32",
                "--seed",
                "4",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    assert np.array_equal(
        np.asarray(Image.open(out / "00000007.png").convert("RGB")), generate("mixed", 7, 4, (48, 32))
    )
    assert "wrote 2 images" in capsys.readouterr().out


def test_generate_jpg_and_bad_family(tmp_path, capsys):
    assert (
        main(
            [
                "generate",
                "text",
                "--count",
                "2",
                "--size",
                "40",
                "--format",
                "jpg",
                "--out",
                str(tmp_path),
                "--no-progress",
            ]
        )
        == 0
    )
    assert Image.open(tmp_path / "00000001.jpg").format == "JPEG"
    try:
        main(["generate", "clouds", "--count", "2", "--out", str(tmp_path)])
    except SystemExit as exc:  # argparse refuses an unknown choice
        assert exc.code == 2
    assert main(["generate", "text", "--count", "2", "--size", "huge", "--out", str(tmp_path)]) == 2


def test_datasets_list(capsys):
    assert main(["datasets"]) == 0
    text = capsys.readouterr().out
    for word in ("synthetic", "sample", "folder", "dead-leaves", "low-detail", "sample/skimage/chelsea", "CC0"):
        assert word in text


def test_preview_writes_small_pngs(tmp_path, capsys):
    assert (
        main(
            [
                "datasets",
                "preview",
                "--out",
                str(tmp_path),
                "--families",
                "text,shapes",
                "--count",
                "4",
                "--suite",
                "dihedral",
                "--no-progress",
            ]
        )
        == 0
    )
    for name in ("family-text.png", "family-shapes.png", "suite-dihedral.png"):
        path = tmp_path / name
        assert path.is_file() and path.stat().st_size < 300_000
        with Image.open(path) as im:
            assert im.width > 300 and im.height > 100
    assert main(["datasets", "preview", "--out", str(tmp_path), "--families", "none", "--photo", "sample/x/y"]) == 2
