"""Matching videos against a list of videos through the Hamming index (frame hashes in, videos out).

A platform checks each upload against a list of N videos. vPDQ's rule needs, for every listed
video ``v``, how many of the upload's frames have a close frame in ``v`` and how many of ``v``'s
frames have a close frame in the upload. Both come from one range search: the frame distance is
symmetric, so the hits ``(query frame, listed frame)`` within the radius give the first count as
the distinct query frames per listed video and the second as the distinct listed frames. Every
listed frame goes into one exact index (:mod:`hashbench.index`, ``mih`` by default, ``flat`` the
tiled scan), so the cost follows the hits, not ``N`` times the frames of each video.

:func:`pair_counts` is the all-pairs form the study uses; it is exact and tested equal to the
pairwise rule of :mod:`hashbench.video.match`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from .. import index as index_mod
from .hashers import VideoHash
from .match import MatchRule, PairShares, decide, prepare

__all__ = ["VideoList", "pair_counts", "hit_counts"]


def hit_counts(
    q_owner: npt.NDArray[np.int64],
    lims: npt.NDArray[np.int64],
    ids: npt.NDArray[np.int64],
    t_owner: npt.NDArray[np.int64],
    n_q: int,
    n_t: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """From range-search hits, ``QM[a, b]``: distinct frames of query video ``a`` with a hit in
    listed video ``b``, and ``TM[a, b]``: distinct frames of ``b`` hit by a frame of ``a``."""
    qf = np.repeat(np.arange(len(lims) - 1, dtype=np.int64), np.diff(lims))
    tb = t_owner[ids]
    qm = np.zeros((n_q, n_t), dtype=np.int64)
    tm = np.zeros((n_q, n_t), dtype=np.int64)
    if len(qf):
        fq = np.unique(qf * n_t + tb)  # distinct (query frame, listed video)
        np.add.at(qm, (q_owner[fq // n_t], fq % n_t), 1)
        n_frames = int(ids.max()) + 1
        ft = np.unique(q_owner[qf] * n_frames + ids)  # distinct (query video, listed frame)
        np.add.at(tm, (ft // n_frames, t_owner[ft % n_frames]), 1)
    return qm, tm


def _stack(prepared: Sequence[npt.NDArray[np.uint8]]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    sizes = np.array([len(c) for c in prepared], dtype=np.int64)
    owner = np.repeat(np.arange(len(prepared), dtype=np.int64), sizes)
    nbytes = prepared[0].shape[1] if len(prepared) else 32
    codes = np.concatenate(prepared) if int(sizes.sum()) else np.zeros((0, nbytes), np.uint8)
    return np.ascontiguousarray(codes, dtype=np.uint8), owner


def pair_counts(prepared: Sequence[npt.NDArray[np.uint8]], radius: int, index: str = "flat") -> npt.NDArray[np.int64]:
    """``C[i, j]``: how many frames of video ``i`` have a frame of video ``j`` within ``radius``
    (``prepared[i]``: video i's frame codes after its rule's filtering; empty videos allowed)."""
    n = len(prepared)
    codes, owner = _stack(prepared)
    if not len(codes):
        return np.zeros((n, n), dtype=np.int64)
    idx = index_mod.get(index, 8 * codes.shape[1])
    idx.add(codes)
    lims, _, ids = idx.range_search(codes, radius)
    qm, _ = hit_counts(owner, np.asarray(lims, np.int64), np.asarray(ids, np.int64), owner, n, n)
    return qm


class VideoList:
    """A list of videos to match uploads against under one rule (frames in one exact index)."""

    def __init__(self, rule: MatchRule, index: str = "mih") -> None:
        self.rule = rule
        self.index_name = index
        self.ids: list[str] = []
        self._prepared: list[npt.NDArray[np.uint8]] = []
        self._index: index_mod.Index | None = None
        self._owner = np.zeros(0, dtype=np.int64)
        self._sizes = np.zeros(0, dtype=np.int64)

    def add(self, ids: Sequence[str], hashes: Sequence[VideoHash]) -> None:
        """Add listed videos (their frames are filtered by the rule, then indexed)."""
        self.ids.extend(ids)
        self._prepared.extend(prepare(h, self.rule) for h in hashes)
        self._index = None

    def _build(self) -> index_mod.Index:
        codes, owner = _stack(self._prepared)
        idx = index_mod.get(self.index_name, 8 * (codes.shape[1] if len(codes) else 32))
        if len(codes):
            idx.add(codes)
        self._owner, self._sizes = owner, np.array([len(p) for p in self._prepared], dtype=np.int64)
        self._index = idx
        return idx

    def query(self, h: VideoHash) -> list[tuple[str, PairShares]]:
        """The listed videos the upload ``h`` matches, with both shares, in list order."""
        idx = self._index or self._build()
        q = prepare(h, self.rule)
        if not len(q) or not len(self.ids):
            return []
        radius = 0 if self.rule.exact else self.rule.radius
        lims, _, ids = idx.range_search(q, radius)
        q_owner = np.zeros(len(q), dtype=np.int64)
        qm, tm = hit_counts(
            q_owner, np.asarray(lims, np.int64), np.asarray(ids, np.int64), self._owner, 1, len(self.ids)
        )
        out = []
        for v in np.flatnonzero(qm[0]):
            nt = int(self._sizes[v])
            shares = PairShares(
                len(q), nt, int(qm[0, v]), int(tm[0, v]), decide(self.rule, len(q), nt, int(qm[0, v]), int(tm[0, v]))
            )
            if shares.match:
                out.append((self.ids[v], shares))
        return out
