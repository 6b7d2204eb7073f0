"""Issue 16 item 14: every bad config is one UsageError naming its key, before any folder exists.

Each case is the issue's reproduction made small: the TOML a user could write, loaded through
``load_config`` (so the file reading is part of it), and the message must name the setting.
"""

from __future__ import annotations

import os
import tracemalloc

import pytest

from hashbench.cli import main
from hashbench.config import MAX_ITEMS, load_config
from hashbench.errors import UsageError

HEAD = """
[[references]]
dataset = "synthetic"
family = "shapes"
count = 3
size = 64

[hashers]
names = ["pdq", "md5"]
"""


def _config(tmp_path, text: str, head: str = HEAD):
    path = tmp_path / "c.toml"
    path.write_text(head + text, encoding="utf-8")
    return path


BAD = {
    "threshold typo": ("[thresholds]\npqd = 20\n", "unknown hasher 'pqd' in \\[thresholds\\]; did you mean 'pdq'"),
    "alpha text": ('[statistics]\nalpha = "abc"\n', "\\[statistics\\] alpha must be a number"),
    "alpha list": ("[statistics]\nalpha = [0.1]\n", "\\[statistics\\] alpha must be a number"),
    "target_fprs scalar": ("[statistics]\ntarget_fprs = 0.1\n", "\\[statistics\\] target_fprs must be a list"),
    "list_sizes scalar": ("[statistics]\nlist_sizes = 1000\n", "\\[statistics\\] list_sizes must be a list"),
    "run name NUL": ('[run]\nname = "a\\u0000b"\n', "\\[run\\] name .* control character"),
    "suite number": ("[transforms]\nsuite = 3\n", "\\[transforms\\] suite must be text"),
    "transform name #": (
        '[transforms]\ncustom = [{ kind = "hflip", name = "flip#2" }]\n',
        "\\[transforms\\] custom name 'flip#2' may not hold '#'",
    ),
    "transform name number": (
        '[transforms]\ncustom = [{ kind = "hflip", name = 7 }]\n',
        "\\[transforms\\] custom name must be text",
    ),
    "transform bad parameter": (
        '[transforms]\ncustom = [{ kind = "jpeg", name = "j", quality = "x" }]\n',
        "\\[transforms\\] custom: invalid literal",
    ),
    "count too large": (
        '[[distractors]]\ndataset = "synthetic"\ncount = 1000000000000\nseed = 9\n',
        f"\\[\\[distractors\\]\\] count must be at most {MAX_ITEMS:,}",
    ),
    "dataset name not text": ("[[distractors]]\ndataset = 3\n", "unknown dataset 3 in \\[\\[distractors\\]\\]"),
}


@pytest.mark.parametrize("text,needle", list(BAD.values()), ids=list(BAD))
def test_a_bad_setting_is_one_usage_error_naming_its_key(tmp_path, text, needle):
    with pytest.raises(UsageError, match=needle):
        load_config(_config(tmp_path, text))


def _names_head(names: str) -> str:
    return HEAD.replace('names = ["pdq", "md5"]', f"names = {names}")


def _folder_head(root: str) -> str:
    return HEAD.replace('dataset = "synthetic"\nfamily = "shapes"\ncount = 3\nsize = 64', f'dataset = "folder"\n{root}')


@pytest.mark.parametrize(
    "head,needle",
    [
        (_names_head("[1, 2]"), "\\[hashers\\] names must be a list of names in quotes, got 1"),
        (_names_head('"pdq"'), "\\[hashers\\] names must be a list"),
        (_folder_head("root = 5"), "\\[\\[references\\]\\] root must be text in quotes, got 5"),
        (_folder_head('root = "a\\u0000b"'), "\\[\\[references\\]\\] root .* control character"),
        (_folder_head('root = "/no/such/folder"'), "\\[\\[references\\]\\] root '/no/such/folder' is not a folder"),
    ],
    ids=["names numbers", "names scalar", "root number", "root NUL", "root missing"],
)
def test_bad_hashers_and_folders_name_their_key(tmp_path, head, needle):
    with pytest.raises(UsageError, match=needle):
        load_config(_config(tmp_path, "", head=head))


def test_a_broken_symlink_as_root_is_named(tmp_path):
    link = tmp_path / "photos"
    os.symlink(tmp_path / "gone", link)
    with pytest.raises(UsageError, match=f"\\[\\[references\\]\\] root '{link}' is a broken symbolic link"):
        load_config(_config(tmp_path, "", head=_folder_head(f'root = "{link}"')))


def test_a_non_utf8_file_is_one_line(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(HEAD.encode() + b'[run]\nname = "caf\xe9"\n')
    with pytest.raises(UsageError, match="not UTF-8 text"):
        load_config(path)


def test_thresholds_of_registered_hashers_not_in_the_run_are_kept_out_not_refused(tmp_path):
    """The documented choice: a registered hasher's threshold is harmless (the default lists colorhash)."""
    c = load_config(_config(tmp_path, "[thresholds]\ncolorhash = 4\npdq = 20\n"))
    assert c.thresholds == {"pdq": 20, "md5": 0}


def test_a_huge_count_fails_before_any_item_is_built(tmp_path):
    tracemalloc.start()
    with pytest.raises(UsageError, match="count must be at most"):
        load_config(_config(tmp_path, '[[distractors]]\ndataset = "synthetic"\ncount = 1000000000000\nseed = 9\n'))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 * 2**20


@pytest.mark.parametrize("text", [BAD["threshold typo"][0], BAD["alpha text"][0], BAD["transform name #"][0]])
def test_run_refuses_in_one_line_and_creates_no_folder(tmp_path, capsys, text):
    out = tmp_path / "results"
    code = main(["run", "--config", str(_config(tmp_path, text)), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("hashbench: error:")
    assert not out.exists()


def test_thresholds_of_unused_hashers_are_still_whole_distances(tmp_path):
    with pytest.raises(UsageError, match="\\[thresholds\\] colorhash must be a whole number"):
        load_config(_config(tmp_path, '[thresholds]\ncolorhash = "4"\n'))
