"""Synthetic layouts and observation batches for unit tests of the learner (no simulator needed)."""

from __future__ import annotations

import torch

from agents.layout import GOAL_DIM, AgentSpec, Layout


def small_layout() -> Layout:
    agents = (
        AgentSpec("compute", 3, 6, 5, 4, 3, (3, 2), (0, 1)),
        AgentSpec("storage", 2, 4, 3, 4, 3, (2,), (2,)),
        AgentSpec("network", 2, 4, 3, 4, 3, (2, 3), ()),
        AgentSpec("database", 2, 4, 4, 4, 3, (3,), (3,)),
    )
    return Layout(agents=agents, state_dim=10, num_nodes=4, node_dim=5, edges=((0, 1), (1, 3), (0, 2)))


def random_obs(layout: Layout, batch: int, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    obs: dict = {
        "graph": torch.randn(batch, layout.num_nodes, layout.node_dim, generator=g),
        "state": torch.randn(batch, layout.state_dim, generator=g),
        "goal": torch.rand(batch, GOAL_DIM, generator=g),
    }
    for a in layout.agents:
        valid = torch.rand(batch, a.max_pending, generator=g) < 0.5
        valid[0] = False  # an empty pending queue must still work
        obs[a.name] = {
            "metrics": torch.randn(batch, a.metric_groups, a.metric_width, generator=g),
            "own": torch.randn(batch, a.own_dim, generator=g),
            "pending": torch.randn(batch, a.max_pending, a.pending_width, generator=g),
            "pending_mask": valid,
            "mask": torch.ones(batch, a.action_dim, dtype=torch.bool),
        }
    return obs
