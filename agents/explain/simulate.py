"""Run a policy in the batched simulator and record what each agent saw and chose.

The dataset covers several workload patterns (steady, cyclical, burst) of one
deployment, because an explanation fit on a quiet day says nothing about a
burst. Every (pattern, environment) trajectory is its own episode, so the
80/20 split holds out whole trajectories.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from agents.explain.dataset import AgentView
from agents.explain.features import concat
from agents.explain.simfeatures import agent_features, agent_knobs

#: Joint batched observation → {agent: per-slot probabilities, each (N, n_choices)}.
JointProbs = Callable[[dict[str, Any]], dict[str, list[np.ndarray]]]
PATTERNS = ("steady", "cyclical", "burst")


def joint_observation(core: Any) -> dict[str, Any]:
    """What the agents see now: {agent: env observation Dict (batched)}."""
    return dict(core.observer.observe(core.state, core.flat_masks(), core.costs_by_agent()))


def greedy(probs: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
    """{agent: (N, n_slots)} the most probable choice of each slot."""
    return {a: np.stack([p.argmax(axis=1) for p in blocks], axis=1) for a, blocks in probs.items()}


def record(
    cores: Sequence[Any], policy: JointProbs, steps: int | None = None, seed: int = 0
) -> tuple[dict[str, Any], np.ndarray]:
    """(joint observations stacked over all steps, episode id per row) of `policy` acting greedily."""
    batches, episodes, next_episode = [], [], 0
    for core in cores:
        core.reset(seed)
        obs = joint_observation(core)
        for _ in range(steps or core.config.steps):
            batches.append(obs)
            episodes.append(next_episode + np.arange(core.n))
            core.step(greedy(policy(obs)))
            obs = joint_observation(core)
        next_episode += core.n
    return concat(batches), np.concatenate(episodes)


def views(core: Any, policy: JointProbs, agents: Sequence[str], peers: bool = False,
          history: bool = True) -> list[AgentView]:
    """One AgentView per agent over the env's named features and slots."""
    return [
        AgentView(
            name=agent,
            features=agent_features(core, agent, history=history, peers=peers),
            knobs=agent_knobs(core, agent),
            probs=lambda obs, a=agent: policy(obs)[a],
        )
        for agent in agents
    ]


def scenario_cores(spec: Any, n_envs: int, patterns: Sequence[str] = PATTERNS, seed: int = 0,
                   scenario: str = "web") -> list[Any]:
    """One batched core per workload pattern of the deployment."""
    from envs.core import BatchedCore
    from envs.workload import WorkloadSpec

    return [BatchedCore(spec, n_envs=n_envs, workload=WorkloadSpec(scenario=scenario, pattern=p), seed=seed + i)
            for i, p in enumerate(patterns)]
