"""What RLlib PPO sees: the simulator's Dict observations as one feature vector plus the action mask.

RLlib's default encoders take a flat Box, and real action masking needs the mask
apart from the features, so every agent's observation Dict becomes
`{"observations": float32 (F,), "action_mask": float32 (M,)}`: the features are
every key but `action_mask`, flattened in sorted key order; the mask is the
simulator's flat mask in slot order (`envs.knobs`), which is exactly the order
of a MultiDiscrete's concatenated logits. These functions are the one
conversion, used by the training envs (`agents.baselines.ppo_env`) and by
`PPOPolicy` on the batched core, so a policy acts on exactly what it trained on.
Imports neither ray nor torch.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from gymnasium import spaces

from envs.knobs import AGENTS

OBS, MASK = "observations", "action_mask"


def agent_features(obs: Mapping[str, np.ndarray], batched: bool = False) -> np.ndarray:
    """One agent's Dict observation → float32 features, (F,) or (N, F) when `batched`."""
    lead = 1 if batched else 0
    parts = [np.asarray(obs[k], dtype=np.float32) for k in sorted(obs) if k != MASK]
    return np.concatenate([p.reshape(*p.shape[:lead], -1) for p in parts], axis=-1)


def feature_size(space: spaces.Dict) -> int:
    return int(sum(np.prod(space[k].shape) for k in space.spaces if k != MASK))


def masked_space(features: int, mask: int) -> spaces.Dict:
    return spaces.Dict({OBS: spaces.Box(-np.inf, np.inf, (features,), np.float32),
                        MASK: spaces.Box(0.0, 1.0, (mask,), np.float32)})


def joint_observation(observations: Mapping[str, Mapping[str, np.ndarray]], batched: bool = False
                      ) -> dict[str, np.ndarray]:
    """The single-agent view: all agents' features, then all masks, in AGENTS order."""
    return {OBS: np.concatenate([agent_features(observations[a], batched) for a in AGENTS], axis=-1),
            MASK: np.concatenate([np.asarray(observations[a][MASK], dtype=np.float32) for a in AGENTS],
                                 axis=-1)}


def agent_observation(obs: Mapping[str, np.ndarray], batched: bool = False) -> dict[str, np.ndarray]:
    return {OBS: agent_features(obs, batched), MASK: np.asarray(obs[MASK], dtype=np.float32)}
