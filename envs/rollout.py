"""Run a policy through a whole episode of the batched core and summarise it.

Takes any object with `reset(seed, n_envs)` and `act_batch(observations, info)`
(the `agents.policy.Policy` contract; envs does not import agents).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.churn import ChurnMeter, knob_values
from envs.core import BatchedCore
from envs.policy_info import from_core


def run_episode(core: BatchedCore, policy: Any, seed: int | None = 0, timeline=None) -> dict[str, Any]:
    """One episode from reset to truncation; per-env arrays of cost, SLO attainment, carbon, rewards,
    and churn (`envs.churn`: knob changes per hour, flip rate)."""
    core.reset(seed)
    policy.reset(seed, core.n)
    obs = core.observer.observe(core.state, core.flat_masks(), core.costs_by_agent())
    cost = np.zeros(core.n)
    carbon = np.zeros(core.n)
    slo = np.zeros(core.n)
    p99 = np.zeros(core.n)
    errors = np.zeros(core.n)
    rewards: dict[str, np.ndarray] = {}
    entries = core._entry_services
    steps = 0
    churn = ChurnMeter(knob_values(core.state))
    while True:
        actions = policy.act_batch(obs, from_core(core))
        obs, rew, _term, trunc, info = core.step(actions)
        if timeline is not None:
            timeline.record(core, core.action_log)
        steps += 1
        churn.update(knob_values(core.state))
        cost += info["cost_usd"]
        carbon += info["carbon_kg"]
        slo += info["slo_met"][:, entries].mean(axis=1)
        p99 += core.last.latency[:, entries, 2].mean(axis=1)
        errors += core.last.error[:, entries].mean(axis=1)
        for agent, r in rew.items():
            rewards[agent] = rewards.get(agent, 0.0) + r
        if trunc.all():
            break
    hours = steps * core.config.step_s / 3600.0
    return {"steps": steps, "hours": hours, "cost_usd": cost, "slo_attainment": slo / steps,
            "mean_entry_p99_ms": p99 / steps, "mean_entry_error_rate": errors / steps,
            "carbon_kg": carbon, "rewards": rewards, **churn.summary(core.config.step_s)}
