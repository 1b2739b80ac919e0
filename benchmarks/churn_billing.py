"""Does flipping a knob every step buy anything a real MIG would not give? (docs/simulator.md)

For each compute knob (machine size, spot share, replicas, boot disk size) three
deterministic web-scenario episodes run on the same demand: `keep` (the spec as
is), `moved` (the knob moved once at the first step, then kept) and `flip`
(moved, moved back, moved, ... on alternate steps). A faithful simulator bills a
flip at least the mean of the two static configurations and serves it no more
capacity: every flip is a rolling replace or a scale-out that pays surge VMs and
boot time. The printed ratios are flip / mean(keep, moved); cost ratio < 1 or
capacity ratio > 1 means a flip is rewarded for nothing.

Run: .venv/bin/python benchmarks/churn_billing.py [--json]
"""

from __future__ import annotations

import json
import sys

import numpy as np

from envs.config import SimConfig
from envs.core import BatchedCore
from envs.scenarios import scenario_spec
from envs.workload import WorkloadSpec

#: case -> (agent, knob, choice that moves, choice that undoes it)
CASES = {
    "machine": ("compute", "machine", 1, 2),
    "spot": ("compute", "spot", 2, 1),
    "replicas": ("compute", "replicas", 4, 1),
    "disk_size": ("storage", "disk_size", 2, 1),
}


def episode(core: BatchedCore, agent: str, knob: str, first: int, back: int, mode: str) -> dict:
    core.reset(0)
    slots = core.slots[agent]
    start = 0
    for k, count in zip(slots.knobs, slots.counts, strict=True):
        if k.name == knob:
            break
        start += count
    # per service, the direction its ladder / range allows at the start (an edge flips the other way)
    ok = core.masks[agent][knob][0, :, first].astype(bool)
    go, undo = np.where(ok, first, back), np.where(ok, back, first)
    cost = cap = 0.0
    steps = core.config.steps
    for t in range(steps):
        act = np.zeros((core.n, slots.n_slots), dtype=np.int64)
        if (mode == "moved" and t == 0) or mode == "flip":
            act[:, start:start + core.topo.n_services] = go if t % 2 == 0 else undo
        core.step({agent: act})
        cost += float(core.last.cost.mean())
        cap += float(core.last.capacity[:, :core.topo.n_services].sum(axis=1).mean())
    hours = steps * core.config.step_s / 3600.0
    return {"cost_per_hour": cost / hours, "capacity_rps": cap / steps}


def main() -> dict:
    cfg = SimConfig(steps=48, stochastic=False, obs_noise=0.0, obs_missing=0.0)
    core = BatchedCore(scenario_spec("web"), n_envs=1, workload=WorkloadSpec("web", "steady"),
                       config=cfg, seed=0)
    rows = {}
    for name, (agent, knob, first, back) in CASES.items():
        runs = {m: episode(core, agent, knob, first, back, m) for m in ("keep", "moved", "flip")}
        mean_cost = (runs["keep"]["cost_per_hour"] + runs["moved"]["cost_per_hour"]) / 2
        mean_cap = (runs["keep"]["capacity_rps"] + runs["moved"]["capacity_rps"]) / 2
        rows[name] = {**{f"{m}_{k}": v for m, r in runs.items() for k, v in r.items()},
                      "flip_cost_ratio": runs["flip"]["cost_per_hour"] / mean_cost,
                      "flip_capacity_ratio": runs["flip"]["capacity_rps"] / mean_cap}
    return rows


if __name__ == "__main__":
    result = main()
    if "--json" in sys.argv:
        print(json.dumps(result, indent=2))
    else:
        print(f"{'knob':10} {'keep $/h':>9} {'moved $/h':>9} {'flip $/h':>9} {'cost ratio':>10} "
              f"{'cap ratio':>9}")
        for name, r in result.items():
            print(f"{name:10} {r['keep_cost_per_hour']:9.4f} {r['moved_cost_per_hour']:9.4f} "
                  f"{r['flip_cost_per_hour']:9.4f} {r['flip_cost_ratio']:10.4f} "
                  f"{r['flip_capacity_ratio']:9.4f}")
