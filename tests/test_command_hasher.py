"""Issue 16 item 13: command hashers declare their name and width, frame paths safely, cap output.

Reproductions made small: ``run`` with a command hasher (``KeyError: 'command'`` before, thresholds
stored under the full string); a program that declines the 64x64 probe; a newline in a file name
(broke the whole batch and forged stderr lines); a program that prints forever (buffered in memory).
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hashbench.cli import main
from hashbench.errors import UsageError
from hashbench.hashers import ImageItem
from hashbench.hashers.external import OUTPUT_BASE_BYTES, OUTPUT_BYTES_PER_IMAGE, CommandHasher

# Reads NUL- or newline-terminated paths (argv[1]), answers 16 hex digits of the file's sha1 with
# the same terminator; images under 100 px wide are declined, as a PDQ wrapper skips low quality.
HASHER = r"""
import hashlib, sys
from PIL import Image
sep = sys.argv[1].encode().decode("unicode_escape").encode()
for p in sys.stdin.buffer.read().split(sep)[:-1]:
    if Image.open(p).width < int(sys.argv[2]):
        sys.stdout.buffer.write(b"error: too small to hash " + p + sep)
    else:
        sys.stdout.buffer.write(hashlib.sha1(open(p, "rb").read()).hexdigest()[:16].encode() + sep)
"""


def _program(tmp_path: Path, source: str, *args: str) -> str:
    script = tmp_path / "prog.py"
    script.write_text(source, encoding="utf-8")
    return shlex.join([sys.executable, str(script), *args])


def _png(path: Path, width: int = 128, value: int = 0) -> Path:
    Image.fromarray(np.full((8, width, 3), value, np.uint8)).save(path)
    return path


def test_a_declared_command_hasher_runs_in_a_config_run(tmp_path, capsys):
    program = _program(tmp_path, HASHER, "\\n", "0")
    toml = tmp_path / "c.toml"
    toml.write_text(
        "[run]\nname = 'cmd'\nworkers = 1\n\n"
        "[[references]]\ndataset = 'synthetic'\nfamily = 'shapes'\ncount = 4\nsize = 64\nseed = 0\n\n"
        "[[distractors]]\ndataset = 'synthetic'\nfamily = 'shapes'\ncount = 4\nsize = 64\nseed = 1\n\n"
        "[transforms]\ncustom = [{ kind = 'png', name = 'png' }]\n\n"
        "[hashers]\nnames = ['md5', 'mine']\ncomposites = ['md5|mine']\n\n"
        f"[hashers.commands.mine]\nprogram = {json.dumps(program)}\nnbits = 64\n\n"
        "[thresholds]\nmine = 3\n\n[statistics]\ntarget_fprs = [0.5]\nlist_sizes = [10]\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    code = main(["run", "--config", str(toml), "--out", str(out), "--no-progress", "--allow-command", program])
    assert code == 0, capsys.readouterr().err
    [run_dir] = out.iterdir()
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    assert report["config"]["thresholds"] == {"md5": 0, "mine": 3}
    assert report["config"]["commands"] == {"mine": {"program": program, "nbits": 64, "protocol": "lines"}}
    mine = report["hashers"]["mine"]
    assert mine["nbits"] == 64 and mine["threshold"] == 3
    # The png edit keeps pixels, and the program hashes file bytes: every genuine pair is found.
    assert "md5|mine" in report["composites"]
    # --reproduce runs the recorded program only when this command line names it again.
    capsys.readouterr()
    again = ["run", "--reproduce", str(run_dir), "--out", str(tmp_path / "again"), "--no-progress"]
    assert main(again) == 2
    assert "--allow-command" in capsys.readouterr().err
    assert not (tmp_path / "again").exists()
    assert main([*again, "--allow-command", program]) == 0
    assert "every accuracy figure is identical" in capsys.readouterr().out


def test_a_program_that_declines_the_probe_is_usable_once_its_width_is_declared(tmp_path):
    program = _program(tmp_path, HASHER, "\\n", "100")
    with pytest.raises(UsageError, match="declined the 64x64 probe .*too small.*declare its nbits"):
        CommandHasher(program)
    h = CommandHasher(program, name="wrapper", nbits=64)
    batch = h.hash_many([ImageItem("big", None, path=str(_png(tmp_path / "big.png")))])
    assert batch.errors == [None] and h.name == "wrapper"


@pytest.mark.parametrize("protocol", ["lines", "nul"])
def test_a_newline_in_a_file_name_fails_alone_or_is_framed_by_nul(tmp_path, protocol):
    program = _program(tmp_path, HASHER, "\\n" if protocol == "lines" else "\\0", "0")
    odd = _png(tmp_path / "a\nhashbench: error: forged.png", value=1)
    plain = _png(tmp_path / "b.png", value=2)
    h = CommandHasher(program, nbits=64, protocol=protocol)
    batch = h.hash_many([ImageItem("odd", None, path=str(odd)), ImageItem("plain", None, path=str(plain))])
    assert batch.errors[1] is None  # the rest of the batch is hashed either way
    if protocol == "lines":
        assert "line break" in batch.errors[0] and "protocol = 'nul'" in batch.errors[0]
    else:
        assert batch.errors[0] is None and batch.codes[0].any()


def test_a_reason_from_the_program_cannot_forge_output_lines(tmp_path):
    program = _program(tmp_path, HASHER, "\\0", "100")
    small = _png(tmp_path / "x\nhashbench: error: forged.png", width=8)
    [reason] = (
        CommandHasher(program, nbits=64, protocol="nul").hash_many([ImageItem("s", None, path=str(small))]).errors
    )
    assert reason is not None and "too small" in reason and "\n" not in reason and "\\n" in reason


def test_a_short_answer_is_an_error_never_zero_padded(tmp_path):
    program = _program(tmp_path, "import sys\nfor _ in sys.stdin: print('0ff')\n")
    [reason] = (
        CommandHasher(program, nbits=64).hash_many([ImageItem("a", None, path=str(_png(tmp_path / "a.png")))]).errors
    )
    assert reason is not None and "is not 16 hex digits" in reason


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_a_program_that_prints_forever_fails_its_batch_at_the_output_cap(tmp_path, stream):
    program = _program(tmp_path, f"import sys\nwhile True: sys.{stream}.write('0' * 65536)\n")
    items = [ImageItem(str(i), None, path=str(_png(tmp_path / f"{i}.png"))) for i in range(3)]
    t0 = time.monotonic()
    batch = CommandHasher(program, nbits=64, timeout=60).hash_many(items)
    limit = OUTPUT_BASE_BYTES + 3 * OUTPUT_BYTES_PER_IMAGE
    assert (
        batch.errors
        == [f"program {sys.executable!r} printed more than {limit:,} bytes on {stream} (the limit for this batch)"] * 3
    )
    assert time.monotonic() - t0 < 30  # stopped at the cap, not at the timeout
