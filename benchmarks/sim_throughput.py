"""Simulator throughput: env-steps/s of the batched core at N = 1, 64, 1024 and of the PettingZoo loop.

Run: .venv/bin/python benchmarks/sim_throughput.py [--scenario web] [--repeats 5] [--json]
Each figure is the median over `repeats` timed runs of whole steps (actions are
validated, the world advances, costs/rewards/observations are built), with
"keep" actions so that no policy time is counted. Baseline: the PettingZoo
loop (N = 1 through ProvisioningEnv), measured in the same run. Two clocks:
wall time, and this process's CPU time (what the rate would be with a core to
itself; on a shared machine the wall figure drops with the load, the CPU one
much less). NumPy's BLAS is pinned to one thread so that CPU time is one core.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np

from envs.core import BatchedCore
from envs.knobs import AGENTS
from envs.provisioning import ProvisioningEnv
from envs.scenarios import scenario_spec
from envs.workload import WorkloadSpec

#: Issue 4's target for the web scenario on the 2-core machine.
TARGET_RATE = 200_000
TARGET_RATIO = 20


def _timed(run, count: int, repeats: int, reset) -> tuple[float, float]:
    """Median (wall, CPU) env-steps per second over `repeats` runs."""
    wall, cpu = [], []
    for r in range(repeats):
        reset(r)
        w0, c0 = time.perf_counter(), time.process_time()
        run()
        wall.append(count / (time.perf_counter() - w0))
        cpu.append(count / max(time.process_time() - c0, 1e-9))
    return statistics.median(wall), statistics.median(cpu)


def _core_rate(scenario: str, n: int, steps: int, repeats: int) -> tuple[float, float]:
    core = BatchedCore(scenario_spec(scenario), n, workload=WorkloadSpec(scenario, "burst"))
    actions = {a: np.zeros((n, core.slots[a].n_slots), dtype=np.int64) for a in AGENTS}

    def run() -> None:
        for _ in range(steps):
            core.step(actions)

    return _timed(run, n * steps, repeats, core.reset)


def _pettingzoo_rate(scenario: str, steps: int, repeats: int) -> tuple[float, float]:
    env = ProvisioningEnv(scenario, "burst")
    actions = {a: np.zeros(env.action_space(a).shape, dtype=np.int64) for a in AGENTS}

    def run() -> None:
        for _ in range(steps):
            env.step(actions)

    return _timed(run, steps, repeats, lambda r: env.reset(seed=r))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="web", choices=["web", "batch", "ml"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    steps = {1: 200, 64: 100, 1024: 40}
    load = os.getloadavg()[0]
    rows = {"pettingzoo_loop": _pettingzoo_rate(args.scenario, 200, args.repeats)}
    for n, k in steps.items():
        rows[f"core_n{n}"] = _core_rate(args.scenario, n, k, args.repeats)
    load_end = os.getloadavg()[0]
    sizes = {"pettingzoo_loop": 1, **{f"core_n{n}": n for n in steps}}
    base_wall, base_cpu = rows["pettingzoo_loop"]
    met = rows["core_n1024"][0] >= TARGET_RATE and rows["core_n1024"][0] / base_wall >= TARGET_RATIO
    results = {"scenario": args.scenario, "repeats": args.repeats, "load_average_1min": load,
               "load_average_1min_end": load_end, "target_met_wall": bool(met),
               "cpu_ms_per_step": {k: 1000.0 * sizes[k] / v[1] for k, v in rows.items()},
               "wall": {k: v[0] for k, v in rows.items()}, "cpu": {k: v[1] for k, v in rows.items()},
               "ratio_n1024_vs_pettingzoo": {"wall": rows["core_n1024"][0] / base_wall,
                                             "cpu": rows["core_n1024"][1] / base_cpu}}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"scenario {args.scenario}, median of {args.repeats} runs, env-steps/s "
          f"(1-min load average {load:.1f} at start, {load_end:.1f} at end)")
    print(f"  {'':24}{'wall':>12}{'CPU time':>12}{'CPU ms/step':>13}   ratio (wall, CPU)")
    for key, (wall, cpu) in rows.items():
        label = "PettingZoo loop (N=1)" if key == "pettingzoo_loop" else f"batched core N={key[6:]}"
        ratio = "baseline" if key == "pettingzoo_loop" else f"x{wall / base_wall:.1f}, x{cpu / base_cpu:.1f}"
        print(f"  {label:24}{wall:>12,.0f}{cpu:>12,.0f}{results['cpu_ms_per_step'][key]:>13.3f}   {ratio}")
    print(f"  target (N=1024 >= {TARGET_RATE:,} env-steps/s wall and >= {TARGET_RATIO}x the PettingZoo loop): "
          f"{'met' if met else 'not met'}")


if __name__ == "__main__":
    main()
