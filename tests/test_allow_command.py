"""Issue 16 item 1: a config or a report runs a program only when the user names it on the command line.

The reproduction: put ``command:sh -c '...'`` into a report's ``config.hashers`` and run
``hashbench run --reproduce``; it must refuse in one line, and the program must never start.
Checking a config must not start a program either, even an allowed one.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from hashbench.cli import main
from hashbench.config import CommandSpec, config_from_dict, load_config, parse_config
from hashbench.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
BASE = {
    "references": [{"dataset": "synthetic", "family": "shapes", "count": 3, "size": 64}],
    "hashers": {"names": ["pdq", "md5"]},
}


def _pwn(tmp_path: Path) -> tuple[str, Path]:
    """A program that leaves a file behind if it ever starts (and prints a plausible hash)."""
    marker = tmp_path / "pwned"
    return f'{shlex.quote(sys.executable)} -c \'open({str(marker)!r}, "w"); print("00ff")\'', marker


def _one_line_refusal(capsys) -> str:
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("hashbench: error:"), err
    return err


@pytest.mark.parametrize("how", ["inline", "declared"])
def test_a_tampered_report_cannot_run_a_program(tmp_path, monkeypatch, capsys, how):
    monkeypatch.chdir(tmp_path)
    report = json.loads((ROOT / "results" / "fpr-50b" / "report.json").read_text(encoding="utf-8"))
    if how == "inline":
        report["config"]["hashers"].append("command:sh -c 'touch pwned'")
    else:
        report["config"]["commands"] = {"evil": {"program": "sh -c 'touch pwned; echo 00'", "nbits": 8}}
        report["config"]["hashers"].append("evil")
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    code = main(["run", "--reproduce", str(path), "--out", str(tmp_path / "out"), "--no-progress"])
    err = _one_line_refusal(capsys)
    assert code == 2 and "--allow-command 'sh -c '\"'\"'touch pwned" in err
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "out").exists()


def test_a_config_naming_a_program_is_refused_without_the_flag(tmp_path, capsys):
    program, marker = _pwn(tmp_path)
    toml = tmp_path / "c.toml"
    toml.write_text(
        '[[references]]\ndataset = "synthetic"\ncount = 3\nsize = 64\n\n[hashers]\nnames = ["pdq", "mine"]\n\n'
        f"[hashers.commands.mine]\nprogram = {json.dumps(program)}\nnbits = 16\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert main(["run", "--config", str(toml), "--out", str(out), "--no-progress"]) == 2
    assert "[hashers.commands.mine] would run the program" in _one_line_refusal(capsys)
    # Allowing another string is not allowing this one: the match is exact.
    assert main(["run", "--config", str(toml), "--out", str(out), "--allow-command", program + " "]) == 2
    _one_line_refusal(capsys)
    assert not marker.exists() and not out.exists()


def test_checking_a_config_runs_nothing_even_when_allowed(tmp_path):
    program, marker = _pwn(tmp_path)
    data = {**BASE, "hashers": {"names": ["pdq", "mine"], "commands": {"mine": {"program": program, "nbits": 16}}}}
    c = parse_config(data, allowed_commands=frozenset({program}))
    assert c.commands == (CommandSpec("mine", program, 16, "lines"),)
    assert c.thresholds == {"pdq": 31, "mine": 2}  # keyed by the declared name, the base rule on 16 bits
    [pdq, mine] = c.build_hashers()
    assert (mine.name, mine.nbits, pdq.name) == ("mine", 16, "pdq")
    assert not marker.exists()  # neither validation nor building the hasher started the program
    # The recorded form reads back, and is refused again without the permission.
    assert config_from_dict(c.to_dict(), allowed_commands=frozenset({program})) == c
    with pytest.raises(UsageError, match="--allow-command"):
        config_from_dict(c.to_dict())


def test_an_inline_command_is_told_to_declare_its_name_and_width():
    data = {**BASE, "hashers": {"names": ["pdq", "command:./prog"]}}
    with pytest.raises(UsageError, match="--allow-command ./prog"):
        parse_config(data)
    with pytest.raises(UsageError, match="declare the command hasher 'command:./prog' as \\[hashers.commands.NAME\\]"):
        parse_config(data, allowed_commands=frozenset({"./prog"}))


@pytest.mark.parametrize(
    "block,needle",
    [
        ({"program": "./p"}, "needs both program and nbits"),
        ({"program": "./p", "nbits": 0}, "nbits must be at least 1"),
        ({"program": "./p", "nbits": 100_000}, "nbits must be at most 4,096"),
        ({"program": "./p", "nbits": 8, "protocol": "json"}, "protocol must be 'lines' or 'nul'"),
        ({"program": "./p", "nbits": 8, "nbit": 8}, "unknown key 'nbit'"),
        ({"program": 5, "nbits": 8}, "program must be text"),
        ({"program": "./p 'unclosed", "nbits": 8}, "cannot be split into arguments"),
    ],
)
def test_command_declarations_are_checked(block, needle):
    data = {**BASE, "hashers": {"names": ["pdq"], "commands": {"mine": block}}}
    with pytest.raises(UsageError, match=needle):
        parse_config(data, allowed_commands=frozenset({"./p", block.get("program")}))


def test_a_run_hashers_operating_points_come_from_its_hasher_objects():
    """Written thresholds are checked against each run hasher's width and exactness; the others
    take its default_threshold (a declared command hasher: the base rule on its nbits)."""
    commands = {"mine": {"program": "./p", "nbits": 64}, "digest": {"program": "./p", "nbits": 128, "exact": True}}
    hashers = {"names": ["pdq", "mine", "digest", "md5"], "commands": commands}
    c = parse_config({**BASE, "hashers": hashers, "thresholds": {"pdq": 40}}, allowed_commands=frozenset({"./p"}))
    assert c.thresholds == {"pdq": 40, "mine": 8, "digest": 0, "md5": 0}
    for written, needle in (({"mine": 65}, "more than its 64 bits"), ({"digest": 1}, "digest is an exact hash")):
        with pytest.raises(UsageError, match=needle):
            parse_config({**BASE, "hashers": hashers, "thresholds": written}, allowed_commands=frozenset({"./p"}))


def test_a_declared_name_may_not_shadow_a_builtin():
    data = {**BASE, "hashers": {"names": ["pdq"], "commands": {"pdq": {"program": "./p", "nbits": 256}}}}
    with pytest.raises(UsageError, match="not a built-in hasher's"):
        parse_config(data, allowed_commands=frozenset({"./p"}))


def test_configs_without_commands_record_no_commands_key():
    assert "commands" not in load_config().to_dict()


def test_a_declared_command_hasher_not_in_the_run_may_keep_its_threshold():
    hashers = {"names": ["pdq"], "commands": {"mine": {"program": "./p", "nbits": 64}}}
    c = parse_config({**BASE, "hashers": hashers, "thresholds": {"mine": 5}}, allowed_commands=frozenset({"./p"}))
    assert c.thresholds == {"pdq": 31}
    with pytest.raises(UsageError, match="unknown hasher 'mien' in \\[thresholds\\]; did you mean 'mine'"):
        parse_config({**BASE, "hashers": hashers, "thresholds": {"mien": 5}}, allowed_commands=frozenset({"./p"}))
