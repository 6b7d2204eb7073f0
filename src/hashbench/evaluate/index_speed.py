"""Evaluation step *index speed*: build and query times of both indexes on a run's own codes.

The references are listed and every distractor is a range query at the named threshold, in
the flat (exhaustive) index and the multi-index-hashing index; the two must return the same
neighbours, and the report records that check beside the timings.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt

from ..index import FlatIndex, MIHIndex
from ..schema import IndexSpeed, IndexTiming
from .codes import Codes

__all__ = ["index_throughput"]


def index_throughput(refs: Codes, distractors: Codes, radius: int) -> IndexTiming:
    """Timings of both indexes (``{}`` when there are no references or no distractors)."""
    xb = refs.codes[refs.ok]
    xq = distractors.codes[distractors.ok]
    if len(xb) == 0 or len(xq) == 0:
        return {}
    out: IndexTiming = {"n_listed": int(len(xb)), "n_queries": int(len(xq)), "radius": radius}
    out["flat"], flat_found = _time_index(FlatIndex, xb, xq, radius)
    out["mih"], mih_found = _time_index(MIHIndex, xb, xq, radius)
    out["identical_results"] = _same_neighbours(*flat_found, *mih_found)
    return out


def _time_index(
    cls: type[FlatIndex] | type[MIHIndex], xb: npt.NDArray[np.uint8], xq: npt.NDArray[np.uint8], radius: int
) -> tuple[IndexSpeed, tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    """(timings, (lims, ids)) of building a ``cls`` index on ``xb`` and range-querying it with
    ``xq``; the first query compiles the kernels outside the timed call."""
    t0 = time.perf_counter()
    index = cls(8 * xb.shape[1])
    index.add(xb)
    if isinstance(index, MIHIndex):
        index.build()  # time the table build here, not inside the first query
    build = time.perf_counter() - t0
    index.range_search(xq[:2], radius)  # compile outside the timed call
    t1 = time.perf_counter()
    lims, _, ids = index.range_search(xq, radius)
    query = time.perf_counter() - t1
    speed: IndexSpeed = {
        "build_seconds": build,
        "query_seconds": query,
        "queries_per_second": len(xq) / query if query > 0 else None,
        "bytes_per_code": float(index.nbytes_per_code),
    }
    return speed, (lims, ids)


def _same_neighbours(
    lims_a: npt.NDArray[np.int64],
    ids_a: npt.NDArray[np.int64],
    lims_b: npt.NDArray[np.int64],
    ids_b: npt.NDArray[np.int64],
) -> bool:
    """Whether two range searches found the same neighbours for every query (in any order)."""
    return bool(
        np.array_equal(lims_a, lims_b)
        and all(
            np.array_equal(np.sort(ids_a[a:b]), np.sort(ids_b[a:b]))
            for a, b in zip(lims_a[:-1], lims_a[1:], strict=True)
        )
    )
