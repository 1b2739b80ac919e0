"""The learner: MADDPG plus the shared replay buffer, fed with rollout chunks.

It turns flat numpy transitions (what rollout actors send and the buffer
stores) into the nested tensors the networks read, and writes the TD errors
back as priorities.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from agents.config import MADDPGConfig
from agents.env_adapter import nest
from agents.gumbel import index_to_onehot
from agents.layout import Layout
from agents.maddpg import MADDPG
from agents.replay import ReplayBuffer


class Learner:
    def __init__(self, layout: Layout, cfg: MADDPGConfig, seed: int = 0):
        self.layout = layout
        self.cfg = cfg
        self.maddpg = MADDPG(layout, cfg, seed=seed)
        self.buffer = ReplayBuffer(
            cfg.buffer_size,
            prioritized=cfg.use_per,
            alpha=cfg.per_alpha,
            her_ratio=cfg.her_ratio,
            goal_bonus=cfg.goal_bonus,
            seed=seed,
        )

    def add(self, chunks: list[tuple[dict[str, np.ndarray], np.ndarray]]) -> None:
        for chunk, left in chunks:
            self.buffer.add_chunk(chunk, left)

    def update(self, beta: float | None = None) -> dict[str, float]:
        """One gradient step on a (prioritised, relabelled) batch."""
        flat, index, weights = self.buffer.sample(self.cfg.batch_size, beta or self.cfg.per_beta)
        batch = self.to_batch(flat)
        metrics, td = self.maddpg.update(batch, torch.from_numpy(weights))
        self.buffer.update_priorities(index, td.numpy())
        return metrics

    def to_batch(self, flat: dict[str, np.ndarray]) -> dict[str, Any]:
        names = self.layout.names
        bonus = torch.from_numpy(flat.get("goal_bonus", np.zeros(len(flat["done"]), np.float32)))
        return {
            "obs": nest(flat, names, prefix="obs/"),
            "next_obs": nest(flat, names, prefix="next_obs/"),
            "actions": {
                a.name: index_to_onehot(torch.from_numpy(flat[f"act/{a.name}"]), a.knobs)
                for a in self.layout.agents
            },
            "rewards": {n: torch.from_numpy(flat[f"rew/{n}"]) + bonus for n in names},
            "done": torch.from_numpy(flat["done"]).float(),
        }

    def actor_weights(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.maddpg.actors.state_dict().items()}
