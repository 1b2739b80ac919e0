"""Statistics a reviewer accepts: bootstrap CIs, two-sample tests, Holm–Bonferroni, effect sizes.

Why our own code for the bootstrap and Welch's test: both are vectorised over
the whole results table (thousands of cells per suite) and must behave on the
degenerate samples that evaluation produces (all seeds equal, two seeds only).
scipy stays the reference: tests check every number here against scipy's
outputs or textbook values. Mann–Whitney U is scipy's own (its exact/asymptotic
switch and tie correction are subtle and already right there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from scipy import special
from scipy import stats as sps

Direction = Literal["lower", "higher"]
TestName = Literal["welch", "mannwhitney"]


def _sample(values: Sequence[float] | np.ndarray, name: str = "sample") -> np.ndarray:
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise ValueError(f"{name} has no finite values")
    return x


@dataclass(frozen=True)
class Interval:
    """A point estimate and its two-sided confidence interval."""

    estimate: float
    low: float
    high: float
    confidence: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    method: Literal["bca", "percentile"] = "bca",
    seed: int = 0,
) -> Interval:
    """Bootstrap CI of the mean (BCa by default, as scipy.stats.bootstrap).

    BCa corrects the percentile interval for bias and skew, which matters with
    the 5–10 seeds an evaluation affords. A constant sample gives a zero-width
    interval (scipy returns NaN there); one value gives that value.
    """
    x = _sample(values)
    mean = float(x.mean())
    if x.size == 1 or np.ptp(x) == 0.0:
        return Interval(mean, mean, mean, confidence)
    rng = np.random.default_rng(seed)
    boot = x[rng.integers(0, x.size, size=(n_resamples, x.size))].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    quantiles = np.array([alpha, 1.0 - alpha])
    if method == "bca":
        quantiles = _bca_quantiles(x, boot, mean, quantiles)
    low, high = np.quantile(boot, quantiles)
    return Interval(mean, float(low), float(high), confidence)


def _bca_quantiles(x: np.ndarray, boot: np.ndarray, theta: float, q: np.ndarray) -> np.ndarray:
    """Efron's bias-corrected and accelerated quantile levels (jackknife acceleration)."""
    share = (np.count_nonzero(boot < theta) + 0.5 * np.count_nonzero(boot == theta)) / boot.size
    share = float(np.clip(share, 1.0 / boot.size, 1.0 - 1.0 / boot.size))
    z0 = special.ndtri(share)
    jack = (x.sum() - x) / (x.size - 1)
    d = jack.mean() - jack
    denom = 6.0 * np.sum(d**2) ** 1.5
    accel = float(np.sum(d**3) / denom) if denom > 0 else 0.0
    z = special.ndtri(q)
    return special.ndtr(z0 + (z0 + z) / (1.0 - accel * (z0 + z)))


def bootstrap_diff_ci(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap CI of mean(b) - mean(a), resampling each group independently."""
    xa, xb = _sample(a, "a"), _sample(b, "b")
    diff = float(xb.mean() - xa.mean())
    rng = np.random.default_rng(seed)
    ma = xa[rng.integers(0, xa.size, size=(n_resamples, xa.size))].mean(axis=1)
    mb = xb[rng.integers(0, xb.size, size=(n_resamples, xb.size))].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(mb - ma, [alpha, 1.0 - alpha])
    return Interval(diff, float(low), float(high), confidence)


@dataclass(frozen=True)
class TestResult:
    """A two-sample test: statistic, degrees of freedom (Welch only) and two-sided p-value."""

    test: str
    statistic: float
    pvalue: float
    df: float | None = None


def welch_t(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> TestResult:
    """Welch's unequal-variance t-test (two-sided), t = (mean a - mean b) / SE.

    Two constant samples give p = 1 when their means are equal and p = 0 when
    they differ: the honest answer where scipy returns NaN.
    """
    xa, xb = _sample(a, "a"), _sample(b, "b")
    if xa.size < 2 or xb.size < 2:
        raise ValueError("Welch's t-test needs at least two values per group")
    va, vb = xa.var(ddof=1) / xa.size, xb.var(ddof=1) / xb.size
    se2 = va + vb
    diff = xa.mean() - xb.mean()
    if se2 == 0.0:
        equal = bool(np.isclose(diff, 0.0))
        return TestResult("welch", 0.0 if equal else float(np.sign(diff) * np.inf), 1.0 if equal else 0.0)
    t = diff / np.sqrt(se2)
    df = se2**2 / (va**2 / (xa.size - 1) + vb**2 / (xb.size - 1))
    return TestResult("welch", float(t), float(2.0 * sps.t.sf(abs(t), df)), float(df))


def mann_whitney(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> TestResult:
    """Mann–Whitney U (two-sided), U of sample a; scipy chooses exact or asymptotic."""
    xa, xb = _sample(a, "a"), _sample(b, "b")
    if np.ptp(np.concatenate([xa, xb])) == 0.0:
        return TestResult("mannwhitney", xa.size * xb.size / 2.0, 1.0)
    res = sps.mannwhitneyu(xa, xb, alternative="two-sided")
    return TestResult("mannwhitney", float(res.statistic), float(res.pvalue))


def holm_bonferroni(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (same order as given), capped at 1.

    p_(i) adjusted = max_{j <= i} min(1, (m - j + 1) p_(j)) over the sorted p's.
    Rejecting where adjusted p <= alpha controls the family-wise error at alpha.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    if p.size == 0:
        return p.copy()
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must be finite and in [0, 1]")
    order = np.argsort(p, kind="stable")
    m = p.size
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty_like(p)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted


def cohens_d(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, hedges: bool = True) -> float:
    """Standardised mean difference (mean b - mean a) / pooled SD; Hedges' small-sample g by default.

    With the 5–10 seeds of an evaluation, Cohen's d overstates effects by up to
    ~20 %; Hedges' factor J = 1 - 3 / (4 (na + nb) - 9) removes that bias.
    Zero pooled variance gives 0 for equal means and ±inf otherwise.
    """
    xa, xb = _sample(a, "a"), _sample(b, "b")
    na, nb = xa.size, xb.size
    if na + nb < 3:
        raise ValueError("an effect size needs at least three values in all")
    pooled = ((na - 1) * xa.var(ddof=1 if na > 1 else 0) + (nb - 1) * xb.var(ddof=1 if nb > 1 else 0)) / (
        na + nb - 2
    )
    diff = xb.mean() - xa.mean()
    if pooled == 0.0:
        return 0.0 if np.isclose(diff, 0.0) else float(np.sign(diff) * np.inf)
    d = diff / np.sqrt(pooled)
    if hedges:
        d *= 1.0 - 3.0 / (4.0 * (na + nb) - 9.0)
    return float(d)


def cliffs_delta(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """P(B > A) - P(B < A) over all pairs: a rank effect size in [-1, 1], robust to outliers."""
    xa, xb = _sample(a, "a"), _sample(b, "b")
    sign = np.sign(xb[:, None] - xa[None, :])
    return float(sign.mean())


def magnitude(delta: float) -> str:
    """Romano et al.'s (2006) labels for |Cliff's delta|: negligible/small/medium/large."""
    size = abs(delta)
    if size < 0.147:
        return "negligible"
    if size < 0.33:
        return "small"
    if size < 0.474:
        return "medium"
    return "large"


@dataclass(frozen=True)
class Comparison:
    """B against A on one metric: the means, the difference and its CI, tests and effect sizes."""

    metric: str
    direction: Direction
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    diff: Interval
    welch: TestResult
    mannwhitney: TestResult
    test: TestName
    pvalue: float
    pvalue_holm: float
    hedges_g: float
    cliffs_delta: float
    #: "A", "B" or "tie" after the Holm correction.
    better: str

    def to_dict(self) -> dict:
        out = asdict(self)
        out["diff"] = self.diff.to_dict()
        out["magnitude"] = magnitude(self.cliffs_delta)
        return out


def compare_samples(
    samples_a: dict[str, Sequence[float]],
    samples_b: dict[str, Sequence[float]],
    directions: dict[str, Direction],
    test: TestName = "welch",
    alpha: float = 0.05,
    seed: int = 0,
) -> list[Comparison]:
    """Compare B with A on each metric, Holm-correcting across the metrics compared.

    `directions[m]` says which way is better ("lower" cost, "higher" SLO
    attainment). A metric counts as won only when its corrected p <= alpha.
    """
    metrics = [m for m in directions if m in samples_a and m in samples_b]
    if not metrics:
        raise ValueError("no metric appears in both samples")
    rows = []
    for m in metrics:
        a, b = _sample(samples_a[m], f"A.{m}"), _sample(samples_b[m], f"B.{m}")
        welch = welch_t(a, b) if a.size > 1 and b.size > 1 else TestResult("welch", np.nan, 1.0)
        mw = mann_whitney(a, b)
        rows.append((m, a, b, welch, mw))
    raw = [(r[3] if test == "welch" else r[4]).pvalue for r in rows]
    adjusted = holm_bonferroni(raw)
    out = []
    for (m, a, b, welch, mw), p, p_adj in zip(rows, raw, adjusted, strict=True):
        diff = bootstrap_diff_ci(a, b, seed=seed)
        sign = 1.0 if directions[m] == "higher" else -1.0
        improvement = sign * (b.mean() - a.mean())
        better = "tie"
        if p_adj <= alpha and improvement != 0:
            better = "B" if improvement > 0 else "A"
        out.append(
            Comparison(
                metric=m, direction=directions[m], n_a=a.size, n_b=b.size,
                mean_a=float(a.mean()), mean_b=float(b.mean()), diff=diff, welch=welch,
                mannwhitney=mw, test=test, pvalue=float(p), pvalue_holm=float(p_adj),
                hedges_g=cohens_d(a, b) if a.size + b.size >= 3 else 0.0,
                cliffs_delta=cliffs_delta(a, b), better=better,
            )
        )
    return out


@dataclass(frozen=True)
class Verdict:
    """The outcome of an A/B comparison: a code for scripts and one clear sentence for people."""

    #: "A", "B", "mixed" or "none".
    winner: str
    text: str


def verdict(comparisons: Sequence[Comparison], name_a: str = "A", name_b: str = "B") -> Verdict:
    """Which configuration wins, on what, and where it loses.

    B is better when it wins at least one metric significantly and loses none;
    symmetric for A; "mixed" when each wins somewhere; otherwise no difference.
    """
    wins_b = [c.metric for c in comparisons if c.better == "B"]
    wins_a = [c.metric for c in comparisons if c.better == "A"]
    if wins_b and not wins_a:
        return Verdict("B", f"{name_b} is better: significantly better on {', '.join(wins_b)}, "
                            "worse on nothing.")
    if wins_a and not wins_b:
        return Verdict("A", f"{name_a} is better: significantly better on {', '.join(wins_a)}, "
                            "worse on nothing.")
    if wins_a and wins_b:
        return Verdict("mixed", f"mixed: {name_b} is better on {', '.join(wins_b)}, "
                                f"{name_a} is better on {', '.join(wins_a)}.")
    return Verdict("none", f"no significant difference between {name_a} and {name_b} on any metric.")
