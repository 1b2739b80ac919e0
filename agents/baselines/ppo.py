"""The RLlib PPO baselines: single-agent PPO over the joint action and independent PPO, each ± LSTM.

Names: `ppo` (one policy, the four agents' knobs as one MultiDiscrete action),
`ippo` (one PPO policy per agent: compute, storage, network, database, each on
its own observation and reward), and `ppo-lstm` / `ippo-lstm` (the same with
RLlib's LSTM encoder, for partial observability: the telemetry is delayed,
noisy and gappy). All train on RLlib's new API stack (RLModule + Learner,
ray 2.60) with `agents.baselines.ppo_module.MaskedPPOModule`, which masks
invalid choices in the logits, on the simulator's bridges (`envs.bridges`,
wrapped by `agents.baselines.ppo_env`).

`ppo_config` is the one place the RLlib config is built (the training
throughput benchmark uses it too). `train_ppo` writes an RLlib checkpoint plus
`marlform_ppo.json` (what was trained, how, and its training curve);
`PPOPolicy` loads only the RLModules from it and acts on the batched core
behind `agents.policy.Policy`. Ray and torch are imported inside functions.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from agents.baselines.ppo_obs import MASK, agent_observation, joint_observation
from agents.policy import Observations, PolicyDecision, PolicyInfo, batch_of_one
from envs.knobs import AGENTS
from gcp.errors import MarlformError
from gcp.files import atomic_write_json

Kind = Literal["single", "independent"]
#: Policy name → (kind, lstm).
PPO_POLICIES: dict[str, tuple[Kind, bool]] = {
    "ppo": ("single", False), "ppo-lstm": ("single", True),
    "ippo": ("independent", False), "ippo-lstm": ("independent", True),
}
METADATA = "marlform_ppo.json"
CHECKPOINT = "checkpoint"
#: Workload patterns PPO trains on (as MADDPG's curriculum; replay stays held out).
TRAIN_PATTERNS = ("steady", "cyclical", "burst")


class PPOCheckpointError(MarlformError):
    """A PPO checkpoint folder that is missing, incomplete or of another kind."""


@dataclass(frozen=True)
class PPOBudget:
    """How much PPO trains: `iterations` × `train_batch` env steps (agent steps for ippo)."""

    iterations: int
    train_batch: int
    minibatch: int
    epochs: int
    episode_steps: int = 96  # 8 h of 5-minute steps, as MADDPG's episodes
    env_runners: int = 0  # 0: sample in the driver (cheapest on 2 cores)
    #: Envs stepped together per runner: RLlib's per-step connector and module overhead
    #: (about 8 ms against the simulator's 1.4 ms) is then paid once for all of them.
    envs_per_runner: int = 1
    lr: float = 3e-4
    hidden: tuple[int, ...] = (128, 128)
    lstm_cell: int = 64
    max_seq_len: int = 24

    def __post_init__(self) -> None:
        if min(self.iterations, self.train_batch, self.minibatch, self.epochs, self.episode_steps) < 1:
            raise ValueError(f"every PPO budget size must be >= 1: {self}")


#: `tiny`: seconds, for tests and the quick suite; `thesis`: the thesis suite's budget
#: (24,576 env steps per policy and scenario, a quarter of MADDPG's default preset: 12
#: trainings of 164k steps would take about 4 h on 2 cores; sampling in the driver, since
#: synchronous PPO gains nothing from a second process on 2 cores).
BUDGETS: dict[str, PPOBudget] = {
    "tiny": PPOBudget(iterations=1, train_batch=96, minibatch=48, epochs=1, episode_steps=24,
                      hidden=(32, 32), lstm_cell=16, max_seq_len=8),
    "thesis": PPOBudget(iterations=12, train_batch=2048, minibatch=256, epochs=6, envs_per_runner=8),
}


def ppo_config(kind: Kind, lstm: bool, env_config: dict[str, Any], budget: PPOBudget, seed: int = 0) -> Any:
    """The RLlib `PPOConfig` of a baseline (new API stack, masked module, local learner)."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    from agents.baselines.ppo_env import MaskedJointEnv, MaskedMultiEnv
    from agents.baselines.ppo_module import MaskedPPOModule

    model = {"fcnet_hiddens": list(budget.hidden), "fcnet_activation": "tanh", "vf_share_layers": False,
             "use_lstm": lstm, "lstm_cell_size": budget.lstm_cell, "max_seq_len": budget.max_seq_len}
    module = RLModuleSpec(module_class=MaskedPPOModule, model_config=model)
    env_config = {"episode_steps": budget.episode_steps, "seed": seed, **env_config}
    config = (
        PPOConfig()
        .environment(MaskedJointEnv if kind == "single" else MaskedMultiEnv, env_config=env_config)
        # sample_timeout_s=None: RLlib would otherwise silently drop a slow runner's samples
        .env_runners(num_env_runners=budget.env_runners, num_envs_per_env_runner=budget.envs_per_runner,
                     num_cpus_per_env_runner=0.5 if budget.env_runners else 1, sample_timeout_s=None)
        .learners(num_learners=0)
        .training(train_batch_size_per_learner=budget.train_batch, minibatch_size=budget.minibatch,
                  num_epochs=budget.epochs, lr=budget.lr, gamma=0.99, lambda_=0.95)
        .debugging(seed=seed)
    )
    if kind == "single":
        return config.rl_module(rl_module_spec=module)
    return (config.multi_agent(policies=set(AGENTS), policy_mapping_fn=_own_policy)
            .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={a: module for a in AGENTS})))


def _own_policy(agent_id: str, *args: Any, **kwargs: Any) -> str:
    """Independent learners: every agent trains its own policy."""
    return agent_id


def policy_name(kind: Kind, lstm: bool) -> str:
    return ("ppo" if kind == "single" else "ippo") + ("-lstm" if lstm else "")


def train_ppo(kind: Kind, lstm: bool, scenario: str = "web", patterns: tuple[str, ...] = TRAIN_PATTERNS,
              iterations: int | None = None, seed: int = 0, out_dir: str | Path | None = None,
              budget: PPOBudget | str = "tiny") -> Path:
    """Train one baseline; return its checkpoint folder (`out_dir`/checkpoint).

    `out_dir` defaults to runs/rllib/<scenario>-<name>, where `evaluation.policies`
    looks when no registry is given. `iterations` overrides the budget's.

    Starts a local Ray (2 CPUs) unless one is running, and shuts down what it started.
    Torch runs on one thread meanwhile: on 2 shared cores, torch's thread pool made
    the learner 40x slower (22 s against 0.5 s per 1,024-step update, measured).
    """
    import ray
    import torch

    from agents.training.ray_session import start_ray
    from envs.provisioning import ProvisioningEnv

    if isinstance(budget, str):
        budget = BUDGETS[budget]
    if iterations is not None:
        budget = replace(budget, iterations=iterations)
    env = ProvisioningEnv(scenario=scenario)  # the action layout, for the policy's checks
    out = Path(out_dir) if out_dir is not None else Path("runs", "rllib", f"{scenario}-{policy_name(kind, lstm)}")
    started = start_ray(num_cpus=2)
    began = time.perf_counter()
    curve: list[dict[str, float]] = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        algo = ppo_config(kind, lstm, {"scenario": scenario, "patterns": list(patterns)}, budget,
                          seed).build_algo()
        try:
            for i in range(budget.iterations):
                result = algo.train()
                runners = result.get("env_runners", {})
                curve.append({"iteration": i + 1,
                              "env_steps": float(runners.get("num_env_steps_sampled_lifetime", 0)),
                              "return": float(runners.get("episode_return_mean", np.nan))})
            checkpoint = Path(algo.save_to_path(str((out / CHECKPOINT).resolve())))
        finally:
            algo.stop()
    finally:
        torch.set_num_threads(threads)
        if started:
            ray.shutdown()
    atomic_write_json(out / METADATA, {
        "name": policy_name(kind, lstm), "kind": kind, "lstm": lstm, "scenario": scenario,
        "nvec": {a: [int(v) for v in env.action_space(a).nvec] for a in AGENTS},
        "patterns": list(patterns), "seed": seed, "budget": asdict(budget), "curve": curve,
        "seconds": time.perf_counter() - began, "ray_version": ray.__version__,
    })
    return checkpoint


def read_metadata(checkpoint: str | Path) -> dict[str, Any]:
    """`marlform_ppo.json` of a checkpoint folder (given the folder or its parent)."""
    import json

    path = Path(checkpoint)
    folder = path.parent if path.name == CHECKPOINT else path
    meta = folder / METADATA
    if not meta.is_file():
        raise PPOCheckpointError(f"{meta}: missing; train the policy with agents.baselines.ppo.train_ppo")
    return json.loads(meta.read_text())


class PPOPolicy:
    """A trained PPO baseline behind `agents.policy.Policy`: greedy masked choices, per-env LSTM state."""

    def __init__(self, modules: dict[str, Any], kind: Kind, lstm: bool, metadata: dict[str, Any] | None = None):
        self.modules, self.kind, self.lstm = modules, kind, lstm
        self.name = policy_name(kind, lstm)
        self.metadata = metadata or {}
        self.state: dict[str, Any] = {}

    @classmethod
    def load(cls, checkpoint: str | Path) -> PPOPolicy:
        """The RLModules of a `train_ppo` checkpoint (no Ray cluster, no env runners)."""
        from ray.rllib.core import (
            COMPONENT_LEARNER,
            COMPONENT_LEARNER_GROUP,
            COMPONENT_RL_MODULE,
            DEFAULT_MODULE_ID,
        )
        from ray.rllib.core.rl_module.rl_module import RLModule

        meta = read_metadata(checkpoint)
        folder = Path(checkpoint).resolve()  # RLlib reads a relative path as a URI and fails
        folder = folder if folder.name == CHECKPOINT else folder / CHECKPOINT
        root = folder / COMPONENT_LEARNER_GROUP / COMPONENT_LEARNER / COMPONENT_RL_MODULE
        ids = [DEFAULT_MODULE_ID] if meta["kind"] == "single" else list(AGENTS)
        missing = [m for m in ids if not (root / m).is_dir()]
        if missing:
            raise PPOCheckpointError(f"{root}: no RLModule {', '.join(missing)} in this checkpoint")
        modules = {m: RLModule.from_checkpoint(str(root / m)) for m in ids}
        for module in modules.values():
            module.eval()
        return cls(modules, meta["kind"], bool(meta["lstm"]), meta)

    def reset(self, seed: int | None = None, n_envs: int = 1) -> None:
        """Zero every env's recurrent state."""
        self.state = {m: self._initial(m, n_envs) for m in self.modules} if self.lstm else {}

    def act_batch(self, observations: Observations, info: PolicyInfo) -> dict[str, np.ndarray]:
        return {agent: choice for agent, (choice, _p, _v) in self._act(observations).items()}

    def decisions(self, observations: Observations, info: PolicyInfo) -> dict[str, PolicyDecision]:
        """Per agent: the greedy action, the mean probability of its choices, and the value estimate."""
        return {agent: PolicyDecision(agent=agent, action=choice[0], confidence=float(prob[0]),
                                      expected_value=float(value[0]),
                                      rationale=f"RLlib {self.name} ({self.metadata.get('scenario', '?')})")
                for agent, (choice, prob, value) in self._act(batch_of_one(observations)).items()}

    # internals ---------------------------------------------------------------------
    def _initial(self, module_id: str, n: int) -> dict[str, Any]:
        import torch
        import tree  # dm-tree, a ray dependency: the state is nested (actor and critic encoders)

        return tree.map_structure(lambda v: torch.as_tensor(v)[None].repeat(n, *[1] * np.ndim(v)),
                                  self.modules[module_id].get_initial_state())

    def _act(self, observations: Observations) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """{agent: (choices (N, slots), mean choice probability (N,), value estimate (N,))}."""
        nvec = {a: np.asarray(v, dtype=np.int64) for a, v in self.metadata["nvec"].items()}
        for agent in AGENTS:
            if observations[agent][MASK].shape[1] != nvec[agent].sum():
                raise PPOCheckpointError(
                    f"{self.name} was trained on scenario {self.metadata.get('scenario')!r}: its "
                    f"{agent} action has {nvec[agent].sum()} choices, this deployment has "
                    f"{observations[agent][MASK].shape[1]}")
        if self.kind == "independent":
            return {a: self._module_act(a, agent_observation(observations[a], True), nvec[a]) for a in AGENTS}
        from ray.rllib.core import DEFAULT_MODULE_ID

        joint = np.concatenate([nvec[a] for a in AGENTS])
        choice, prob, value = self._module_act(DEFAULT_MODULE_ID, joint_observation(observations, True), joint)
        parts = np.split(choice, np.cumsum([len(nvec[a]) for a in AGENTS])[:-1], axis=1)
        return {a: (part, prob, value) for a, part in zip(AGENTS, parts, strict=True)}

    def _module_act(self, module_id: str, obs: dict[str, np.ndarray], nvec: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Greedy masked choice per slot of one module, with its recurrent state carried per env."""
        import torch
        import tree
        from ray.rllib.core.columns import Columns

        module, n = self.modules[module_id], obs[MASK].shape[0]
        if self.lstm and (module_id not in self.state or tree.flatten(self.state[module_id])[0].shape[0] != n):
            self.state[module_id] = self._initial(module_id, n)

        def batch() -> dict[str, Any]:  # fresh each call: the module swaps the Dict for its features
            tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in obs.items()}
            if not self.lstm:
                return {Columns.OBS: tensors}
            return {Columns.OBS: {k: v[:, None] for k, v in tensors.items()},  # time axis T = 1
                    Columns.STATE_IN: self.state[module_id]}

        with torch.no_grad():
            out = module.forward_inference(batch())
            value = module.compute_values(batch()).reshape(n)
        logits = out[Columns.ACTION_DIST_INPUTS].reshape(n, -1)
        if self.lstm:
            self.state[module_id] = out[Columns.STATE_OUT]
        choices, probs = [], []
        for seg in torch.split(logits, nvec.tolist(), dim=-1):
            p = torch.softmax(seg, dim=-1)
            pick = p.argmax(dim=-1)
            choices.append(pick)
            probs.append(p.gather(-1, pick[:, None])[:, 0])
        return (torch.stack(choices, -1).numpy().astype(np.int64), torch.stack(probs, -1).mean(-1).numpy(),
                value.numpy())
