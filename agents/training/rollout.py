"""Rollout workers and the parameter server.

A rollout worker owns N simulator environments (the batched core) and a copy
of the actors. Each `collect` call pulls the newest weights if the version
changed, steps all N environments for T steps, and returns one time-ordered
chunk per environment for the replay buffer, plus the statistics of the
episodes that finished. The same class runs in-process (tests, Tune trials)
or as a Ray actor (`ray.remote(RolloutWorker)`), so there is one code path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.config import MADDPGConfig
from agents.env_adapter import EnvSpec, StepResult, nest
from agents.layout import Layout


class ParameterServer:
    """Holds the latest actor weights and their version; rollout actors poll it (a Ray actor)."""

    def __init__(self) -> None:
        self.weights: dict[str, Any] | None = None
        self.version = -1

    def set(self, weights: dict[str, Any], version: int) -> int:
        self.weights, self.version = weights, version
        return version

    def get(self, have_version: int) -> tuple[dict[str, Any] | None, int]:
        """The weights when newer than `have_version`, else (None, version)."""
        if self.version == have_version:
            return None, self.version
        return self.weights, self.version


class RolloutWorker:
    def __init__(self, spec: EnvSpec, layout: dict[str, Any], cfg: dict[str, Any], seed: int):
        import torch

        from agents.networks import ActorSet

        torch.set_num_threads(1)  # many small forward passes: threads only add overhead
        torch.manual_seed(seed)
        self.spec, self.seed = spec, seed
        self.layout = Layout.from_dict(layout)
        self.cfg = MADDPGConfig(**cfg)
        self.actors = ActorSet(self.layout, self.cfg)
        self.policy = self.actors
        self.noise_std = self.cfg.param_noise_std
        self.generator = torch.Generator().manual_seed(seed)
        self.version = -1
        self.stage: str | None = None
        self.resets = 0

    def collect(self, steps: int, stage: str, server: Any = None, weights: Any = None) -> dict[str, Any]:
        """Step every environment `steps` times with the exploring policy."""
        import torch

        from agents.gumbel import onehot_to_index
        from agents.maddpg import act_with

        self._sync(server, weights)
        if stage != self.stage:
            self.stage = stage
            self.env = self.spec.build(stage)
            self.obs = self.env.reset(self.seed * 1000 + self.resets)
            self.resets += 1
            self._new_episode_stats()
        if self.cfg.exploration == "param_noise":
            self._perturb()
        names = self.layout.names
        records: list[dict[str, np.ndarray]] = []
        ends = []
        with torch.no_grad():
            for _ in range(steps):
                onehots = act_with(self.policy, nest(self.obs, names), sample=self.cfg.exploration == "entropy")
                actions = {
                    a.name: onehot_to_index(onehots[a.name], a.knobs).numpy() for a in self.layout.agents
                }
                result = self.env.step(actions)
                records.append(self._transition(self.obs, actions, result))
                ends.append(result.terminated | result.truncated)
                self._track(result)
                self.obs = result.obs
        return {
            "chunks": _chunks(records, np.stack(ends)),
            "episodes": self._drain_finished(),
            "env_steps": steps * self.env.num_envs,
        }

    def evaluate(self, weights: Any, stage: str, seed: int) -> list[dict[str, float]]:
        """Greedy episodes from a fixed reset seed, so successive evaluations are comparable."""
        import torch

        from agents.gumbel import onehot_to_index
        from agents.maddpg import act_with

        self._sync(None, weights)
        self.stage = stage
        self.env = self.spec.build(stage)
        obs = self.env.reset(seed)
        self._new_episode_stats()
        with torch.no_grad():
            for _ in range(self.spec.episode_steps):
                onehots = act_with(self.actors, nest(obs, self.layout.names), sample=False)
                actions = {
                    a.name: onehot_to_index(onehots[a.name], a.knobs).numpy() for a in self.layout.agents
                }
                result = self.env.step(actions)
                self._track(result)
                obs = result.obs
        return self._drain_finished()

    # internals ----------------------------------------------------------
    def _sync(self, server: Any, weights: Any) -> None:
        if server is not None:
            import ray

            weights, version = ray.get(server.get.remote(self.version))
            if weights is None:
                return
            self.version = version
        if weights is not None:
            self.actors.load_state_dict(weights)
            self.policy = self.actors

    def _perturb(self) -> None:
        """Adaptive parameter noise: scale the std so ~param_noise_target of choices change."""
        import torch

        from agents.maddpg import act_with, perturbed_copy

        self.policy = perturbed_copy(self.actors, self.noise_std, self.generator)
        with torch.no_grad():
            obs = nest(self.obs, self.layout.names)
            clean, noisy = act_with(self.actors, obs, False), act_with(self.policy, obs, False)
        changed = np.mean(
            [float((clean[n] != noisy[n]).any(-1).float().mean()) for n in self.layout.names]
        )
        self.noise_std *= 1.01 if changed < self.cfg.param_noise_target else 1 / 1.01

    def _transition(self, obs: dict, actions: dict, result: StepResult) -> dict[str, np.ndarray]:
        row = {f"obs/{k}": v for k, v in obs.items()}
        row.update({f"next_obs/{k}": v for k, v in result.next_obs.items()})
        row.update({f"act/{k}": v.astype(np.int64) for k, v in actions.items()})
        row.update({f"rew/{k}": v.astype(np.float32) for k, v in result.rewards.items()})
        row["done"] = result.terminated.astype(np.float32)
        row["achieved"] = result.achieved.astype(np.float32)
        return row

    def _new_episode_stats(self) -> None:
        n = self.env.num_envs
        self.acc = {"return": np.zeros(n), "cost_usd": np.zeros(n), "slo": np.zeros(n), "steps": np.zeros(n)}
        self.acc_agents = {name: np.zeros(n) for name in self.layout.names}
        self.acc_terms: dict[str, np.ndarray] = {}
        self.finished: list[dict[str, float]] = []

    def _track(self, result: StepResult) -> None:
        acc = self.acc
        for name, reward in result.rewards.items():
            self.acc_agents[name] += reward
            acc["return"] += reward
        acc["cost_usd"] += result.cost_usd
        acc["slo"] += result.slo_met
        acc["steps"] += 1
        for key, value in result.terms.items():
            self.acc_terms.setdefault(key, np.zeros_like(acc["steps"]))
            self.acc_terms[key] += value
        util = result.utilisation if result.utilisation is not None else np.full_like(acc["steps"], np.nan)
        self.acc_terms.setdefault("utilisation", np.zeros_like(acc["steps"]))
        self.acc_terms["utilisation"] += util
        for i in np.flatnonzero(result.terminated | result.truncated):
            steps = acc["steps"][i]
            episode = {
                "return": acc["return"][i],
                "cost_usd": acc["cost_usd"][i],
                "slo_attainment": acc["slo"][i] / steps,
                **{f"return/{n}": v[i] for n, v in self.acc_agents.items()},
                **{f"terms/{k}": v[i] / steps for k, v in self.acc_terms.items()},
            }
            self.finished.append({k: float(v) for k, v in episode.items()})
            for arr in [*acc.values(), *self.acc_agents.values(), *self.acc_terms.values()]:
                arr[i] = 0.0

    def _drain_finished(self) -> list[dict[str, float]]:
        done, self.finished = self.finished, []
        return done


def _chunks(records: list[dict[str, np.ndarray]], ends: np.ndarray) -> list[tuple[dict, np.ndarray]]:
    """Per-environment time-ordered chunks and, per step, how many later steps share its episode."""
    steps, n = ends.shape
    stacked = {k: np.stack([r[k] for r in records], axis=1) for k in records[0]}  # (N, T, ...)
    left = np.zeros((n, steps), dtype=np.int32)
    for t in range(steps - 2, -1, -1):
        left[:, t] = np.where(ends[t], 0, left[:, t + 1] + 1)
    return [({k: v[i] for k, v in stacked.items()}, left[i]) for i in range(n)]
