"""Episode metrics from per-step records: the numbers of one row of the episodes table.

Why a log of plain arrays: the runner records what the simulator reports at
each step (cost by domain, per-service latency against its SLO, requests and
failures, energy, violations, actions, reward terms) and everything else —
headline metrics, perturbation recovery — is computed here, once, the same
way for every policy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from evaluation.schema import COST_DOMAINS

#: Consecutive steps with every service meeting its SLO that count as "recovered".
RECOVERY_HOLD_STEPS = 3


@dataclass
class EpisodeLog:
    """Per-step records of one episode (T steps, S services)."""

    step_s: float
    cost: dict[str, list[float]] = field(default_factory=lambda: {d: [] for d in COST_DOMAINS})
    p99_ms: list[np.ndarray] = field(default_factory=list)  # (S,) per step, end to end
    met: list[np.ndarray] = field(default_factory=list)  # (S,) bool per step: the simulator's SLO verdict
    requests: list[float] = field(default_factory=list)
    failed: list[float] = field(default_factory=list)
    carbon_kg: list[float] = field(default_factory=list)
    violations: list[float] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    terms: dict[str, list[float]] = field(default_factory=dict)
    reward: list[float] = field(default_factory=list)
    demand: list[float] = field(default_factory=list)
    capacity: list[float] = field(default_factory=list)

    def add_terms(self, terms: dict[str, float]) -> None:
        for name, value in terms.items():
            self.terms.setdefault(name, []).append(float(value))

    @property
    def steps(self) -> int:
        return len(self.p99_ms)

    def slo_met(self) -> np.ndarray:
        """(T, S) bool: whether each service met its SLO (p99 latency and error rate) at each step."""
        return np.asarray(self.met, dtype=bool)


def episode_metrics(log: EpisodeLog) -> dict[str, float]:
    """The METRICS of one episode (without the oracle and perturbation columns)."""
    if log.steps == 0:
        raise ValueError("an episode with no steps has no metrics")
    hours = log.steps * log.step_s / 3600.0
    costs = {f"cost_{d}": float(np.sum(log.cost[d])) for d in COST_DOMAINS}
    p99 = np.asarray(log.p99_ms)
    requests = float(np.sum(log.requests))
    out = {
        "cost_total": float(sum(costs.values())),
        **costs,
        "slo_attainment": float(log.slo_met().mean()),
        # The 99th percentile over steps of the worst service's end-to-end p99, in ms.
        "p99_latency_ms": float(np.percentile(p99.max(axis=1), 99)),
        "availability": 1.0 - float(np.sum(log.failed)) / requests if requests > 0 else 1.0,
        "carbon_kg": float(np.sum(log.carbon_kg)),
        "violations": float(np.sum(log.violations)),
        "actions_per_hour": float(np.sum(log.actions)) / hours,
        "reward_total": float(np.sum(log.reward)),
    }
    out.update({f"reward_{k}": float(np.sum(v)) for k, v in log.terms.items()})
    return out


def recovery_minutes(slo_met: np.ndarray, onset: int, step_s: float,
                     hold: int = RECOVERY_HOLD_STEPS) -> float:
    """Minutes from `onset` until every service meets its SLO for `hold` consecutive steps.

    0 when the perturbation never broke the SLO; censored at the episode's end
    (the minutes left) when the system never recovers, so a non-recovery is
    never reported as fast.
    """
    ok = np.asarray(slo_met, dtype=bool)
    ok = ok.all(axis=1) if ok.ndim == 2 else ok
    after = ok[onset:]
    if after.size == 0:
        return 0.0
    if after.all():
        return 0.0
    run = 0
    for i, good in enumerate(after):
        run = run + 1 if good else 0
        if run >= hold:
            start = i - hold + 1
            return start * step_s / 60.0
    return after.size * step_s / 60.0


def slo_lost(perturbed: np.ndarray, baseline: np.ndarray, onset: int) -> float:
    """Service-steps below SLO from `onset` on, beyond those of the unperturbed twin episode."""
    p = np.asarray(perturbed, dtype=bool)[onset:]
    b = np.asarray(baseline, dtype=bool)[onset : onset + len(p)]
    return float((~p).sum() - (~b).sum())
