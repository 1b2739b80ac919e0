"""A trained MADDPG policy behind the one policy interface (agents.policy.Policy).

Decentralised execution: each agent's actor reads only its own observation
Dict, the dependency graph built from observed telemetry, and the goal; the
critics are not needed (and not shipped). Choices are the greedy masked
argmax per knob slot, so a forbidden choice is never returned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from agents.layout import DEFAULT_GOAL, Layout
from agents.observation import actor_inputs
from agents.policy import Observations, PolicyDecision, PolicyInfo, batch_of_one


class MADDPGPolicy:
    name = "maddpg"

    def __init__(self, actors: Any, layout: Layout, goal: tuple[float, float] = DEFAULT_GOAL,
                 version: str | None = None):
        self.actors = actors.eval()
        self.layout = layout
        self.goal = np.asarray(goal, dtype=np.float32)
        self.version = version

    @classmethod
    def from_registry(cls, name: str, version: str | None = None, *, registry: str | Path | None = None,
                      expect_layout: dict[str, Any] | None = None) -> MADDPGPolicy:
        """Load a verified checkpoint (checksum, format and, if given, layout are checked)."""
        from agents.policy_io import load_actors

        actors, item = load_actors(name, version, registry=registry, expect_layout=expect_layout)
        return cls(actors, Layout.from_dict(item.metadata["layout"]), version=f"{name}:{item.version}")

    def reset(self, seed: int | None = None, n_envs: int = 1) -> None:
        """Stateless between steps: nothing to forget."""

    def act_batch(self, observations: Observations, info: PolicyInfo) -> dict[str, np.ndarray]:
        return {agent: idx for agent, (idx, _) in self._choose(observations).items()}

    def decisions(self, observations: Observations, info: PolicyInfo) -> dict[str, PolicyDecision]:
        """Per agent: the action, its confidence (mean probability of the chosen choices)."""
        return {
            agent: PolicyDecision(agent=agent, action=idx[0], confidence=float(conf[0]),
                                  rationale=f"MADDPG actor {self.version or ''}".strip())
            for agent, (idx, conf) in self._choose(batch_of_one(observations)).items()
        }

    def _choose(self, observations: Observations) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        import torch

        from agents.env_adapter import nest
        from agents.gumbel import mask_logits

        n = next(iter(observations.values()))["action_mask"].shape[0]
        flat = actor_inputs(observations, self.layout, np.tile(self.goal, (n, 1)))
        with torch.no_grad():
            logits = self.actors(nest(flat, self.layout.names))
        out = {}
        for spec in self.layout.agents:
            masked = mask_logits(logits[spec.name], torch.from_numpy(flat[f"{spec.name}/mask"]))
            idx, probs = [], []
            for seg in torch.split(masked, list(spec.knobs), dim=-1):
                p = torch.softmax(seg, dim=-1)
                choice = p.argmax(dim=-1)
                idx.append(choice)
                probs.append(p.gather(-1, choice[:, None])[:, 0])
            out[spec.name] = (torch.stack(idx, -1).numpy().astype(np.int64),
                              torch.stack(probs, -1).mean(-1).numpy())
        return out
