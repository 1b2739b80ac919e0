"""The statistics functions against scipy's outputs and textbook values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from evaluation import stats

RNG = np.random.default_rng(7)
A = RNG.normal(10.0, 2.0, size=12)
B = RNG.normal(12.5, 4.0, size=9)


def test_welch_matches_scipy():
    ours = stats.welch_t(A, B)
    ref = sps.ttest_ind(A, B, equal_var=False)
    assert ours.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-10)
    assert ours.df == pytest.approx(ref.df, rel=1e-12)


def test_welch_textbook_value():
    # Equal n and variance: Welch reduces to Student's t with df = 2n - 2.
    a, b = [1.0, 2.0, 3.0, 4.0], [3.0, 4.0, 5.0, 6.0]
    res = stats.welch_t(a, b)
    assert res.statistic == pytest.approx(-2.0 / np.sqrt(2 * (5 / 3) / 4))
    assert res.df == pytest.approx(6.0)


def test_welch_constant_samples():
    assert stats.welch_t([3, 3, 3], [3, 3]).pvalue == 1.0
    assert stats.welch_t([3, 3, 3], [4, 4]).pvalue == 0.0
    with pytest.raises(ValueError):
        stats.welch_t([1.0], [1.0, 2.0])


def test_mann_whitney_matches_scipy_exact_and_ties():
    ref = sps.mannwhitneyu(A, B, alternative="two-sided")
    ours = stats.mann_whitney(A, B)
    assert ours.statistic == ref.statistic
    assert ours.pvalue == pytest.approx(ref.pvalue)
    ties_a, ties_b = [1, 2, 2, 3, 3, 3], [2, 3, 4, 4, 5]
    ref = sps.mannwhitneyu(ties_a, ties_b, alternative="two-sided")
    assert stats.mann_whitney(ties_a, ties_b).pvalue == pytest.approx(ref.pvalue)
    assert stats.mann_whitney([1, 1], [1, 1, 1]).pvalue == 1.0


def test_holm_known_values():
    adjusted = stats.holm_bonferroni([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, max(0.04*1, 0.06) = 0.06
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(stats.holm_bonferroni([0.5, 0.9]), [1.0, 1.0])
    assert stats.holm_bonferroni([]).size == 0
    with pytest.raises(ValueError):
        stats.holm_bonferroni([0.1, 1.5])


def test_holm_never_below_raw_and_never_above_bonferroni():
    p = np.random.default_rng(1).uniform(0, 0.2, size=30)
    adj = stats.holm_bonferroni(p)
    assert np.all(adj >= p)
    assert np.all(adj <= np.minimum(1.0, p * p.size) + 1e-15)


def test_bootstrap_bca_matches_scipy():
    x = np.random.default_rng(3).lognormal(0.0, 0.6, size=25)
    ours = stats.bootstrap_ci(x, n_resamples=20_000, seed=11)
    ref = sps.bootstrap((x,), np.mean, n_resamples=20_000, method="BCa", rng=np.random.default_rng(5))
    width = ref.confidence_interval.high - ref.confidence_interval.low
    assert ours.estimate == pytest.approx(x.mean())
    assert ours.low == pytest.approx(ref.confidence_interval.low, abs=0.05 * width)
    assert ours.high == pytest.approx(ref.confidence_interval.high, abs=0.05 * width)


def test_bootstrap_percentile_matches_scipy():
    x = np.random.default_rng(4).normal(5.0, 1.0, size=8)
    ours = stats.bootstrap_ci(x, method="percentile", n_resamples=20_000, seed=2)
    ref = sps.bootstrap((x,), np.mean, n_resamples=20_000, method="percentile",
                        rng=np.random.default_rng(9)).confidence_interval
    width = ref.high - ref.low
    assert ours.low == pytest.approx(ref.low, abs=0.05 * width)
    assert ours.high == pytest.approx(ref.high, abs=0.05 * width)


def test_bootstrap_degenerate_and_seeded():
    assert stats.bootstrap_ci([2.0, 2.0, 2.0]).low == 2.0
    assert stats.bootstrap_ci([4.0]).high == 4.0
    assert stats.bootstrap_ci(A, seed=3) == stats.bootstrap_ci(A, seed=3)
    with pytest.raises(ValueError):
        stats.bootstrap_ci([np.nan])


def test_bootstrap_coverage_of_normal_mean():
    """About 95 % of the intervals cover the true mean (n = 20, 300 trials)."""
    rng = np.random.default_rng(0)
    hits = sum(
        (ci := stats.bootstrap_ci(rng.normal(0.0, 1.0, 20), n_resamples=2_000, seed=i)).low <= 0.0 <= ci.high
        for i in range(300)
    )
    assert 0.89 <= hits / 300 <= 0.98


def test_bootstrap_diff_contains_true_difference():
    ci = stats.bootstrap_diff_ci(A, B)
    assert ci.estimate == pytest.approx(B.mean() - A.mean())
    assert ci.low < ci.estimate < ci.high


def test_effect_sizes_known_values():
    a, b = [1.0, 2.0, 3.0, 4.0], [3.0, 4.0, 5.0, 6.0]
    d = 2.0 / np.sqrt(5 / 3)  # pooled SD sqrt(5/3)
    assert stats.cohens_d(a, b, hedges=False) == pytest.approx(d)
    assert stats.cohens_d(a, b) == pytest.approx(d * (1 - 3 / (4 * 8 - 9)))
    assert stats.cohens_d([1, 1, 1], [1, 1]) == 0.0
    # Cliff's delta equals 2U/(n_a n_b) - 1 with U the statistic of B (scipy's definition).
    u_b = sps.mannwhitneyu(B, A).statistic
    assert stats.cliffs_delta(A, B) == pytest.approx(2 * u_b / (A.size * B.size) - 1)
    assert stats.cliffs_delta([1, 2], [3, 4]) == 1.0
    assert stats.magnitude(0.1) == "negligible" and stats.magnitude(-0.5) == "large"


def test_compare_and_verdict():
    rng = np.random.default_rng(5)
    a = {"cost": rng.normal(100, 2, 8), "slo": rng.normal(0.99, 0.002, 8), "p99": rng.normal(200, 5, 8)}
    b = {"cost": rng.normal(90, 2, 8), "slo": rng.normal(0.99, 0.002, 8), "p99": rng.normal(200, 5, 8)}
    dirs = {"cost": "lower", "slo": "higher", "p99": "lower"}
    rows = stats.compare_samples(a, b, dirs)
    by = {r.metric: r for r in rows}
    assert by["cost"].better == "B" and by["cost"].diff.high < 0
    assert by["slo"].better == "tie"
    np.testing.assert_allclose([r.pvalue_holm for r in rows],
                               stats.holm_bonferroni([r.pvalue for r in rows]))
    v = stats.verdict(rows, "old", "new")
    assert v.winner == "B" and "new is better" in v.text and "cost" in v.text
    b["slo"] = rng.normal(0.95, 0.002, 8)
    v = stats.verdict(stats.compare_samples(a, b, dirs, test="mannwhitney"))
    assert v.winner == "mixed"
    same = stats.verdict(stats.compare_samples(a, a, dirs))
    assert same.winner == "none"
