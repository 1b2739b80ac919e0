"""From the simulator's per-agent observation Dicts to the actors' inputs.

Used both in training (agents.sim_env) and at decision time (agents.maddpg_policy),
so a deployed actor sees exactly what it trained on. Everything here is built
from the *observations* (delayed, noisy, gap-filled telemetry in the
`gcp.telemetry` layout), never from the simulator's true state: the dependency
graph's node features included. That keeps execution decentralised and
possible on a real project, where only Monitoring metrics exist.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from agents.layout import Layout

#: Node order of the dependency graph (envs.topology.NODE_KINDS) and the agent whose rows fill it.
NODE_AGENTS = ("compute", "network", "database", "storage")
#: Per node: kind one-hot, four telemetry values, and their mean staleness.
NODE_DIM = len(NODE_AGENTS) + 4 + 1
#: Which four metrics of each domain describe a node (gcp.telemetry.METRICS order):
#: compute: utilisation, p99/SLO, error rate, throughput; the other domains have exactly four.
NODE_METRICS = {"compute": (0, 3, 4, 5), "network": (0, 1, 2, 3), "database": (0, 1, 2, 3),
                "storage": (0, 1, 2, 3)}


def agent_tensors(obs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One agent's batched Dict observation → metric tokens, own vector, pending sequence, mask.

    Metric groups: one token per metric (utilisation, latency, errors, ...) holding its
    current value, staleness and history for every resource row.
    """
    telemetry, stale, history = obs["telemetry"], obs["staleness"], obs["history"]
    n = telemetry.shape[0]
    if history.shape[2:] == telemetry.shape[1:]:  # (N, W, r, m) → (N, r, m, W)
        history = np.moveaxis(history, 1, -1)
    per_metric = np.concatenate([telemetry[..., None], stale[..., None], history], axis=-1)
    tokens = per_metric.transpose(0, 2, 1, 3).reshape(n, telemetry.shape[2], -1)
    own = np.concatenate([obs["resources"].reshape(n, -1), obs["cost_rate"], obs["context"]], axis=1)
    pending = obs["pending"]
    return {
        "metrics": tokens.astype(np.float32),
        "own": own.astype(np.float32),
        "pending": pending.astype(np.float32),
        "pending_mask": pending[..., 0] > 0,
        "mask": obs["action_mask"].astype(bool),
    }


def node_features(observations: Mapping[str, Mapping[str, np.ndarray]], layout: Layout) -> np.ndarray:
    """(N, V, NODE_DIM) graph node features from the observed telemetry rows."""
    counts = {a.name: len(a.nodes) for a in layout.agents}
    blocks = []
    for kind, agent in enumerate(NODE_AGENTS):
        rows = counts[agent]
        if rows == 0:
            continue
        obs = observations[agent]
        cols = list(NODE_METRICS[agent])
        values = obs["telemetry"][:, :rows][..., cols]
        stale = obs["staleness"][:, :rows].mean(axis=-1, keepdims=True)
        onehot = np.zeros((*values.shape[:2], len(NODE_AGENTS)), dtype=np.float32)
        onehot[..., kind] = 1.0
        blocks.append(np.concatenate([onehot, values, stale], axis=-1))
    return np.concatenate(blocks, axis=1).astype(np.float32)


def actor_inputs(observations: Mapping[str, Mapping[str, np.ndarray]], layout: Layout,
                 goal: np.ndarray) -> dict[str, np.ndarray]:
    """The flat actor-side observation (agents.env_adapter keys) without the critic's state."""
    flat: dict[str, np.ndarray] = {"graph": node_features(observations, layout), "goal": goal}
    for agent in layout.names:
        flat.update({f"{agent}/{k}": v for k, v in agent_tensors(observations[agent]).items()})
    return flat
