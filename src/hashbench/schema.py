"""The report.json contract (``hashbench.report/1``) as types: one place, no heavy imports.

Every section of a report is a :class:`~typing.TypedDict` here, so the code that writes a report
(:mod:`hashbench.evaluate` steps, :func:`hashbench.runner.build_report`) and the code that reads
it (:mod:`hashbench.report`) are checked against the same shape by mypy. docs/report-schema.md
says what every key means; this module says what type it has and whether it is always present
(``NotRequired``: only with a quality gate, only with distractors, ...).

It imports the standard library's :mod:`typing` only, so that anything (the CLI, report
readers, plugins) can import it without numpy, numba or pyarrow. The schema name and the lists
of top-level keys by kind (accuracy, timing, machine) are defined here once.
"""

from typing import Any, Literal, NotRequired, TypedDict

__all__ = [
    "SCHEMA",
    "REPORT_KEYS",
    "IDENTITY_KEYS",
    "ACCURACY_KEYS",
    "TIMING_KEYS",
    "MACHINE_KEYS",
    "Histogram",
    "Rate",
    "MeasuredPerQueryRate",
    "Projected",
    "ProjectedAtListSize",
    "Operational",
    "Counts",
    "TransformEntry",
    "GroupImpostor",
    "Impostor",
    "PerQuery",
    "LeaveOneOut",
    "PerQueryFields",
    "ImageLevelFields",
    "ImageLevelRate",
    "GatedRate",
    "AtThreshold",
    "RateAt",
    "OperatingPoint",
    "EqualErrorRate",
    "RecallAtPrecision",
    "Summary",
    "Quality",
    "ListedItems",
    "FamilyRate",
    "Population",
    "PopulationSet",
    "InputPopulation",
    "HasherEvaluation",
    "HasherResult",
    "Composite",
    "HashListSource",
    "InputSet",
    "TransformInfo",
    "QueryInputs",
    "Failure",
    "Inputs",
    "Machine",
    "Environment",
    "StageTiming",
    "HashingRate",
    "IndexSpeed",
    "IndexTiming",
    "PeakMemory",
    "Timing",
    "Report",
]

#: The schema this package reads and writes (``report["schema"]``).
SCHEMA = "hashbench.report/1"

#: Top-level keys that name the report and its run.
IDENTITY_KEYS: tuple[str, ...] = ("schema", "run_id")
#: Top-level keys that hold accuracy figures and their inputs: identical for the same
#: configuration and seed on any machine with the same library versions.
ACCURACY_KEYS: tuple[str, ...] = ("config", "seed", "inputs", "hashers", "composites")
#: Top-level keys whose contents are timing-only: they differ between two runs of the same
#: configuration and seed, and nothing else in report.json does (apart from MACHINE_KEYS when
#: the runs were on different machines or software versions).
TIMING_KEYS: tuple[str, ...] = ("timing",)
#: Top-level keys that describe where the run happened rather than what it measured.
MACHINE_KEYS: tuple[str, ...] = ("environment",)
#: Every top-level key, in the order a report holds them; each is in exactly one list above.
REPORT_KEYS: tuple[str, ...] = (
    "schema",
    "run_id",
    "config",
    "seed",
    "environment",
    "inputs",
    "hashers",
    "composites",
    "timing",
)

#: ``histogram[d]`` pairs (or queries) at Hamming distance ``d``; ``nbits + 1`` entries.
Histogram = list[int]


# --- value types --------------------------------------------------------------------------


class Rate(TypedDict):
    """``count`` events in ``n`` trials with the exact two-sided interval (None when n = 0)."""

    count: int
    n: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None


class Projected(TypedDict):
    """A projected rate and the same projection of each end of its interval."""

    rate: float
    ci_low: float
    ci_high: float


class MeasuredPerQueryRate(Rate):
    """A measured per-query rate and the number of listed hashes it was measured against.

    ``projected_same_list_size``: the model's projection ``1 - (1 - p)^L`` at this same ``L``
    (a model check; its interval is sampling only, under the model). ``queries`` says who
    queried: the distractors, or each reference against the other ``n - 1`` (leave-one-out).
    """

    list_size: int
    queries: NotRequired[Literal["distractors", "leave-one-out"]]
    projected_same_list_size: NotRequired[Projected]


class ProjectedAtListSize(Projected):
    """The per-query rate projected onto a list of ``list_size`` hashes."""

    list_size: float


class Operational(TypedDict):
    """Expected false matches a year (:func:`hashbench.evaluate.expected_false_matches`)."""

    volume_per_year: float
    list_size: float
    per_query: Projected
    flagged_per_year: Projected
    pair_matches_per_year: Projected
    text: str


# --- one hasher's evaluation, section by section (each made by one evaluation step) ----------


class Counts(TypedDict):
    references: int
    references_hashed: int
    queries: int
    queries_hashed: int
    genuine_pairs: int
    distractors: int
    distractors_hashed: int


class TransformEntry(TypedDict):
    """The genuine pairs made by one transform (``gated`` keys only with a quality gate)."""

    genuine_histogram: Histogram
    failed: int
    gated: NotRequired[int]
    genuine_histogram_ungated: NotRequired[Histogram]


class GroupImpostor(TypedDict):
    n_images: int
    histogram: Histogram


class Impostor(TypedDict):
    """Impostor pairs among the hashed references and distractors: every unordered pair of
    distinct images once (dihedral: matched if either direction matches). ``"ordered"`` is
    found only in reports written before issue 14, when dihedral pairs were counted twice."""

    pairs: Literal["ordered", "unordered"]
    n_images: int
    histogram: Histogram
    by_group: NotRequired[dict[str, GroupImpostor]]
    gated_images: NotRequired[int]
    histogram_ungated: NotRequired[Histogram]


class LeaveOneOut(TypedDict):
    """Each hashed reference queried against the other ``n - 1`` (a study without distractors)."""

    list_size: int
    n_queries: int
    nearest_histogram: Histogram
    n_queries_ungated: NotRequired[int]
    nearest_histogram_ungated: NotRequired[Histogram]


class PerQuery(TypedDict):
    """The measured per-query experiment (no histogram without references or distractors).

    With a quality gate, ``nearest_histogram_ungated`` holds the nearest listed hash that passes
    the gate of each query that passes it (``n_queries_ungated`` queries, ``list_size_ungated``
    listed); a gated query matches nothing. ``leave_one_out``: without distractors.
    """

    list_size: int
    n_queries: int
    nearest_histogram: NotRequired[Histogram]
    list_size_ungated: NotRequired[int]
    n_queries_ungated: NotRequired[int]
    nearest_histogram_ungated: NotRequired[Histogram]
    leave_one_out: NotRequired[LeaveOneOut]


class PerQueryFields(TypedDict, total=False):
    """The measured per-query rates at the named threshold, each with the model's projection at
    its own list size (issue 14: a projection is shown beside a measurement); every key may be
    absent (no distractors: leave-one-out instead; no gate: no gated rate)."""

    fpr_per_query_measured: MeasuredPerQueryRate
    fpr_per_query_measured_gated: MeasuredPerQueryRate
    fpr_per_query_leave_one_out: MeasuredPerQueryRate
    fpr_per_query_leave_one_out_gated: MeasuredPerQueryRate


class ImageLevelFields(TypedDict, total=False):
    """An all-pairs rate's image-level uncertainty (issue 14), for every matcher (plain,
    dihedral, composite); absent only when there is no pair (fewer than two images).

    ``trials`` unordered pairs of the images the rate is about; ``images_involved`` images in at
    least one match; ``max_matches_per_image`` the most matches of one image; ``design_effect``
    the variance inflation of clustered matches; ``ci_image_level`` the two-sided interval with
    the image as the sampling unit (print it first), ``ci_pair_level`` the exact binomial one as
    if pairs were independent; ``upper_one_sided_95`` the one-sided 95% image-level upper bound
    (``upper_one_sided_<level>`` at another alpha). See docs/report-schema.md.
    """

    trials: int
    images_involved: int
    max_matches_per_image: int
    design_effect: float
    ci_image_level: list[float]
    ci_pair_level: list[float]
    upper_one_sided_95: float
    image_level_method: str


class ImageLevelRate(Rate, ImageLevelFields):
    """A rate over all pairs of a set of images, with its image-level fields."""


class GatedRate(ImageLevelRate):
    """The per-pair rate with a quality gate among the pairs of two images that both pass it
    (``n`` = those pairs), with the share of the impostor set's images below the floor and the
    share of its pairs that hold at least one of them (None without images or pairs).

    Reports written before issue 14 have neither share: their ``fpr_per_pair_gated`` is the
    generalized rate (every pair in ``n``), what ``fpr_per_pair_gated_generalized`` is now."""

    gated_images_share: NotRequired[float | None]
    gated_pairs_share: NotRequired[float | None]


class AtThreshold(ImageLevelFields, PerQueryFields):
    """Every figure at the named threshold. ``fpr_per_pair_gated`` is the headline gated rate
    (pairs of two images that pass the gate), ``fpr_per_pair_gated_generalized`` the same
    matches over every pair (ISO/IEC 19795-1's "generalized" rate)."""

    threshold: int
    tpr: Rate
    fpr_per_pair: Rate
    tpr_gated: NotRequired[Rate]
    fpr_per_pair_gated: NotRequired[GatedRate]
    fpr_per_pair_gated_generalized: NotRequired[Rate]
    fpr_per_query_projected: NotRequired[list[ProjectedAtListSize]]
    operational: NotRequired[Operational]


class RateAt(TypedDict):
    """A rate of an operating point (NaN, written as null, when ``n`` = 0)."""

    count: int
    n: int
    rate: float
    ci_low: float
    ci_high: float


class OperatingPoint(TypedDict):
    """A threshold chosen on the calibration half, scored on the held-out half; the split's
    ``calibration_fraction`` of the images and the image count of each half."""

    target_fpr: float
    threshold: int | None
    calibration_fpr: RateAt
    held_out_fpr: RateAt | None
    held_out_tpr: RateAt | None
    calibration_pairs_needed: int
    resolvable: bool
    calibration_fraction: NotRequired[float]
    calibration_images: NotRequired[int]
    held_out_images: NotRequired[int]


class EqualErrorRate(TypedDict):
    rate: float
    threshold: float


class RecallAtPrecision(TypedDict):
    min_precision: float
    recall: float
    precision: float | None
    threshold: int | None


class Summary(TypedDict, total=False):
    """Threshold-free summaries; empty without genuine or impostor pairs, and for an exact hasher
    (``HasherResult.exact``: one operating point, distance 0, nothing to summarise)."""

    eer: EqualErrorRate
    isc_micro_ap: float
    recall_at_90_precision: RecallAtPrecision
    # issue 14 (isc-exact): ISC's value breaks distance ties pessimistically; this one does not
    micro_ap_tie_grouped: float


class Quality(TypedDict):
    """What the quality gate removed."""

    floor: int
    gated_genuine_pairs: int
    gated_references: int
    gated_queries: int
    gated_images_impostor: int | None


class ListedItems(TypedDict):
    """What the run folder's per-item files hold for one matcher (docs/report-schema.md): the
    true number of false matches and misses at ``threshold`` and how many of each are listed
    (at most ``max_listed``; the smallest distances first, misses in query order). ``threshold``
    for a hasher only (a composite's parts have theirs); ``misses`` for a hasher only."""

    threshold: NotRequired[int]
    max_listed: int
    false_matches: int
    false_matches_listed: int
    misses: NotRequired[int]
    misses_listed: NotRequired[int]


class FamilyRate(TypedDict):
    """All pairs of a set of images: ``count`` false matches in ``n`` pairs of ``images`` images,
    the exact binomial interval and the image-level one (two-sided, the image as the sampling
    unit), ``upper_one_sided`` the one-sided image-level upper bound at the report's confidence."""

    images: int
    count: int
    n: int
    rate: float | None
    ci_pair_level: NotRequired[list[float]]
    ci_image_level: NotRequired[list[float]]
    upper_one_sided: NotRequired[float]
    design_effect: NotRequired[float]


class Population(TypedDict):
    """``hashers[h]["population"]``: per-family rates and the sensitivity of the pooled rate to
    the family mix (:mod:`hashbench.evaluate.population`), from each image's false matches with
    each family, counted by the all-pairs pass whatever the number of false matches.
    ``complete`` is false (and the tables empty) only when those counts were not made and the
    pair list is cut short (a custom pair counter; reports written before the counts existed)."""

    complete: bool
    by_group: dict[str, FamilyRate]
    without: dict[str, FamilyRate]
    pooled: NotRequired[FamilyRate]
    equal_weights_rate: NotRequired[float | None]


class HasherEvaluation(TypedDict):
    """What :func:`hashbench.evaluate.study.study_hasher` measures of one hasher's codes."""

    nbits: int
    matching: Literal["plain", "dihedral"]
    threshold: int
    quality_floor: int | None
    counts: Counts
    transforms: dict[str, TransformEntry]
    impostor: Impostor
    per_query: PerQuery
    at_threshold: AtThreshold
    operating_points: list[OperatingPoint]
    summary: Summary
    quality: NotRequired[Quality]
    listed: NotRequired[ListedItems]
    population: NotRequired[Population]


class HasherResult(HasherEvaluation):
    """``report["hashers"][name]``: the evaluation and the hasher that made the codes."""

    library: str
    library_version: str
    kind: str
    exact: bool
    variants: int
    backend: NotRequired[str]
    preprocess: NotRequired[dict[str, Any]]


class Composite(ImageLevelFields):
    """``report["composites"][name]``: "any" or "all" of several hashers at their thresholds;
    unordered impostor pairs (``"ordered"`` only in reports from before issue 14) and the
    image-level fields of ``fpr_per_pair``."""

    op: Literal["any", "all"]
    parts: dict[str, int]
    pairs: Literal["ordered", "unordered"]
    tpr: Rate
    fpr_per_pair: Rate
    listed: NotRequired[ListedItems]


# --- inputs, environment, timing ------------------------------------------------------------


class HashListSource(TypedDict):
    """A hash list a set's hashes were read from (``hashes`` dataset) instead of hashed here."""

    path: str
    sha256: str
    format: str
    hashers: list[str]
    items: int


class InputSet(TypedDict):
    count: int
    datasets: list[str]
    digest: str
    hash_lists: NotRequired[list[HashListSource]]


class TransformInfo(TypedDict):
    name: str
    kind: str
    params: dict[str, Any]


class QueryInputs(TypedDict):
    count: int
    suite: str
    transforms: list[TransformInfo]


class Failure(TypedDict):
    stage: str
    id: str
    hasher: str | None
    reason: str


class PopulationSet(TypedDict):
    """The images of one set by family (``images``, how many were ``redrawn`` as the same picture
    as an earlier draw, ``redraws`` in all; ``low_quality`` PDQ hashes below the floor, when a
    PDQ hasher ran)."""

    images: int
    redrawn: int
    redraws: int
    low_quality: NotRequired[int]


class InputPopulation(TypedDict):
    """``inputs["population"]``: what the impostor images are and how they were made distinct."""

    criterion: str
    distinct: bool
    references: dict[str, PopulationSet]
    distractors: dict[str, PopulationSet]


class Inputs(TypedDict):
    references: InputSet
    distractors: InputSet
    queries: QueryInputs
    failures: list[Failure]
    population: NotRequired[InputPopulation]


class Machine(TypedDict):
    platform: str
    machine: str
    cpu: str
    cpus_available: int
    memory_gib: float | None
    python_implementation: str


class Environment(TypedDict):
    versions: dict[str, str]
    machine: Machine


class StageTiming(TypedDict):
    items: int
    chunks: int
    resumed_chunks: int
    wall_seconds: float
    decoding: NotRequired[dict[str, Any]]  # DecodeSettings.describe(): decode mode, pixel limit (issue 18)
    cpu: NotRequired[dict[str, Any]]  # HashResult.timing(): CPU beside wall, decode and each hasher apart


class HashingRate(TypedDict):
    images: int
    cpu_seconds: float
    images_per_second_per_core: float | None
    shared_with: str | None


class IndexSpeed(TypedDict):
    build_seconds: float
    query_seconds: float
    queries_per_second: float | None
    bytes_per_code: float


class IndexTiming(TypedDict, total=False):
    """One hasher's index timings; empty without references or distractors."""

    n_listed: int
    n_queries: int
    radius: int
    flat: IndexSpeed
    mih: IndexSpeed
    identical_results: bool


class PeakMemory(TypedDict):
    main_process: float
    largest_worker: float


class Timing(TypedDict):
    """``report["timing"]``: timing-only; ``evaluation_seconds[hasher][step + "_s"]``."""

    created: str
    workers: int
    stages: dict[str, StageTiming]
    evaluation_seconds: dict[str, dict[str, float]]
    make_images_per_second_per_core: float | None
    hashing: dict[str, HashingRate]
    index: dict[str, IndexTiming]
    peak_memory_mib: PeakMemory
    wall_seconds: float | None


class Report(TypedDict):
    """A whole report.json. ``config`` is :meth:`hashbench.config.RunConfig.to_dict`."""

    schema: str
    run_id: str
    config: dict[str, Any]
    seed: int
    environment: Environment
    inputs: Inputs
    hashers: dict[str, HasherResult]
    composites: dict[str, Composite]
    timing: Timing
