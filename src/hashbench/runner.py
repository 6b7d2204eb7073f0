"""`hashbench run`: a configuration run end to end, resumable, with everything recorded.

Stages, each hashed chunk by chunk in worker processes and checkpointed (:mod:`checkpoint`):

1. **references**: the known images (the list a platform matches against);
2. **queries**: every edit of the transform suite applied to every reference (genuine pairs);
3. **distractors**: distinct images that must not match (impostor trials).

Images are generated, decoded and edited inside the workers (:class:`hashing.LazySource`), so
pixels never cross a process boundary. Then each hasher is evaluated (:mod:`evaluate.study`),
the index is timed, and the report is written under ``results/<run-id>/``. The run id is the
configuration's name and digest: running the same configuration again resumes the same folder
and skips every chunk already saved.
"""

from __future__ import annotations

import datetime as _dt
import json
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import datasets as datasets_mod
from . import transforms as transforms_mod
from .checkpoint import atomic_write_text, hash_checkpointed
from .config import RunConfig
from .errors import UsageError
from .evaluate.study import Codes, StudySettings, study_composite, study_hasher
from .hashers import Hasher
from .hashing import HashResult, LazySource, default_workers, open_pool, resolve_hashers
from .provenance import digest_lines, environment
from .sources import DatasetSource, EditSource

__all__ = ["run", "RunOutcome", "run_id", "REPORT_SCHEMA"]

REPORT_SCHEMA = "hashbench.report/1"


# ---------------------------------------------------------------------------------------------


@dataclass
class RunOutcome:
    run_dir: Path
    report: dict[str, Any]


def run_id(config: RunConfig) -> str:
    return f"{config.name}-{config.digest()}"


def _build(specs) -> list[datasets_mod.Item]:
    items: list[datasets_mod.Item] = []
    for spec in specs:
        ds = datasets_mod.get(spec.dataset, **spec.params)
        items.extend(ds)
    return items


def _suite(config: RunConfig) -> list[transforms_mod.Transform]:
    if config.custom_transforms:
        return transforms_mod.build_suite(list(config.custom_transforms))
    if config.suite == "none":  # a false-positive-only study: no edited copies
        return []
    return transforms_mod.get_suite(config.suite)


def _hash_stage(
    name: str,
    items: Sequence[tuple[str, LazySource]],
    hashers: list[Hasher],
    config: RunConfig,
    run_dir: Path,
    workers: int,
    progress: bool,
    pool,
) -> tuple[HashResult, dict[str, Any]]:
    return hash_checkpointed(
        name,
        items,
        hashers,
        run_dir,
        config.digest(),
        workers=workers,
        chunk_size=config.chunk_size,
        progress=progress,
        pool=pool,
    )


def _group(item: datasets_mod.Item) -> str:
    """What kind of image an item is, for per-group false-positive rates: the synthetic content
    family, else the dataset's name."""
    src = item.source
    return str(src.get("content_family") or src.get("dataset") or "other")


def _codes(res: HashResult, h: Hasher) -> Codes:
    return Codes(
        codes=res.codes[h.name], ok=res.ok[h.name], quality=res.quality[h.name], variants=res.variant_codes[h.name]
    )


def _failures(stage: str, res: HashResult) -> list[dict[str, Any]]:
    out = []
    for i, item_id in enumerate(res.ids):
        if res.decode_errors[i] is not None:
            out.append({"stage": stage, "id": item_id, "hasher": None, "reason": res.decode_errors[i]})
            continue
        for name, errs in res.hasher_errors.items():
            if errs[i] is not None:
                out.append({"stage": stage, "id": item_id, "hasher": name, "reason": errs[i]})
    return out


def _index_throughput(h: Hasher, refs: Codes, distractors: Codes, radius: int) -> dict[str, Any]:
    """Build and query times of both indexes on this run's references and distractors."""
    from .index import FlatIndex, MIHIndex

    xb = refs.codes[refs.ok]
    xq = distractors.codes[distractors.ok]
    if len(xb) == 0 or len(xq) == 0:
        return {}
    nbits = 8 * xb.shape[1]
    out: dict[str, Any] = {"n_listed": int(len(xb)), "n_queries": int(len(xq)), "radius": radius}
    results = {}
    for label, cls in (("flat", FlatIndex), ("mih", MIHIndex)):
        t0 = time.perf_counter()
        index = cls(nbits)
        index.add(xb)
        if isinstance(index, MIHIndex):
            index.build()  # time the table build here, not inside the first query
        build = time.perf_counter() - t0
        index.range_search(xq[:2], radius)  # compile outside the timed call
        t1 = time.perf_counter()
        lims, D, I = index.range_search(xq, radius)
        query = time.perf_counter() - t1
        results[label] = (lims, I)
        out[label] = {
            "build_seconds": build,
            "query_seconds": query,
            "queries_per_second": len(xq) / query if query > 0 else None,
            "bytes_per_code": float(index.nbytes_per_code),
        }
    out["identical_results"] = bool(
        np.array_equal(results["flat"][0], results["mih"][0])
        and all(
            np.array_equal(np.sort(results["flat"][1][a:b]), np.sort(results["mih"][1][a:b]))
            for a, b in zip(results["flat"][0][:-1], results["flat"][0][1:])
        )
    )
    return out


def _peak_memory_mib() -> dict[str, float]:
    kib_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kib_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"main_process": round(kib_self / 1024, 1), "largest_worker": round(kib_children / 1024, 1)}


def _input_manifest(items: Sequence[datasets_mod.Item]) -> list[str]:
    return [f"{it.id}\t{json.dumps(dict(it.source), sort_keys=True, default=str)}" for it in items]


def run(
    config: RunConfig,
    *,
    out_root: str | Path = "results",
    progress: bool | None = None,
    workers: int | None = None,
    write: bool = True,
    client=None,
) -> RunOutcome:
    """Run ``config`` end to end (resuming saved chunks) and write its report.

    ``client``: a Dask client (:func:`hashbench.cluster.connect`); images are then hashed and
    impostor pairs counted on its workers, with results identical to a run on this machine.
    """
    if progress is None:
        progress = sys.stderr.isatty()
    started = time.perf_counter()
    created = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    workers = workers or config.workers or default_workers()
    if client is not None:
        from .cluster import pair_histogram_on, worker_slots

        workers = worker_slots(client)
    rid = run_id(config)
    run_dir = Path(out_root) / rid
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {run_dir}: {exc.strerror or exc}; choose another --out") from None
    hashers = resolve_hashers(config.build_hashers())
    suite = _suite(config)

    ref_items = _build(config.references)
    dis_items = _build(config.distractors)
    ref_ids = {it.id for it in ref_items}
    if len(ref_ids) != len(ref_items):
        raise UsageError("two references have the same id; name each dataset once")
    clash = ref_ids.intersection(it.id for it in dis_items)
    if clash:
        raise UsageError(
            f"{len(clash)} distractors are also references (e.g. {sorted(clash)[0]}); "
            "use a different seed or dataset for distractors"
        )
    atomic_write_text(run_dir / "config.json", json.dumps(config.to_dict(), indent=1, sort_keys=True, default=str))

    stages: dict[str, Any] = {}
    queries_in = [(f"{it.id}#{t.name}", EditSource(it, t, config.seed)) for it in ref_items for t in suite]
    pool = (
        client
        if client is not None
        else (open_pool(hashers, workers, preload=("hashbench.sources",)) if workers > 1 else None)
    )
    try:
        refs, stages["references"] = _hash_stage(
            "references",
            [(it.id, DatasetSource(it)) for it in ref_items],
            hashers,
            config,
            run_dir,
            workers,
            progress,
            pool,
        )
        queries, stages["queries"] = _hash_stage(
            "queries", queries_in, hashers, config, run_dir, workers, progress, pool
        )
        dis, stages["distractors"] = _hash_stage(
            "distractors",
            [(it.id, DatasetSource(it)) for it in dis_items],
            hashers,
            config,
            run_dir,
            workers,
            progress,
            pool,
        )
    finally:
        if pool is not None and pool is not client:
            pool.shutdown(wait=True, cancel_futures=True)

    ref_row = {it.id: i for i, it in enumerate(ref_items)}
    query_ref = np.array([ref_row[qid.rsplit("#", 1)[0]] for qid in queries.ids], dtype=np.int64)
    query_transform = [qid.rsplit("#", 1)[1] for qid in queries.ids]

    ref_groups = [_group(it) for it in ref_items]
    dis_groups = [_group(it) for it in dis_items]
    results: dict[str, Any] = {}
    genuine: dict[str, np.ndarray] = {}
    eval_seconds: dict[str, Any] = {}
    index_perf: dict[str, Any] = {}
    for h in hashers:
        dihedral = config.matching == "dihedral" and h.variants > 1
        settings = StudySettings(
            name=h.name,
            threshold=config.thresholds[h.name],
            dihedral=dihedral,
            quality_floor=config.quality_floor if h.has_quality else None,
            seed=config.seed,
            alpha=config.alpha,
            target_fprs=config.target_fprs,
            list_sizes=config.list_sizes,
            volume_per_year=config.volume_per_year,
            list_size=config.list_size,
            progress=progress,
            pair_histogram=None if client is None else pair_histogram_on(client, progress=progress),
        )
        res, genuine[h.name], eval_seconds[h.name] = study_hasher(
            h.nbits,
            _codes(refs, h),
            _codes(queries, h),
            query_ref,
            query_transform,
            _codes(dis, h),
            settings,
            groups=(ref_groups, dis_groups),
        )
        res.update(
            {
                "library": h.library,
                "library_version": h.library_version(),
                "kind": h.kind,
                "exact": h.exact,
                "variants": h.variants,
            }
        )
        results[h.name] = res
        index_perf[h.name] = _index_throughput(h, _codes(refs, h), _codes(dis, h), config.thresholds[h.name])

    composites: dict[str, Any] = {}
    by_name = {h.name: h for h in hashers}
    for comp in config.composites:
        op, names = config.composite_parts(comp)
        common_r = np.logical_and.reduce([refs.ok[n] for n in names])
        common_d = np.logical_and.reduce([dis.ok[n] for n in names])
        images = {}
        for n in names:
            v = None
            if results[n]["matching"] == "dihedral":
                v = np.concatenate([refs.variant_codes[n][common_r], dis.variant_codes[n][common_d]])
            images[n] = Codes(
                codes=np.concatenate([refs.codes[n][common_r], dis.codes[n][common_d]]),
                ok=np.ones(int(common_r.sum() + common_d.sum()), bool),
                variants=v,
            )
        parts = [(n, config.thresholds[n], results[n]["matching"] == "dihedral") for n in names]
        composites[comp] = study_composite(op, parts, genuine, images, config.alpha)

    transforms_info = [t.describe() for t in suite]
    n_images = {k: v["items"] for k, v in stages.items()}
    hashing_rates = {}
    for h in hashers:
        secs = refs.hash_seconds[h.name] + queries.hash_seconds[h.name] + dis.hash_seconds[h.name]
        n_ok = int(refs.ok[h.name].sum() + queries.ok[h.name].sum() + dis.ok[h.name].sum())
        hashing_rates[h.name] = {
            "images": n_ok,
            "cpu_seconds": secs,
            "images_per_second_per_core": (n_ok / secs) if secs > 0 else None,
            "shared_with": h.same_as_variant0_of if secs == 0 and h.same_as_variant0_of in by_name else None,
        }
    make_secs = refs.decode_seconds + queries.decode_seconds + dis.decode_seconds
    report: dict[str, Any] = {
        "schema": REPORT_SCHEMA,
        "run_id": rid,
        "config": config.to_dict(),
        "seed": config.seed,
        "environment": environment(),
        "inputs": {
            "references": {
                "count": len(ref_items),
                "datasets": [s.label() for s in config.references],
                "digest": digest_lines(_input_manifest(ref_items)),
            },
            "distractors": {
                "count": len(dis_items),
                "datasets": [s.label() for s in config.distractors],
                "digest": digest_lines(_input_manifest(dis_items)),
            },
            "queries": {
                "count": len(queries_in),
                "suite": config.suite if not config.custom_transforms else "custom",
                "transforms": transforms_info,
            },
            "failures": _failures("references", refs) + _failures("queries", queries) + _failures("distractors", dis),
        },
        "hashers": results,
        "composites": composites,
        "timing": {
            "created": created,
            "workers": workers,
            "stages": stages,
            "evaluation_seconds": eval_seconds,
            "make_images_per_second_per_core": (sum(n_images.values()) / make_secs) if make_secs > 0 else None,
            "hashing": hashing_rates,
            "index": index_perf,
            "peak_memory_mib": _peak_memory_mib(),
            "wall_seconds": None,
        },
    }
    report["timing"]["wall_seconds"] = time.perf_counter() - started
    if write:
        from .report import write_report

        write_report(report, run_dir)
    return RunOutcome(run_dir, report)


# ---------------------------------------------------------------------------------------------
# Reproduction

#: Top-level report keys that hold accuracy figures and inputs: identical for the same config and
#: seed on any machine with the same library versions. Everything else is timing or provenance.
ACCURACY_KEYS = ("config", "seed", "inputs", "hashers", "composites")


def _differences(a: Any, b: Any, path: str, out: list[str], limit: int = 50) -> None:
    if len(out) >= limit:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: present in only one report")
            else:
                _differences(a[k], b[k], f"{path}.{k}", out, limit)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} entries vs {len(b)}")
        else:
            for i, (x, y) in enumerate(zip(a, b)):
                _differences(x, y, f"{path}[{i}]", out, limit)
    elif a != b:
        out.append(f"{path}: {a!r} vs {b!r}")


def accuracy_differences(report_a: dict[str, Any], report_b: dict[str, Any]) -> list[str]:
    """Every accuracy figure that differs between two reports (timing fields are ignored)."""
    from .report.writers import to_json

    a = json.loads(to_json({k: report_a.get(k) for k in ACCURACY_KEYS}))
    b = json.loads(to_json({k: report_b.get(k) for k in ACCURACY_KEYS}))
    out: list[str] = []
    _differences(a, b, "report", out)
    return out


def reproduce(
    report_path: str | Path,
    *,
    out_root: str | Path,
    workers: int | None = None,
    progress: bool | None = None,
    client=None,
) -> tuple[RunOutcome, list[str], list[str]]:
    """Run the configuration recorded in a report again, from scratch, and compare.

    Returns (the new run, accuracy differences, library versions that differ). Nothing is
    reused from the original run: the new run writes under ``out_root/reproduce-<timestamp>``.
    """
    from .config import config_from_dict

    path = Path(report_path)
    if path.is_dir():
        path = path / "report.json"
    try:
        original = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read report {path}: {exc}") from None
    if original.get("schema") != REPORT_SCHEMA:
        raise UsageError(f"{path} is not a hashbench report ({REPORT_SCHEMA})")
    config = config_from_dict(original["config"], origin=str(path))
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S")
    outcome = run(
        config, out_root=Path(out_root) / f"reproduce-{stamp}", progress=progress, workers=workers, client=client
    )
    versions_a = original.get("environment", {}).get("versions", {})
    versions_b = outcome.report["environment"]["versions"]
    changed = [
        f"{k}: {versions_a.get(k)} -> {versions_b.get(k)}"
        for k in sorted(set(versions_a) | set(versions_b))
        if versions_a.get(k) != versions_b.get(k)
    ]
    return outcome, accuracy_differences(original, outcome.report), changed
