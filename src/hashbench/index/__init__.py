"""Exact Hamming-distance indexes over packed codes (:mod:`hashbench.bits`).

* :class:`Index`: the protocol every index satisfies (``add``, ``search``, ``range_search``,
  ``count_within``, with typed numpy results); :mod:`.base` has the contract.
* :class:`FlatIndex` (``"flat"``): tiled, vectorized scan of every code; the baseline and the
  right choice for large radii or small databases.
* :class:`MIHIndex` (``"mih"``): multi-index hashing; same results, far fewer comparisons at
  PDQ-like radii on large databases.
* :func:`get` builds a registered index by name (``get("mih", 256)``); :func:`available` lists
  them; a new index is one file with ``@register("name")`` (see docs/extending.md).
* :func:`load_index`: read any registered kind from a file written by ``save``.

All use the array names of the usual vector-search libraries (``xq`` queries, ``D`` distances,
``I`` ids, ``lims`` offsets), except that a range match is ``distance <= radius`` (binary range
searches elsewhere often keep ``<``). The tests check them against a slow numpy oracle
(tests/reference_index.py).
"""

from typing import TYPE_CHECKING

from .base import INDEXES, Index, available, get, register
from .flat import FlatIndex
from .mih import MIHIndex
from .persist import load_index

__all__ = ["Index", "INDEXES", "FlatIndex", "MIHIndex", "available", "get", "load_index", "register"]

if TYPE_CHECKING:  # mypy proves that both built-ins satisfy the protocol
    _flat: type[Index] = FlatIndex
    _mih: type[Index] = MIHIndex
