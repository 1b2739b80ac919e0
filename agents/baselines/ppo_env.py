"""The RLlib training envs of the PPO baselines, over the bridges of `envs.bridges`.

- `MaskedJointEnv` (single-agent PPO): `JointActionEnv`, the four agents'
  features and masks concatenated in AGENTS order, one MultiDiscrete action;
- `MaskedMultiEnv` (independent PPO): RLlib's `ParallelPettingZooEnv` over
  `ProvisioningEnv`, one masked Dict per agent.

Observations are `agents.baselines.ppo_obs`'s `{"observations", "action_mask"}`
Dicts. Both envs take `patterns` (workload patterns) and cycle through them
episode by episode, so one run trains on several workload shapes, and
`episode_steps` (the episode length). Their info carries `masked_ignored`, the
simulator's count of masked choices it replaced by "keep" (0 when the
module masks correctly).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
from gymnasium import spaces
from ray.rllib.env.multi_agent_env import MultiAgentEnv

from agents.baselines.ppo_obs import (
    agent_observation,
    feature_size,
    joint_observation,
    masked_space,
)
from envs.knobs import AGENTS


def _env_kwargs(config: Mapping[str, Any], slot: int) -> dict[str, Any]:
    """ProvisioningEnv keyword options for pattern number `slot` of `patterns`."""
    kwargs = dict(config)
    patterns: Sequence[str] = kwargs.pop("patterns", None) or (kwargs.get("pattern", "steady"),)
    steps = kwargs.pop("episode_steps", None)
    if steps is not None:
        from envs.config import SimConfig

        kwargs["config"] = SimConfig(steps=int(steps))
    kwargs["pattern"] = patterns[slot % len(patterns)]
    return kwargs


class _Episodes:
    """One env per pattern (built lazily); each reset takes the next pattern and a fresh seed.

    Why the seeds: RLlib seeds only the first reset; the core would replay the same
    random stream after a seedless reset, so later episodes count on from that seed.
    """

    def __init__(self, config: Mapping[str, Any], make):
        self.config, self.make = dict(config), make
        self.n_patterns = len(self.config.get("patterns") or (None,))
        self.envs: dict[int, Any] = {}
        self.episodes = 0
        self.seed = int(self.config.get("seed") or 0)

    def env(self, slot: int):
        if slot not in self.envs:
            self.envs[slot] = self.make(_env_kwargs(self.config, slot))
        return self.envs[slot]

    def next(self, seed: int | None) -> tuple[Any, int]:
        self.seed = seed if seed is not None else self.seed + 1
        env = self.env(self.episodes % self.n_patterns)
        self.episodes += 1
        return env, self.seed


class MaskedJointEnv(gym.Env):
    """`envs.bridges.JointActionEnv` with `{"observations", "action_mask"}` observations."""

    def __init__(self, config: Mapping[str, Any] | None = None):
        from envs.bridges import JointActionEnv

        self._episodes = _Episodes(config or {}, lambda kw: JointActionEnv(**kw))
        self.env = self._episodes.env(0)
        inner = self.env.observation_space
        self.observation_space = masked_space(sum(feature_size(inner[a]) for a in AGENTS),
                                              int(self.env.action_space.nvec.sum()))
        self.action_space = self.env.action_space

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.env, seed = self._episodes.next(seed)
        obs, info = self.env.reset(seed=seed, options=options)
        return joint_observation(obs), info

    def step(self, action):
        obs, reward, term, trunc, info = self.env.step(action)
        ignored = sum(i["masked_ignored"] for i in info["agents"].values())
        return joint_observation(obs), reward, term, trunc, {"masked_ignored": ignored}


class MaskedMultiEnv(MultiAgentEnv):
    """RLlib's `ParallelPettingZooEnv` over `ProvisioningEnv`, one masked Dict per agent."""

    def __init__(self, config: Mapping[str, Any] | None = None):
        super().__init__()
        from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

        from envs.provisioning import ProvisioningEnv

        self._episodes = _Episodes(config or {}, lambda kw: ParallelPettingZooEnv(ProvisioningEnv(**kw)))
        self.env = self._episodes.env(0)
        self.agents = self.possible_agents = list(AGENTS)
        inner = self.env.par_env
        self.observation_spaces = {
            a: masked_space(feature_size(inner.observation_space(a)), int(inner.action_space(a).nvec.sum()))
            for a in AGENTS}
        self.action_spaces = {a: inner.action_space(a) for a in AGENTS}
        self.observation_space = spaces.Dict(self.observation_spaces)
        self.action_space = spaces.Dict(self.action_spaces)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self.env, seed = self._episodes.next(seed)
        obs, info = self.env.reset(seed=seed, options=options)
        return {a: agent_observation(o) for a, o in obs.items()}, info

    def step(self, action_dict):
        obs, rewards, terms, truncs, infos = self.env.step(action_dict)
        return {a: agent_observation(o) for a, o in obs.items()}, rewards, terms, truncs, infos
