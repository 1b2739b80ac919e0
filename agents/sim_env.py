"""The simulator's batched core as a `TrainingEnv` (see agents.env_adapter).

What this adds on top of `envs.core.BatchedCore`:

- observations regrouped for the networks: each agent's telemetry becomes one
  token per metric (its current value, staleness and history for every row) for
  the metric-group attention; resources, cost rate and context become the
  "own" vector; pending operations become a sequence whose padding mask marks
  rows with nothing in flight;
- the curriculum stage → workload pattern (and, for "faults", scripted faults
  drawn from the seed);
- the held-out split: "train" uses generated workloads (profile statistics) of
  the stage; "test" replays the second half of the shipped trace series,
  which training never replays (docs/agents.md, "Held-out evaluation");
- automatic reset (all N environments end together, so they reset together)
  and the goal point each step achieved, for hindsight relabelling.
"""

from __future__ import annotations

import numpy as np

from agents.env_adapter import EnvSpec, StepResult
from agents.layout import DEFAULT_GOAL, AgentSpec, Layout
from agents.observation import NODE_AGENTS, NODE_DIM, actor_inputs, agent_tensors
from envs.scenarios import EXAMPLES, SCENARIO_SPECS  # noqa: F401  (agents.explain reads them here)

STAGE_PATTERN = {"steady": "steady", "cyclical": "cyclical", "burst": "burst", "faults": "burst"}
#: First step of the shipped replay series that only evaluation sees.
HELD_OUT_FROM = 42


def held_out_steps(episode_steps: int) -> int:
    """Episode length on the held-out split: what fits in the replay series after HELD_OUT_FROM."""
    from trace_pipeline.profiles import SCENARIO_CLASS, load_profile

    length = len(load_profile(SCENARIO_CLASS["web"])["replay"]["values"])
    return min(episode_steps, length - HELD_OUT_FROM - 1)


class SimulatorTrainingEnv:
    def __init__(self, spec: EnvSpec, stage: str):
        from envs.config import SimConfig
        from envs.core import BatchedCore
        from envs.scenarios import scenario_spec
        from envs.workload import WorkloadSpec

        self.spec = spec
        self.num_envs = spec.num_envs
        deployment = scenario_spec(spec.scenario)
        if spec.split == "test":
            steps = held_out_steps(spec.episode_steps)
            workload = WorkloadSpec(spec.scenario, "replay", options=(("replay_offset", HELD_OUT_FROM),))
            faults: tuple = ()
        else:
            steps = spec.episode_steps
            workload = WorkloadSpec(spec.scenario, STAGE_PATTERN[stage])
            faults = _faults(deployment, steps, spec.seed) if stage == "faults" else ()
        self.core = BatchedCore(
            deployment, n_envs=spec.num_envs, workload=workload, faults=faults,
            config=SimConfig(steps=steps), seed=spec.seed,
        )
        self.episode = 0
        self.layout = layout_of(self.core)
        self.goal = np.tile(np.asarray(DEFAULT_GOAL, dtype=np.float32), (self.num_envs, 1))

    # ------------------------------------------------------------------ protocol
    def reset(self, seed: int) -> dict[str, np.ndarray]:
        self.base_seed = seed
        self.episode = 0
        self.core.reset(seed)
        return self._observe(self._raw_obs())

    def step(self, actions: dict[str, np.ndarray]) -> StepResult:
        core = self.core
        raw, rewards, terminated, truncated, info = core.step(actions)
        next_obs = self._observe(raw)
        obs = next_obs
        if (terminated | truncated).all():
            self.episode += 1
            # a fixed-demand (held-out) env replays the same window; a generated one draws anew
            core.reset(self.base_seed + self.episode if self.spec.split != "test" else self.base_seed)
            obs = self._observe(self._raw_obs())
        budget_step = core.topo.spec.budget_monthly_usd / core.topo.catalog.hours_per_month * (
            core.config.step_s / 3600.0
        )
        cost = np.asarray(info["cost_usd"], dtype=np.float64)
        # as envs.rollout.run_episode: the share of user-facing services meeting their p99 SLO
        slo = np.asarray(info["slo_met"], dtype=np.float64)[:, core._entry_services].mean(axis=1)
        terms = {k: np.broadcast_to(np.asarray(v, dtype=np.float64), (self.num_envs,))
                 for k, v in info["reward_terms"].items()}
        terms["carbon_kg"] = np.asarray(info["carbon_kg"], dtype=np.float64)
        services = core.topo.n_services
        return StepResult(
            next_obs=next_obs,
            rewards={k: np.asarray(v, dtype=np.float32) for k, v in rewards.items()},
            terminated=np.asarray(terminated, dtype=bool),
            truncated=np.asarray(truncated, dtype=bool),
            obs=obs,
            achieved=np.stack([cost / budget_step, slo], axis=1),
            cost_usd=cost,
            slo_met=slo,
            terms=terms,
            utilisation=core.last.util[:, :services].mean(axis=1) if services else None,
        )

    # ------------------------------------------------------------------ internals
    def _raw_obs(self) -> dict:
        core = self.core
        return core.observer.observe(core.state, core.flat_masks(), core.costs_by_agent())

    def _observe(self, raw: dict) -> dict[str, np.ndarray]:
        flat = actor_inputs(raw, self.layout, self.goal)
        flat["state"] = self.core.global_state().astype(np.float32)  # the critics' true state
        return flat


def layout_of(core) -> Layout:
    from envs.knobs import AGENTS

    topo = core.topo
    raw = core.observer.observe(core.state, core.flat_masks(), core.costs_by_agent())
    agents = []
    for name in AGENTS:
        t = agent_tensors(raw[name])
        knobs = tuple(int(k) for k in core.slots[name].nvec)
        owner = [NODE_AGENTS[int(kind)] == name for kind in topo.node_kind]
        nodes = tuple(int(v) for v in np.flatnonzero(owner))
        agents.append(AgentSpec(
            name=name, metric_groups=t["metrics"].shape[1], metric_width=t["metrics"].shape[2],
            own_dim=t["own"].shape[1], pending_width=t["pending"].shape[2], max_pending=t["pending"].shape[1],
            knobs=knobs, nodes=nodes,
        ))
    edges = tuple((int(a), int(b)) for a, b in topo.edge_index.T)
    return Layout(
        agents=tuple(agents), state_dim=int(core.global_state().shape[1]), num_nodes=int(topo.n_nodes),
        node_dim=NODE_DIM, edges=edges,
    )


def _faults(deployment, steps: int, seed: int) -> tuple:
    """One scripted fault per episode, drawn from the seed: outage, preemption wave, spike or quota cut."""
    from envs.faults import DemandSpike, PreemptionWave, QuotaCut, ZoneOutage
    from gcp.catalog import load_catalog

    rng = np.random.default_rng(seed)
    at = int(rng.integers(steps // 4, max(steps // 4 + 1, 3 * steps // 4)))
    kind = int(rng.integers(4))
    if kind == 0:
        zones = load_catalog().zones(deployment.region)
        return (ZoneOutage(zone=zones[int(rng.integers(len(zones)))], step=at, duration=max(1, steps // 8)),)
    if kind == 1:
        return (PreemptionWave(step=at, fraction=1.0),)
    if kind == 2:
        return (DemandSpike(step=at, duration=max(1, steps // 16), factor=3.0),)
    return (QuotaCut(step=at, cpus=max(8, int(deployment.quota("CPUS") * 0.6))),)
