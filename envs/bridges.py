"""Bridges to single-agent Gymnasium and to RLlib, for the PPO baselines.

`JointActionEnv` sees the four agents as one: a Dict of their observations and
one MultiDiscrete joint action (the agents' slots concatenated in AGENTS order);
its reward is the sum of the agents' rewards. `register_rllib()` registers
"marlform-single" (that env) and "marlform-multi" (ParallelPettingZooEnv over
ProvisioningEnv, for independent learners). Ray is imported only there.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.knobs import AGENTS
from envs.provisioning import KnobSpace, ProvisioningEnv

SINGLE_AGENT_ID = "marlform-single"
MULTI_AGENT_ID = "marlform-multi"


class JointActionEnv(gym.Env):
    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"]}

    def __init__(self, **env_kwargs: Any):
        self.env = ProvisioningEnv(**env_kwargs)
        self.observation_space = spaces.Dict({a: self.env.observation_space(a) for a in AGENTS})
        nvec = np.concatenate([self.env.action_space(a).nvec for a in AGENTS])
        self.action_space = KnobSpace(nvec)
        self._cuts = np.cumsum([self.env.action_space(a).shape[0] for a in AGENTS])[:-1]
        self.render_mode = "rgb_array"

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        obs, _ = self.env.reset(seed=seed, options=options)
        return obs, {}

    def step(self, action):
        parts = np.split(np.asarray(action, dtype=np.int64), self._cuts)
        obs, rewards, term, trunc, infos = self.env.step(dict(zip(AGENTS, parts, strict=True)))
        if not obs:  # PettingZoo empties the agents at the end; keep the last observation shape
            obs = {a: self.observation_space[a].sample() for a in AGENTS}
        info = {"agents": infos, "rewards": rewards}
        return obs, float(sum(rewards.values())), any(term.values()), any(trunc.values()), info

    def render(self):
        return self.env.render()


def register_rllib() -> tuple[str, str]:
    """Register both envs with Ray Tune's registry; env_config holds ProvisioningEnv keyword options."""
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv
    from ray.tune.registry import register_env

    register_env(SINGLE_AGENT_ID, lambda config: JointActionEnv(**dict(config)))
    register_env(MULTI_AGENT_ID, lambda config: ParallelPettingZooEnv(ProvisioningEnv(**dict(config))))
    return SINGLE_AGENT_ID, MULTI_AGENT_ID
