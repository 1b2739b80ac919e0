"""Print the rule baselines' day of each scenario and pattern as a Markdown table (docs/simulator.md).

Run: .venv/bin/python -m envs.report_baselines [--envs 4] [--seed 1]
Lives in envs but loads the policies by name at run time (envs never imports agents
at module level); it is a reporting entry point, not part of the simulator.
"""

from __future__ import annotations

import argparse
import importlib

from envs.core import BatchedCore
from envs.rollout import run_episode
from envs.scenarios import scenario_spec
from envs.workload import WorkloadSpec


def table(n_envs: int = 4, seed: int = 1) -> str:
    rules = importlib.import_module("agents.baselines.rules").RULES
    lines = ["| scenario | pattern | policy | cost USD/day | SLO attainment | mean entry p99 ms | carbon kg |",
             "|---|---|---|---:|---:|---:|---:|"]
    for scenario in ("web", "batch", "ml"):
        for pattern in ("steady", "burst", "cyclical"):
            core = BatchedCore(scenario_spec(scenario), n_envs, workload=WorkloadSpec(scenario, pattern))
            for name, cls in rules.items():
                r = run_episode(core, cls(), seed=seed)
                lines.append(f"| {scenario} | {pattern} | {name} | {r['cost_usd'].mean():.2f} | "
                             f"{r['slo_attainment'].mean():.3f} | {r['mean_entry_p99_ms'].mean():.0f} | "
                             f"{r['carbon_kg'].mean():.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(table(args.envs, args.seed))


if __name__ == "__main__":
    main()
