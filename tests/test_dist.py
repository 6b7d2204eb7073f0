"""Issue 19 item 3: the wheel builds offline, installs into a fresh virtualenv, and runs.

What README's install section says, exercised: build (``make dist`` runs ``python -m build
--no-isolation``), then ``pip install`` the wheel. No network: the build uses the setuptools of
this environment (the ``test`` extra has it), the wheel is installed with ``--no-index
--no-deps``, and the fresh virtualenv finds the dependencies in this environment's
site-packages through a ``.pth`` line (one that does not pull in this checkout's editable
install), so what runs is the installed wheel, package data included.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import hashbench

ROOT = Path(__file__).resolve().parents[1]

TINY = """\
[run]
name = "wheel"
workers = 1
[[references]]
dataset = "synthetic"
family = "mixed"
count = 3
size = 64
seed = 0
[[distractors]]
dataset = "synthetic"
family = "mixed"
count = 4
size = 64
seed = 1
[transforms]
suite = "none"
[hashers]
names = ["phash", "md5"]
composites = []
[statistics]
target_fprs = [0.1]
list_sizes = [10]
"""


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    )
    return proc


@pytest.mark.slow
def test_the_wheel_installs_into_a_fresh_virtualenv_and_runs(tmp_path):
    pytest.importorskip("build")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    source = tmp_path / "source"  # a copy, so building leaves no build/ or egg-info in the checkout
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    dist = tmp_path / "dist"
    _run(
        [sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", str(dist), str(source)], env, tmp_path
    )
    (wheel,) = dist.glob(f"hashbench-{hashbench.__version__}-py3-none-any.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {"hashbench/schemas/report.schema.json", "hashbench/data/default.toml", "hashbench/py.typed"} <= set(names)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], env, tmp_path)
    python = venv / "bin" / "python"
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], env, tmp_path
        ).stdout.strip()
    )
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_hashbench_test_deps.pth").write_text("".join(f"{p}\n" for p in sorted(deps)))
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", "--no-deps", "--quiet"]
    _run([*pip, str(wheel)], env, tmp_path)

    where = _run([str(python), "-c", "import hashbench; print(hashbench.__file__)"], env, tmp_path).stdout
    assert Path(where.strip()).is_relative_to(site)  # the wheel, not this checkout
    exe = str(venv / "bin" / "hashbench")
    assert _run([exe, "--version"], env, tmp_path).stdout.strip() == f"hashbench {hashbench.__version__}"
    (tmp_path / "tiny.toml").write_text(TINY)
    _run([exe, "run", "--config", "tiny.toml", "--out", "out", "--no-progress"], env, tmp_path)
    (report,) = (tmp_path / "out").glob("wheel-*/report.json")
    assert '"n_images": 7' in report.read_text()
    assert '"$schema"' in _run([exe, "run", "--print-config-schema"], env, tmp_path).stdout
