"""`hashbench run`: a configuration run end to end, resumable, with everything recorded.

:func:`run` is five steps, each a function here or in :mod:`hashbench.evaluate`:

1. **inputs** (:func:`_inputs`): the reference images (the list a platform matches against),
   every edit of the transform suite applied to every reference (the queries: genuine pairs),
   and the distractors (distinct images that must not match: impostor trials);
2. **hash stages** (:func:`_hash_stages`): each set hashed chunk by chunk in worker processes
   and checkpointed (:mod:`checkpoint`). Images are generated, decoded and edited inside the
   workers (:class:`hashing.LazySource`), so pixels never cross a process boundary;
3. **study each hasher** (:func:`_study_hashers`, :func:`hashbench.evaluate.study.study_hasher`)
   and time its indexes (:mod:`hashbench.evaluate.index_speed`);
4. **composites** (:func:`_study_composites`);
5. **build the report** (:func:`build_report`, the one owner of report.json's top-level shape,
   typed by :mod:`hashbench.schema`) and write it under ``results/<run-id>/``.

The run id is the configuration's name and digest: running the same configuration again
resumes the same folder and skips every chunk already saved.
"""

from __future__ import annotations

import datetime as _dt
import json
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from . import datasets as datasets_mod
from . import transforms as transforms_mod
from .checkpoint import atomic_write_text, hash_checkpointed
from .config import RunConfig
from .datasets.hashes import hash_list_provenance, listed_items, precomputed_result
from .datasets.synthetic import SyntheticDataset
from .errors import UsageError
from .evaluate.codes import Codes, PairCounter
from .evaluate.composite import composite_images, study_composite
from .evaluate.index_speed import index_throughput
from .evaluate.pairs import Evidence, ItemNames, composite_evidence, listed_summary
from .evaluate.settings import StudySettings
from .evaluate.study import study_hasher
from .hashers import Hasher
from .hashing import HashResult, LazySource, decode_settings, default_workers, open_pool, resolve_hashers
from .provenance import digest_lines, environment
from .schema import (
    SCHEMA,
    Composite,
    Failure,
    HasherResult,
    HashingRate,
    IndexTiming,
    InputPopulation,
    Inputs,
    PeakMemory,
    PopulationSet,
    Report,
    StageTiming,
    Timing,
)
from .sources import DatasetSource, EditSource, SignedSource

__all__ = ["run", "RunOutcome", "run_id", "build_report", "reproduce", "accuracy_differences", "REPORT_SCHEMA"]

#: The schema written (kept under its old name; defined once, in :mod:`hashbench.schema`).
REPORT_SCHEMA = SCHEMA


@dataclass
class RunOutcome:
    """Where a run was written and the report it wrote."""

    run_dir: Path
    report: Report


def run_id(config: RunConfig) -> str:
    """``<name>-<digest>``: the same configuration always gets the same folder (and resumes)."""
    return f"{config.name}-{config.digest()}"


@dataclass(frozen=True)
class RunInputs:
    """A run's images and edits.

    Before the hash stages, the rows of a synthetic dataset whose distinct draws are still to be
    searched are its first draws (``unsettled``: per set, each such dataset with its first row),
    and there are no queries yet; the hash stages settle those rows while hashing them
    (:func:`_settle`) and edit the settled references (:func:`_hash_stages`).
    """

    references: list[datasets_mod.Item]
    distractors: list[datasets_mod.Item]
    suite: list[transforms_mod.Transform]
    queries: list[tuple[str, EditSource]] = field(
        default_factory=list
    )  # (reference id + "#" + transform name, its edit)
    unsettled: dict[str, list[tuple[int, SyntheticDataset]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Hashed:
    """Every hasher's codes for the three stages, and how each stage went (timing-only)."""

    references: HashResult
    queries: HashResult
    distractors: HashResult
    stages: dict[str, StageTiming]

    def by_stage(self) -> tuple[tuple[str, HashResult], ...]:
        """(stage name, its codes) in the order the stages ran."""
        return (("references", self.references), ("queries", self.queries), ("distractors", self.distractors))


@dataclass(frozen=True)
class Studied:
    """Each hasher's report section, its genuine distances (for composites) and its timings."""

    hashers: dict[str, HasherResult]
    genuine: dict[str, npt.NDArray[np.int64]]
    seconds: dict[str, dict[str, float]]
    index: dict[str, IndexTiming]
    evidence: dict[str, Evidence] = field(default_factory=dict)  # hashers' and composites' listed items


def run(
    config: RunConfig,
    *,
    out_root: str | Path = "results",
    progress: bool | None = None,
    workers: int | None = None,
    write: bool = True,
    client: Any = None,
) -> RunOutcome:
    """Run ``config`` end to end (resuming saved chunks) and write its report.

    ``client``: a Dask client (:func:`hashbench.cluster.connect`); images are then hashed and
    impostor pairs counted on its workers, with results identical to a run on this machine.
    """
    progress = sys.stderr.isatty() if progress is None else progress
    started = time.perf_counter()
    created = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    workers = _workers(config, workers, client)
    run_dir = _run_dir(config, out_root)
    hashers = resolve_hashers(config.build_hashers())
    inputs = _inputs(config)
    atomic_write_text(run_dir / "config.json", json.dumps(config.to_dict(), indent=1, sort_keys=True, default=str))
    inputs, hashed = _hash_stages(inputs, hashers, config, run_dir, workers, progress, client)
    studied = _study_hashers(config, inputs, hashed, hashers, progress, _pair_counter(client, progress))
    composites = _study_composites(config, hashed, studied)
    report = build_report(
        config, inputs, hashed, studied, composites, hashers, created=created, workers=workers, started=started
    )
    if write:
        from .report import write_report
        from .report.gallery import image_maker

        tables = _item_tables(inputs, hashed, studied, [h.name for h in hashers])
        image_of = image_maker([*inputs.references, *inputs.distractors], inputs.suite, config.seed)
        first = inputs.references[0].id if inputs.references else None
        write_report(report, run_dir, tables, image_of, first)
    return RunOutcome(run_dir, report)


# --- 1. inputs -------------------------------------------------------------------------------


def _workers(config: RunConfig, workers: int | None, client: Any) -> int:
    """Worker processes to hash with: the cluster's slots, else as asked, else every CPU."""
    if client is not None:
        from .cluster import worker_slots

        return worker_slots(client)
    return workers or config.workers or default_workers()


def _run_dir(config: RunConfig, out_root: str | Path) -> Path:
    """``out_root/<run id>``, created (an existing one is resumed)."""
    run_dir = Path(out_root) / run_id(config)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {run_dir}: {exc.strerror or exc}; choose another --out") from None
    return run_dir


def _suite(config: RunConfig) -> list[transforms_mod.Transform]:
    if config.custom_transforms:
        return transforms_mod.build_suite(list(config.custom_transforms))
    if config.suite == "none":  # a false-positive-only study: no edited copies
        return []
    return transforms_mod.get_suite(config.suite)


def _items(specs: Sequence[Any]) -> tuple[list[datasets_mod.Item], list[tuple[int, SyntheticDataset]]]:
    """The items of ``specs`` in order, and each synthetic dataset whose distinct draws are still
    to be searched, with its first row: its rows are first draws until the hash stage, which
    generates them anyway, settles them (:func:`_settle`)."""
    items: list[datasets_mod.Item] = []
    unsettled: list[tuple[int, SyntheticDataset]] = []
    for spec in specs:
        dataset = datasets_mod.get(spec.dataset, **spec.params)
        if isinstance(dataset, SyntheticDataset) and not dataset.settled:
            unsettled.append((len(items), dataset))
            items.extend(dataset.first_draw(k) for k in range(len(dataset)))
        else:
            items.extend(dataset)
    return items, unsettled


def _inputs(config: RunConfig) -> RunInputs:
    """The references, distractors and edits of ``config`` (the edits' queries are made by the
    hash stages, from the settled references); ids must be unique, and no distractor may also be
    a reference (its pairs would be genuine, not impostor, trials)."""
    suite = _suite(config)
    refs, refs_unsettled = _items(config.references)
    dis, dis_unsettled = _items(config.distractors)
    ref_ids = {it.id for it in refs}
    if len(ref_ids) != len(refs):
        raise UsageError("two references have the same id; name each dataset once")
    clash = ref_ids.intersection(it.id for it in dis)
    if clash:
        raise UsageError(
            f"{len(clash)} distractors are also references (e.g. {sorted(clash)[0]}); "
            "use a different seed or dataset for distractors"
        )
    if suite and listed_items(refs, "references") is not None:
        raise UsageError(
            'references from a hash list have no pixels to edit: set [transforms] suite = "none" '
            "(a run on listed hashes measures impostor pairs only)"
        )
    return RunInputs(refs, dis, suite, unsettled={"references": refs_unsettled, "distractors": dis_unsettled})


def _queries(
    refs: Sequence[datasets_mod.Item], suite: Sequence[transforms_mod.Transform], seed: int
) -> list[tuple[str, EditSource]]:
    """Every edit of every reference: ``(reference id + "#" + transform name, its edit)``."""
    return [(f"{it.id}#{t.name}", EditSource(it, t, seed)) for it in refs for t in suite]


# --- 2. hash stages --------------------------------------------------------------------------


def _hash_stages(
    inputs: RunInputs,
    hashers: list[Hasher],
    config: RunConfig,
    run_dir: Path,
    workers: int,
    progress: bool,
    client: Any,
) -> tuple[RunInputs, Hashed]:
    """Hash references, queries and distractors (checkpointed, resumable) in one worker pool:
    the Dask client's, else a local pool when there is more than one worker.

    First draws of synthetic datasets (``inputs.unsettled``) report their signatures as they are
    hashed (:class:`SignedSource`); the redraws are searched from them (:func:`_settle`) and only
    the redrawn images are hashed again (stage ``<set>-redrawn``), so no image is generated once
    for the search and again for its hashes. The queries are the settled references' edits.
    Returns the settled inputs with their queries, and the hashes.
    """
    pool = client
    # one decoding for every stage and worker: decode mode, pixel limit (and how it was derived), profile
    settings = decode_settings(
        hashers, workers, max_pixels=config.max_pixels or None, decode=config.decode, profile=config.decode_profile
    )
    if client is None and workers > 1:
        pool = open_pool(hashers, workers, preload=("hashbench.sources",), settings=settings)

    def hash_stage(name: str, items: Sequence[tuple[str, LazySource]]) -> HashResult:
        res, stage = hash_checkpointed(
            name,
            items,
            hashers,
            run_dir,
            config.digest(),
            workers=workers,
            chunk_size=config.chunk_size,
            progress=progress,
            pool=pool,
            max_pixels=config.max_pixels or None,
            settings=settings,
        )
        stages[name] = cast(StageTiming, stage)
        return res

    stages: dict[str, StageTiming] = {}
    sets = {"references": list(inputs.references), "distractors": list(inputs.distractors)}
    queries: list[tuple[str, EditSource]] = []
    results: dict[str, HashResult] = {}
    try:
        for name in ("references", "queries", "distractors"):
            if name == "queries":
                queries = _queries(sets["references"], inputs.suite, config.seed)
                results[name] = hash_stage(name, queries)
                continue
            items = sets[name]
            listed = listed_items(items, name)
            if listed is not None:  # hashes from a list: taken as they are, nothing hashed
                results[name] = precomputed_result([it.id for it in items], listed, hashers)
                stages[name] = {"items": len(listed), "chunks": 0, "resumed_chunks": 0, "wall_seconds": 0.0}
                continue
            unsettled = inputs.unsettled.get(name, [])
            first = np.zeros(len(items), bool)
            for row, dataset in unsettled:
                first[row : row + len(dataset)] = True
            sources = [(it.id, SignedSource(it) if first[k] else DatasetSource(it)) for k, it in enumerate(items)]
            results[name] = hash_stage(name, sources)
            redrawn = _settle(items, results[name], unsettled)
            if redrawn:
                again = hash_stage(f"{name}-redrawn", [(items[k].id, DatasetSource(items[k])) for k in redrawn])
                _replace_rows(results[name], redrawn, again)
    finally:
        if pool is not None and pool is not client:
            pool.shutdown(wait=True, cancel_futures=True)
    settled = RunInputs(sets["references"], sets["distractors"], inputs.suite, queries)
    return settled, Hashed(results["references"], results["queries"], results["distractors"], stages)


def _settle(
    items: list[datasets_mod.Item], res: HashResult, unsettled: Sequence[tuple[int, SyntheticDataset]]
) -> list[int]:
    """Search each unsettled dataset's redraws from the signatures its first draws reported in
    ``res`` (:meth:`SyntheticDataset.settle`), put its settled items in ``items`` and return the
    rows that were redrawn: their hashes in ``res`` are the first draws', to be replaced."""
    redrawn: list[int] = []
    for row, dataset in unsettled:
        dataset.settle([SignedSource.signature_of(res.meta[row + k]) for k in range(len(dataset))])
        for k in range(len(dataset)):
            res.meta[row + k] = None  # a dataset item reports nothing (the signature is used up)
            item = items[row + k] = dataset.item(k)
            if item.redraw:
                redrawn.append(row + k)
    return redrawn


def _replace_rows(res: HashResult, rows: list[int], again: HashResult) -> None:
    """Put the rows of ``again`` (the images of ``rows``, hashed again) in their place in ``res``;
    the time taken to hash them is added to ``res``'s."""
    if again.ids != [res.ids[k] for k in rows]:
        raise AssertionError("the images hashed again are not the rows they replace")
    idx = np.asarray(rows)
    for name, codes in res.codes.items():
        codes[idx] = again.codes[name]
        for mine, theirs in (
            (res.quality[name], again.quality[name]),
            (res.variant_codes[name], again.variant_codes[name]),
        ):
            if mine is not None and theirs is not None:
                mine[idx] = theirs
        res.hash_seconds[name] = res.hash_seconds.get(name, 0.0) + again.hash_seconds.get(name, 0.0)
    for j, k in enumerate(rows):
        res.decode_errors[k] = again.decode_errors[j]
        for name, errors in res.hasher_errors.items():
            errors[k] = again.hasher_errors[name][j]
    res.decode_seconds += again.decode_seconds


# --- 3. study each hasher --------------------------------------------------------------------


def _pair_counter(client: Any, progress: bool) -> PairCounter | None:
    """Count impostor pairs on the cluster when there is one (same counts), else locally."""
    if client is None:
        return None
    from .cluster import pair_histogram_on

    return pair_histogram_on(client, progress=progress)


def _codes(res: HashResult, name: str) -> Codes:
    return Codes(codes=res.codes[name], ok=res.ok[name], quality=res.quality[name], variants=res.variant_codes[name])


def _group(item: datasets_mod.Item) -> str:
    """What kind of image an item is, for per-group false-positive rates: the synthetic content
    family, else the dataset's name."""
    src = item.source
    return str(src.get("content_family") or src.get("dataset") or "other")


def _query_ref(inputs: RunInputs, hashed: Hashed) -> npt.NDArray[np.int64]:
    """The reference row each query (``<reference id>#<transform>``) was edited from."""
    ref_row = {it.id: i for i, it in enumerate(inputs.references)}
    return np.array([ref_row[qid.rsplit("#", 1)[0]] for qid in hashed.queries.ids], dtype=np.int64)


def _population(config: RunConfig, inputs: RunInputs, hashed: Hashed) -> InputPopulation:
    """The images of each set by family: redraws (synthetic draws made distinct) and, with a
    quality hasher, how many hashes fall below the quality floor (the hard low-texture cases)."""
    from .datasets.distinct import CRITERION

    quality_name = next((h.name for h in hashed.references.hashers if h.has_quality), None)
    out: InputPopulation = {
        "criterion": CRITERION,
        "distinct": all(
            spec.params.get("distinct", True) not in (False, "false", "no", "0")
            for spec in (*config.references, *config.distractors)
            if spec.dataset == "synthetic"
        ),
        "references": {},
        "distractors": {},
    }
    for key, items, res in (
        ("references", inputs.references, hashed.references),
        ("distractors", inputs.distractors, hashed.distractors),
    ):
        quality, ok = (res.quality.get(quality_name), res.ok[quality_name]) if quality_name else (None, None)
        table: dict[str, PopulationSet] = {}
        for k, it in enumerate(items):
            entry = table.setdefault(_group(it), {"images": 0, "redrawn": 0, "redraws": 0})
            redraw = int(it.source.get("redraw", 0))
            entry["images"] += 1
            entry["redrawn"] += int(redraw > 0)
            entry["redraws"] += redraw
            if quality is not None and ok is not None and ok[k]:
                entry["low_quality"] = entry.get("low_quality", 0) + int(quality[k] < config.quality_floor)
        out[key] = table  # type: ignore[literal-required]
    return out


def _settings(config: RunConfig, h: Hasher, progress: bool, counter: PairCounter | None) -> StudySettings:
    return StudySettings(
        name=h.name,
        threshold=config.thresholds[h.name],
        dihedral=config.matching == "dihedral" and h.variants > 1,
        quality_floor=config.quality_floor if h.has_quality else None,
        seed=config.seed,
        alpha=config.alpha,
        target_fprs=config.target_fprs,
        list_sizes=config.list_sizes,
        volume_per_year=config.volume_per_year,
        list_size=config.list_size,
        progress=progress,
        pair_histogram=counter,
        exact=h.exact,
        max_listed=config.max_listed,
    )


def _study_hashers(
    config: RunConfig,
    inputs: RunInputs,
    hashed: Hashed,
    hashers: list[Hasher],
    progress: bool,
    counter: PairCounter | None,
) -> Studied:
    """Evaluate every hasher on its codes (:func:`study_hasher`) and time its indexes."""
    query_ref = _query_ref(inputs, hashed)
    query_transform = [qid.rsplit("#", 1)[1] for qid in hashed.queries.ids]
    groups = ([_group(it) for it in inputs.references], [_group(it) for it in inputs.distractors])
    studied = Studied({}, {}, {}, {})
    for h in hashers:
        refs, dis = _codes(hashed.references, h.name), _codes(hashed.distractors, h.name)
        studied.evidence[h.name] = ev = Evidence()
        res, studied.genuine[h.name], studied.seconds[h.name] = study_hasher(
            h.nbits,
            refs,
            _codes(hashed.queries, h.name),
            query_ref,
            query_transform,
            dis,
            _settings(config, h, progress, counter),
            groups=groups,
            evidence=ev,
        )
        assert ev.population is not None  # made by the study: the run always gives the groups
        studied.hashers[h.name] = {
            **res,
            "listed": listed_summary(ev),
            "population": ev.population,
            "library": h.library,
            "library_version": h.library_version(),
            "kind": h.kind,
            "exact": h.exact,
            "variants": h.variants,
        }
        backend = h.describe().get("backend")  # which implementation computed the codes (PDQ: numba or pdqhash)
        if backend is not None:
            studied.hashers[h.name]["backend"] = str(backend)
        preprocess = h.describe().get("preprocess")  # a step before hashing (pdq+unletterbox), with its setting
        if isinstance(preprocess, dict):
            studied.hashers[h.name]["preprocess"] = preprocess
        studied.index[h.name] = index_throughput(refs, dis, config.thresholds[h.name])
    return studied


# --- 4. composites ---------------------------------------------------------------------------


def _study_composites(config: RunConfig, hashed: Hashed, studied: Studied) -> dict[str, Composite]:
    """Each composite on the images every one of its parts hashed (:func:`study_composite`)."""
    composites: dict[str, Composite] = {}
    for spec in config.composite_specs:
        names = spec.names
        dihedral = [n for n in names if studied.hashers[n]["matching"] == "dihedral"]
        images = composite_images(
            {n: _codes(hashed.references, n) for n in names},
            {n: _codes(hashed.distractors, n) for n in names},
            names,
            dihedral,
        )
        parts = [(n, config.thresholds[n], n in dihedral) for n in names]
        sets = (hashed.references, hashed.distractors)
        ref_rows, dis_rows = (np.flatnonzero(np.logical_and.reduce([res.ok[n] for n in names])) for res in sets)
        ev = composite_evidence(
            [(images[n], t, d) for n, t, d in parts], spec.op, ref_rows, dis_rows, config.max_listed
        )
        composites[spec.text] = study_composite(spec.op, parts, studied.genuine, images, config.alpha, ev)
        studied.evidence[spec.text] = ev
        composites[spec.text]["listed"] = listed_summary(ev)
    return composites


def _item_tables(inputs: RunInputs, hashed: Hashed, studied: Studied, hasher_names: list[str]) -> Any:
    """The rows of the per-item files (:class:`hashbench.report.writers.ItemTables`), by id."""
    from .evaluate import pairs
    from .report.writers import ItemTables

    names = ItemNames(
        ref_ids=[it.id for it in inputs.references],
        dis_ids=[it.id for it in inputs.distractors],
        ref_groups=[_group(it) for it in inputs.references],
        dis_groups=[_group(it) for it in inputs.distractors],
        query_ids=list(hashed.queries.ids),
        query_transform=[qid.rsplit("#", 1)[1] for qid in hashed.queries.ids],
        query_ref=_query_ref(inputs, hashed),
    )
    tables = ItemTables(matchers=list(studied.evidence))
    for name, ev in studied.evidence.items():
        quality = (hashed.references.quality.get(name), hashed.distractors.quality.get(name))
        tables.false_matches += pairs.false_match_rows(name, ev, names, quality)
        if name in hasher_names:
            q = hashed.queries.quality.get(name)
            tables.misses += pairs.miss_rows(name, ev, names, studied.genuine[name], q)
    n_ref, n_dis = len(names.ref_ids), len(names.dis_ids)
    columns = [pairs.per_image_column(ev, n_ref, n_dis) for ev in studied.evidence.values()]
    ids = [*names.ref_ids, *names.dis_ids]
    kinds = ["reference"] * n_ref + ["distractor"] * n_dis
    groups = [*names.ref_groups, *names.dis_groups]
    tables.per_image = [(ids[k], kinds[k], groups[k], *(c[k] for c in columns)) for k in range(len(ids))]
    return tables


# --- 5. the report ---------------------------------------------------------------------------


def build_report(
    config: RunConfig,
    inputs: RunInputs,
    hashed: Hashed,
    studied: Studied,
    composites: dict[str, Composite],
    hashers: list[Hasher],
    *,
    created: str,
    workers: int,
    started: float,
) -> Report:
    """report.json, whole: the one place its top-level shape is written (:class:`Report`).

    ``created`` (ISO date), ``workers`` and ``started`` (``time.perf_counter()`` at the start)
    feed the timing-only section; ``wall_seconds`` runs until this report is built.
    """
    report: Report = {
        "schema": SCHEMA,
        "run_id": run_id(config),
        "config": config.to_dict(),
        "seed": config.seed,
        "environment": cast(Any, environment()),
        "inputs": _inputs_section(config, inputs, hashed),
        "hashers": studied.hashers,
        "composites": composites,
        "timing": _timing_section(hashed, studied, hashers, created, workers),
    }
    report["timing"]["wall_seconds"] = time.perf_counter() - started
    return report


def _input_manifest(items: Sequence[datasets_mod.Item]) -> list[str]:
    return [f"{it.id}\t{json.dumps(dict(it.source), sort_keys=True, default=str)}" for it in items]


def _inputs_section(config: RunConfig, inputs: RunInputs, hashed: Hashed) -> Inputs:
    """What was measured: the images (with a digest of each set), the edits and every failure;
    a set whose hashes came from lists names each list with its digest (``hash_lists``)."""
    section: Inputs = {
        "references": {
            "count": len(inputs.references),
            "datasets": [s.label() for s in config.references],
            "digest": digest_lines(_input_manifest(inputs.references)),
        },
        "distractors": {
            "count": len(inputs.distractors),
            "datasets": [s.label() for s in config.distractors],
            "digest": digest_lines(_input_manifest(inputs.distractors)),
        },
        "queries": {
            "count": len(inputs.queries),
            "suite": config.suite if not config.custom_transforms else "custom",
            "transforms": [cast(Any, t.describe()) for t in inputs.suite],
        },
        "failures": [f for stage, res in hashed.by_stage() for f in _failures(stage, res)],
        "population": _population(config, inputs, hashed),
    }
    for input_set, items in ((section["references"], inputs.references), (section["distractors"], inputs.distractors)):
        lists = hash_list_provenance(items)
        if lists:
            input_set["hash_lists"] = cast(Any, lists)
    return section


def _failures(stage: str, res: HashResult) -> list[Failure]:
    """Every image that could not be made or decoded, and every hash that failed, in order."""
    out: list[Failure] = []
    for i, item_id in enumerate(res.ids):
        decode_error = res.decode_errors[i]
        if decode_error is not None:
            out.append({"stage": stage, "id": item_id, "hasher": None, "reason": decode_error})
            continue
        for name, errs in res.hasher_errors.items():
            hash_error = errs[i]
            if hash_error is not None:
                out.append({"stage": stage, "id": item_id, "hasher": name, "reason": hash_error})
    return out


def _timing_section(hashed: Hashed, studied: Studied, hashers: list[Hasher], created: str, workers: int) -> Timing:
    """The timing-only section; ``wall_seconds`` is filled in last, by :func:`build_report`."""
    n_images = sum(stage["items"] for stage in hashed.stages.values())
    make_secs = sum(res.decode_seconds for _, res in hashed.by_stage())
    return {
        "created": created,
        "workers": workers,
        "stages": hashed.stages,
        "evaluation_seconds": studied.seconds,
        "make_images_per_second_per_core": (n_images / make_secs) if make_secs > 0 else None,
        "hashing": _hashing_rates(hashed, hashers),
        "index": studied.index,
        "peak_memory_mib": _peak_memory_mib(),
        "wall_seconds": None,
    }


def _hashing_rates(hashed: Hashed, hashers: list[Hasher]) -> dict[str, HashingRate]:
    """Images hashed per CPU-second, per hasher; a hasher computed with another (``pdq`` is
    variant 0 of ``pdq8``) costs nothing of its own and says which one it shared."""
    names = {h.name for h in hashers}
    rates: dict[str, HashingRate] = {}
    for h in hashers:
        secs = sum(res.hash_seconds[h.name] for _, res in hashed.by_stage())
        n_ok = int(sum(res.ok[h.name].sum() for _, res in hashed.by_stage()))
        rates[h.name] = {
            "images": n_ok,
            "cpu_seconds": secs,
            "images_per_second_per_core": (n_ok / secs) if secs > 0 else None,
            "shared_with": h.same_as_variant0_of if secs == 0 and h.same_as_variant0_of in names else None,
        }
    return rates


def _peak_memory_mib() -> PeakMemory:
    kib_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kib_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"main_process": round(kib_self / 1024, 1), "largest_worker": round(kib_children / 1024, 1)}


# --- reproduction ----------------------------------------------------------------------------


def accuracy_differences(report_a: Report, report_b: Report) -> list[str]:
    """Every accuracy figure that differs between two reports (timing fields are ignored).

    :func:`hashbench.report.schema.accuracy_differences`, imported when first needed: the
    report package brings the plotting libraries, which a run needs only to write its files.
    """
    from .report.schema import accuracy_differences as differences

    return differences(report_a, report_b)


def reproduce(
    report_path: str | Path,
    *,
    out_root: str | Path,
    workers: int | None = None,
    progress: bool | None = None,
    client: Any = None,
    allowed_commands: frozenset[str] = frozenset(),
) -> tuple[RunOutcome, list[str], list[str]]:
    """Run the configuration recorded in a report again, from scratch, and compare.

    Returns (the new run, accuracy differences, library versions that differ). Nothing is
    reused from the original run: the new run writes under ``out_root/reproduce-<timestamp>``.
    A report is untrusted input: a program it names runs only if ``allowed_commands`` (the user's
    ``--allow-command``) names that exact command.
    """
    from .config import config_from_dict
    from .report.schema import load_report
    from .report.schema import report_path as _report_file

    original = load_report(report_path)  # a clear UsageError for every way the file can be wrong
    config = config_from_dict(
        original["config"], origin=str(_report_file(report_path)), allowed_commands=allowed_commands
    )
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
