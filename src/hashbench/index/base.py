"""The Index protocol every Hamming index satisfies, and the registry of indexes by name.

An index stores packed codes (``(n, nbytes)`` uint8, :mod:`hashbench.bits`) and answers exact
Hamming queries with the array conventions of the usual vector-search libraries, so their users
feel at home: ``search(xq, k) -> (D, I)`` and ``range_search(xq, radius) -> (lims, D, I)``. One
difference is deliberate: a range match is ``distance <= radius`` (binary range searches
elsewhere often keep ``<``), because hashbench's radius is the matcher's threshold (PDQ:
"distance <= 31 is a match").

This module holds no numba and no numpy work, so code that only needs the types (reports, the
CLI's listing) imports it without compiling kernels. A new index is one file with a class
decorated by ``@register("name")``; ``get("name", nbits)`` builds one.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ..registry import Registry

__all__ = ["Index", "INDEXES", "Distances", "Ids", "Lims", "Counts", "register", "get", "available"]

#: Hamming distances, int32 (``search`` pads missing neighbours with ``2**31 - 1``).
Distances = npt.NDArray[np.int32]
#: Database ids, int64 (``search`` pads missing neighbours with -1).
Ids = npt.NDArray[np.int64]
#: ``(nq + 1,)`` int64 offsets: the matches of query ``q`` are ``[lims[q], lims[q+1])``.
Lims = npt.NDArray[np.int64]
#: ``(nq,)`` int64 number of distinct ids within the radius of each query.
Counts = npt.NDArray[np.int64]


@runtime_checkable
class Index(Protocol):
    """What the evaluation, the runner and the benchmarks may rely on in any index.

    Results must be identical to a brute-force scan (``exact`` declares it; the conformance test
    in tests/test_index_api.py checks every registered index against one):

    * ``add(xb)``: append ``(n, nbytes)`` uint8 codes; ids are ``0 .. ntotal-1`` in the order
      added, counting across calls.
    * ``search(xq, k) -> (D, I)``: ``(nq, k)`` int32 distances and int64 ids, sorted by distance
      then by lower id; with fewer than ``k`` codes padded with ``D = 2**31 - 1``, ``I = -1``.
    * ``range_search(xq, radius, variants=1) -> (lims, D, I)``: every code at distance
      ``<= radius``, ids ascending per query. With ``variants > 1`` the queries are ``(nq,
      variants, nbytes)`` (or ``(nq * variants, nbytes)``) and each id appears once per query
      group with its smallest distance over the variants (dihedral PDQ matching).
    * ``count_within(xq, radius, variants=1) -> (nq,)`` int64: the sizes of those groups,
      without materializing them.
    * ``build()``: build derived structures now rather than at the first query (so a benchmark
      can time it apart); ``nbytes_per_code``: memory held per stored code.
    """

    kind: str
    exact: bool
    nbits: int

    @property
    def ntotal(self) -> int: ...

    @property
    def nbytes_per_code(self) -> float: ...

    def add(self, codes: npt.ArrayLike) -> None: ...

    def build(self) -> None: ...

    def search(self, xq: npt.ArrayLike, k: int) -> tuple[Distances, Ids]: ...

    def range_search(self, xq: npt.ArrayLike, radius: int, variants: int = 1) -> tuple[Lims, Distances, Ids]: ...

    def count_within(self, xq: npt.ArrayLike, radius: int, variants: int = 1) -> Counts: ...


#: Every index by name (the one idiom of :mod:`hashbench.registry`); a factory takes ``nbits``
#: first, then its own keyword parameters.
INDEXES: Registry[Index] = Registry("index", "hashbench.indexes", plural="indexes", name_attr="kind")

#: ``@register("name")`` on an index class (its ``kind`` attribute is set to the name).
register = INDEXES.register


def get(name: str, nbits: int, **params: Any) -> Index:
    """A new empty index of kind ``name`` for ``nbits``-bit codes; :class:`UsageError` if unknown."""
    return INDEXES.get(name, nbits, **params)


def available() -> list[str]:
    """Names of every registered index, built-ins first."""
    return INDEXES.names()
