"""The settings of one hasher's evaluation (:func:`hashbench.evaluate.study.study_hasher`)."""

from __future__ import annotations

from dataclasses import dataclass

from .codes import PairCounter

__all__ = ["StudySettings"]


@dataclass(frozen=True)
class StudySettings:
    """Everything a study needs besides the codes, from the run's configuration.

    ``quality_floor`` is None for a hasher without a quality score. ``pair_histogram``, when
    given, counts impostor pairs in place of the local kernels (e.g.
    :func:`hashbench.cluster.pair_histogram_on`: the same counts, on a cluster). ``exact``: the
    hasher is an exact digest (:attr:`hashbench.hashers.Hasher.exact`), evaluated at distance 0
    only, so its ``threshold`` must be 0.
    """

    name: str
    threshold: int
    dihedral: bool
    quality_floor: int | None  # None: this hasher has no quality
    seed: int
    alpha: float
    target_fprs: tuple[float, ...]
    list_sizes: tuple[float, ...]
    volume_per_year: float
    list_size: float
    progress: bool = False
    pair_histogram: PairCounter | None = None
    exact: bool = False
    max_listed: int = 10_000  # false matches and misses listed (hashbench.evaluate.pairs)

    def __post_init__(self) -> None:
        if self.exact and self.threshold != 0:
            raise ValueError(f"{self.name} is an exact hasher: only distance 0 matches, got threshold {self.threshold}")
