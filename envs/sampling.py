"""Random draws for rare events (machine failures, preemptions) at the cost of one uniform each.

Why: `Generator.binomial` with a different n per element sets up its sampler for
every element, which made failure and preemption draws the largest single cost
of the core's capacity step. When p is small nearly every draw is 0, so this
samples Binomial(n, p) by inversion from one uniform per element: 0 when
u <= (1 - p)^n, and only the rare rest walk up the distribution. Same
distribution (tests compare it with numpy's sampler), a different random stream.
"""

from __future__ import annotations

import numpy as np


def rare_binomial(rng: np.random.Generator, n: np.ndarray, p: float) -> np.ndarray:
    """Binomial(n, p) draws, int64 of n's shape, by inversion (fast when n * p is small)."""
    n = np.asarray(n, dtype=np.int64)
    u = rng.random(n.shape)
    out = np.zeros(n.shape, dtype=np.int64)
    if p <= 0.0:
        return out
    if p >= 1.0:
        return n.copy()
    pmf = np.exp(n * np.log1p(-p))  # P(X = 0)
    hit = np.nonzero(u > pmf)
    if hit[0].size:
        trials, target, pmf = n[hit], u[hit], pmf[hit]
        cdf, k = pmf.copy(), np.zeros(trials.shape, dtype=np.int64)
        odds = p / (1.0 - p)
        while True:
            more = (target > cdf) & (k < trials)
            if not more.any():
                break
            pmf = np.where(more, pmf * (trials - k) / (k + 1) * odds, pmf)
            cdf = np.where(more, cdf + pmf, cdf)
            k += more
        out[hit] = k
    return out
