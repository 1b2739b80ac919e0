"""Held-out comparison of MADDPG with the rule baselines (`marlform evaluate --quick`).

Every policy runs the same episodes: the same deployment, the held-out replay
window of the trace (the second half of the shipped series, which training
never replays) and the same simulator seeds. The rows are therefore paired,
and the MADDPG − HPA cost difference gets a paired bootstrap CI. Episodes go
through `envs.rollout.run_episode`, the simulator's own episode summary, so
the baselines' numbers mean exactly what they mean everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Columns of the table: (key, label). Reliability = 1 − mean error rate at the entry points.
#: Churn (`envs.churn`): knob changes per hour and flip rate, the share of changes that undo
#: the previous step's change on the same knob (a thrashing policy is near 1).
METRICS = (("cost_usd", "cost $"), ("slo_attainment", "SLO attainment"),
           ("reliability", "reliability"), ("carbon_kg", "carbon kg"),
           ("changes_per_hour", "changes/h"), ("flip_rate", "flip rate"))


@dataclass
class PolicyResult:
    name: str
    per_episode: dict[str, np.ndarray]  # metric → (episodes,)
    summary: dict[str, dict[str, float]] = field(default_factory=dict)  # metric → mean, lo, hi


def bootstrap_ci(values: np.ndarray, rng: np.random.Generator, resamples: int = 2000,
                 level: float = 0.95) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap CI of the mean."""
    values = np.asarray(values, dtype=np.float64)
    idx = rng.integers(0, len(values), size=(resamples, len(values)))
    means = values[idx].mean(axis=1)
    tail = (1.0 - level) / 2.0
    return float(values.mean()), float(np.quantile(means, tail)), float(np.quantile(means, 1.0 - tail))


def held_out_core(scenario: str, episodes: int, episode_steps: int = 96):
    """The held-out evaluation environment: N = episodes, replaying the unseen part of the trace."""
    from agents.sim_env import HELD_OUT_FROM, held_out_steps
    from envs.config import SimConfig
    from envs.core import BatchedCore
    from envs.scenarios import scenario_spec
    from envs.workload import WorkloadSpec

    workload = WorkloadSpec(scenario, "replay", options=(("replay_offset", HELD_OUT_FROM),))
    return BatchedCore(scenario_spec(scenario), n_envs=episodes, workload=workload,
                       config=SimConfig(steps=held_out_steps(episode_steps)), seed=0)


def run_policy(core, policy: Any, seed: int) -> dict[str, np.ndarray]:
    from envs.rollout import run_episode

    out = run_episode(core, policy, seed=seed)
    return {
        "cost_usd": out["cost_usd"],
        "slo_attainment": out["slo_attainment"],
        "reliability": 1.0 - out["mean_entry_error_rate"],
        "carbon_kg": out["carbon_kg"],
        "changes_per_hour": out["changes_per_hour"],
        "flip_rate": out["flip_rate"],
    }


def compare(policies: dict[str, list[Any]], scenario: str = "web", episodes: int = 8, seed: int = 0,
            baseline: str = "hpa") -> dict[str, Any]:
    """Run each policy (a list of instances = training seeds, pooled) on the same held-out episodes."""
    core = held_out_core(scenario, episodes)
    rng = np.random.default_rng(seed)
    results: dict[str, PolicyResult] = {}
    for name, instances in policies.items():
        runs = [run_policy(core, p, seed) for p in instances]
        pooled = {k: np.concatenate([r[k] for r in runs]) for k in runs[0]}
        res = PolicyResult(name, pooled)
        for key, _ in METRICS:
            mean, lo, hi = bootstrap_ci(pooled[key], rng)
            res.summary[key] = {"mean": mean, "lo": lo, "hi": hi}
        results[name] = res
    report: dict[str, Any] = {
        "scenario": scenario,
        "episodes_per_policy_instance": episodes,
        "steps_per_episode": core.config.steps,
        "workload": "held-out replay window (trace steps "
                    f"{core.workload.options[0][1]}..{core.workload.options[0][1] + core.config.steps})",
        "policies": {n: r.summary for n, r in results.items()},
    }
    if baseline in results:
        report["vs_" + baseline] = {
            n: _paired(results[n], results[baseline], rng) for n in results if n != baseline
        }
    return report


def _paired(a: PolicyResult, b: PolicyResult, rng: np.random.Generator) -> dict[str, float]:
    """Cost difference a − b per paired episode (b tiled over a's training seeds) and its CI."""
    reps = len(a.per_episode["cost_usd"]) // len(b.per_episode["cost_usd"])
    diff = a.per_episode["cost_usd"] - np.tile(b.per_episode["cost_usd"], reps)
    mean, lo, hi = bootstrap_ci(diff, rng)
    base = float(b.per_episode["cost_usd"].mean())
    return {
        "cost_diff_usd": mean, "cost_diff_lo": lo, "cost_diff_hi": hi,
        "cost_change_pct": 100.0 * mean / base if base else float("nan"),
        "ci_excludes_zero": bool(hi < 0 or lo > 0),
        "slo_not_lower": bool(a.summary["slo_attainment"]["mean"] >= b.summary["slo_attainment"]["mean"]),
    }
