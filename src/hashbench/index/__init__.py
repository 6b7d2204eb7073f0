"""Exact Hamming-distance indexes over packed codes (:mod:`hashbench.bits`).

* :class:`FlatIndex`: tiled, vectorized scan of every code; the baseline and the right choice
  for large radii or small databases.
* :class:`MIHIndex`: multi-index hashing; same results, far fewer comparisons at PDQ-like
  radii on large databases.
* :func:`load_index`: read either from a file written by ``save``.

Both follow faiss's array conventions (``xq``, ``D``, ``I``, ``lims``), except that a range
match is ``distance <= radius`` (faiss: ``<``). ``hashbench.index.reference`` is a slow numpy
implementation used by the tests.
"""

from .flat import FlatIndex
from .mih import MIHIndex
from .persist import load_index

__all__ = ["FlatIndex", "MIHIndex", "load_index"]
