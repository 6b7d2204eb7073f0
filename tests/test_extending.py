"""docs/extending.md is true: each worked example, run exactly as written, registers a new hasher,
edit, dataset and index that are listed by the CLI, usable, sane, and suggested on a typo."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from hashbench import datasets, hashers, registry, transforms
from hashbench import index as index_mod
from hashbench.cli import main
from hashbench.errors import UsageError

DOC = Path(__file__).resolve().parents[1] / "docs" / "extending.md"
FILES = {"gridhash.py", "vignette.py", "checkerboard.py", "numpyscan.py"}
REGISTRIES = (hashers.HASHERS, transforms.TRANSFORMS, datasets.DATASETS, index_mod.INDEXES)


def doc_files() -> dict[str, str]:
    """The doc's ```python blocks that start with ``# file: NAME.py``, by file name."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    return {m.group(1): code for code in blocks if (m := re.match(r"# file: (\S+\.py)\n", code))}


@pytest.fixture
def plugins(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """Write the doc's files to a folder on sys.path and name them in HASHBENCH_PLUGINS, with the
    registries restored afterwards so other tests never see the examples."""
    files = doc_files()
    assert set(files) == FILES
    for name, code in files.items():
        (tmp_path / name).write_text(code, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    modules = sorted(Path(n).stem for n in files)
    monkeypatch.setenv(registry.PLUGINS_ENV, ",".join(modules))
    monkeypatch.setattr(registry, "_plugin_modules_imported", False)
    for reg in REGISTRIES:
        monkeypatch.setattr(reg, "_entries", dict(reg._entries))
        monkeypatch.setattr(reg, "_plugins_loaded", False)
    yield tmp_path
    for m in modules:
        sys.modules.pop(m, None)


def _listing(capsys, *argv: str) -> str:  # type: ignore[no-untyped-def]
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_each_example_is_listed_by_the_cli(plugins, capsys) -> None:  # type: ignore[no-untyped-def]
    out = _listing(capsys, "hashers")
    assert re.search(r"^gridhash +64 +perceptual +no +pillow .*8x8 block means", out, flags=re.M)
    assert re.search(r"^vignette +strength=0.5 +darken towards the corners", _listing(capsys, "transforms"), re.M)
    assert re.search(r"^checkerboard +count, seed, size +checkerboards", _listing(capsys, "datasets"), re.M)
    assert re.search(r"^numpyscan +yes +Brute-force numpy scan", _listing(capsys, "indexes"), re.M)


def test_each_example_works_and_gives_sane_output(plugins) -> None:  # type: ignore[no-untyped-def]
    boards = datasets.from_spec("checkerboard:count=4,seed=3,size=48")
    assert len(boards) == 4 and boards.name == "checkerboard"
    assert [it.id for it in boards] == [f"checkerboard/3/{i}" for i in range(4)]
    images = [it.load() for it in boards]
    assert all(px.shape == (48, 48, 3) and px.dtype == np.uint8 for px in images)
    assert np.array_equal(images[0], boards[0].load())  # a pure function of (index, seed)

    edit = transforms.get("vignette", strength=(0.6, 0.9))
    out = edit.apply(np.full((40, 60, 3), 200, np.uint8), transforms.transform_rng(0, "x", edit.name))
    assert 0.6 <= out.params["strength"] <= 0.9 and out.kind == "vignette"
    assert out.pixels[20, 30, 0] > out.pixels[0, 0, 0]  # corners darker than the centre
    assert out.pixels[0, 0, 0] == int(200 * (1 - out.params["strength"]))

    h = hashers.get("gridhash")
    assert h.name == "gridhash" and hashers.check_conformance(h).ok
    items = [hashers.ImageItem(f"b{i}", px) for i, px in enumerate(images)]
    codes = h.hash_many(items).codes
    assert codes.shape == (4, 8)
    tests_dir = str(Path(__file__).parent)
    if tests_dir not in sys.path:
        sys.path.insert(0, tests_dir)
    from test_index_api import check_index_against_brute_force

    check_index_against_brute_force(lambda nbits: index_mod.get("numpyscan", nbits))
    scan = index_mod.get("numpyscan", 64)
    assert isinstance(scan, index_mod.Index) and scan.kind == "numpyscan"
    scan.add(codes)
    D, I = scan.search(codes, 1)
    np.testing.assert_array_equal(I[:, 0], np.arange(4))  # each board finds itself first
    assert (D[:, 0] == 0).all()


def test_a_typo_gets_did_you_mean(plugins, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for get, typo, right in (
        (hashers.get, "gridhsh", "gridhash"),
        (transforms.get, "vignete", "vignette"),
        (datasets.get, "checkerbord", "checkerboard"),
        (lambda n: index_mod.get(n, 64), "numpyscn", "numpyscan"),
    ):
        with pytest.raises(UsageError, match=f"'{typo}'; did you mean '{right}'"):
            get(typo)
    with pytest.raises(UsageError, match="no parameter 'cont'; did you mean 'count'\\?"):
        datasets.get("checkerboard", cont=3)
    from PIL import Image

    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "x.png")
    assert main(["hash", str(tmp_path / "x.png"), "--hasher", "gridhsh"]) == 2
    assert "unknown hasher 'gridhsh'; did you mean 'gridhash'" in capsys.readouterr().err


def test_the_run_configuration_in_the_doc_uses_the_examples(plugins) -> None:  # type: ignore[no-untyped-def]
    from hashbench.config import parse_config

    text = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)[-1]
    config = parse_config(tomllib.loads(text), origin="docs/extending.md")
    assert config.references[0].dataset == "checkerboard" and "gridhash" in config.hashers
    assert transforms.build_suite(list(config.custom_transforms))[0].kind == "vignette"


def test_one_file_on_the_path_is_enough_for_the_command_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """No packaging: PYTHONPATH and HASHBENCH_PLUGINS alone make `hashbench hashers` list it."""
    (tmp_path / "gridhash.py").write_text(doc_files()["gridhash.py"], encoding="utf-8")
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), src]), registry.PLUGINS_ENV: "gridhash"}
    proc = subprocess.run(
        [sys.executable, "-m", "hashbench", "hashers"], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert any(line.startswith("gridhash ") for line in proc.stdout.splitlines())
    env[registry.PLUGINS_ENV] = "no_such_plugin_module"
    proc = subprocess.run(
        [sys.executable, "-m", "hashbench", "hashers"], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 2 and "cannot import plugin module 'no_such_plugin_module'" in proc.stderr
