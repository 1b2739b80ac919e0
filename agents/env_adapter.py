"""The bridge between the simulator's batched core and the learner.

The learner reads flat numpy dicts (cheap to ship between Ray processes and to
store in replay) and nests them into tensors just before a forward pass.
Flat keys: "graph", "state", "goal", and "<agent>/metrics", "<agent>/own",
"<agent>/pending", "<agent>/pending_mask", "<agent>/mask".

`TrainingEnv` is what rollouts step: N environments at once, actions as knob
indices, per-agent rewards, the goal point achieved (for hindsight), and the
headline numbers (cost, SLO, reward decomposition, utilisation) for logging
and evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from agents.layout import Layout

LOCAL_KEYS = ("metrics", "own", "pending", "pending_mask", "mask")


@dataclass
class StepResult:
    next_obs: dict[str, np.ndarray]  # the observation the step led to (what the learner bootstraps from)
    rewards: dict[str, np.ndarray]  # agent → (N,)
    terminated: np.ndarray  # (N,) bool: a real end (never bootstrap past it)
    truncated: np.ndarray  # (N,) bool: the time limit (bootstrap past it)
    obs: dict[str, np.ndarray]  # where to continue: next_obs, with finished environments reset
    achieved: np.ndarray  # (N, 2) (cost-rate level, SLO attainment) reached this step
    cost_usd: np.ndarray  # (N,) money spent this step
    slo_met: np.ndarray  # (N,) share of entry-point SLOs met this step, in [0, 1]
    terms: dict[str, np.ndarray] = field(default_factory=dict)  # reward decomposition
    utilisation: np.ndarray | None = None  # (N,) mean compute utilisation


class TrainingEnv(Protocol):
    layout: Layout
    num_envs: int

    def reset(self, seed: int) -> dict[str, np.ndarray]: ...

    def step(self, actions: dict[str, np.ndarray]) -> StepResult: ...


@dataclass(frozen=True)
class EnvSpec:
    """Everything needed to build a TrainingEnv in another process (picklable)."""

    scenario: str = "web"
    num_envs: int = 8
    episode_steps: int = 96
    split: str = "train"
    seed: int = 0
    #: "module:Class" of the TrainingEnv; the simulator unless a test swaps in another.
    factory: str = "agents.sim_env:SimulatorTrainingEnv"

    def build(self, stage: str) -> TrainingEnv:
        import importlib

        module, _, name = self.factory.partition(":")
        return getattr(importlib.import_module(module), name)(self, stage)


def nest(flat: dict[str, np.ndarray], names: list[str], prefix: str = "") -> dict[str, Any]:
    """Flat numpy dict → the nested tensor dict the networks read (masks stay bool).

    "state" is absent at decision time (only critics read it, and they are not deployed).
    """
    import torch

    def tensor(key: str) -> torch.Tensor:
        value = flat[prefix + key]
        out = torch.from_numpy(np.ascontiguousarray(value))
        return out if value.dtype == np.bool_ else out.float()

    obs: dict[str, Any] = {k: tensor(k) for k in ("graph", "state", "goal") if prefix + k in flat}
    for name in names:
        obs[name] = {k: tensor(f"{name}/{k}") for k in LOCAL_KEYS}
    return obs
