"""Policies (agents.policy.Policy) as the explainer queries them: probabilities per slot.

A MADDPG actor gives its masked softmax per slot (its greedy action is the
argmax of it). Any other policy behind the interface (the rule baselines) is
deterministic and gives one-hot probabilities of `act_batch`. Registry
references read "NAME[:VERSION]" (the promoted version when VERSION is left out).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from agents.explain.simulate import JointProbs
from agents.registry import CheckpointError


def parse_ref(ref: str) -> tuple[str, str | None]:
    name, _, version = ref.partition(":")
    if not name:
        raise CheckpointError(f"policy reference {ref!r}: expected NAME[:VERSION], e.g. maddpg:v0001")
    return name, version or None


def actor_probs(policy: Any) -> JointProbs:
    """Per-slot masked softmax of a MADDPGPolicy's actors on batched env observations."""
    import torch

    from agents.env_adapter import nest
    from agents.gumbel import mask_logits
    from agents.observation import actor_inputs

    layout = policy.layout

    @torch.no_grad()
    def probs(obs: dict[str, Any]) -> dict[str, list[np.ndarray]]:
        n = len(obs[layout.names[0]]["action_mask"])
        flat = actor_inputs(obs, layout, np.tile(policy.goal, (n, 1)))
        logits = policy.actors(nest(flat, layout.names))
        out = {}
        for spec in layout.agents:
            masked = mask_logits(logits[spec.name], torch.from_numpy(flat[f"{spec.name}/mask"]))
            out[spec.name] = [torch.softmax(seg, dim=-1).double().numpy()
                              for seg in torch.split(masked, list(spec.knobs), dim=-1)]
        return out

    return probs


def one_hot_policy(policy: Any, info: Callable[[], Any], knobs: dict[str, list[int]]) -> JointProbs:
    """A deterministic policy's choices as probabilities; `info()` gives its PolicyInfo now."""

    def probs(obs: dict[str, Any]) -> dict[str, list[np.ndarray]]:
        chosen = policy.act_batch(obs, info())
        return {a: [np.eye(n)[chosen[a][:, i]] for i, n in enumerate(sizes)] for a, sizes in knobs.items()}

    return probs


def registry_policy(ref: str, registry: str | Path | None = None) -> tuple[JointProbs, Any, str]:
    """(probabilities, model version, the scenario it was trained on) of a registry policy."""
    from agents.maddpg_policy import MADDPGPolicy
    from agents.registry import ModelRegistry

    name, version = parse_ref(ref)
    item = ModelRegistry(registry).get(name, version)
    policy = MADDPGPolicy.from_registry(name, item.version, registry=registry)
    return actor_probs(policy), item, str(item.metadata.get("config", {}).get("scenario", "web"))
