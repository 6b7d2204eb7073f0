"""Suites: named members, per-(item, transform) streams, chains, configs, and the CLI."""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from PIL import Image

from hashbench import transforms as tf
from hashbench.cli import main
from hashbench.datasets import generate
from hashbench.errors import UsageError


@pytest.fixture(scope="module")
def img() -> np.ndarray:
    return generate("dead-leaves", 0, 0, (96, 72))


def _suite_digests(img: np.ndarray, name: str, seed: int, item_id: str) -> list[str]:
    import hashlib

    return [
        hashlib.sha256(o.pixels.tobytes() + json.dumps(o.params, sort_keys=True).encode()).hexdigest()
        for o in tf.apply_suite(img, tf.get_suite(name), seed, item_id)
    ]


@pytest.mark.parametrize("name", tf.suite_names())
def test_every_suite_runs_and_is_deterministic(img, name):
    suite = tf.get_suite(name)
    assert len({t.name for t in suite}) == len(suite)
    a = tf.apply_suite(img, suite, 3, "item/1")
    b = tf.apply_suite(img, tf.get_suite(name), 3, "item/1")
    for t, x, y in zip(suite, a, b):
        assert x.name == t.name and x.pixels.dtype == np.uint8 and x.pixels.ndim == 3
        assert np.array_equal(x.pixels, y.pixels) and x.params == y.params and x.data == y.data
        json.dumps(x.params)  # resolved parameters are JSON-ready


def test_suite_sizes():
    assert len(tf.get_suite("dihedral")) == 7
    assert 30 <= len(tf.get_suite("default")) <= 45
    assert len(tf.get_suite("isc")) == 10


def test_results_do_not_depend_on_order_or_process(img):
    suite = tf.get_suite("isc")
    forward = tf.apply_suite(img, suite, 1, "a")
    backward = tf.apply_suite(img, suite[::-1], 1, "a")[::-1]
    assert all(np.array_equal(f.pixels, b.pixels) and f.params == b.params for f, b in zip(forward, backward))
    here = _suite_digests(img, "isc", 1, "a")
    with ProcessPoolExecutor(max_workers=2) as pool:
        there = pool.submit(_suite_digests, img, "isc", 1, "a").result()
    assert here == there


def test_seed_and_item_change_random_edits(img):
    suite = tf.get_suite("isc")
    a = [o.params for o in tf.apply_suite(img, suite, 1, "a")]
    assert a != [o.params for o in tf.apply_suite(img, suite, 2, "a")]
    assert a != [o.params for o in tf.apply_suite(img, suite, 1, "b")]


def test_isc_chains_have_1_to_4_recorded_steps(img):
    lengths = []
    for seed in range(8):
        for o in tf.apply_suite(img, tf.get_suite("isc"), seed, "x"):
            steps = o.params["steps"]
            lengths.append(len(steps))
            assert len({s["name"] for s in steps}) == len(steps)  # no edit twice in one chain
    assert min(lengths) == 1 and max(lengths) == 4


def test_chain_equals_steps_in_sequence(img):
    chain = tf.Chain([tf.get("crop", fraction=0.5), tf.get("hflip"), tf.get("jpeg", quality=50)])
    out = chain.apply(img, np.random.default_rng(0))
    step = tf.get("jpeg", quality=50).apply(np.fliplr(img[18:54, 24:72]), np.random.default_rng(0))
    assert np.array_equal(out.pixels, step.pixels) and out.data == step.data and out.format == "jpeg"
    assert [s["kind"] for s in out.params["steps"]] == ["crop", "hflip", "jpeg"]


def test_build_suite_from_config(img):
    suite = tf.build_suite(
        [
            {"kind": "jpeg", "quality": 40},
            {"kind": "crop", "fraction": [0.5, 0.9], "name": "crop_rand"},
            {"chain": [{"kind": "rotate90"}, {"kind": "blur", "sigma": 1.0}], "name": "r90_blur"},
            "dihedral",
        ]
    )
    assert [t.name for t in suite[:3]] == ["jpeg_quality40", "crop_rand", "r90_blur"] and len(suite) == 10
    out = tf.apply_suite(img, suite, 0, "x")
    assert 0.5 <= out[1].params["fraction"] <= 0.9
    with pytest.raises(UsageError, match="distinct names"):
        tf.build_suite([{"kind": "hflip"}, {"kind": "hflip"}])
    with pytest.raises(UsageError):
        tf.build_suite([{"quality": 3}])
    with pytest.raises(UsageError):
        tf.get_suite("nope")


def test_cli_transforms_list(capsys):
    assert main(["transforms"]) == 0
    text = capsys.readouterr().out
    for kind in ("jpeg", "crop", "rotate90", "meme", "screenshot", "isc"):
        assert kind in text
    assert main(["transforms", "--suite", "dihedral", "--json"]) == 0
    members = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in members] == [
        "rotate90",
        "rotate180",
        "rotate270",
        "hflip",
        "vflip",
        "transpose",
        "transverse",
    ]


def test_cli_transform_writes_files_and_records(tmp_path, capsys):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    Image.fromarray(generate("shapes", 1, 0, 64)).save(src / "sub" / "a.png")
    Image.fromarray(generate("text", 2, 0, 64)).save(src / "b.jpg")
    out = tmp_path / "out"
    assert (
        main(["transform", str(src), "--suite", "dihedral", "--out", str(out), "--workers", "1", "--no-progress"]) == 0
    )
    rows = [json.loads(line) for line in (out / "transforms.jsonl").read_text().splitlines()]
    assert len(rows) == 14 and {r["item"] for r in rows} == {"sub/a.png", "b.jpg"}
    row = next(r for r in rows if r["item"] == "sub/a.png" and r["transform"] == "hflip")
    written = np.asarray(Image.open(out / row["file"]).convert("RGB"))
    assert row["file"] == "hflip/sub/a.png"
    assert np.array_equal(written, np.fliplr(np.asarray(Image.open(src / "sub" / "a.png").convert("RGB"))))
    # encode transforms write the encoded file itself
    out2 = tmp_path / "out2"
    assert main(["transform", str(src / "b.jpg"), "--suite", "photometric", "--out", str(out2), "--no-progress"]) == 0
    rec = {json.loads(x)["transform"]: json.loads(x) for x in (out2 / "transforms.jsonl").read_text().splitlines()}
    jpeg_file = out2 / rec["jpeg_q50"]["file"]
    assert jpeg_file.suffix == ".jpg" and Image.open(jpeg_file).format == "JPEG"
    assert json.loads((out2 / "suite.json").read_text())["suite"] == "photometric"


def test_cli_transform_keeps_items_that_differ_only_in_suffix_apart(tmp_path):
    # Issue 16, item 16: x.jpg and x.png used to be written to one file, the second over the first.
    from hashbench.tools.export import clashing_ids

    src = tmp_path / "src"
    src.mkdir()
    Image.fromarray(generate("shapes", 1, 0, 64)).save(src / "x.png")
    Image.fromarray(generate("text", 2, 0, 64)).save(src / "x.jpg", quality=95)
    Image.fromarray(generate("text", 3, 0, 64)).save(src / "y.png")
    assert clashing_ids(["x.png", "x.jpg", "y.png"]) == {"x.png", "x.jpg"}
    out = tmp_path / "out"
    assert (
        main(["transform", str(src), "--suite", "dihedral", "--out", str(out), "--workers", "1", "--no-progress"]) == 0
    )
    rows = [json.loads(line) for line in (out / "transforms.jsonl").read_text().splitlines()]
    hflip = {r["item"]: r["file"] for r in rows if r["transform"] == "hflip"}
    assert hflip == {"x.png": "hflip/x.png.png", "x.jpg": "hflip/x.jpg.png", "y.png": "hflip/y.png"}
    for item, rel in hflip.items():
        want = np.fliplr(np.asarray(Image.open(src / item).convert("RGB")))
        assert np.array_equal(np.asarray(Image.open(out / rel).convert("RGB")), want)


@pytest.mark.parametrize("suite", ["default", "isc", "dihedral"])
def test_transforms_suite_json_is_a_valid_custom_config(suite, capsys):
    # Issue 16, item 16: the --json listing must be usable as [transforms] custom as printed.
    from hashbench.config import parse_config

    assert main(["transforms", "--suite", suite, "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    config = parse_config(
        {
            "references": [{"dataset": "synthetic", "family": "mixed", "count": 2, "size": 32, "seed": 0}],
            "transforms": {"custom": entries},
            "hashers": {"names": ["md5"]},
        },
        origin="pasted",
    )
    rebuilt = tf.build_suite(list(config.custom_transforms))
    assert [t.describe() for t in rebuilt] == [t.describe() for t in tf.get_suite(suite)]
