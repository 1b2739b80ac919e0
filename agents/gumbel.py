"""Discrete knobs as differentiable one-hots: masked, straight-through Gumbel-softmax.

Each agent's action is several discrete knobs; its actor emits one logit
vector with the knobs' choices side by side. Invalid choices (catalog, quota,
pending operations) are masked by setting their logits to -inf, so they get
probability zero in the forward pass *and* zero gradient; the straight-through
estimator gives a hard one-hot forward and the soft sample's gradient back.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def mask_logits(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Invalid choices to -inf. `mask` is bool, True = allowed."""
    return logits.masked_fill(~mask, float("-inf"))


def _segments(x: torch.Tensor, knobs: Sequence[int]) -> tuple[torch.Tensor, ...]:
    return torch.split(x, list(knobs), dim=-1)


def gumbel_softmax_st(
    logits: torch.Tensor, mask: torch.Tensor, knobs: Sequence[int], tau: float = 1.0
) -> torch.Tensor:
    """A hard one-hot per knob in the forward pass, the Gumbel-softmax gradient backward."""
    out = []
    for seg in _segments(mask_logits(logits, mask), knobs):
        gumbel = -torch.empty_like(seg).exponential_().log()
        soft = F.softmax((seg + gumbel) / tau, dim=-1)
        hard = F.one_hot(soft.argmax(dim=-1), seg.shape[-1]).to(soft.dtype)
        out.append(hard - soft.detach() + soft)
    return torch.cat(out, dim=-1)


def greedy_onehot(logits: torch.Tensor, mask: torch.Tensor, knobs: Sequence[int]) -> torch.Tensor:
    """The deterministic action: argmax of each knob's allowed choices."""
    out = [
        F.one_hot(seg.argmax(dim=-1), seg.shape[-1]).to(logits.dtype)
        for seg in _segments(mask_logits(logits, mask), knobs)
    ]
    return torch.cat(out, dim=-1)


def sample_onehot(logits: torch.Tensor, mask: torch.Tensor, knobs: Sequence[int]) -> torch.Tensor:
    """A categorical sample per knob (exploration under entropy regularisation)."""
    out = []
    for seg in _segments(mask_logits(logits, mask), knobs):
        idx = torch.distributions.Categorical(logits=seg).sample()
        out.append(F.one_hot(idx, seg.shape[-1]).to(logits.dtype))
    return torch.cat(out, dim=-1)


def masked_entropy(logits: torch.Tensor, mask: torch.Tensor, knobs: Sequence[int]) -> torch.Tensor:
    """Sum over knobs of the entropy of the allowed choices, per batch row."""
    total = torch.zeros(logits.shape[:-1], dtype=logits.dtype, device=logits.device)
    for seg, seg_mask in zip(_segments(logits, knobs), _segments(mask, knobs), strict=True):
        logp = F.log_softmax(seg.masked_fill(~seg_mask, float("-inf")), dim=-1)
        p = logp.exp()
        total = total - (p * logp.masked_fill(~seg_mask, 0.0)).sum(dim=-1)
    return total


def masked_cross_entropy(logits: torch.Tensor, mask: torch.Tensor, target: torch.Tensor,
                         knobs: Sequence[int]) -> torch.Tensor:
    """Mean over knobs and rows of −log p(target choice) under the masked softmax (target one-hot)."""
    total = torch.zeros((), dtype=logits.dtype, device=logits.device)
    for seg, seg_mask, seg_t in zip(_segments(logits, knobs), _segments(mask, knobs),
                                    _segments(target, knobs), strict=True):
        logp = F.log_softmax(seg.masked_fill(~seg_mask, float("-inf")), dim=-1)
        total = total - (logp.masked_fill(~seg_mask, 0.0) * seg_t).sum(dim=-1).mean()
    return total / len(knobs)


def onehot_to_index(onehot: torch.Tensor, knobs: Sequence[int]) -> torch.Tensor:
    """(B, sum(knobs)) one-hots → (B, len(knobs)) choice indices."""
    return torch.stack([seg.argmax(dim=-1) for seg in _segments(onehot, knobs)], dim=-1)


def index_to_onehot(index: torch.Tensor, knobs: Sequence[int]) -> torch.Tensor:
    """(B, len(knobs)) choice indices → (B, sum(knobs)) one-hots."""
    return torch.cat(
        [F.one_hot(index[..., k].long(), n).float() for k, n in enumerate(knobs)], dim=-1
    )
