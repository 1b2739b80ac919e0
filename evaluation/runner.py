"""Run policies × scenarios × patterns × perturbations × seeds, in parallel on Ray.

Why one task per (policy, scenario): loading a policy (a torch model) and
compiling a deployment cost more than a short episode, so a task does both
once, then runs every pattern and perturbation of that pair. Within a task the
seeds are the N environments of one batched core: replicate i of every policy
sees the same workload series (same core seed), so the rows are comparable
episode by episode. Each episode is priced against the oracle on its own
realised prices (`evaluation.oracle`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from evaluation import oracle
from evaluation.metrics import EpisodeLog, episode_metrics, recovery_minutes
from evaluation.perturbations import Perturbation, active, perturbation
from evaluation.schema import NO_PERTURBATION


@dataclass(frozen=True)
class SuiteConfig:
    """A suite as plain data (it goes into the reproducibility record)."""

    name: str
    policies: tuple[str, ...]
    scenarios: tuple[str, ...]
    patterns: tuple[str, ...]
    perturbations: tuple[str, ...]
    seeds: int  # replicates per cell: the N of the batched core
    steps: int
    reference: str
    #: Workload pattern the perturbation studies run on.
    perturbation_pattern: str = "steady"
    #: Core seed: the same for every policy, so replicate i is the same episode everywhere.
    core_seed: int = 0
    #: Seconds of MILP (provisioning delays) per service on top of the knapsack bound; 0 = off.
    milp_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _steps(pattern: str, steps: int) -> tuple[int, tuple]:
    """Episode length and workload options: replay runs on the held-out window of the trace."""
    if pattern != "replay":
        return steps, ()
    from agents.sim_env import HELD_OUT_FROM, held_out_steps

    return held_out_steps(steps), (("replay_offset", HELD_OUT_FROM),)


def run_group(config: SuiteConfig, policy_name: str, scenario: str, registry: str | None = None,
              oracle_cache: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every episode of one (policy, scenario): episode rows, timeline rows and SLO arrays.

    `oracle_cache`: a folder shared by the groups, where full-oracle solutions are kept.
    """
    from envs.config import SimConfig
    from envs.core import BatchedCore
    from envs.scenarios import scenario_spec
    from envs.workload import WorkloadSpec
    from evaluation.policies import load_policy

    spec = scenario_spec(scenario)
    policy = load_policy(policy_name, scenario, registry)
    rows: list[dict[str, Any]] = []
    timelines: list[dict[str, Any]] = []
    cells = [(p, NO_PERTURBATION) for p in config.patterns]
    cells += [(config.perturbation_pattern, name) for name in config.perturbations]
    for pattern, pert_name in cells:
        steps, options = _steps(pattern, config.steps)
        pert = perturbation(pert_name, spec, steps)
        core = BatchedCore(spec, n_envs=config.seeds, workload=WorkloadSpec(scenario, pattern, options=options),
                           config=SimConfig(steps=steps), faults=pert.faults, seed=config.core_seed)
        start = time.perf_counter()
        logs, spot, lines = _episode(core, policy, config.core_seed, pert)
        wall = (time.perf_counter() - start) / config.seeds
        for i, log in enumerate(logs):
            key = {"policy": policy_name, "scenario": scenario, "pattern": pattern,
                   "perturbation": pert_name, "seed": i}
            row = {**key, **episode_metrics(log), "wall_s": wall}
            row.update(_oracle_columns(core, i, spot[:, i], log, config.milp_seconds, oracle_cache))
            met = log.slo_met()
            row["recovery_min"] = (recovery_minutes(met, pert.onset - 1, log.step_s)
                                   if pert_name != NO_PERTURBATION else np.nan)
            row["slo_lost"] = np.nan  # filled in by `finish` from the unperturbed twin
            row["_met"] = met
            row["_onset"] = pert.onset - 1
            rows.append(row)
            if pert_name != NO_PERTURBATION:
                timelines.extend({**key, **line} for line in lines[i])
    return {"episodes": rows, "timelines": timelines}


def _episode(core, policy, seed: int, pert: Perturbation) -> tuple[list[EpisodeLog], np.ndarray, list]:
    """Run one batched episode; per-env logs, the spot-price path (T, N) and timeline rows."""
    from envs.knobs import AGENTS
    from envs.policy_info import from_core

    core.reset(seed)
    policy.reset(seed, core.n)
    topo, n, s = core.topo, core.n, core.topo.n_services
    net = topo.net_node
    entries = core._entry_services
    weights = core.config.reward
    w = {"cost": weights.cost, "performance": weights.performance, "reliability": weights.reliability,
         "sustainability": weights.sustainability}
    logs = [EpisodeLog(step_s=float(core.config.step_s)) for _ in range(n)]
    spot, lines = [], [[] for _ in range(n)]
    obs = core.observer.observe(core.state, core.flat_masks(), core.costs_by_agent())
    while True:
        obs, _rew, _term, trunc, info = core.step(policy.act_batch(obs, from_core(core)))
        out, terms, t = core.last, info["reward_terms"], core.state.t
        offered = out.demand[:, entries].sum(axis=1)
        failed = (out.demand[:, entries] * out.error[:, entries]).sum(axis=1)
        if topo.lb_enabled:
            # A backend's end-to-end error includes the LB's rejections (simulator 0.2.0): count
            # those once, on the traffic offered to the LB, and the backend's own errors on what
            # it accepted.
            reject = out.lb_reject[:, None]
            accepted = out.demand[:, entries] * core._backends[entries]
            own = np.where(reject < 1, 1.0 - (1.0 - out.error[:, entries]) / np.maximum(1.0 - reject, 1e-12), 0.0)
            failed = (failed - (accepted * out.error[:, entries]).sum(axis=1) + (accepted * own).sum(axis=1)
                      + out.demand[:, net] * out.lb_reject)
            offered = offered + out.demand[:, net] * out.lb_reject
        actions = sum((core.action_log[a] != 0).sum(axis=1) for a in AGENTS)
        violations = sum((np.asarray(terms[k]) > 0).astype(float)
                         for k in ("penalty_budget", "penalty_quota", "penalty_dependencies"))
        spot.append(core.state.spot_mult.copy())
        for i, log in enumerate(logs):
            for d in ("compute", "storage", "network", "database"):
                log.cost[d].append(float(out.costs[d][i]))
            log.p99_ms.append(out.latency[i, :s, 2].copy())
            log.met.append(out.slo_met[i].copy())
            log.requests.append(float(offered[i]))
            log.failed.append(float(failed[i]))
            log.carbon_kg.append(float(out.carbon_kg[i]))
            log.violations.append(float(np.broadcast_to(violations, (n,))[i]))
            log.actions.append(int(actions[i]))
            log.add_terms({**{k: w[k] * float(terms[f"global_{k}"][i]) for k in w},
                           "penalty": -float(np.broadcast_to(terms["penalty"], (n,))[i])})
            log.reward.append(float(terms["global"][i]) - float(np.broadcast_to(terms["penalty"], (n,))[i]))
            if pert.name != NO_PERTURBATION:
                demand = float(out.demand[i, :s].sum())
                lines[i].append({
                    "step": t, "minute": t * core.config.step_s / 60.0, "demand": demand,
                    "capacity": float(out.capacity[i, :s].sum()), "cost_rate": float(out.cost[i]) * 3600.0
                    / core.config.step_s, "slo_met": float(out.slo_met[i].mean()),
                    "p99_ratio": float((out.latency[i, :s, 2] / topo.slo_ms).max()),
                    "active": int(active(pert, t)),
                })
        if np.all(trunc):
            return logs, np.array(spot), lines


def _full_oracle(problem: oracle.OracleProblem, milp_seconds: float, cache: str | None) -> oracle.OracleSolution:
    """The full oracle, solved once per distinct problem when `cache` (a folder every worker
    sees) is given: the policies of a suite share their episodes' workloads, so most problems
    recur, and the MILP takes seconds per service."""
    if cache is None:
        return oracle.solve(problem, milp_seconds=milp_seconds)
    import json
    from pathlib import Path

    from gcp.files import atomic_write_text

    path = Path(cache) / f"{oracle.digest(problem)}-{milp_seconds:g}.json"
    if path.is_file():
        return oracle.OracleSolution(**json.loads(path.read_text()))
    solution = oracle.solve(problem, milp_seconds=milp_seconds)
    path.parent.mkdir(parents=True, exist_ok=True)  # a worker on another node has its own
    atomic_write_text(path, json.dumps(asdict(solution)))
    return solution


def _oracle_columns(core, env: int, spot: np.ndarray, log: EpisodeLog, milp_seconds: float,
                    cache: str | None) -> dict[str, float]:
    full = _full_oracle(oracle.build_problem(core, spot, env=env), milp_seconds, cache)
    met = int(log.slo_met().sum())
    bound = oracle.solve(oracle.build_problem(core, spot, matched=True, env=env), min_met=met)
    cost = sum(float(np.sum(log.cost[d])) for d in log.cost)
    return {"oracle_cost": full.cost, "oracle_bound": bound.cost, "cost_ratio": cost / full.cost,
            "oracle_attainable": full.attainable / max(1, log.slo_met().size)}


def finish(groups: list[dict[str, list[dict[str, Any]]]]) -> tuple[Any, Any]:
    """Episodes and timelines tables; SLO lost against each perturbed episode's unperturbed twin."""
    import pandas as pd

    rows = [r for g in groups for r in g["episodes"]]
    twins = {(r["policy"], r["scenario"], r["pattern"], r["seed"]): r["_met"]
             for r in rows if r["perturbation"] == NO_PERTURBATION}
    for r in rows:
        if r["perturbation"] != NO_PERTURBATION:
            twin = twins.get((r["policy"], r["scenario"], r["pattern"], r["seed"]))
            if twin is not None:
                from evaluation.metrics import slo_lost

                r["slo_lost"] = slo_lost(r["_met"], twin, r["_onset"])
    episodes = pd.DataFrame([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows])
    timelines = pd.DataFrame([line for g in groups for line in g["timelines"]])
    return episodes, timelines


def run_suite(config: SuiteConfig, workers: int = 2, registry: str | None = None,
              ray_address: str | None = None, oracle_cache: str | None = None) -> tuple[Any, Any]:
    """All groups of the suite: on Ray with `workers` CPUs (0 = in this process)."""
    pairs = [(p, s) for p in config.policies for s in config.scenarios]
    if workers <= 0:
        return finish([run_group(config, p, s, registry, oracle_cache) for p, s in pairs])
    import ray

    from agents.training.ray_session import start_ray

    started = start_ray(ray_address, workers)
    task = ray.remote(num_cpus=1)(run_group)
    try:
        return finish(ray.get([task.remote(config, p, s, registry, oracle_cache) for p, s in pairs]))
    finally:
        if started:
            ray.shutdown()
