"""M/M/c queueing, vectorised over any array shape.

Why closed forms: the batched core steps thousands of environments at once,
so every service's latency must come from a few array operations. Erlang B is
written through the Poisson distribution, B(c, a) = P(X = c) / P(X <= c) with
X ~ Poisson(a), which scipy evaluates for whole arrays without a loop over c.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from scipy.special import gammaincc, gammaln

#: Utilisation above which the queue is treated as saturated (its latency is capped here).
RHO_CAP = 0.995


def erlang_c(c: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Probability that an arrival waits in M/M/c with c servers and offered load a = λ/μ (a < c)."""
    c = np.asarray(c, dtype=np.float64)
    a = np.maximum(np.asarray(a, dtype=np.float64), 1e-12)
    log_pmf = c * np.log(a) - a - gammaln(c + 1.0)
    cdf = gammaincc(c + 1.0, a)
    b = np.exp(log_pmf) / np.maximum(cdf, 1e-300)
    rho = a / np.maximum(c, 1e-12)
    return np.clip(b / np.maximum(1.0 - rho * (1.0 - b), 1e-12), 0.0, 1.0)


def mmc_mean_response(c: np.ndarray, lam: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """E[T] = C(c, a) / (cμ - λ) + 1/μ, in the unit of 1/μ."""
    wait = erlang_c(c, lam / mu) / (c * mu - lam)
    return wait + 1.0 / mu


def wait_quantile(c: np.ndarray, lam: np.ndarray, mu: np.ndarray, q: float) -> np.ndarray:
    """q-quantile of the M/M/c waiting time: P(W > t) = C e^{-(cμ - λ) t}, so t = ln(C / (1 - q)) / (cμ - λ)."""
    big_c = erlang_c(c, lam / mu)
    return np.maximum(np.log(np.maximum(big_c, 1e-300) / (1.0 - q)), 0.0) / (c * mu - lam)


#: Statistics the table holds, in this order, in units of the mean service time 1/μ:
#: the mean response time E[T], then the p50/p95/p99 of the waiting time plus the mean service time.
STATS = ("mean", "p50", "p95", "p99")
_QS = (0.5, 0.95, 0.99)
#: Grid points along u = log(1 - ρ) / log(1 - RHO_CAP): dense where the queue turns steep.
GRID = 512


class MMCTable:
    """M/M/c latency statistics tabulated over (c, ρ): E[T] and W_q + 1/μ for q = p50, p95, p99.

    Percentiles are the exact M/M/c waiting-time quantiles plus the mean service
    time (docs/simulator.md explains why: an exponential service-time tail would
    put every p99 at >= 4.6x the CPU time per request, whatever the load). Why a
    table: Erlang C costs about 0.7 ms per 5,000 queues through scipy, a large
    part of the core's step budget. It is exact at its grid points and linear in
    u between them (relative error below 1e-3; tests check it). Servers are
    rounded to the nearest integer (at least 1).
    """

    def __init__(self, c_max: int):
        self.c_max = int(max(1, c_max))
        c = np.arange(1, self.c_max + 1, dtype=np.float64)[:, None]
        rho = 1.0 - (1.0 - RHO_CAP) ** np.linspace(0.0, 1.0, GRID)[None, :]
        cc, rr = np.broadcast_arrays(c, rho)
        mu = np.ones_like(cc)
        table = np.empty((self.c_max, GRID, len(STATS)))
        table[..., 0] = mmc_mean_response(cc, rr * cc, mu)
        for j, q in enumerate(_QS, start=1):
            table[..., j] = wait_quantile(cc, rr * cc, mu, q) + 1.0
        self.table = table
        # Column c * (GRID - 1) + i holds the statistics at grid points i and i + 1, so one `take`
        # fetches both ends of every interpolation (a multi-index gather costs several times more;
        # it is the core's largest single gather).
        pairs = np.concatenate([table[:, :-1], table[:, 1:]], axis=-1).reshape(-1, 2 * len(STATS))
        self._pairs_t = np.ascontiguousarray(pairs.T)
        self._scale = (GRID - 1) / np.log1p(-RHO_CAP)

    def lookup(self, servers: np.ndarray, rho: np.ndarray) -> np.ndarray:
        """Statistics (*shape, 4) in units of 1/μ for `servers` (any real >= 0) at utilisation `rho`."""
        return np.moveaxis(self.lookup_stats(servers, rho), 0, -1)

    def lookup_stats(self, servers: np.ndarray, rho: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The same statistics, statistic first: (4, *shape), written into `out` when given.

        Statistic-first keeps every interpolation step a long contiguous loop over the
        queues (the batched core's hot path); `lookup` is the same numbers, statistic last.
        """
        ci = np.clip(np.rint(servers), 1, self.c_max).astype(np.intp) - 1
        u = np.log1p(-np.clip(rho, 0.0, RHO_CAP)) * self._scale
        i0 = np.minimum(u.astype(np.intp), GRID - 2)
        w = u - i0
        ci *= GRID - 1
        ci += i0
        ends = np.take(self._pairs_t, ci, axis=1)  # (2 x 4, *shape): both ends of each interval
        k = len(STATS)
        out = np.empty((k, *np.shape(w))) if out is None else out
        np.multiply(ends[:k], 1.0 - w, out=out)
        out += ends[k:] * w
        return out


@cache
def mmc_table(c_max: int) -> MMCTable:
    """A shared table, built once per process per size (sizes rounded up to 64 servers)."""
    return MMCTable(-(-int(c_max) // 64) * 64)
