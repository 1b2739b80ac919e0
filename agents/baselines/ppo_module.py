"""RLlib's default PPO RLModule with real action masking (new API stack; torch).

The env's observation is `{"observations": features, "action_mask": mask}`
(`agents.baselines.ppo_obs`). The module builds RLlib's default encoder (MLP,
or LSTM with `model_config={"use_lstm": True}`) over the features only, and
adds log(mask) (clamped to the smallest float) to the action logits in every
forward pass: exploration, inference and training. The mask is the
simulator's flat mask in slot order, i.e. the order of the MultiDiscrete's
concatenated per-slot logits, so a masked choice gets probability zero and is
never sampled; the policy gradient and the entropy only see valid choices.
After RLlib's action-masking example (ray/rllib/examples/rl_modules/classes).
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule
from ray.rllib.core.columns import Columns
from ray.rllib.utils.torch_utils import FLOAT_MIN

from agents.baselines.ppo_obs import MASK, OBS


class MaskedPPOModule(DefaultPPOTorchRLModule):
    def __init__(self, *, observation_space=None, **kwargs: Any):
        self.observation_space_with_mask = observation_space
        super().__init__(observation_space=observation_space[OBS], **kwargs)

    def setup(self) -> None:
        super().setup()  # builds the default networks for the features alone
        self.observation_space = self.observation_space_with_mask

    def _forward_inference(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        mask = _split(batch)
        return _masked(super()._forward_inference(batch, **kwargs), mask)

    def _forward_exploration(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        mask = _split(batch)
        return _masked(super()._forward_exploration(batch, **kwargs), mask)

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        mask = _split(batch) if isinstance(batch[Columns.OBS], dict) else batch[MASK]
        return _masked(super()._forward_train(batch, **kwargs), mask)

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None):
        """The learner calls this first (for GAE) on the Dict batch: keep the mask for training."""
        if isinstance(batch[Columns.OBS], dict):
            batch[MASK] = _split(batch)
        return super().compute_values(batch, embeddings)


def _split(batch: dict[str, Any]) -> torch.Tensor:
    """Replace the Dict observation by its features in place; return the mask."""
    obs = batch[Columns.OBS]
    batch[Columns.OBS] = obs[OBS]
    return obs[MASK]


def _masked(out: dict[str, Any], mask: torch.Tensor) -> dict[str, Any]:
    out[Columns.ACTION_DIST_INPUTS] = out[Columns.ACTION_DIST_INPUTS] + torch.clamp(
        torch.log(mask), min=FLOAT_MIN)
    return out
