"""The shapes the learner needs to know about an environment, as plain data.

The networks are built from a `Layout`, and a checkpoint stores it: loading a
policy into an environment whose observation or action layout differs is
refused (see `registry.load_verified`) instead of silently mis-wiring inputs.
It is derived from the simulator's spaces by `agents.env_adapter`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

#: Goal vector of the goal-conditioned policy: (cost-rate target, SLO-attainment target).
#: Hindsight relabelling (`agents.replay`) rewrites it; see docs/agents.md.
GOAL_DIM = 2
#: The goal at decision time: cost at most the budget's rate (1.0), 99 % of SLOs met.
DEFAULT_GOAL = (1.0, 0.99)


@dataclass(frozen=True)
class AgentSpec:
    """One agent's observation tensors and discrete knobs."""

    name: str
    metric_groups: int  # tokens for the metric-group attention
    metric_width: int  # features per token
    own_dim: int  # own resources, cost rate, quota headroom, spot price, carbon
    pending_width: int  # features per pending operation
    max_pending: int  # padded length of the pending-operations sequence
    knobs: tuple[int, ...]  # number of choices of each discrete knob
    nodes: tuple[int, ...]  # dependency-graph nodes this agent owns

    @property
    def action_dim(self) -> int:
        return sum(self.knobs)


@dataclass(frozen=True)
class Layout:
    agents: tuple[AgentSpec, ...]
    state_dim: int
    num_nodes: int
    node_dim: int
    edges: tuple[tuple[int, int], ...]  # (source, target) node pairs

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.agents]

    @property
    def joint_action_dim(self) -> int:
        return sum(a.action_dim for a in self.agents)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (lists, not tuples), so it compares equal after a JSON round trip."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Layout:
        agents = tuple(
            AgentSpec(**{**a, "knobs": tuple(a["knobs"]), "nodes": tuple(a["nodes"])})
            for a in data["agents"]
        )
        return cls(
            agents=agents,
            state_dim=int(data["state_dim"]),
            num_nodes=int(data["num_nodes"]),
            node_dim=int(data["node_dim"]),
            edges=tuple(tuple(e) for e in data["edges"]),
        )
