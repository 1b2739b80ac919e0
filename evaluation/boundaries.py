"""Decision boundaries: what a policy does as two observation features sweep a grid.

Why this probe: a reviewer wants to see *when* an agent scales, not only its
averages. The compute agent's replica choice for the first service is read
over a grid of that service's CPU utilisation and p99 latency (relative to its
SLO), everything else held at a real mid-episode observation. Each grid point
is one environment of a batched core, so the whole grid is one forward pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Columns of the compute telemetry (gcp.telemetry METRICS["compute"] order).
CPU, P99 = 0, 3
WARMUP_STEPS = 3


def decision_boundaries(policy: Any, policy_name: str, scenario: str, grid: int = 15) -> list[dict[str, Any]]:
    """Rows of the boundaries table for the compute agent (replicas of the first service)."""
    from envs.config import SimConfig
    from envs.core import BatchedCore
    from envs.policy_info import from_core
    from envs.scenarios import scenario_spec
    from envs.workload import WorkloadSpec

    spec = scenario_spec(scenario)
    n = grid * grid
    core = BatchedCore(spec, n_envs=n, workload=WorkloadSpec(scenario, "steady"),
                       config=SimConfig(steps=WARMUP_STEPS + 1, stochastic=False), seed=0)
    policy.reset(0, n)
    obs = core.observer.observe(core.state, core.flat_masks(), core.costs_by_agent())
    for _ in range(WARMUP_STEPS):
        obs, *_ = core.step({})
    xs = np.linspace(0.05, 1.0, grid)
    ys = np.linspace(0.1, 2.0, grid)
    gx, gy = np.meshgrid(xs, ys, indexing="xy")
    compute = {k: np.array(v, copy=True) for k, v in obs["compute"].items()}
    for key in ("telemetry",):
        compute[key][:, 0, CPU] = gx.ravel()
        compute[key][:, 0, P99] = gy.ravel()
    compute["history"][:, -1, 0, CPU] = gx.ravel()
    compute["history"][:, -1, 0, P99] = gy.ravel()
    probe = {**obs, "compute": compute}
    actions = policy.act_batch(probe, from_core(core))["compute"]
    slots = core.slots["compute"]
    start = 0
    for knob, count in zip(slots.knobs, slots.counts, strict=True):
        if knob.name == "replicas":
            choices = knob.choices
            break
        start += count
    else:
        return []
    labels = [("keep" if choices[int(a)] == 0 else f"{choices[int(a)]:+d} replicas") for a in actions[:, start]]
    return [{"agent": f"{policy_name}: compute ({core.topo.service_names[0]})",
             "feature_x": "cpu_utilization", "feature_y": "latency_p99 / SLO",
             "x": float(x), "y": float(y), "action": label, "policy": policy_name}
            for x, y, label in zip(gx.ravel(), gy.ravel(), labels, strict=True)]
