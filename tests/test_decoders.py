"""Decoder profiles reproduce each deployed tool's PDQ hash and quality exactly (tests/golden/profiles).

The goldens were made by the tools themselves (ThreatExchange's C++ pdq-photo-hasher and
python-threatexchange's PdqSignal, see make_goldens.py): a profile's pixels hashed by hashbench's
PDQ must give the same 256 bits and the same quality, and a file the tool cannot hash is refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hashbench import imageio
from hashbench.decoders import PROFILES, cimg_nearest_index, get_profile, profile_names
from hashbench.errors import ImageDecodeError, UsageError
from hashbench.hashers import get as get_hasher
from hashbench.hashers.base import ImageItem
from hashbench.imageio import decode_bytes

GOLDEN = Path(__file__).parent / "golden" / "profiles"
GOLDENS = json.loads((GOLDEN / "goldens.json").read_text())
CASES = [(name, tool) for name in sorted(GOLDENS) for tool in sorted(GOLDENS[name])]
#: Where exactness is impossible, the measured difference is pinned instead (docs/decoders.md): the C++
#: core computes luma in float32, pdqhash (and hashbench's PDQ) in float64 rounded to float32; on a flat
#: or pure-gradient image PDQ's bits are decided by that rounding (its quality is 53, just above the
#: usual floor of 50). Same pixels, same quality, 48 bits apart: pinned, so a change shows.
KNOWN_LUMA_DIFFERENCE = {("gen-tiny-gradient.png", "threatexchange-cpp"): 48}


def _pdq(pixels: np.ndarray) -> tuple[str, int]:
    out = get_hasher("pdq").hash_one(ImageItem(id="x", pixels=pixels))
    assert out.quality is not None
    return out.code.tobytes().hex(), out.quality


def test_goldens_cover_both_tools_and_every_difference():
    assert profile_names()[:3] == ["hashbench", "threatexchange-cpp", "python-threatexchange"]
    assert len(GOLDENS) >= 20
    assert {"threatexchange-cpp", "python-threatexchange"} == {t for v in GOLDENS.values() for t in v}
    # both outcomes occur for the C++ tool: hashes, and files it cannot hash
    assert any("error" in v["threatexchange-cpp"] for v in GOLDENS.values())
    assert sum("hash" in v["threatexchange-cpp"] for v in GOLDENS.values()) >= 12


@pytest.mark.parametrize(("name", "tool"), CASES)
def test_profile_reproduces_the_tools_hash_and_quality(name, tool):
    want = GOLDENS[name][tool]
    data = (GOLDEN / name).read_bytes()
    if "error" in want:
        with pytest.raises(ImageDecodeError) as err:
            decode_bytes(data, item_id=name, profile=tool)
        assert err.value.item_id == name and err.value.reason
        return
    got, quality = _pdq(decode_bytes(data, item_id=name, profile=tool))
    assert quality == want["quality"]
    assert bin(int(got, 16) ^ int(want["hash"], 16)).count("1") == KNOWN_LUMA_DIFFERENCE.get((name, tool), 0)


def test_profiles_differ_from_hashbench_where_the_docs_say():
    """The table of docs/decoders.md: EXIF-rotated files differ by half the bits or so, CMYK by all."""
    own = {n: _pdq(decode_bytes((GOLDEN / n).read_bytes())) for n in ("gen-exif6.jpg", "gen-cmyk.jpg")}
    for tool in ("threatexchange-cpp", "python-threatexchange"):
        got = GOLDENS["gen-exif6.jpg"][tool]["hash"]
        assert bin(int(got, 16) ^ int(own["gen-exif6.jpg"][0], 16)).count("1") > 100
    cmyk = GOLDENS["gen-cmyk.jpg"]["python-threatexchange"]["hash"]
    assert bin(int(cmyk, 16) ^ int(own["gen-cmyk.jpg"][0], 16)).count("1") == 256  # the complemented hash


def _cimg_nearest_by_steps(old: int, new: int) -> list[int]:
    """CImg's resize(.., interpolation 1) loop, transcribed: a pointer advanced by per-sample offsets."""
    offsets, curr = [], 0
    for x in range(new):
        prev, curr = curr, int((x + 1.0) * old / new)
        offsets.append(curr - prev)
    out, pos = [], 0
    for off in offsets:
        out.append(pos)
        pos += off
    return out


@pytest.mark.parametrize(("old", "new"), [(1600, 512), (1004, 512), (513, 512), (300, 512), (4032, 512), (7, 512)])
def test_cimg_nearest_index_equals_cimgs_stepping(old, new):
    assert cimg_nearest_index(old, new).tolist() == _cimg_nearest_by_steps(old, new)


def test_cpp_profile_shrinks_both_sides_to_512_only_above_512():
    rng = np.random.default_rng(0)
    for shape, want in (((600, 300, 3), (512, 512, 3)), ((512, 200, 3), (512, 200, 3)), ((40, 513, 3), (512, 512, 3))):
        im = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), "RGB")
        assert get_profile("threatexchange-cpp").pixels(im, b"", "x").shape == want


def test_default_profile_is_hashbench_and_unchanged():
    data = (GOLDEN / "gen-exif6.jpg").read_bytes()
    assert imageio.decode_profile() == "hashbench"
    np.testing.assert_array_equal(decode_bytes(data), decode_bytes(data, profile="hashbench"))
    assert decode_bytes(data).shape == (640, 402, 3)  # EXIF orientation 6 applied: stored 640x402


def test_process_profile_is_used_by_every_reader(tmp_path):
    path = GOLDEN / "gen-exif6.jpg"
    try:
        imageio.set_decode_profile("python-threatexchange")
        assert imageio.read_image(path).pixels.shape == (402, 640, 3)  # no EXIF
        with pytest.raises(UsageError, match="did you mean 'threatexchange-cpp'"):
            imageio.set_decode_profile("threatexchange-cp")
    finally:
        imageio.set_decode_profile("hashbench")
    assert imageio.read_image(path).pixels.shape == (640, 402, 3)


def test_profiles_are_a_registry_with_descriptions():
    for entry in PROFILES.available():
        assert entry.description and entry.factory().describe()["name"] == entry.name


# --- the profile as a setting: workers, the CLI, checkpoints, tables, the run configuration ---------


def _golden_paths(tool: str) -> tuple[list[Path], list[tuple[str, int] | None]]:
    names = sorted(GOLDENS)
    wants = [
        (GOLDENS[n][tool]["hash"], GOLDENS[n][tool]["quality"]) if "hash" in GOLDENS[n][tool] else None for n in names
    ]
    return [GOLDEN / n for n in names], wants


@pytest.mark.parametrize("workers", [1, 2])
def test_hash_files_decodes_with_the_profile_in_workers_too(workers):
    from hashbench.hashing import hash_files

    paths, wants = _golden_paths("threatexchange-cpp")
    res = hash_files(paths, hashers=["pdq"], workers=workers, progress=False, decode_profile="threatexchange-cpp")
    assert res.decode_profile == "threatexchange-cpp"
    for i, want in enumerate(wants):
        if want is None:
            assert res.decode_errors[i], paths[i].name  # refused with the tool's reason, by id
        else:
            assert res.decode_errors[i] is None
            got = res.codes["pdq"][i].tobytes().hex()
            assert int(res.quality["pdq"][i]) == want[1], paths[i].name
            known = KNOWN_LUMA_DIFFERENCE.get((paths[i].name, "threatexchange-cpp"), 0)
            assert bin(int(got, 16) ^ int(want[0], 16)).count("1") == known, paths[i].name
    assert imageio.decode_profile() == "hashbench"  # the in-process path leaves this process's setting alone


class _NoInitializerExecutor:
    """A stand-in for a Dask client: an Executor that is not a ProcessPoolExecutor, whose worker ran
    no initializer, so the profile reaches it only inside each task's DecodeSettings."""

    def __init__(self) -> None:
        from hashbench.parallel import process_pool

        self.pool = process_pool(1)

    def submit(self, fn, *args):
        return self.pool.submit(fn, *args)


def test_cluster_tasks_carry_the_profile_in_their_decode_settings():
    from hashbench.hashing import collect, decode_settings, hash_stream

    paths, wants = _golden_paths("python-threatexchange")
    hs = [get_hasher("pdq")]
    settings = decode_settings(hs, 1, profile="python-threatexchange")
    remote = _NoInitializerExecutor()
    try:
        items = [(p.name, p) for p in paths]
        res = collect(hash_stream(items, hs, workers=1, chunk_size=4, pool=remote, settings=settings), hs)  # type: ignore[arg-type]
    finally:
        remote.pool.shutdown()
    for i, want in enumerate(wants):
        if want is None:
            assert res.decode_errors[i], paths[i].name
        else:
            assert (res.codes["pdq"][i].tobytes().hex(), int(res.quality["pdq"][i])) == want, paths[i].name


def test_decode_settings_carry_the_profile_and_refuse_draft_with_it(monkeypatch):
    from hashbench.hashing import decode_settings
    from hashbench.imageio import MEMORY_ENV

    # describe() records the worker memory, read from MemAvailable at each call unless set: a
    # busy machine moved it between the two calls compared below
    monkeypatch.setenv(MEMORY_ENV, str(2 << 30))
    hs = [get_hasher("pdq")]
    default = decode_settings(hs, 1, max_pixels=1000)
    assert default.profile == "hashbench" and "profile" not in default.describe()  # outputs as before
    cpp = decode_settings(hs, 1, max_pixels=1000, profile="threatexchange-cpp")
    assert cpp.describe()["profile"] == "threatexchange-cpp"
    assert {k: v for k, v in cpp.describe().items() if k != "profile"} == default.describe()
    with pytest.raises(UsageError, match="decode = draft does not give threatexchange-cpp's pixels"):
        decode_settings(hs, 1, decode="draft", profile="threatexchange-cpp")
    with pytest.raises(UsageError, match="did you mean 'threatexchange-cpp'"):
        decode_settings(hs, 1, profile="threatexchange-cp")


def test_cli_hash_decode_profile_prints_the_tools_hash(capsys, tmp_path):
    from hashbench.cli import main
    from hashbench.store import read_table

    name = "gen-exif6.jpg"
    assert main(["hash", str(GOLDEN / name), "--decode-profile", "python-threatexchange", "--workers", "1"]) == 0
    assert GOLDENS[name]["python-threatexchange"]["hash"] in capsys.readouterr().out
    out = tmp_path / "h.parquet"
    args = ["hash", str(GOLDEN / name), "--decode-profile", "threatexchange-cpp", "--workers", "1", "--out", str(out)]
    assert main([*args, "--no-progress"]) == 0
    table = read_table(out)
    assert table["hash_hex"].to_pylist() == [GOLDENS[name]["threatexchange-cpp"]["hash"]]
    assert json.loads(table.schema.metadata[b"hashbench"])["decode_profile"] == "threatexchange-cpp"


def test_cli_hash_unknown_profile_is_a_one_line_usage_error(capsys):
    from hashbench.cli import main

    assert main(["hash", str(GOLDEN / "te-wee.jpg"), "--decode-profile", "python-threatexchang"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'python-threatexchange'" in err and "Traceback" not in err


def test_checkpoint_keys_change_with_the_profile_and_not_for_the_default():
    from hashbench.checkpoint import chunk_keys

    items = [(p.name, p) for p in _golden_paths("threatexchange-cpp")[0][:4]]
    hs = [get_hasher("pdq")]
    default = chunk_keys(items, hs, 2, max_pixels=1000)
    assert chunk_keys(items, hs, 2, max_pixels=1000, decode_profile="hashbench") == default
    cpp = chunk_keys(items, hs, 2, max_pixels=1000, decode_profile="threatexchange-cpp")
    tx = chunk_keys(items, hs, 2, max_pixels=1000, decode_profile="python-threatexchange")
    assert len({default[0], cpp[0], tx[0]}) == 3


def test_run_config_decode_profile_is_validated_and_recorded_only_when_set():
    import tomllib

    from hashbench.config import config_from_dict, default_config_text, parse_config

    data = tomllib.loads(default_config_text())
    default = parse_config(data)
    assert default.decode_profile == "hashbench"
    assert "decode_profile" not in default.to_dict()  # old reports and digests unchanged
    data["run"]["decode_profile"] = "python-threatexchange"
    cfg = parse_config(data)
    assert cfg.decode_profile == "python-threatexchange" and cfg.digest() != default.digest()
    assert config_from_dict(cfg.to_dict()).decode_profile == "python-threatexchange"
    data["run"]["decode_profile"] = "threatexchange-c++"
    with pytest.raises(UsageError, match="did you mean 'threatexchange-cpp'"):
        parse_config(data)
