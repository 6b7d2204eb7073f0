"""Hash lists made elsewhere, read into checked codes: one reader per format, behind a Registry.

Why: a licensee measuring PhotoDNA or NeuralHash, or a platform that already holds a list made by
python-threatexchange, the C++ ``pdq-photo-hasher``, perception or imagehash, has hashes but not
always the images (or not the same decoder). hashbench can count impostor pairs and run a study on
those hashes directly; the report then says they came from a list, with the file's SHA-256.

Formats (``FORMATS``; ``format="auto"`` recognises each from its first bytes, docs/interop.md):

==========  =================================================================================
parquet     the table ``hashbench hash --out`` writes (:mod:`hashbench.store`)
csv         the same table as CSV (``hashbench hash --format csv``): a header with ``hash_hex``
lines       ``hash[,quality][,id]`` per line, as the C++ ``pdq-photo-hasher`` prints
            (``hash,quality,filename``; its ``-d`` form ``hash=...,quality=...,filename=...``
            too); two fields are ``hash,quality`` when the second is a whole number, else
            ``hash,id``
tx          python-threatexchange: ``SIGNAL_TYPE HASH`` per line (what ``tx hash`` prints and
            its local-file collaboration reads), or a bare ``HASH`` per line; other signal
            types are counted and left out
perception  perception's CSV (``BenchmarkHashes``, ``compute(..., hash_format="base64")``): a
            header with ``hash``; hashes base64 (or hex), ids from ``filepath`` (else ``guid``);
            rows of another ``hasher_name`` are left out
imagehash   imagehash / imagededup hex: a JSON object ``{id: hex}`` (``encode_images``) or
            lines ``hex`` / ``id hex`` / ``id,hex`` (the hash last)
==========  =================================================================================

Every row is untrusted: each goes through :func:`hashbench.table_check.checked_codes` (the width
is the installed hasher's, the hex exactly that many digits, the quality empty or 0-100). A bad
row is reported by line number (by its id in a Parquet table, which has no lines) with its
reason, never padded or guessed; a list with no sound row at all is a one-line error. Rows without an id are named
``FILE:LINE`` so lists read together never share ids.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import UsageError
from .registry import Registry

__all__ = [
    "FORMATS",
    "HashList",
    "RawRow",
    "TX_SIGNAL_TYPES",
    "detect_format",
    "read_hash_list",
    "write_hash_list",
    "check_tx_hashers",
    "OUT_FORMATS",
]

#: python-threatexchange's signal-type name of each hashbench hasher it knows (``SignalType.get_name()``).
TX_SIGNAL_TYPES: dict[str, str] = {"pdq": "pdq"}

#: The most bytes a text hash list may have before it is refused (a list of 10 million PDQ hashes
#: with ids is about 1 GB); a bound so a wrong path (a disk image) fails in one line.
MAX_TEXT_BYTES = 4 << 30


@dataclass(frozen=True)
class RawRow:
    """One row of a list as written: where it is (``line`` 1-based, or a Parquet row), its id,
    hasher, width, hex, quality and error, before any check."""

    where: str
    id: str
    hasher: str
    nbits: int | None
    hash_hex: str | None
    quality: Any = None
    error: str | None = None
    variants_hex: list[str] | None = None
    problem: str | None = None  # found while parsing (bad base64, ...): the row is bad


@dataclass(frozen=True)
class HashList:
    """The sound rows of one hasher in a list, and everything left out with the reason.

    ``quality[i]`` is -1 where the list gives none (``quality`` is None when no row has one);
    ``variants`` is ``(n, 8, nbytes)`` when every sound row has its 8 dihedral variants (pdq8 in
    a hashbench table), else None. ``bad`` holds (where, reason) of rows that failed a check;
    ``failed`` (id, reason) of rows the list itself marks as failed images; ``other`` counts rows
    of other hashers or signal types.
    """

    path: str
    format: str
    sha256: str
    hasher: str
    nbits: int
    ids: list[str]
    codes: npt.NDArray[np.uint8]
    quality: npt.NDArray[np.int16] | None
    variants: npt.NDArray[np.uint8] | None = None
    rows: list[str] = field(default_factory=list)
    bad: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    other: int = 0

    def provenance(self) -> dict[str, Any]:
        """What a report records of the list: path, digest, format, hasher and row counts."""
        return {
            "path": self.path,
            "sha256": self.sha256,
            "format": self.format,
            "hasher": self.hasher,
            "nbits": self.nbits,
            "rows": len(self.ids),
            "bad_rows": len(self.bad),
            "failed_rows": len(self.failed),
        }


#: A reader: (file bytes, file name for ids and messages, hasher wanted) -> raw rows and the
#: number of rows of other hashers left out.
Reader = Callable[[bytes, str, str], tuple[list[RawRow], int]]

#: Every hash-list format by name (the one idiom of :mod:`hashbench.registry`).
FORMATS: Registry[tuple[list[RawRow], int]] = Registry(
    "hash-list format", "hashbench.hashlist_formats", plural="hash-list formats"
)


# --- reading ---------------------------------------------------------------------------------


def read_hash_list(
    path: str | os.PathLike[str],
    hasher: str = "pdq",
    *,
    format: str = "auto",
    skip_bad_rows: bool = False,
) -> HashList:
    """Read, check and decode one hasher's hashes from a list file (see the module docstring).

    Bad rows refuse the list in one line naming the first three by line (``skip_bad_rows`` keeps
    the sound rows and lists the bad ones in :attr:`HashList.bad`); a list with no sound row of
    ``hasher`` is refused either way.
    """
    name = os.fspath(path)
    data = _read_bytes(name)
    fmt = detect_format(data, name) if format == "auto" else format
    if fmt not in FORMATS:
        raise UsageError(FORMATS.unknown_message(fmt))
    rows, other = FORMATS.get(fmt, data, Path(name).name, hasher)
    try:
        got = _checked(rows, hasher, fmt, other)
    except UsageError as exc:
        raise UsageError(f"{name}: {exc}") from None
    out = HashList(
        path=name,
        format=fmt,
        sha256=hashlib.sha256(data).hexdigest(),
        hasher=hasher,
        nbits=got.nbits,
        ids=got.ids,
        codes=got.codes,
        quality=got.quality,
        variants=got.variants,
        rows=got.rows,
        bad=got.bad,
        failed=got.failed,
        other=other,
    )
    if not out.ids:
        reasons = "; ".join(f"{w}: {r}" for w, r in out.bad[:3]) or f"{other:,} rows of other hashers, none of it"
        raise UsageError(f"{name}: no usable {hasher} hash in this {fmt} list ({reasons})")
    if out.bad and not skip_bad_rows:
        listed = "; ".join(f"{w}: {r}" for w, r in out.bad[:3]) + ("; ..." if len(out.bad) > 3 else "")
        raise UsageError(f"{name}: {len(out.bad):,} bad {hasher} rows, nothing used ({listed}); fix the list")
    return out


def _read_bytes(name: str) -> bytes:
    try:
        size = os.stat(name).st_size
        if size > MAX_TEXT_BYTES:
            raise UsageError(f"{name}: {size:,} bytes is larger than any hash list hashbench reads")
        with open(name, "rb") as f:
            return f.read()
    except IsADirectoryError:
        raise UsageError(f"{name} is a folder, not a hash list") from None
    except OSError as exc:
        raise UsageError(f"cannot read hash list {name}: {exc.strerror or exc}") from None


def detect_format(data: bytes, name: str = "the list") -> str:
    """The format of a list from its first bytes (Parquet magic, JSON, a CSV header, a first line)."""
    if data[:4] == b"PAR1":
        return "parquet"
    text = _text(data, name)
    first = next((ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
    if not first:
        raise UsageError(f"{name} is empty: no hash in it")
    if first.startswith("{"):
        return "imagehash"
    header = [c.strip().lower() for c in next(csv.reader([first]))]
    if "hash_hex" in header:
        return "csv"
    if "hash" in header and ({"hasher_name", "filepath", "guid"} & set(header)):
        return "perception"
    if first.startswith("hash="):
        return "lines"
    words = first.split()
    if len(words) == 2 and words[0] in {*TX_SIGNAL_TYPES.values(), "video_md5", "photo_md5", "md5", "url", "raw_text"}:
        return "tx"
    if len(words) >= 2 and "," not in first and _is_hex(words[-1]):
        return "imagehash"
    if _is_hex(first.split(",")[0].strip()):
        return "lines"
    raise UsageError(
        f"cannot tell the format of {name} from its first line {first[:60]!r}; "
        f"give it (one of: {', '.join(FORMATS.names())})"
    )


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{name} is not UTF-8 text (byte {exc.start}) nor a Parquet table") from None


def _is_hex(word: str) -> bool:
    digits = word.lower().removeprefix("0x")
    return bool(digits) and all(c in "0123456789abcdef" for c in digits)


@dataclass
class _Checked:
    nbits: int
    ids: list[str]
    codes: npt.NDArray[np.uint8]
    quality: npt.NDArray[np.int16] | None
    variants: npt.NDArray[np.uint8] | None
    rows: list[str]
    bad: list[tuple[str, str]]
    failed: list[tuple[str, str]]


def _checked(rows: list[RawRow], hasher: str, fmt: str, other: int) -> _Checked:
    """Every row through :func:`checked_codes` (as a hashbench table), bad ones named by line."""
    import pyarrow as pa

    from .store import SCHEMA
    from .table_check import checked_codes, declared_nbits

    if not rows:
        raise UsageError(
            f"no {hasher} row in this {fmt} list" + (f" ({other:,} rows of other hashers)" if other else "")
        )
    where: dict[str, str] = {}
    bad: list[tuple[str, str]] = []
    kept: list[RawRow] = []
    for r in rows:
        problem = r.problem or _typed_problem(r)
        if problem:
            bad.append((r.where, problem))
        elif r.id in where:
            bad.append((r.where, f"id {r.id!r} again (first at {where[r.id]})"))
        else:
            where[r.id] = r.where
            kept.append(r)
    width = declared_nbits(hasher)
    cols = {
        "id": [r.id for r in kept],
        "hasher": [hasher] * len(kept),
        "nbits": [r.nbits if r.nbits is not None else (width or 0) for r in kept],
        "hash_hex": [r.hash_hex for r in kept],
        "quality": [r.quality for r in kept],
        "variants_hex": [r.variants_hex for r in kept],
        "error": [r.error if r.hash_hex is None else None for r in kept],
    }
    schema = SCHEMA.set(SCHEMA.get_field_index("quality"), pa.field("quality", pa.float64()))
    got = checked_codes(pa.Table.from_pydict(cols, schema=schema), hasher)
    bad += [(where[i], reason) for i, reason in got.bad]
    by_id = {r.id: r for r in kept}
    failed = [(r.id, r.error or "failed") for r in kept if r.hash_hex is None]
    quality = _quality([by_id[i].quality for i in got.ids])
    variants = _variants([by_id[i].variants_hex for i in got.ids], got.nbits)
    return _Checked(got.nbits, got.ids, got.codes, quality, variants, [where[i] for i in got.ids], bad, failed)


def _typed_problem(r: RawRow) -> str | None:
    """What a text list can hold that a table's typed columns cannot: a word as nbits or quality."""
    if r.nbits is not None and (isinstance(r.nbits, bool) or not isinstance(r.nbits, int)):
        return f"nbits {r.nbits!r} is not a whole number"
    if r.nbits is not None and not -(2**31) <= r.nbits < 2**31:
        return f"nbits {r.nbits!r} is out of range"
    if r.quality is not None and (isinstance(r.quality, bool) or not isinstance(r.quality, (int, float))):
        return f"quality {r.quality!r} is not a number"
    return None


def _quality(values: list[Any]) -> npt.NDArray[np.int16] | None:
    out = [-1 if q is None or q != q else int(q) for q in values]  # q != q: NaN
    return np.array(out, dtype=np.int16) if any(q >= 0 for q in out) else None


def _variants(values: list[list[str] | None], nbits: int) -> npt.NDArray[np.uint8] | None:
    """The dihedral variants when every row has 8 sound ones, else None (then pdq8 cannot be matched)."""
    from .bits import codes_from_hex

    if not values or any(v is None or len(v) != 8 for v in values):
        return None
    try:
        return np.stack([codes_from_hex(v, nbits) for v in values if v is not None])
    except ValueError:
        return None


# --- one reader per format -------------------------------------------------------------------


@FORMATS.register("parquet", description="the table `hashbench hash --out` writes")
def _read_parquet(data: bytes, name: str, hasher: str) -> tuple[list[RawRow], int]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(data))
    except (OSError, pa.ArrowInvalid) as exc:
        raise UsageError(f"cannot read hash table {name}: {exc}") from None
    return _table_rows(table.to_pylist(), name, hasher, by_line=False)


def _table_rows(records: list[dict[str, Any]], name: str, hasher: str, by_line: bool) -> tuple[list[RawRow], int]:
    """Rows of ``hasher`` from a hashbench table's records: CSV rows are named by line, Parquet
    rows (which have no lines) by their id."""
    need = {"id", "hasher", "nbits", "hash_hex"}
    if records and not need <= set(records[0]):
        missing = sorted(need - set(records[0]))
        raise UsageError(f"{name} is not a hashbench hash table (missing columns: {', '.join(missing)})")
    rows, others = [], set()
    for n, rec in enumerate(records, start=2):  # a CSV's first line is its header
        if rec.get("hasher") != hasher:
            others.add(str(rec.get("hasher")))
            continue
        rows.append(
            RawRow(
                f"line {n}" if by_line else str(rec.get("id")),
                str(rec.get("id")),
                hasher,
                rec.get("nbits"),
                rec.get("hash_hex"),
                rec.get("quality"),
                rec.get("error") or None,
                rec.get("variants_hex"),
            )
        )
    if not rows:
        raise UsageError(f"no hasher {hasher!r} in this table; it has: {', '.join(sorted(others)) or 'no rows'}")
    return rows, len(records) - len(rows)


@FORMATS.register("csv", description="a hashbench table as CSV (`hashbench hash --format csv`)")
def _read_csv(data: bytes, name: str, hasher: str) -> tuple[list[RawRow], int]:
    records = list(csv.DictReader(io.StringIO(_text(data, name))))
    for rec in records:  # CSV cannot tell an empty field from a null: empty is null
        rec["hash_hex"] = rec.get("hash_hex") or None
        rec["nbits"] = _whole_or_text(rec.get("nbits"))
        rec["quality"] = _quality_value(rec.get("quality"))
    return _table_rows(records, name, hasher, by_line=True)


def _whole_or_text(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def _quality_value(text: Any) -> Any:
    """A quality as written: empty is missing, a number is a number, anything else stays text
    (and is then reported by the check as "not a number")."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        return float(text)
    except (TypeError, ValueError):
        return str(text)


def _lines(data: bytes, name: str) -> list[tuple[int, str]]:
    """(line number, text) of every line that is not blank or a ``#`` comment."""
    text = _text(data, name)
    return [(n, ln.strip()) for n, ln in enumerate(text.splitlines(), start=1) if ln.strip() and ln.lstrip()[0] != "#"]


def _width(hasher: str, digits: str) -> int:
    """The width a row is checked against: the installed hasher's, else what its hex holds."""
    from .table_check import declared_nbits

    return declared_nbits(hasher) or 4 * len(digits.removeprefix("0x"))


@FORMATS.register("lines", description="hash[,quality][,id] per line (pdq-photo-hasher: hash,quality,filename)")
def _read_lines(data: bytes, name: str, hasher: str) -> tuple[list[RawRow], int]:
    rows = []
    for n, line in _lines(data, name):
        if line.startswith("hash="):
            fields = dict(part.partition("=")[::2] for part in line.split(",", 5))
            hx, quality, ident = fields.get("hash", ""), fields.get("quality"), fields.get("filename")
            if "filename=" in line:  # a file name may hold commas: everything after "filename="
                ident = line.split("filename=", 1)[1]
        else:
            parts = [p.strip() for p in line.split(",", 2)]
            hx, quality, ident = parts[0], None, None
            if len(parts) == 3:
                quality, ident = parts[1], parts[2]
            elif len(parts) == 2:
                quality, ident = (parts[1], None) if parts[1].isdigit() else (None, parts[1])
        rows.append(
            RawRow(f"line {n}", ident or f"{name}:{n}", hasher, _width(hasher, hx), hx, _quality_value(quality))
        )
    return rows, 0


@FORMATS.register("tx", description="python-threatexchange: 'SIGNAL_TYPE HASH' or 'HASH' per line")
def _read_tx(data: bytes, name: str, hasher: str) -> tuple[list[RawRow], int]:
    want = TX_SIGNAL_TYPES.get(hasher, hasher)
    rows, other = [], 0
    for n, line in _lines(data, name):
        signal_type, _, signal = line.partition(" ")
        if not signal:
            signal_type, signal = want, line
        if signal_type != want:
            other += 1
            continue
        signal = signal.strip()
        rows.append(RawRow(f"line {n}", f"{name}:{n}", hasher, _width(hasher, signal), signal))
    return rows, other


@FORMATS.register("perception", description="perception's CSV: a 'hash' column in base64 (or hex)")
def _read_perception(data: bytes, name: str, hasher: str) -> tuple[list[RawRow], int]:
    from .table_check import declared_nbits

    reader = csv.DictReader(io.StringIO(_text(data, name)))
    if "hash" not in (reader.fieldnames or []):
        raise UsageError(f"{name} has no 'hash' column; perception's CSV has one")
    rows, other = [], 0
    width = declared_nbits(hasher)
    for n, rec in enumerate(reader, start=2):
        if rec.get("hasher_name") not in (None, "", hasher):
            other += 1
            continue
        ident = rec.get("filepath") or rec.get("guid") or f"{name}:{n}"
        text = (rec.get("hash") or "").strip()
        error = (rec.get("error") or "").strip() or None
        if not text:
            rows.append(RawRow(f"line {n}", ident, hasher, width, None, error=error or "no hash"))
            continue
        hx, problem = _perception_hex(text, width)
        rows.append(RawRow(f"line {n}", ident, hasher, width or 4 * len(hx), hx, problem=problem))
    return rows, other


def _perception_hex(text: str, width: int | None) -> tuple[str, str | None]:
    """A perception hash as hex: hex when it is exactly the width's digits, else base64 bytes."""
    if width is not None and len(text) == -(-width // 4) and _is_hex(text):
        return text.lower(), None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return "", f"hash {text[:80]!r} is neither base64 nor {width} bits of hex"
    if width is not None and len(raw) != -(-width // 8):
        return "", f"base64 hash holds {len(raw)} bytes, not {-(-width // 8)} ({width} bits)"
    return raw.hex(), None


@FORMATS.register("imagehash", description="imagehash/imagededup hex: JSON {id: hex} or 'hex' / 'id hex' lines")
def _read_imagehash(data: bytes, name: str, hasher: str) -> tuple[list[RawRow], int]:
    text = _text(data, name).strip()
    if text.startswith("{"):
        try:
            mapping = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{name} is not valid JSON: {exc}") from None
        return [
            RawRow(f"entry {n}", str(k), hasher, _width(hasher, str(v)), v if isinstance(v, str) else repr(v))
            for n, (k, v) in enumerate(mapping.items(), start=1)
        ], 0
    rows = []
    for n, line in _lines(data, name):
        head, _, hx = line.replace(",", " ").rpartition(" ")
        rows.append(RawRow(f"line {n}", line[: len(head)].strip() or f"{name}:{n}", hasher, _width(hasher, hx), hx))
    return rows, 0


# --- writing ---------------------------------------------------------------------------------


def check_tx_hashers(hashers: list[str]) -> None:
    """A tx list holds only hashers python-threatexchange has a signal type for (checked before hashing)."""
    unknown = [h for h in hashers if h not in TX_SIGNAL_TYPES]
    if unknown:
        raise UsageError(
            f"--format tx holds only hashers python-threatexchange knows ({', '.join(TX_SIGNAL_TYPES)}); "
            f"not {', '.join(unknown)}"
        )


#: What ``hashbench hash --format`` writes.
OUT_FORMATS = ("parquet", "csv", "tx")

CSV_COLUMNS = ("id", "hasher", "nbits", "hash_hex", "quality", "error")


def write_hash_list(table: Any, out: io.TextIOBase | Any, fmt: str, hashers: list[str]) -> int:
    """Write a hashbench table (:mod:`hashbench.store`) as ``csv`` or ``tx`` text to ``out``.

    ``csv`` is the table's columns but ``variants_hex``; ``tx`` is ``pdq HASH`` per hashed image,
    what python-threatexchange's local-file collaboration loads for its ``pdq`` signal type (no id
    or quality: that format has none). Returns the number of rows written.
    """
    if fmt == "csv":
        w = csv.writer(out, lineterminator="\n")
        w.writerow(CSV_COLUMNS)
        n = 0
        for row in table.select(list(CSV_COLUMNS)).to_pylist():
            w.writerow([row[k] if row[k] is not None else "" for k in CSV_COLUMNS])
            n += 1
        return n
    if fmt != "tx":
        raise UsageError(f"cannot write hash lists as {fmt!r}; formats: {', '.join(OUT_FORMATS)}")
    check_tx_hashers(hashers)
    n = 0
    for row in table.select(["hasher", "hash_hex"]).to_pylist():
        if row["hash_hex"] is not None and row["hasher"] in TX_SIGNAL_TYPES:
            out.write(f"{TX_SIGNAL_TYPES[row['hasher']]} {row['hash_hex']}\n")
            n += 1
    return n
