"""Image-level intervals for all-pairs rates: exact small cases, a planted clique, a hub-model coverage run."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest
from scipy.stats import beta, binomtest

from hashbench.evaluate import clopper_pearson
from hashbench.evaluate.image_level import (
    ImageLevelResult,
    effective_clopper_pearson,
    effective_upper_bound,
    image_level_interval,
    u_statistic_moments,
)


def counts_from_edges(n: int, edges: list[tuple[int, int]]) -> np.ndarray:
    """Per-image match counts from a list of matching unordered pairs (the kernel's output, by hand)."""
    m = np.zeros(n, dtype=np.int64)
    for i, j in edges:
        m[i] += 1
        m[j] += 1
    return m


def counts_from_adjacency(adj: np.ndarray) -> np.ndarray:
    return adj.sum(axis=1).astype(np.int64)


# --- exact small cases ---------------------------------------------------------------------------


def test_disjoint_pairs_have_design_effect_one_and_the_pair_level_interval():
    """Matches that share no image carry no clustering: the image-level interval is the binomial one."""
    n = 1000
    edges = [(2 * k, 2 * k + 1) for k in range(40)]  # 40 disjoint matching pairs over 80 images
    res = image_level_interval(counts_from_edges(n, edges), n_pairs=n * (n - 1) // 2)
    assert res.count == 40 and res.trials == 499_500
    assert res.images_involved == 80 and res.max_matches_per_image == 1 and res.sum_m_m1 == 0
    assert res.design_effect == 1.0
    assert res.effective_trials == res.trials
    np.testing.assert_allclose(res.ci_image_level, res.ci_pair_level, rtol=1e-9)
    assert res.upper_one_sided == pytest.approx(beta.ppf(0.95, 41, 499_500 - 40), rel=1e-9)


def test_one_match_has_zeta1_exactly_zero():
    m = counts_from_edges(50, [(3, 7)])
    mom = u_statistic_moments(m)
    assert mom.zeta1 == 0.0 and mom.design_effect == 1.0


def test_zero_matches_give_the_one_sided_rule_of_three():
    """K = 0: no clustering is observable, deff = 1, the one-sided 95% bound is 1 - 0.05**(1/N) ~ 3.0/N."""
    n = 2000
    big_n = n * (n - 1) // 2
    res = image_level_interval(np.zeros(n, dtype=np.int64), n_pairs=big_n)
    assert res.count == 0 and res.rate == 0.0 and res.images_involved == 0 and res.max_matches_per_image == 0
    assert res.design_effect == 1.0 and res.effective_trials == big_n
    assert res.upper_one_sided == pytest.approx(beta.ppf(0.95, 1, big_n), rel=1e-9)
    assert res.upper_one_sided * big_n == pytest.approx(-np.log(0.05), rel=1e-5)  # 2.996
    assert res.ci_image_level[0] == 0.0
    assert res.ci_image_level[1] == pytest.approx(beta.ppf(0.975, 1, big_n), rel=1e-9)  # two-sided: 3.69/N
    assert res.ci_image_level[1] > res.upper_one_sided


def test_zero_matches_at_fpr_50b_scale_stay_exact():
    n = 550_015
    big_n = n * (n - 1) // 2
    res = image_level_interval(np.zeros(n, dtype=np.int64), n_pairs=big_n)
    assert res.upper_one_sided * big_n == pytest.approx(2.995732, rel=1e-6)


@pytest.mark.parametrize("k,n", [(0, 10), (3, 45), (17, 190), (44, 45)])
def test_pair_level_interval_is_scipys_clopper_pearson(k, n):
    """ci_pair_level is today's exact binomial interval over the N unordered pairs, unchanged."""
    images = int((1 + np.sqrt(1 + 8 * n)) / 2)
    assert images * (images - 1) // 2 == n
    pairs = list(itertools.combinations(range(images), 2))
    res = image_level_interval(counts_from_edges(images, pairs[:k]), n_pairs=n)
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    np.testing.assert_allclose(res.ci_pair_level, (ci.low, ci.high), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("k,n", [(0, 7), (1, 250), (17, 400), (999, 1000), (1000, 1000)])
def test_effective_clopper_pearson_on_whole_counts_is_the_exact_interval(k, n):
    np.testing.assert_allclose(effective_clopper_pearson(k / n, float(n)), clopper_pearson(k, n), rtol=1e-9)
    want_upper = 1.0 if k == n else beta.ppf(0.95, k + 1, n - k)
    assert effective_upper_bound(k / n, float(n)) == pytest.approx(want_upper, rel=1e-9)


def test_effective_clopper_pearson_is_monotone_in_the_effective_sample():
    """Fewer effective trials at the same rate can only widen the interval (and raise the bound)."""
    widths = [np.diff(effective_clopper_pearson(0.01, n_eff))[0] for n_eff in (50.5, 500.25, 5000.0, 50_000.75)]
    assert widths == sorted(widths, reverse=True)
    uppers = [effective_upper_bound(0.01, n_eff) for n_eff in (50.5, 500.25, 5000.0)]
    assert uppers == sorted(uppers, reverse=True)


def brute_force_zeta1(adj: np.ndarray) -> float:
    """zeta1 = E[h_ij h_ik] - E[h_ij h_kl] by enumerating every triple and every disjoint pair of pairs."""
    n = adj.shape[0]
    shared = [adj[i, j] * adj[i, k] for i in range(n) for j, k in itertools.combinations(set(range(n)) - {i}, 2)]
    disjoint = [
        adj[a, b] * adj[c, d]
        for a, b, c, d in itertools.combinations(range(n), 4)
        for (a, b), (c, d) in (((a, b), (c, d)), ((a, c), (b, d)), ((a, d), (b, c)))
    ]
    return float(np.mean(shared) - np.mean(disjoint))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_zeta1_and_design_effect_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 11
    hub = rng.random(n) < 0.3
    p = np.where(hub[:, None] | hub[None, :], 0.6, 0.1)
    upper = np.triu(rng.random((n, n)) < p, 1)
    adj = (upper | upper.T).astype(np.int64)
    mom = u_statistic_moments(counts_from_adjacency(adj))
    zeta1 = brute_force_zeta1(adj)
    assert mom.zeta1 == pytest.approx(zeta1, rel=1e-12, abs=1e-15)
    rate = adj[np.triu_indices(n, 1)].mean()
    want = min(max(1 + 2 * (n - 2) * zeta1 / (rate * (1 - rate)), 1.0), n - 1)
    assert mom.design_effect == pytest.approx(want, rel=1e-12)
    assert mom.sum_m_m1 == int((adj.sum(1) * (adj.sum(1) - 1)).sum())


def test_plain_variance_of_counts_would_inflate_independent_pairs():
    """Why zeta1 is not the plain variance of m_i/(n-1): independent pairs would get deff near 3.

    The plain variance also holds each image's own binomial noise, about p/(n-1); the unbiased
    estimator removes it, and independent pairs get a design effect near 1.
    """
    rng = np.random.default_rng(3)
    n, p = 600, 0.01
    upper = np.triu(rng.random((n, n)) < p, 1)
    m = counts_from_adjacency((upper | upper.T).astype(np.int64))
    rate = m.sum() / (n * (n - 1))
    plain_deff = 1 + 2 * (n - 2) * np.var(m / (n - 1)) / (rate * (1 - rate))
    assert 2.5 < plain_deff < 3.5
    assert u_statistic_moments(m).design_effect < 1.2


def test_a_single_hub_is_capped_at_n_minus_1():
    """One image matching all others: the estimate exceeds the largest possible design effect, n - 1."""
    n = 100
    m = counts_from_edges(n, [(0, j) for j in range(1, n)])
    res = image_level_interval(m)
    assert res.design_effect == n - 1
    assert res.effective_trials == pytest.approx(n / 2)
    assert res.max_matches_per_image == n - 1 and res.images_involved == n


def test_all_pairs_matching_is_rate_one():
    n = 30
    res = image_level_interval(np.full(n, n - 1))
    assert res.rate == 1.0 and res.design_effect == 1.0
    assert res.ci_image_level[1] == 1.0 and res.upper_one_sided == 1.0


def test_sum_m_m1_is_exact_beyond_int64():
    """At n = 3e6 images sum m(m-1) exceeds int64; it is summed in chunks that cannot overflow."""
    n = 3_000_000
    m = np.full(n, n - 2, dtype=np.int64)
    assert u_statistic_moments(m).sum_m_m1 == n * (n - 2) * (n - 3)


@pytest.mark.parametrize(
    "per_image,n_pairs,message",
    [
        (np.array([1, 1, 1]), None, "2K"),  # odd sum: ordered or incomplete counts
        (np.array([2, 0, 0]), None, "Erdos-Gallai"),  # even sum, each <= n-1, yet no pair set gives it
        (np.array([3, 3, 1, 1, 0]), None, "Erdos-Gallai"),
        (np.array([-1, 1, 0]), None, "0..n-1"),
        (np.array([2, 0]), None, "0..n-1"),
        (np.zeros((2, 3), dtype=np.int64), None, "1-D"),
        (np.array([0.5, 0.5]), None, "whole"),
        (np.array([1, 1, 0, 0]), 12, "n_pairs=12"),  # n(n-1) ordered pairs: twice too many
        (np.array([0]), None, "at least 2 images"),
    ],
)
def test_bad_inputs_are_refused(per_image, n_pairs, message):
    with pytest.raises(ValueError, match=message):
        image_level_interval(per_image, n_pairs=n_pairs)


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_consistency_check_accepts_exactly_the_count_vectors_some_pair_set_gives(n):
    """Every graph on n images, enumerated: its counts pass; every other vector in 0..n-1 is refused."""
    pairs = list(itertools.combinations(range(n), 2))
    realisable = {
        tuple(counts_from_edges(n, [pr for b, pr in enumerate(pairs) if mask >> b & 1]))
        for mask in range(2 ** len(pairs))
    }
    for vec in itertools.product(range(n), repeat=n):
        if sum(vec) % 2:
            continue
        if vec in realisable:
            assert u_statistic_moments(np.array(vec)).count == sum(vec) // 2
        else:
            with pytest.raises(ValueError, match="Erdos-Gallai"):
                u_statistic_moments(np.array(vec))


def test_report_fields_carry_the_issue_14_contract_names():
    res = image_level_interval(counts_from_edges(10, [(0, 1), (0, 2), (1, 2)]))
    fields = res.report_fields()
    assert set(fields) == {
        "trials",
        "images_involved",
        "max_matches_per_image",
        "design_effect",
        "ci_image_level",
        "ci_pair_level",
        "upper_one_sided_95",
    }
    assert fields["trials"] == 45 and fields["images_involved"] == 3 and len(fields["ci_image_level"]) == 2
    assert "upper_one_sided_99" in image_level_interval(np.zeros(5, dtype=np.int64), alpha=0.01).report_fields()
    assert res.to_dict()["method"].startswith("image-level: Korn-Graubard")


# --- a planted clique ------------------------------------------------------------------------------


def clique_counts(n: int, clique: int, background: int, rng: np.random.Generator) -> np.ndarray:
    """Per-image counts of ``clique`` identical images plus ``background`` random pairs among the rest."""
    m = np.zeros(n, dtype=np.int64)
    m[:clique] = clique - 1
    if background:
        ends = rng.choice(np.arange(clique, n), size=(background, 2), replace=True)
        ends = ends[ends[:, 0] != ends[:, 1]]
        m += np.bincount(ends.ravel(), minlength=n)
    return m


def test_planted_clique_image_level_covers_the_population_rate_pair_level_does_not():
    """A sample of 2,000 images holds 115 identical flat images; the population holds 5% of them.

    A new sample's expected rate is q^2 = 0.0025 (two draws both from the clique); this sample's is
    115*114/(2000*1999) = 0.00328, a draw 1.5 sd above the mean share. The pair-level interval
    (6,555 matches treated as independent) is +-2.4% wide and excludes 0.0025; the image-level one
    knows the count hangs on ~115 images and includes it.
    """
    n, q = 2000, 0.05
    res = image_level_interval(clique_counts(n, 115, 0, np.random.default_rng(0)), n_pairs=n * (n - 1) // 2)
    assert res.count == 115 * 114 // 2
    assert not res.ci_pair_level[0] <= q**2 <= res.ci_pair_level[1]
    assert res.ci_image_level[0] <= q**2 <= res.ci_image_level[1]
    assert res.design_effect > 100
    assert np.diff(res.ci_image_level)[0] > 10 * np.diff(res.ci_pair_level)[0]


def covers(res: ImageLevelResult, true: float) -> tuple[bool, bool, bool]:
    """Whether the image-level interval, the pair-level interval and the one-sided bound of one
    sample's result cover the true rate."""
    return (
        res.ci_image_level[0] <= true <= res.ci_image_level[1],
        res.ci_pair_level[0] <= true <= res.ci_pair_level[1],
        true <= res.upper_one_sided,
    )


def test_clique_coverage_over_repeated_samples():
    """Repeated draws of n images from a population with a clique share q (plus sparse background).

    True rate of a pair of distinct images: q^2 + (1-q)^2 p0. Measured at seed 14, 1,000 samples:
    image-level two-sided coverage 0.965, one-sided bound 0.947; pair-level 0.100.
    """
    rng = np.random.default_rng(14)
    n, q, p0, reps = 2000, 0.05, 1e-4, 1000
    true = q**2 + (1 - q) ** 2 * p0
    hits = np.zeros(3)
    for _ in range(reps):
        clique = rng.binomial(n, q)
        background = rng.binomial((n - clique) * (n - clique - 1) // 2, p0)
        hits += covers(image_level_interval(clique_counts(n, clique, background, rng)), true)
    image, pair, upper = hits / reps
    assert image >= 0.92 and upper >= 0.92
    assert pair <= 0.3


# --- a hub model: coverage by simulation ---------------------------------------------------------


def hub_sample_counts(
    rng: np.random.Generator,
    n: int,
    reps: int,
    draw_hubness: Callable[[np.random.Generator, int], np.ndarray],
    match_prob: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
    """``reps`` samples of ``n`` images; pairs match independently given each image's latent hubness."""
    iu, ju = np.triu_indices(n, 1)
    out = np.empty((reps, n), dtype=np.int64)
    for r in range(reps):
        h = draw_hubness(rng, n)
        hit = rng.random(iu.size) < match_prob(h[iu], h[ju])
        out[r] = np.bincount(iu[hit], minlength=n) + np.bincount(ju[hit], minlength=n)
    return out


def test_hub_model_coverage():
    """2% of images are hubs that match any image with prob. 0.2; other pairs match with prob. 2e-4.

    True rate (analytic): (1-pi)^2 p0 + (1-(1-pi)^2) p_hub = 0.008112. Seed 14, 400 samples of
    400 images: image-level two-sided coverage 0.9625, one-sided bound 0.9575, pair-level 0.2075
    (docs/statistics.md lists the other designs tried).
    """
    pi, p_hub, p0 = 0.02, 0.2, 2e-4
    true = (1 - pi) ** 2 * p0 + (1 - (1 - pi) ** 2) * p_hub
    counts = hub_sample_counts(
        np.random.default_rng(14),
        n=400,
        reps=400,
        draw_hubness=lambda rng, n: (rng.random(n) < pi).astype(np.float64),
        match_prob=lambda a, b: np.where(a + b > 0, p_hub, p0),
    )
    image, pair, upper = np.mean([covers(image_level_interval(m), true) for m in counts], axis=0)
    assert image >= 0.90 and upper >= 0.90
    assert pair <= 0.5
    assert image - pair >= 0.4


def test_directed_hub_model_coverage_under_the_either_direction_rule():
    """A dihedral-style matcher: matching is directed (a hub, queried with its variants, matches
    any listed image with prob. 0.15; every other direction with prob. 1e-4) and the unordered
    pair is a match if either direction is. The folded indicator is symmetric, so the count is
    again a U-statistic over the images and the image-level interval keeps its coverage.
    True rate 9.17e-3. Seed 15, 300 samples of 300 images: image-level two-sided coverage 0.97,
    one-sided bound 0.947, pair-level 0.237."""
    pi, p_hub, p0 = 0.03, 0.15, 1e-4

    def either_direction(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        forward = np.where(a > 0, p_hub, p0)  # a queried against b
        backward = np.where(b > 0, p_hub, p0)
        return 1 - (1 - forward) * (1 - backward)

    hub_hub, hub_other, other = either_direction(np.ones(1), np.ones(1))[0], p_hub + p0 - p_hub * p0, 1 - (1 - p0) ** 2
    true = pi**2 * hub_hub + 2 * pi * (1 - pi) * hub_other + (1 - pi) ** 2 * other
    counts = hub_sample_counts(
        np.random.default_rng(15),
        n=300,
        reps=300,
        draw_hubness=lambda rng, n: (rng.random(n) < pi).astype(np.float64),
        match_prob=either_direction,
    )
    image, pair, upper = np.mean([covers(image_level_interval(m), true) for m in counts], axis=0)
    assert image >= 0.90 and upper >= 0.90
    assert pair <= 0.6


# --- the fpr-50b pHash case, reconstructed -------------------------------------------------------


def test_fpr_50b_phash_reconstruction_lands_near_the_review_figures():
    """pHash in fpr-50b: 102.8M false matches among ~550,015 images, 95% in one clique of 14,001.

    Reconstructed as the clique (14,000 matches per image) plus the other 4,793,000 matches spread
    evenly (17 or 18 per image) over the other 536,014 images. The review's figures: pair-level
    [6.798e-4, 6.801e-4], image-level about [6.59e-4, 7.02e-4]. This gives design effect 2.60e4 and
    image-level [6.586e-4, 7.011e-4]; the one-sided 95% bound 6.977e-4.
    """
    n, clique, total = 550_015, 14_001, 102_800_000
    other = total - clique * (clique - 1) // 2
    rest = n - clique
    m = np.zeros(n, dtype=np.int64)
    m[:clique] = clique - 1
    m[clique:] = (2 * other) // rest
    m[clique : clique + (2 * other) % rest] += 1
    res = image_level_interval(m, n_pairs=n * (n - 1) // 2)
    assert res.count == total
    assert res.design_effect == pytest.approx(2.6e4, rel=0.01)
    assert res.ci_image_level[0] == pytest.approx(6.59e-4, rel=0.002)
    assert res.ci_image_level[1] == pytest.approx(7.01e-4, rel=0.002)
    assert np.diff(res.ci_pair_level)[0] < 3e-7
