"""MADDPG for discrete knobs: the learner's update and the actors' action choice.

Lowe et al. (2017), with the discrete-action choices the literature found to
matter (docs/algorithms.md): straight-through Gumbel-softmax for the actor
gradient, logit regularisation, soft target updates and gradient clipping.
Each agent i has an actor mu_i(o_i) and a critic Q_i(s, a_1..a_n); the critic
update is TD(0) with target actors choosing the next joint action; the actor
update follows grad Q_i with a_i re-sampled from mu_i and the other agents'
actions taken from the replay batch.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from agents.config import MADDPGConfig
from agents.gumbel import (
    greedy_onehot,
    gumbel_softmax_st,
    masked_cross_entropy,
    masked_entropy,
    sample_onehot,
)
from agents.layout import Layout
from agents.networks import ActorSet, CriticSet

#: Weight of the squared-logit regulariser (EPyMARL / revisiting-maddpg use 1e-3).
LOGIT_REG = 1e-3


class MADDPG:
    """Online and target networks, optimisers, and one gradient step at a time."""

    def __init__(self, layout: Layout, cfg: MADDPGConfig, seed: int = 0):
        torch.manual_seed(seed)
        self.layout = layout
        self.cfg = cfg
        self.actors = ActorSet(layout, cfg)
        self.critics = CriticSet(layout, cfg)
        # TD3's clipped double-Q: a second critic set whose target takes the minimum
        self.twin = CriticSet(layout, cfg) if cfg.twin_critics else None
        self.target_actors = copy.deepcopy(self.actors).requires_grad_(False)
        self.target_critics = copy.deepcopy(self.critics).requires_grad_(False)
        self.target_twin = copy.deepcopy(self.twin).requires_grad_(False) if self.twin else None
        self.opt_actor = self._actor_optimizer()
        self.opt_critic = torch.optim.Adam(self._critic_parameters(), lr=cfg.lr_critic)
        self.updates = 0

    # acting -------------------------------------------------------------
    @torch.no_grad()
    def act(self, obs: dict, explore: bool) -> dict[str, torch.Tensor]:
        """One-hot actions per agent; sampled when exploring with entropy, greedy otherwise."""
        return act_with(self.actors, obs, sample=explore and self.cfg.exploration == "entropy")

    # learning -----------------------------------------------------------
    def update(self, batch: dict[str, Any], weights: torch.Tensor) -> tuple[dict[str, float], torch.Tensor]:
        """One critic and one actor step on a batch; returns (metrics, |TD error| per sample).

        batch: obs, next_obs (dicts as in agents.networks), actions {agent: (B, A_i) one-hot},
        rewards {agent: (B,)}, done (B,) float. weights: PER importance weights (B,).
        """
        cfg, names = self.cfg, self.layout.names
        obs, nxt, actions = batch["obs"], batch["next_obs"], batch["actions"]
        with torch.no_grad():
            next_logits = self.target_actors(nxt)
            next_actions = {
                n: greedy_onehot(next_logits[n], nxt[n]["mask"], self._knobs(n)) for n in names
            }
            next_q = self.target_critics(nxt, next_actions)
            if self.target_twin is not None:
                twin_q = self.target_twin(nxt, next_actions)
                next_q = {n: torch.minimum(next_q[n], twin_q[n]) for n in names}
            targets = {
                n: batch["rewards"][n] + cfg.gamma * (1.0 - batch["done"]) * next_q[n] for n in names
            }
        q = self.critics(obs, actions)
        td = torch.stack([q[n] - targets[n] for n in names])  # (agents, B)
        critic_loss = (weights * td.pow(2)).mean(dim=1).sum()
        if self.twin is not None:
            q2 = self.twin(obs, actions)
            td2 = torch.stack([q2[n] - targets[n] for n in names])
            critic_loss = critic_loss + (weights * td2.pow(2)).mean(dim=1).sum()
        self.opt_critic.zero_grad(set_to_none=True)
        critic_loss.backward()
        critic_norm = torch.nn.utils.clip_grad_norm_(self._critic_parameters(), cfg.grad_clip)
        self.opt_critic.step()

        metrics: dict[str, float] = {
            "loss/critic": float(critic_loss.detach()),
            "grad_norm/critic": float(critic_norm),
        }
        settled = self.updates >= cfg.critic_warmup and self.updates % cfg.policy_delay == 0
        if settled:  # actors follow a critic that has had time to learn (TD3-style delay)
            metrics.update(self._actor_step(obs, actions))
        self.soft_update()
        self.updates += 1
        return metrics, td.detach().abs().mean(dim=0)

    def _actor_step(self, obs: dict, actions: dict[str, torch.Tensor]) -> dict[str, float]:
        """Each actor ascends its critic through its own Gumbel-softmax action; others' from the batch."""
        cfg = self.cfg
        logits = self.actors(obs)
        with torch.no_grad():
            context = {k: v.detach() for k, v in self.critics.context(obs).items()}
        actor_loss = torch.zeros(())
        metrics: dict[str, float] = {}
        for n in self.layout.names:
            mine = gumbel_softmax_st(logits[n], obs[n]["mask"], self._knobs(n), cfg.gumbel_tau)
            q_i = self.critics.q_value(context, {**actions, n: mine}, n)
            reg = LOGIT_REG * logits[n].masked_fill(~obs[n]["mask"], 0.0).pow(2).mean()
            if cfg.bc_weight > 0:  # TD3+BC: normalised Q plus cross-entropy to the replayed choices
                scale = q_i.detach().abs().mean().clamp_min(1e-6)
                bc = masked_cross_entropy(logits[n], obs[n]["mask"], actions[n], self._knobs(n))
                loss_i = -q_i.mean() / scale + cfg.bc_weight * bc + reg
                metrics[f"bc/{n}"] = float(bc.detach())
            else:
                loss_i = -q_i.mean() + reg
            if cfg.exploration == "entropy":
                entropy = masked_entropy(logits[n], obs[n]["mask"], self._knobs(n)).mean()
                loss_i = loss_i - cfg.entropy_coef * entropy
                metrics[f"entropy/{n}"] = float(entropy.detach())
            metrics[f"q/{n}"] = float(q_i.detach().mean())
            actor_loss = actor_loss + loss_i
        self.opt_actor.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.critics.zero_grad(set_to_none=True)  # the actor loss must not move the critics
        actor_norm = torch.nn.utils.clip_grad_norm_(self.actors.parameters(), cfg.grad_clip)
        self.opt_actor.step()
        metrics["loss/actor"] = float(actor_loss.detach())
        metrics["grad_norm/actor"] = float(actor_norm)
        return metrics

    def restore_actors(self, weights: dict[str, torch.Tensor]) -> None:
        """Return the online and target actors to earlier weights, with fresh optimiser moments.

        The critics keep what they learned meanwhile (including from the regression), so the
        actors start again from a good point with a better-informed critic.
        """
        self.actors.load_state_dict(weights)
        self.target_actors.load_state_dict(weights)
        self.opt_actor = self._actor_optimizer()

    @torch.no_grad()
    def soft_update(self) -> None:
        tau = self.cfg.tau
        pairs = [(self.actors, self.target_actors), (self.critics, self.target_critics)]
        if self.twin is not None:
            pairs.append((self.twin, self.target_twin))
        for online, target in pairs:
            t_params = list(target.parameters())
            torch._foreach_mul_(t_params, 1.0 - tau)
            torch._foreach_add_(t_params, list(online.parameters()), alpha=tau)

    # persistence ----------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume training exactly (not the replay buffer)."""
        state = {
            "actors": self.actors.state_dict(),
            "critics": self.critics.state_dict(),
            "target_actors": self.target_actors.state_dict(),
            "target_critics": self.target_critics.state_dict(),
            "opt_actor": self.opt_actor.state_dict(),
            "opt_critic": self.opt_critic.state_dict(),
            "updates": self.updates,
        }
        if self.twin is not None:
            state.update(twin=self.twin.state_dict(), target_twin=self.target_twin.state_dict())
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.actors.load_state_dict(state["actors"])
        self.critics.load_state_dict(state["critics"])
        self.target_actors.load_state_dict(state["target_actors"])
        self.target_critics.load_state_dict(state["target_critics"])
        self.opt_actor.load_state_dict(state["opt_actor"])
        self.opt_critic.load_state_dict(state["opt_critic"])
        self.updates = int(state["updates"])
        if self.twin is not None:
            self.twin.load_state_dict(state["twin"])
            self.target_twin.load_state_dict(state["target_twin"])

    def _actor_optimizer(self) -> torch.optim.Adam:
        return torch.optim.Adam(self.actors.parameters(), lr=self.cfg.lr_actor)

    def _critic_parameters(self) -> list[torch.nn.Parameter]:
        twin = list(self.twin.parameters()) if self.twin is not None else []
        return [*self.critics.parameters(), *twin]

    def _knobs(self, name: str) -> tuple[int, ...]:
        return self.layout.agents[self.layout.names.index(name)].knobs


def act_with(actors: ActorSet, obs: dict, sample: bool) -> dict[str, torch.Tensor]:
    """Actions of an actor set (online, target or parameter-noise copy) under the masks."""
    logits = actors(obs)
    choose = sample_onehot if sample else greedy_onehot
    return {a.name: choose(logits[a.name], obs[a.name]["mask"], a.knobs) for a in actors.layout.agents}


@torch.no_grad()
def perturbed_copy(actors: ActorSet, std: float, generator: torch.Generator) -> ActorSet:
    """Parameter-space noise (Plappert et al. 2018): a copy with Gaussian noise on every weight."""
    noisy = copy.deepcopy(actors)
    for param in noisy.parameters():
        param.add_(torch.randn(param.shape, generator=generator) * std)
    return noisy
