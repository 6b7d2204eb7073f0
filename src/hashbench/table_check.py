"""Codes from a hash table that came from elsewhere, every row checked before anything is counted.

A hash table (``hashbench hash --out``) is untrusted input: anyone can hand one over, and a
hand-edited or foreign table must not be counted as if it were sound. Before this check a row's
hex was zero-padded to the first row's ``nbits``, so short hex, mixed 256/64-bit rows and
``nbits = 300`` for pdq were counted silently, and ``nbits = 2**31 - 1`` allocated 256 MB per row.

Here the width comes from the hasher when it is installed (a table that disagrees is wrong), and
otherwise from the rows themselves, capped at :data:`MAX_TABLE_NBITS`. Each row then must have
that ``nbits``, exactly ``ceil(nbits / 4)`` hex digits (``0x`` allowed) within that width, and a
quality that is missing or a whole number 0-100 (NaN counts as missing: it is how pandas writes a
null). A row that fails is reported by id with its reason, never padded or guessed. A row with no
hash is an image that failed to hash (its ``error`` says why) and is left out, as before.

``store.codes_from_table`` (which trusts the table) is untouched; callers that read tables from
elsewhere use :func:`checked_codes`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .bits import codes_from_hex
from .config import MAX_COMMAND_NBITS
from .errors import UsageError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["MAX_TABLE_NBITS", "TableCodes", "checked_codes", "declared_nbits"]

#: The widest hash a table may declare for a hasher not installed here (16 times PDQ's 256 bits):
#: the widest a command hasher may declare, so every table a declared hasher writes can be read.
MAX_TABLE_NBITS = MAX_COMMAND_NBITS


@dataclass(frozen=True)
class TableCodes:
    """The sound rows of one hasher: ids, packed codes, the width, and every bad row as (id, reason)."""

    ids: list[str]
    codes: npt.NDArray[np.uint8]
    nbits: int
    bad: list[tuple[str, str]] = field(default_factory=list)


def declared_nbits(hasher: str) -> int | None:
    """The width of an installed hasher with a fixed width, or None (plugins elsewhere, commands)."""
    from . import hashers as hashers_mod

    if hasher == "command" or hasher not in hashers_mod.available():
        return None
    return int(hashers_mod.get(hasher).nbits)


def _width(hasher: str, widths: list[Any]) -> int:
    """The width every row must have: the installed hasher's, else the rows' most common valid one."""
    declared = declared_nbits(hasher)
    if declared is not None:
        return declared
    valid = Counter(w for w in widths if _whole(w) and 1 <= w <= MAX_TABLE_NBITS)
    if not valid:
        raise UsageError(
            f"no row of {hasher!r} has a usable nbits (a whole number 1-{MAX_TABLE_NBITS:,}); "
            f"the table says e.g. {widths[0]!r}"
        )
    return int(valid.most_common(1)[0][0])


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _row_problem(width: Any, text: Any, quality: Any, nbits: int) -> str | None:
    """Why one row cannot be used for ``nbits``-bit codes, or None when it is sound."""
    if width != nbits or not _whole(width):
        return f"nbits {width!r}, not {nbits}"
    if not isinstance(text, str):
        return f"hash_hex {text!r} is not text"
    digits = text.strip().lower().removeprefix("0x")
    want = -(-nbits // 4)
    if len(digits) != want:
        return f"hash_hex has {len(digits)} hex digits, not {want} ({nbits} bits)"
    try:
        value = int(digits, 16)
    except ValueError:
        return f"hash_hex {text[:80]!r} is not hex"
    if value.bit_length() > nbits:
        return f"hash_hex {text[:80]!r} holds more than {nbits} bits"
    if isinstance(quality, float) and math.isnan(quality):
        return None  # pandas' null
    if quality is not None and (isinstance(quality, bool) or not isinstance(quality, (int, float))):
        return f"quality {quality!r} is not a number"
    if quality is not None and not (float(quality).is_integer() and 0 <= quality <= 100):
        return f"quality {quality!r} is not a whole number 0-100"
    return None


def checked_codes(table: pa.Table, hasher: str) -> TableCodes:
    """The rows of ``hasher`` in ``table``, each checked (see the module docstring).

    Raises :class:`UsageError` when the table has no row of ``hasher``; bad rows are returned in
    :attr:`TableCodes.bad`, for the caller to refuse the table or skip them, saying which.
    """
    import pyarrow.compute as pc

    rows = table.filter(pc.equal(table["hasher"], hasher))
    if rows.num_rows == 0:
        known = sorted({str(h) for h in table["hasher"].to_pylist()})
        raise UsageError(f"no hasher {hasher!r} in this table; it has: {', '.join(known)}")
    ids = [str(i) for i in rows["id"].to_pylist()]
    hexes = rows["hash_hex"].to_pylist()
    widths = rows["nbits"].to_pylist()
    qualities = rows["quality"].to_pylist() if "quality" in rows.column_names else [None] * rows.num_rows
    errors = rows["error"].to_pylist()
    nbits = _width(hasher, [w for w, h in zip(widths, hexes, strict=True) if h is not None] or widths)
    good_ids: list[str] = []
    good_hex: list[str] = []
    bad: list[tuple[str, str]] = []
    for row_id, width, text, quality, error in zip(ids, widths, hexes, qualities, errors, strict=True):
        if text is None:
            if error is None:
                bad.append((row_id, "no hash and no error"))
            continue  # an image that failed to hash, with its reason in the table
        problem = _row_problem(width, text, quality, nbits)
        if problem:
            bad.append((row_id, problem))
        else:
            good_ids.append(row_id)
            good_hex.append(text)
    codes = codes_from_hex(good_hex, nbits) if good_hex else np.zeros((0, -(-nbits // 8)), np.uint8)
    return TableCodes(good_ids, codes, nbits, bad)
