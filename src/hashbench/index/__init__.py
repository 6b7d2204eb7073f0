"""Exact Hamming-distance indexes over packed codes (:mod:`hashbench.bits`).

* :class:`FlatIndex`: tiled, vectorized scan of every code; the baseline and the right choice
  for large radii or small databases.
* :class:`MIHIndex`: multi-index hashing; same results, far fewer comparisons at PDQ-like
  radii on large databases.
* :func:`load_index`: read either from a file written by ``save``.

Both use the array names of the usual vector-search libraries (``xq`` queries, ``D`` distances,
``I`` ids, ``lims`` offsets), except that a range match is ``distance <= radius`` (binary range
searches elsewhere often keep ``<``). The tests check them against a slow numpy oracle
(tests/reference_index.py).
"""

from .flat import FlatIndex
from .mih import MIHIndex
from .persist import load_index

__all__ = ["FlatIndex", "MIHIndex", "load_index"]
