"""Write a run's report files from its report dict.

``write_report(report, run_dir)`` writes report.json and then renders every other file *from the
JSON it just wrote*, read back: so a run's files and ``hashbench report RUN`` (which re-renders from
report.json) are byte for byte the same. The set is written all or nothing (:func:`_publish`): a
full disk leaves no report.json without its other files. Files in ``run_dir``:

* ``report.json``: the record (NaN and infinity written as null);
* ``metrics.csv``: rates at every threshold, long format (:func:`hashbench.report.metrics.metrics_rows`);
* ``metrics_by_group.csv``: per-pair FPR within each image group at every threshold
  (:func:`hashbench.report.metrics.group_metrics_rows`; header only with a single group);
* ``failures.csv``: every image or hash that failed (header only when none did);
* ``report.md`` and ``report.html``: the same content (:mod:`.document`), the HTML self-contained;
* ``plots/*.png``: the figures (:mod:`.plots`).

``hashbench run`` also writes the per-item files (:data:`ITEM_FILES`, :class:`ItemTables`): the
false matches, the missed edits and every image's number of false matches, by id. They are data
rather than renderings (a run of 550,000 images has a row per image), so they are not in
report.json, which states their true counts (``listed`` of each matcher); ``hashbench report``
leaves them as they are.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import check_target
from ..errors import UsageError
from ..schema import Report
from .document import Figure, build_document
from .gallery import Gallery, build_gallery, gallery_files, load_gallery, read_rows
from .html import render_html
from .markdown import render_markdown
from .metrics import (
    FAILURE_COLUMNS,
    GROUP_METRICS_COLUMNS,
    METRICS_COLUMNS,
    failure_rows,
    group_metrics_rows,
    metrics_rows,
)
from .plots import PLOTS, render_plots
from .schema import REPORT_FILE, check_report

__all__ = [
    "write_report",
    "render_report",
    "render_files",
    "render_items",
    "to_json",
    "REPORT_FILES",
    "ITEM_FILES",
    "ItemTables",
    "FALSE_MATCH_COLUMNS",
    "MISS_COLUMNS",
    "PER_IMAGE_COLUMNS",
    "csv_bytes",
]

#: Every file a report consists of (plots/ holds a PNG for each figure of ``hashbench.report.plots.PLOTS``
#: that the report shows: a run without edited copies has no ROC, DET or heat map).
REPORT_FILES: tuple[str, ...] = (
    REPORT_FILE,
    "metrics.csv",
    "metrics_by_group.csv",
    "failures.csv",
    "report.md",
    "report.html",
    "plots",
)


#: The per-item files of a run folder (docs/report-schema.md, "Per-item files").
ITEM_FILES: tuple[str, ...] = ("false_matches.csv", "misses.csv", "per_image.csv")
FALSE_MATCH_COLUMNS: tuple[str, ...] = (
    "hasher",
    "threshold",
    "id_a",
    "id_b",
    "distance",
    "quality_a",
    "quality_b",
    "group_a",
    "group_b",
    "gated",
)
MISS_COLUMNS: tuple[str, ...] = (
    "hasher",
    "threshold",
    "transform",
    "reference_id",
    "query_id",
    "distance",
    "quality",
    "gated",
)
#: ``per_image.csv`` starts with these; then one column per matcher (its false matches).
PER_IMAGE_COLUMNS: tuple[str, ...] = ("id", "set", "group")


@dataclass
class ItemTables:
    """The rows of the per-item files (strings, already named by id; :mod:`hashbench.evaluate.pairs`
    makes them). ``per_image[k]`` is image ``k``'s (id, set, group, count per matcher of
    ``matchers``), a count "" when that matcher did not hash the image."""

    false_matches: list[tuple[str, ...]] = field(default_factory=list)
    misses: list[tuple[str, ...]] = field(default_factory=list)
    matchers: list[str] = field(default_factory=list)
    per_image: Sequence[tuple[str, ...]] = field(default_factory=list)


def _clean(x: Any) -> Any:
    """JSON has no NaN or infinity: write them as null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if hasattr(x, "item") and callable(x.item):  # numpy scalars
        return _clean(x.item())
    return x


def to_json(report: Mapping[str, Any]) -> str:
    """The report as JSON text, NaN and infinity as null (strict JSON, readable by any tool)."""
    return json.dumps(_clean(report), indent=1, sort_keys=False, allow_nan=False) + "\n"


def _readable(path: Path) -> None:
    """Give a written file the usual permissions (0644 under umask 022): the atomic writer's
    temporary files are private (0600), but reports are meant to be shared and served."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def _csv(columns: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def render_files(report: Report, gallery: Gallery | None = None) -> dict[str, bytes]:
    """Every report file except report.json, rendered in memory: name (``plots/x.png``) -> bytes.

    Rendering completes before anything is written, so a failure while rendering leaves no file.
    ``gallery``: the run's thumbnails (:mod:`.gallery`), written to ``thumbs/`` and embedded.
    """
    check_report(report)
    files = {
        "metrics.csv": _csv(METRICS_COLUMNS, metrics_rows(report)),
        "metrics_by_group.csv": _csv(GROUP_METRICS_COLUMNS, group_metrics_rows(report)),
        "failures.csv": _csv(FAILURE_COLUMNS, failure_rows(report)),
    }
    out = {name: text.encode("utf-8") for name, text in files.items()}
    blocks = build_document(report, gallery)
    plots = render_plots(report, [b.name for b in blocks if isinstance(b, Figure)])
    out.update({f"plots/{name}": png for name, png in plots.items()})
    out["report.md"] = render_markdown(blocks).encode("utf-8")
    title = f"hashbench report: {report['run_id']}"
    out["report.html"] = render_html(blocks, plots, title, gallery.thumbs if gallery else None).encode("utf-8")
    if gallery is not None:
        out.update(gallery_files(gallery))
    return out


def _publish(out: Path, files: dict[str, bytes], again: str) -> list[Path]:
    """Write ``files`` into ``out`` all or nothing: report.json, when among them, appears last.

    Every file is first written and fsync'ed in a staging folder inside ``out``; only when all are
    there are they renamed into place (renames need no space), so a full disk or a dead process
    while writing leaves the previous set (or none) and no half of the new one. ``again`` says
    how to retry in the one-line error.
    """
    stage: Path | None = None
    try:
        out.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".report-", dir=out))
        for name, data in files.items():
            (stage / name).parent.mkdir(parents=True, exist_ok=True)
            _write_file(stage / name, data)
        for name in files:
            (out / name).parent.mkdir(exist_ok=True)  # plots/, thumbs/
        order = sorted(files, key=lambda name: name == REPORT_FILE)
        for name in order:
            check_target(out / name)
        for name in order:
            os.replace(stage / name, out / name)
        if any(name.startswith("plots/") for name in files):
            for name in PLOTS:  # a figure an earlier rendering drew and this one does not show
                if f"plots/{name}" not in files:
                    (out / "plots" / name).unlink(missing_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot write the report into {out}: {exc.strerror or exc}; {again}") from None
    finally:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
    return [out / name for name in files]


def _write_file(path: Path, data: bytes) -> None:
    """One staged file, on disk (fsync'ed) and readable by all (reports are shared and served)."""
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    _readable(path)


def _item_notes(report: Report) -> list[str]:
    """One comment line per matcher: its true counts beside what is listed (the files may be cut
    short at ``max_listed``; the counts never are)."""
    lines = []
    sections: list[tuple[str, Mapping[str, Any]]] = [(k, v) for k, v in report["hashers"].items()]
    sections += [(k, v) for k, v in report.get("composites", {}).items()]
    for name, sec in sections:
        li = sec.get("listed")
        if li is None:
            continue
        parts = ", ".join(f"{k} {v}" for k, v in sec.get("parts", {}).items())
        at = f" at threshold {li['threshold']}" if "threshold" in li else f" at thresholds {parts}"
        text = f"# {name}{at}: {li['false_matches']:,} false matches, {li['false_matches_listed']:,} listed"
        if "misses" in li:
            text += f"; {li['misses']:,} missed edits, {li['misses_listed']:,} listed"
        lines.append(text + f" (at most {li['max_listed']:,} each)")
    return lines


def csv_bytes(columns: Sequence[str], rows: Sequence[Sequence[str]], notes: Sequence[str]) -> bytes:
    """A CSV file: ``#`` comment lines (``notes``), the header, the rows."""
    buf = io.StringIO()
    for note in notes:
        buf.write(note.replace("\n", " ") + "\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def render_items(report: Report, items: ItemTables) -> dict[str, bytes]:
    """The per-item files in memory. Each starts with ``#`` comment lines stating every matcher's
    true counts (skip the lines starting with ``#``; not pandas' ``comment="#"``, which cuts ids
    holding a ``#``, as every edited copy's does)."""
    notes = _item_notes(report)
    return {
        "false_matches.csv": csv_bytes(FALSE_MATCH_COLUMNS, items.false_matches, notes),
        "misses.csv": csv_bytes(MISS_COLUMNS, items.misses, notes),
        "per_image.csv": csv_bytes(
            (*PER_IMAGE_COLUMNS, *items.matchers),
            items.per_image,
            ["# false matches of each image at each matcher's threshold ('' = not hashed by it)", *notes],
        ),
    }


def render_report(report: Report, out_dir: str | Path) -> list[Path]:
    """Write every file except report.json into ``out_dir`` from a report dict; returns the paths.

    ``report`` should be as read from report.json (``hashbench.report.load_report``): that is
    what makes two renderings of one run identical. The set is replaced all or nothing.
    """
    out = Path(out_dir)
    return _publish(out, render_files(report, _saved_gallery(out)), "free some space and run `hashbench report` again")


def _saved_gallery(out: Path) -> Gallery | None:
    """The gallery a run wrote (``thumbs/``), re-rendered as it is: no image is made again."""
    folder = out / "thumbs"
    if not folder.is_dir():
        return None
    return load_gallery({f"thumbs/{p.name}": p.read_bytes() for p in folder.iterdir() if p.is_file()})


def write_report(
    report: Report,
    run_dir: str | Path,
    items: ItemTables | None = None,
    image_of: Callable[[str], Any] | None = None,
    reference: str | None = None,
) -> Path:
    """Write report.json and every other report file rendered from it into ``run_dir``, all or nothing.

    The other files are rendered from the JSON text read back, as ``hashbench report`` does, and
    report.json is renamed into place last: its presence means the whole set is there. ``items``:
    the per-item files (:data:`ITEM_FILES`), written in the same set. ``image_of(id)``: re-makes
    an image of the run for the gallery (none without it); ``reference``: the one every edit is
    shown on.
    """
    out = Path(run_dir)
    text = to_json(report)
    read_back = json.loads(text)
    rendered = render_items(read_back, items) if items is not None else {}
    gallery = None
    if image_of is not None:
        rows = rendered.get("false_matches.csv"), rendered.get("misses.csv")
        gallery = build_gallery(read_back, read_rows(rows[0]), read_rows(rows[1]), image_of, reference)
    files = {REPORT_FILE: text.encode("utf-8"), **render_files(read_back, gallery), **rendered}
    _publish(out, files, "free some space and run the same command again (its saved hashes are reused)")
    return out
