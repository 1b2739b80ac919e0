"""A/B comparison of two agent configurations on the same episodes, with one clear verdict.

Why its own entry point: an operator deciding whether to promote a new policy
version (or a researcher judging an ablation) asks one question, "is B better
than A, and at what price?", and needs the answer with its evidence: per-metric
means, the bootstrap CI of the difference, Welch (or Mann–Whitney) p-values
Holm-corrected across the metrics, effect sizes, and a verdict.
"""

from __future__ import annotations

from typing import Any

from evaluation import stats
from evaluation.runner import SuiteConfig, run_suite
from evaluation.schema import EvaluationError, directions

#: Metrics an A/B verdict weighs: the headline ones and the total reward.
AB_METRICS: tuple[str, ...] = (
    "cost_ratio", "slo_attainment", "p99_latency_ms", "availability", "carbon_kg", "violations", "reward_total",
)


def run_ab(a: str, b: str, *, scenarios: tuple[str, ...] = ("web",), patterns: tuple[str, ...] = ("steady", "burst"),
           seeds: int = 5, steps: int = 48, test: stats.TestName = "welch", alpha: float = 0.05,
           registry: str | None = None, workers: int = 0) -> dict[str, Any]:
    """Run A and B on identical episodes and compare them; the result is plain JSON data."""
    if a == b:
        raise EvaluationError("A and B are the same configuration; compare two different ones")
    if seeds < 2:
        raise EvaluationError("an A/B comparison needs at least 2 seeds (5 or more for a reliable verdict)")
    config = SuiteConfig(name="ab", policies=(a, b), scenarios=tuple(scenarios), patterns=tuple(patterns),
                         perturbations=(), seeds=seeds, steps=steps, reference=a)
    episodes, _ = run_suite(config, workers=workers, registry=registry)
    return compare_episodes(episodes, a, b, test=test, alpha=alpha) | {"config": config.to_dict()}


def compare_episodes(episodes, a: str, b: str, test: stats.TestName = "welch", alpha: float = 0.05) -> dict[str, Any]:
    """Compare policy `b` with `a` on an episodes table (every metric of AB_METRICS it has)."""
    rows = {p: episodes[episodes["policy"] == p] for p in (a, b)}
    for p, frame in rows.items():
        if frame.empty:
            raise EvaluationError(f"no episodes of policy {p!r} to compare")
    metrics = [m for m in AB_METRICS if m in episodes.columns]
    samples = {p: {m: frame[m].to_numpy(dtype=float) for m in metrics} for p, frame in rows.items()}
    comparisons = stats.compare_samples(samples[a], samples[b], directions(metrics), test=test, alpha=alpha)
    verdict = stats.verdict(comparisons, a, b)
    return {"a": a, "b": b, "episodes_per_policy": len(rows[a]), "test": test, "alpha": alpha,
            "comparisons": [c.to_dict() for c in comparisons],
            "verdict": {"winner": verdict.winner, "text": verdict.text}}
