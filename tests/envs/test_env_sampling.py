"""The rare-event sampler draws from the binomial distribution."""

from __future__ import annotations

import numpy as np
from scipy.stats import binom

from envs.sampling import rare_binomial


def test_rare_binomial_matches_the_binomial_distribution():
    rng = np.random.default_rng(0)
    draws = 200_000
    for n, p in [(3, 1e-3), (8, 0.05), (20, 0.3), (1, 0.5), (0, 0.2)]:
        x = rare_binomial(rng, np.full(draws, n), p)
        assert x.dtype == np.int64 and x.min() >= 0 and x.max() <= n
        for k in range(n + 1):
            pmf = binom.pmf(k, n, p)
            sigma = np.sqrt(pmf * (1 - pmf) / draws)
            assert abs(np.mean(x == k) - pmf) <= 5 * sigma + 1e-12, (n, p, k)


def test_rare_binomial_edges_and_mixed_trials():
    rng = np.random.default_rng(1)
    n = np.array([[0, 5], [7, 2]])
    assert not rare_binomial(rng, n, 0.0).any()
    assert np.array_equal(rare_binomial(rng, n, 1.0), n)
    x = rare_binomial(rng, np.tile(n, (50_000, 1)), 0.1).reshape(50_000, 2, 2)
    assert (x <= n).all()
    np.testing.assert_allclose(x.mean(axis=0), n * 0.1, atol=0.02)  # each element its own n
