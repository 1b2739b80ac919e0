"""ProvisioningEnv: the PettingZoo ParallelEnv view (N = 1) of the batched core.

Agents `compute`, `storage`, `network` and `database` each observe a Dict
(see `envs.observe`) and act with a MultiDiscrete vector of knob choices (see
`envs.knobs`). The env also implements `gcp.backend.DeploymentBackend`
(`deployment_spec()`, `telemetry()`), so the plan pipeline can observe it
exactly like a real project.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from envs.config import SimConfig
from envs.core import BatchedCore
from envs.faults import Fault
from envs.knobs import AGENTS
from envs.observe import raw_telemetry
from envs.scenarios import scenario_spec
from envs.spec_view import spec_of
from envs.timeline import Timeline
from envs.topology import ModelParams
from envs.workload import WorkloadSpec
from gcp.spec import DeploymentSpec


class KnobSpace(spaces.MultiDiscrete):
    """MultiDiscrete whose `sample(mask=...)` also takes the flat `action_mask` of the observation.

    Gymnasium wants one mask per slot (a tuple); the observation carries them
    concatenated in slot order, which is what learners consume.
    """

    def sample(self, mask=None, probability=None):
        if mask is not None and not isinstance(mask, tuple):
            flat = np.asarray(mask, dtype=np.int8)
            cuts = np.cumsum(self.nvec.reshape(-1))[:-1]
            mask = tuple(np.split(flat, cuts))
        return super().sample(mask=mask, probability=probability)


class ProvisioningEnv(ParallelEnv):
    metadata: ClassVar[dict] = {"name": "marlform_provisioning_v0", "render_modes": ["rgb_array"], "is_parallelizable": True}

    def __init__(
        self,
        scenario: str = "web",
        pattern: str = "steady",
        spec: DeploymentSpec | None = None,
        demand: np.ndarray | None = None,
        config: SimConfig | None = None,
        faults: tuple[Fault, ...] = (),
        params: ModelParams | None = None,
        workload_options: dict[str, Any] | None = None,
        render_mode: str | None = None,
        seed: int | None = 0,
    ):
        workload = WorkloadSpec(scenario=scenario, pattern=pattern,
                                options=tuple(sorted((workload_options or {}).items())))
        workload.validate()
        self.spec0 = spec if spec is not None else scenario_spec(scenario)
        self.core = BatchedCore(self.spec0, 1, workload=workload, demand=demand, config=config,
                                faults=faults, params=params, seed=seed)
        self.scenario, self.pattern = scenario, pattern
        self.render_mode = render_mode
        self.possible_agents = list(AGENTS)
        self.agents = list(AGENTS)
        self._obs_spaces = self.core.observer.spaces
        self._act_spaces = {a: KnobSpace(self.core.slots[a].nvec) for a in AGENTS}
        dim = self.core.global_state().shape[1]
        self.state_space = spaces.Box(-np.inf, np.inf, (dim,), np.float32)
        self.timeline = Timeline(self.core.topo)

    # PettingZoo API ------------------------------------------------------------
    def observation_space(self, agent: str) -> spaces.Dict:
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.MultiDiscrete:
        return self._act_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None):
        self.core.reset(seed)
        self.agents = list(AGENTS)
        self.timeline = Timeline(self.core.topo)
        obs = self.core.observer.observe(self.core.state, self.core.flat_masks(), self.core.costs_by_agent())
        for agent in AGENTS:  # the action spaces draw samples; seed them with the env
            self._act_spaces[agent].seed(None if seed is None else seed + AGENTS.index(agent))
        return self._single(obs), {a: {} for a in AGENTS}

    def step(self, actions: dict[str, np.ndarray]):
        batched = {a: np.asarray(actions[a], dtype=np.int64)[None, :] for a in AGENTS if a in actions}
        obs, rewards, terminated, truncated, info = self.core.step(batched)
        self.timeline.record(self.core, self.core.action_log)
        terms = info["reward_terms"]
        infos = {}
        for agent in AGENTS:
            own = {k[len(agent) + 1 :]: float(np.asarray(v).reshape(-1)[0]) for k, v in terms.items()
                   if k.startswith(agent + "_")}
            shared = {k: float(np.asarray(v).reshape(-1)[0]) for k, v in terms.items()
                      if not k.startswith(AGENTS)}
            infos[agent] = {"reward_local": own, "reward_shared": shared,
                            "masked_ignored": int(info["masked_ignored"][agent][0]),
                            "cost_usd": float(info["cost_usd"][0])}
        out = (self._single(obs), {a: float(rewards[a][0]) for a in AGENTS},
               {a: bool(terminated[0]) for a in AGENTS}, {a: bool(truncated[0]) for a in AGENTS}, infos)
        if truncated[0] or terminated[0]:
            self.agents = []
        return out

    def state(self) -> np.ndarray:
        return self.core.global_state()[0]

    def render(self):
        """The timeline so far as an RGB array (render_mode "rgb_array"); see `save_png` for a file."""
        return self.timeline.rgb()

    def save_png(self, path: str) -> str:
        return self.timeline.save_png(path)

    def close(self) -> None:
        pass

    # views -----------------------------------------------------------------------
    def _single(self, obs: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, np.ndarray]]:
        return {a: {k: v[0] for k, v in o.items()} for a, o in obs.items()}

    def deployment_spec(self) -> DeploymentSpec:
        return spec_of(self.core.topo, self.core.state, 0)

    def telemetry(self) -> dict[str, np.ndarray]:
        """Raw metrics of the last step per domain, in `gcp.telemetry` layout (DeploymentBackend)."""
        raw = raw_telemetry(self.core.topo, self.core.last, self.core.state, self.core.config.step_s / 3600.0)
        return {a: raw[a][0] for a in AGENTS}

    def graph(self) -> dict[str, Any]:
        """Dependency graph for a GNN: node names, kinds, edge_index (2, E), node features (V, F)."""
        g = self.core.graph()
        return {"nodes": list(self.core.topo.node_names), "node_kind": g["node_kind"],
                "edge_index": g["edge_index"], "node_features": g["node_features"][0]}
