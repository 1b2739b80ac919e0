"""Synthetic suite results in the schema's layout, for the report, figure and A/B tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.results import SuiteResults
from evaluation.schema import NO_PERTURBATION

POLICIES = {"maddpg": (1.15, 0.98), "hpa": (1.4, 0.97), "static": (1.9, 0.99)}
TERMS = ("reward_cost", "reward_performance", "reward_reliability", "reward_sustainability",
         "reward_penalty")


def synthetic_results(seeds: int = 5) -> SuiteResults:
    rng = np.random.default_rng(0)
    rows, timeline = [], []
    for policy, (ratio, slo) in POLICIES.items():
        for scenario in ("web", "batch"):
            for pattern in ("steady", "burst"):
                for pert in (NO_PERTURBATION, "zone_failure"):
                    if pert != NO_PERTURBATION and pattern != "steady":
                        continue
                    for seed in range(seeds):
                        oracle = 10.0 + rng.normal(0, 0.5)
                        r = ratio + abs(rng.normal(0, 0.05))
                        parts = rng.dirichlet([6, 1, 1, 2]) * oracle * r
                        row = dict(policy=policy, scenario=scenario, pattern=pattern, perturbation=pert,
                                   seed=seed, cost_total=oracle * r, oracle_cost=oracle, cost_ratio=r,
                                   oracle_bound=0.5 * oracle,
                                   slo_attainment=min(1.0, slo + rng.normal(0, 0.005)),
                                   p99_latency_ms=200 + rng.normal(0, 10), availability=0.999,
                                   carbon_kg=1.5 * r, violations=float(rng.integers(0, 3)),
                                   actions_per_hour=2.0 + rng.random(), recovery_min=np.nan,
                                   slo_lost=np.nan)
                        row.update({f"cost_{d}": v for d, v in
                                    zip(("compute", "storage", "network", "database"), parts, strict=True)})
                        terms = rng.normal([-2.0, 3.0, 1.5, 0.7, -0.2], 0.1)
                        row.update(dict(zip(TERMS, terms, strict=True)), reward_total=terms.sum())
                        if pert != NO_PERTURBATION:
                            row.update(recovery_min=30 + 10 * rng.random(), slo_lost=5 * rng.random())
                            for step in range(24):
                                timeline.append(dict(policy=policy, scenario=scenario, pattern=pattern,
                                                     perturbation=pert, seed=seed, step=step,
                                                     minute=5 * step, demand=1.0,
                                                     capacity=0.6 if 8 <= step < 12 else 1.3,
                                                     cost_rate=1.0, slo_met=0.5 if 8 <= step < 12 else 1.0,
                                                     p99_ratio=0.8, active=int(8 <= step < 12)))
                        rows.append(row)
    training = pd.DataFrame([dict(policy="maddpg", iteration=i, env_steps=1000 * i, reward=-5 + i * 0.4,
                                  cost=10 - 0.2 * i, slo_attainment=0.8 + 0.015 * i) for i in range(1, 12)])
    xs = np.linspace(0, 1, 9)
    boundaries = pd.DataFrame([dict(agent=a, feature_x="cpu_utilization", feature_y="latency_p99",
                                    x=x, y=y, action="scale_out" if x + y > 1 else "hold")
                               for a in ("compute", "database") for x in xs for y in xs])
    return SuiteResults(suite="synthetic", episodes=pd.DataFrame(rows), timelines=pd.DataFrame(timeline),
                        training=training, boundaries=boundaries, reference="maddpg",
                        record={"command": "marlform evaluate --suite synthetic", "seeds": list(range(seeds)),
                                "git_commit": "abc", "packages": {"numpy": np.__version__}})


@pytest.fixture
def results() -> SuiteResults:
    return synthetic_results()
