"""Hashing and all-pairs statistics on a Dask cluster: identical to the single-machine results.

One 2-worker LocalCluster (processes, one thread each) serves the whole module; the CLI tests
that start their own `--cluster local` say so. Inputs are small: a test takes seconds.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

import hashbench.cluster as cluster_mod
from _helpers import write_hash_table
from hashbench.bits import hamming_matrix
from hashbench.cli import main
from hashbench.cluster import (
    chunk_bounds,
    connect,
    impostor_histogram_on,
    impostor_pairs_on,
    pair_histogram_on,
    variant_impostor_pairs_on,
)
from hashbench.config import parse_config
from hashbench.errors import UsageError
from hashbench.evaluate import clopper_pearson, impostor_histogram
from hashbench.evaluate.dihedral import variant_impostor_histogram
from hashbench.runner import accuracy_differences, run


@pytest.fixture(scope="module")
def client():
    c = connect("local", n_workers=2)  # processes=True, threads_per_worker=1, on 127.0.0.1
    assert sorted(c.nthreads().values()) == [1, 1]
    yield c
    c.close()


def brute_force(codes: np.ndarray, nbits: int) -> np.ndarray:
    d = hamming_matrix(codes, codes)
    iu = np.triu_indices(len(codes), k=1)
    return np.bincount(d[iu], minlength=nbits + 1)


def random_codes(n: int, nbytes: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, nbytes), dtype=np.uint8)


def clustered_codes(n: int, seed: int) -> np.ndarray:
    """Near-duplicates: 20 centres, each copy with 0-6 bits flipped, some exact repeats."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 256, (20, 32), dtype=np.uint8)
    bits = np.unpackbits(centres[rng.integers(0, 20, n)], axis=1)
    for row in bits:
        row[rng.choice(256, rng.integers(0, 7), replace=False)] ^= 1
    return np.packbits(bits, axis=1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# the cluster itself


def test_local_cluster_listens_on_localhost_only(client):
    import psutil

    assert client.scheduler.address.startswith("tcp://127.0.0.1:")
    assert all(w.startswith("tcp://127.0.0.1:") for w in client.nthreads())
    pids = {os.getpid(), *client.run(os.getpid).values()}
    listening = [
        c.laddr
        for pid in pids
        for c in psutil.Process(pid).net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    ]
    assert len(listening) >= 3  # scheduler and two workers at least
    assert {addr.ip for addr in listening} == {"127.0.0.1"}, listening


def test_chunk_bounds_cover_every_row_once():
    assert chunk_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert chunk_bounds(8, 4) == [(0, 4), (4, 8)]
    assert chunk_bounds(3, 10) == [(0, 3)]
    assert chunk_bounds(0, 4) == []
    with pytest.raises(ValueError):
        chunk_bounds(5, 0)


# ---------------------------------------------------------------------------------------------
# the all-pairs histogram


@pytest.mark.parametrize(
    "n,block",
    [
        (2500, 1000),  # a short last chunk
        (3000, 1000),  # chunk edges exactly at the end
        (1000, 1000),  # one chunk, exactly full
        (300, 1000),  # n < block: one diagonal block
        (7, 1),  # every chunk a single code: no diagonal pair, every pair off-diagonal
        (2, 1),
        (5000, None),  # the default chunk size
    ],
)
def test_distributed_histogram_equals_the_single_machine_one(client, n, block):
    codes = random_codes(n, 32, seed=n)
    expected = impostor_histogram(codes, 256)
    got = impostor_histogram_on(client, codes, 256, block=block)
    assert got.dtype == np.int64 and got.shape == (257,)
    np.testing.assert_array_equal(got, expected)
    assert got.sum() == n * (n - 1) // 2
    if n <= 300:
        np.testing.assert_array_equal(got, brute_force(codes, 256))


def test_clustered_codes_with_duplicates(client):
    codes = clustered_codes(2000, seed=3)
    got = impostor_histogram_on(client, codes, 256, block=333)
    np.testing.assert_array_equal(got, impostor_histogram(codes, 256))
    assert got[0] > 0 and got[1:7].sum() > 0  # the near-duplicate band is really exercised
    small = codes[:250]
    np.testing.assert_array_equal(impostor_histogram_on(client, small, 256, block=64), brute_force(small, 256))


@pytest.mark.parametrize("nbits", [42, 64, 128, 1024])
def test_other_code_lengths(client, nbits):
    nbytes = (nbits + 7) // 8
    codes = random_codes(400, nbytes, seed=nbits)
    if nbits % 8:
        codes[:, 0] &= (1 << (nbits % 8)) - 1  # colorhash's 42 bits: clear the padding bits
    got = impostor_histogram_on(client, codes, nbits, block=150)
    np.testing.assert_array_equal(got, brute_force(codes, nbits))
    np.testing.assert_array_equal(got, impostor_histogram(codes, nbits))


def test_fewer_than_two_codes_have_no_pairs(client):
    for n in (0, 1):
        got = impostor_histogram_on(client, random_codes(n, 8, 0), 64)
        assert got.shape == (65,) and got.sum() == 0


def test_bad_codes_are_refused_before_anything_is_sent(client):
    codes = np.full((10, 6), 0xFF, np.uint8)
    with pytest.raises(ValueError, match="above bit 42"):
        impostor_histogram_on(client, codes, 42)
    with pytest.raises(ValueError, match="uint8"):
        impostor_histogram_on(client, codes.astype(np.int32), 48)


def variants_of(codes: np.ndarray, seed: int) -> np.ndarray:
    """8 variants per code: itself and 7 copies with a few bits flipped (like pdq8's rotations)."""
    rng = np.random.default_rng(seed)
    bits = np.repeat(np.unpackbits(codes, axis=1)[:, None, :], 8, axis=1)
    flips = rng.random(bits.shape) < 0.05
    flips[:, 0] = False
    return np.packbits(bits ^ flips, axis=2)


@pytest.mark.parametrize("n,block", [(300, 70), (300, 300), (50, 100), (5, 1), (2000, None)])
def test_dihedral_histogram_equals_the_single_machine_one(client, n, block):
    codes = clustered_codes(n, seed=n)
    variants = variants_of(codes, seed=n)
    expected = variant_impostor_histogram(variants, codes, 256)
    got, _, _ = variant_impostor_pairs_on(client, variants, codes, 256, block=block)
    np.testing.assert_array_equal(got, expected)
    assert got.sum() == n * (n - 1) // 2  # unordered pairs: either direction matches


@pytest.mark.parametrize("n,block", [(300, 70), (7, 1), (120, 1000)])
def test_dihedral_per_image_counts_on_the_cluster_equal_the_local_ones(client, n, block):
    from hashbench.evaluate.dihedral import variant_impostor_histogram_with_counts

    codes = clustered_codes(n, seed=n + 2)
    variants = variants_of(codes, seed=n + 2)
    want_hist, want = variant_impostor_histogram_with_counts(variants, codes, 256, (0, 31))
    hist, counts = pair_histogram_on(client)(codes, 256, variants, thresholds=(0, 31))
    np.testing.assert_array_equal(hist, want_hist)
    np.testing.assert_array_equal(counts, want)
    if n > 100:
        assert counts[1].max() > 1


@pytest.mark.parametrize("n,block", [(2500, 1000), (700, 64), (7, 1), (300, 1000), (1, 10)])
def test_per_image_counts_on_the_cluster_equal_the_local_ones(client, n, block):
    """Each block's per-image counts of its two row ranges add up to the local counts, exactly
    (clustered codes: many matches, several chunks, a short last chunk)."""
    from hashbench.evaluate.distances import impostor_histogram_with_counts

    codes = clustered_codes(n, seed=n + 1)
    thresholds = (0, 31, 100)
    want_hist, want = impostor_histogram_with_counts(codes, 256, thresholds)
    hist, counts, _ = impostor_pairs_on(client, codes, 256, thresholds, 0, block=block)
    np.testing.assert_array_equal(hist, want_hist)
    np.testing.assert_array_equal(counts, want)
    assert counts.shape == (3, n)
    if n > 100:
        assert counts[1].max() > 1  # near-duplicates: the counts are really exercised
    hist, counts = pair_histogram_on(client)(codes, 256, thresholds=(31,))
    np.testing.assert_array_equal(counts, want[1:2])


@pytest.mark.parametrize("n,block,cap", [(700, 64, 25), (300, 1000, 10_000), (7, 1, 3)])
def test_pair_lists_on_the_cluster_equal_the_local_ones(client, n, block, cap):
    """Each block lists its own smallest pairs; merged, they are the local list exactly."""
    from hashbench.evaluate.pairs import impostor_pairs

    codes = clustered_codes(n, seed=n + 3)
    _, _, want = impostor_pairs(codes, 256, (0, 31), cap)
    _, _, got = impostor_pairs_on(client, codes, 256, (0, 31), cap, block=block)
    for w, g in zip(want, got, strict=True):
        assert (g.count, g.listed) == (w.count, w.listed)
        np.testing.assert_array_equal(np.stack([g.distance, g.a, g.b]), np.stack([w.distance, w.a, w.b]))


@pytest.mark.parametrize("n,block,cap", [(300, 70, 25), (120, 1000, 10_000), (7, 1, 3)])
def test_dihedral_pair_lists_on_the_cluster_equal_the_local_ones(client, n, block, cap):
    """Dihedral blocks list their own smallest pairs too; merged, they are the local list exactly,
    and the study's counter returns them (histogram, counts, lists)."""
    from hashbench.evaluate.pairs import variant_impostor_pairs

    codes = clustered_codes(n, seed=n + 4)
    variants = variants_of(codes, seed=n + 4)
    want_hist, want_counts, want = variant_impostor_pairs(variants, codes, 256, (0, 31), cap)
    hist, counts, got = variant_impostor_pairs_on(client, variants, codes, 256, (0, 31), cap, block=block)
    _, _, via_study = pair_histogram_on(client)(codes, 256, variants, thresholds=(0, 31), max_listed=cap)
    np.testing.assert_array_equal(hist, want_hist)
    np.testing.assert_array_equal(counts, want_counts)
    for w, g, s in zip(want, got, via_study, strict=True):
        assert (g.count, g.listed) == (w.count, w.listed) == (s.count, s.listed)
        np.testing.assert_array_equal(np.stack([g.distance, g.a, g.b]), np.stack([w.distance, w.a, w.b]))
        np.testing.assert_array_equal(np.stack([s.distance, s.a, s.b]), np.stack([w.distance, w.a, w.b]))
    if n > 100:
        assert want[1].count > 0  # near-duplicates: the lists are really exercised


@pytest.mark.parametrize("n,block,cap", [(700, 64, 5), (300, 1000, 10_000), (7, 1, 0)])
def test_counts_by_group_on_the_cluster_equal_the_local_ones(client, n, block, cap):
    """Each block's per-image-by-group counts (rows of its two chunks) add up to the local matrix,
    plain and dihedral, through the study's counter too, with the list cut short or not."""
    from hashbench.evaluate.pairs import impostor_pairs, variant_impostor_pairs

    codes = clustered_codes(n, seed=n + 5)
    variants = variants_of(codes, seed=n + 5)
    groups = (np.random.default_rng(n).integers(0, 3, n), 3)
    _, _, want = impostor_pairs(codes, 256, (0, 31), cap, groups=groups)
    _, _, got = impostor_pairs_on(client, codes, 256, (0, 31), cap, block=block, groups=groups)
    _, _, want_v = variant_impostor_pairs(variants, codes, 256, (0, 31), cap, groups)
    _, _, got_v = variant_impostor_pairs_on(client, variants, codes, 256, (0, 31), cap, block=block, groups=groups)
    _, _, via_study = pair_histogram_on(client)(codes, 256, variants, thresholds=(0, 31), max_listed=cap, groups=groups)
    for w, g, wv, gv, s in zip(want, got, want_v, got_v, via_study, strict=True):
        assert w.by_group is not None and wv.by_group is not None and w.by_group.shape == (n, 3)
        np.testing.assert_array_equal(g.by_group, w.by_group)
        np.testing.assert_array_equal(gv.by_group, wv.by_group)
        np.testing.assert_array_equal(s.by_group, wv.by_group)
    if n > 100:
        assert want[1].by_group.sum() == 2 * want[1].count > 2 * 100  # near-duplicates: really exercised


def test_pair_histogram_callable_for_studies(client):
    codes = clustered_codes(600, seed=9)
    variants = variants_of(codes, seed=9)
    f = pair_histogram_on(client)
    np.testing.assert_array_equal(f(codes, 256), impostor_histogram(codes, 256))
    np.testing.assert_array_equal(f(codes, 256, variants), variant_impostor_histogram(variants, codes, 256))


# ---------------------------------------------------------------------------------------------
# hashing and full runs on the cluster, against the same work done here


def test_a_client_is_an_executor_for_the_ordered_process_map(client):
    from hashbench.parallel import Executor, ordered_results

    assert isinstance(client, Executor)
    got = list(ordered_results(client, pow, ((i, 3) for i in range(40)), window=4))
    assert got == [i**3 for i in range(40)]  # in task order, whatever order the workers finished in


def test_hash_cli_on_a_local_cluster_writes_the_same_table(photo_paths, tmp_path, capsys):
    files = [str(p) for p in photo_paths[:8]]
    here, there = tmp_path / "here.parquet", tmp_path / "there.parquet"
    hashers = "pdq,pdq8,phash,colorhash,md5"
    assert main(["hash", *files, "--hasher", hashers, "--out", str(here), "--workers", "1", "--no-progress"]) == 0
    # `--cluster local` starts (and stops) a cluster of its own
    assert main(["hash", *files, "--hasher", hashers, "--out", str(there), "--cluster", "local", "--no-progress"]) == 0
    a, b = pq.read_table(here), pq.read_table(there)
    assert a.num_rows == 8 * 5 and a.column("hash_hex").null_count == 0
    assert a.equals(b)
    # The metadata is the same but for how this run went (issue 18): its timing (CPU beside wall)
    # and its decoding record, whose pixel limit follows each side's workers and memory.
    meta_a, meta_b = (json.loads(t.schema.metadata[b"hashbench"]) for t in (a, b))
    run_specific = ("timing", "decoding")
    assert {k: v for k, v in meta_a.items() if k not in run_specific} == {
        k: v for k, v in meta_b.items() if k not in run_specific
    }
    assert meta_a["decoding"]["decode"] == meta_b["decoding"]["decode"] == "full"
    assert set(meta_a["timing"]["hashers"]) == set(meta_b["timing"]["hashers"]) == set(hashers.split(","))
    assert set(a.schema.metadata) == set(b.schema.metadata)
    assert not (tmp_path / "there.parquet.parts").exists()


TINY_TOML = """
[run]
name = "tiny-cluster"
seed = 7
chunk_size = 5

[[references]]
dataset = "synthetic"
family = "mixed"
count = 8
size = 64
seed = 0

[[distractors]]
dataset = "synthetic"
family = "mixed"
count = 30
size = 64
seed = 1

[transforms]
custom = [{ kind = "hflip", name = "hflip" }, { kind = "jpeg", name = "jpeg_q50", quality = 50 }]

[hashers]
names = ["pdq", "pdq8", "phash", "md5"]
composites = ["md5|pdq"]

[thresholds]
pdq = 31
phash = 10

[statistics]
target_fprs = [0.1, 1e-6]
"""


def test_run_cli_on_the_cluster_gives_the_same_report(client, tmp_path, capsys):
    import tomllib

    config = parse_config(tomllib.loads(TINY_TOML), origin="tiny")
    here = run(config, out_root=tmp_path / "here", workers=1, progress=False)
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_TOML)
    assert (
        main(
            [
                "run",
                "--config",
                str(path),
                "--out",
                str(tmp_path / "there"),
                "--no-progress",
                "--cluster",
                client.scheduler.address,
            ]
        )
        == 0
    )
    there = json.loads((tmp_path / "there" / here.run_dir.name / "report.json").read_text())
    assert accuracy_differences(here.report, there) == []
    assert json.loads((here.run_dir / "report.json").read_text())["hashers"] == there["hashers"]
    assert there["timing"]["workers"] == 2  # the cluster's two worker threads
    assert there["hashers"]["pdq"]["impostor"]["n_images"] == 38
    assert there["hashers"]["pdq8"]["impostor"]["pairs"] == "unordered"  # dihedral too, also on the cluster
    # the work really ran on the cluster: hashing chunks and histogram blocks
    prefixes = client.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
    assert {"hash_chunk", "block_histogram", "variant_block_histogram"} <= set(prefixes)  # Dask drops the _


# ---------------------------------------------------------------------------------------------
# `hashbench impostors`


@pytest.fixture(scope="module")
def hash_table(tmp_path_factory):
    """A hash table of 400 pdq codes (with near-duplicates) and the codes themselves."""
    codes = np.concatenate([random_codes(250, 32, 5), clustered_codes(150, 6)])
    path = write_hash_table(tmp_path_factory.mktemp("impostors") / "hashes.parquet", "pdq", 256, codes, quality=100)
    return path, codes


def test_impostors_json_is_exact_here_and_on_the_cluster(client, hash_table, capsys):
    path, codes = hash_table
    hist = brute_force(codes, 256)
    outs = []
    for extra in ([], ["--cluster", client.scheduler.address, "--block", "128"]):
        assert (
            main(
                [
                    "impostors",
                    str(path),
                    "--hasher",
                    "pdq",
                    "--threshold",
                    "31,0,100",
                    "--json",
                    "--no-progress",
                    *extra,
                ]
            )
            == 0
        )
        outs.append(json.loads(capsys.readouterr().out))
    for out in outs:
        assert out["histogram"] == hist.tolist()
        assert out["n_images"] == 400 and out["n_pairs"] == 400 * 399 // 2
        assert [r["threshold"] for r in out["at_threshold"]] == [0, 31, 100]
        for r in out["at_threshold"]:
            k = int(hist[: r["threshold"] + 1].sum())
            low, high = clopper_pearson(k, out["n_pairs"], 0.05)
            assert (r["count"], r["n"]) == (k, out["n_pairs"])
            assert r["ci_low"] == pytest.approx(low, rel=1e-12) and r["ci_high"] == pytest.approx(high, rel=1e-12)
    assert outs[0]["computed_on"] == "this machine" and outs[0]["cluster"] is None
    assert outs[1]["cluster"] == client.scheduler.address and "2 worker threads" in outs[1]["computed_on"]
    assert outs[0]["at_threshold"] == outs[1]["at_threshold"]


def test_impostors_text_output_and_default_threshold(hash_table, capsys):
    path, codes = hash_table
    assert main(["impostors", str(path), "--hasher", "pdq", "--no-progress"]) == 0
    out = capsys.readouterr().out
    k = int(brute_force(codes, 256)[:32].sum())
    row = next(line for line in out.splitlines() if line.strip().startswith("31 "))
    assert f"{k:,}" in row and "79,800" in row  # pdq's named operating point, 31
    assert "per pair" in out


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--hasher", "phash"], "no hasher 'phash'"),
        (["--threshold", "300"], "outside 0..256"),
        (["--threshold", "x"], "whole distances"),
    ],
)
def test_impostors_usage_errors(hash_table, capsys, argv, needle):
    path, _ = hash_table
    assert main(["impostors", str(path), *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------------------------------------
# errors: an unreachable scheduler, Dask not installed


@pytest.mark.parametrize("command", ["hash", "run", "impostors"])
def test_unreachable_scheduler_is_one_line_exit_2(command, hash_table, photo_paths, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cluster_mod, "CONNECT_TIMEOUT", 1.0)
    address = f"tcp://127.0.0.1:{free_port()}"
    argv = {
        "hash": ["hash", str(photo_paths[0]), "--out", str(tmp_path / "h.parquet")],
        "run": ["run", "--out", str(tmp_path)],
        "impostors": ["impostors", str(hash_table[0])],
    }[command]
    assert main([*argv, "--cluster", address, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert f"cannot reach the Dask scheduler at {address} within 1 s" in err  # (usually: Connection refused)


def test_the_error_names_the_telling_cause_not_a_cancelled_retry():
    import asyncio

    def chained(*excs):
        for outer, inner in zip(excs, excs[1:]):
            outer.__cause__ = inner
        return excs[0]

    refused = ConnectionRefusedError(111, "Connection refused")
    assert cluster_mod._root_cause(chained(OSError("Timed out"), RuntimeError("comm"), refused)) == (
        "ConnectionRefusedError: [Errno 111] Connection refused"
    )
    assert cluster_mod._root_cause(chained(OSError("Timed out"), asyncio.CancelledError())) == "Timed out"


def test_unreachable_scheduler_from_the_shell(hash_table):
    address = f"tcp://127.0.0.1:{free_port()}"
    proc = subprocess.run(
        [sys.executable, "-m", "hashbench.cli", "impostors", str(hash_table[0]), "--cluster", address],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HASHBENCH_CLUSTER_TIMEOUT": "1"},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and address in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_scheduler_without_workers_is_refused_and_a_scheduler_file_works(tmp_path):
    from distributed import LocalCluster

    file = tmp_path / "scheduler.json"
    with LocalCluster(
        n_workers=0,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        scheduler_kwargs={"scheduler_file": str(file)},
    ) as empty:
        assert file.is_file()
        for address in (empty.scheduler_address, str(file)):
            with pytest.raises(UsageError, match=f"scheduler at {address} has no worker after 1 s"):
                connect(address, timeout=1)


def test_hash_cluster_needs_out(photo_paths, capsys):
    assert main(["hash", str(photo_paths[0]), "--cluster", "local"]) == 2
    assert "give --out" in capsys.readouterr().err


def test_without_dask_the_message_says_what_to_install(monkeypatch, hash_table, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now fails
    with pytest.raises(
        UsageError, match=r"pip install 'dask\[distributed\]' \(or install hashbench with its \[cluster\]"
    ):
        connect("local")
    assert main(["impostors", str(hash_table[0]), "--cluster", "local"]) == 2
    err = capsys.readouterr().err
    # no `pip install 'hashbench[cluster]'`: hashbench is on no package index (issue 19 item 3)
    assert "pip install 'dask[distributed]'" in err and "hashbench[" not in err


def test_cluster_workers_read_images_from_urls(client, tmp_path):
    """Workers read each image where it is (an fsspec URL) and decode it themselves."""
    from PIL import Image

    from hashbench.files import find_images
    from hashbench.hashers import get as get_hasher
    from hashbench.store import hash_files_to_table

    root = tmp_path / "imgs"
    root.mkdir()
    rng = np.random.default_rng(8)
    for i in range(9):
        Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(root / f"{i}.png")
    hashers = [get_hasher("pdq"), get_hasher("md5")]
    local = find_images([str(root)])
    urls = find_images([root.as_uri()])
    assert all(str(p).startswith("file://") for p in urls.paths) and urls.ids == local.ids
    _, on_cluster = hash_files_to_table(
        urls.paths,
        urls.ids,
        hashers,
        tmp_path / "c.parquet",
        workers=2,
        max_pixels=10**8,
        progress=False,
        client=client,
    )
    _, here = hash_files_to_table(
        local.paths, local.ids, hashers, tmp_path / "l.parquet", workers=1, max_pixels=10**8, progress=False
    )
    assert on_cluster.select(["id", "hasher", "hash_hex"]).equals(here.select(["id", "hasher", "hash_hex"]))


# ---------------------------------------------------------------------------------------------
# an item that kills the worker hashing it


def test_an_item_that_kills_its_worker_is_reported_by_id_and_its_chunk_is_hashed(client):
    """Dask retries a task whose worker died, then raises KilledWorker: the chunk is hashed again
    item by item, and only the killer is reported, as 'worker died (memory?)' like a local pool."""
    from hashbench.hashing import WORKER_DIED, LazySource, collect, hash_stream, resolve_hashers

    class Killer(LazySource):  # defined here, so it travels by value to the worker
        def materialise(self, item_id):
            os._exit(1)  # what the kernel's OOM killer does to the worker

    rng = np.random.default_rng(4)
    arrays = {f"img{i}": rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for i in range(6)}
    items = [(i, a) for i, a in arrays.items()]
    items.insert(2, ("bomb", Killer()))
    hashers = resolve_hashers(["pdq", "md5"])
    allowed = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures)
    client.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler, "allowed_failures", 0))  # 1 death each
    try:
        got = collect(hash_stream(items, hashers, workers=2, chunk_size=4, pool=client), hashers)
    finally:
        client.run_on_scheduler(lambda dask_scheduler, n=allowed: setattr(dask_scheduler, "allowed_failures", n))
        client.wait_for_workers(2, timeout=120)  # the nannies restart the killed workers
    assert got.ids == [i for i, _ in items]
    assert got.decode_errors == [None, None, WORKER_DIED, None, None, None, None]
    want = collect(hash_stream(list(arrays.items()), hashers, workers=1), hashers)
    for name in ("pdq", "md5"):
        keep = [i for i, x in enumerate(got.ids) if x != "bomb"]
        np.testing.assert_array_equal(got.codes[name][keep], want.codes[name])
        assert not got.ok[name][2] and got.ok[name][keep].all()


# ---------------------------------------------------------------------------------------------
# `[run] workers` in a config: the one --workers rule, and the cluster's slots with --cluster


def test_config_workers_follow_the_one_workers_rule(client, tmp_path, capsys):
    import tomllib

    from hashbench.cli.options import workers_count
    from hashbench.cpus import default_workers
    from hashbench.runner import _workers

    refs = '[[references]]\ndataset = "synthetic"\ncount = 2\n[hashers]\nnames = ["md5"]\n'

    def config(n):
        return parse_config(tomllib.loads(f"[run]\nworkers = {n}\n{refs}"), origin="w.toml")

    assert _workers(config(0), None, None) == default_workers() == workers_count("0")  # 0: every CPU
    assert _workers(config(3), None, None) == 3 == workers_count("3")
    assert _workers(config(3), workers_count("0"), None) == default_workers()  # --workers 0 means the same
    assert _workers(config(0), None, client) == 2  # on a cluster: its worker threads
    for bad, needle in (("-1", "must be 0 (all CPUs) or a positive count, got -1"), ('"2"', "whole number")):
        path = tmp_path / "w.toml"
        path.write_text(f"[run]\nworkers = {bad}\n{refs}")
        assert main(["run", "--config", str(path), "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.splitlines() == [err] and needle in err
    assert not (tmp_path / "o").exists()  # refused before any folder is made
