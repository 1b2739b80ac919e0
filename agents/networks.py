"""The networks: a GNN over the dependency graph, metric-group attention,
a pending-operations transformer, decentralised actors and centralised critics.

Observation batches are dicts of tensors (see `agents.env_adapter`):

    obs["graph"]  (B, V, node_dim)  node features of the dependency graph
    obs["state"]  (B, state_dim)    true global state (critics only)
    obs["goal"]   (B, GOAL_DIM)     the goal the policy is conditioned on
    obs[agent]    {"metrics": (B, G, F), "own": (B, D), "pending": (B, P, Fp),
                   "pending_mask": (B, P) bool, True = a real entry,
                   "mask": (B, sum(knobs)) bool, True = allowed}

Why these pieces: the graph carries who depends on whom, so a database agent
can see that the API in front of it is saturating; attention lets an agent
weigh the metric groups that matter now (latency during a burst, cost at
night) instead of a fixed flattening; pending operations (a VM still booting,
a tier change under way) are a variable-length set, and a transformer with a
padding mask handles any length without a fixed cap in the weights.
"""

from __future__ import annotations

import torch
from torch import nn

from agents.config import MADDPGConfig
from agents.layout import GOAL_DIM, AgentSpec, Layout


def mlp(sizes: list[int], out_act: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2 or out_act:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class GraphEncoder(nn.Module):
    """Two GATv2 layers over the (static) dependency graph, batched by offsetting node ids.

    With `use_gnn=False` (ablation) each node is embedded on its own, without message passing.
    """

    def __init__(self, layout: Layout, embed: int, use_gnn: bool = True):
        super().__init__()
        self.num_nodes = layout.num_nodes
        self.use_gnn = use_gnn
        edges = torch.tensor(layout.edges, dtype=torch.long).reshape(-1, 2).t()
        # messages flow both ways: load travels down the graph, latency comes back up
        self.register_buffer("edge_index", torch.cat([edges, edges.flip(0)], dim=1), persistent=False)
        self.inp = nn.Linear(layout.node_dim, embed)
        if use_gnn:
            from torch_geometric.nn import GATv2Conv

            self.convs = nn.ModuleList(
                [GATv2Conv(embed, embed, heads=2, concat=False, add_self_loops=True) for _ in range(2)]
            )
        else:
            self.convs = nn.ModuleList([nn.Linear(embed, embed) for _ in range(2)])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, V, F) → node embeddings (B, V, E) and a pooled graph embedding (B, E)."""
        batch, nodes, _ = x.shape
        h = torch.relu(self.inp(x)).reshape(batch * nodes, -1)
        if self.use_gnn:
            offsets = (torch.arange(batch, device=x.device) * nodes).repeat_interleave(
                self.edge_index.shape[1]
            )
            edge_index = self.edge_index.repeat(1, batch) + offsets
            for conv in self.convs:
                h = torch.relu(conv(h, edge_index)) + h
        else:
            for layer in self.convs:
                h = torch.relu(layer(h)) + h
        h = h.reshape(batch, nodes, -1)
        return h, h.mean(dim=1)


class MetricAttention(nn.Module):
    """Self-attention over an agent's metric groups, pooled by a learned query.

    With `use_attention=False` (ablation) the groups are flattened into an MLP.
    """

    def __init__(self, groups: int, width: int, embed: int, use_attention: bool = True):
        super().__init__()
        self.use_attention = use_attention
        if use_attention:
            self.proj = nn.Linear(width, embed)
            self.group_embed = nn.Parameter(torch.zeros(groups, embed))
            self.attn = nn.MultiheadAttention(embed, num_heads=2, batch_first=True)
            self.query = nn.Parameter(torch.randn(1, 1, embed) * 0.1)
            self.pool = nn.MultiheadAttention(embed, num_heads=2, batch_first=True)
        else:
            self.flat = mlp([groups * width, embed], out_act=True)

    def forward(self, metrics: torch.Tensor) -> torch.Tensor:
        if not self.use_attention:
            return self.flat(metrics.flatten(1))
        tokens = self.proj(metrics) + self.group_embed
        tokens = tokens + self.attn(tokens, tokens, tokens, need_weights=False)[0]
        query = self.query.expand(metrics.shape[0], -1, -1)
        return self.pool(query, tokens, tokens, need_weights=False)[0].squeeze(1)


class PendingEncoder(nn.Module):
    """A one-layer transformer encoder over pending operations, read out at a [CLS] token.

    The [CLS] token is never masked, so an empty queue gives a defined embedding
    rather than the NaN of attention over nothing.
    """

    def __init__(self, width: int, embed: int):
        super().__init__()
        self.proj = nn.Linear(width, embed)
        self.cls = nn.Parameter(torch.zeros(1, 1, embed))
        layer = nn.TransformerEncoderLayer(
            embed, nhead=2, dim_feedforward=2 * embed, dropout=0.0, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers=1, enable_nested_tensor=False)

    def forward(self, pending: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        batch = pending.shape[0]
        tokens = torch.cat([self.cls.expand(batch, -1, -1), self.proj(pending)], dim=1)
        pad = torch.cat([torch.zeros(batch, 1, dtype=torch.bool, device=valid.device), ~valid], dim=1)
        return self.encoder(tokens, src_key_padding_mask=pad)[:, 0]


class ObsEncoder(nn.Module):
    """One agent's local observation (+ its nodes' graph embeddings) → a feature vector."""

    def __init__(self, spec: AgentSpec, cfg: MADDPGConfig):
        super().__init__()
        e = cfg.embed
        self.register_buffer("nodes", torch.tensor(spec.nodes, dtype=torch.long), persistent=False)
        self.metrics = MetricAttention(spec.metric_groups, spec.metric_width, e, cfg.use_attention)
        self.pending = PendingEncoder(spec.pending_width, e)
        self.own = mlp([spec.own_dim + GOAL_DIM, e], out_act=True)
        self.body = mlp([4 * e, cfg.hidden, cfg.hidden], out_act=True)

    def forward(self, local: dict[str, torch.Tensor], goal: torch.Tensor, node_emb: torch.Tensor) -> torch.Tensor:
        if len(self.nodes):
            mine = node_emb.index_select(1, self.nodes).mean(dim=1)
        else:
            mine = torch.zeros_like(node_emb[:, 0])
        parts = [
            self.metrics(local["metrics"]),
            self.pending(local["pending"], local["pending_mask"]),
            self.own(torch.cat([local["own"], goal], dim=-1)),
            mine,
        ]
        return self.body(torch.cat(parts, dim=-1))


class ActorSet(nn.Module):
    """The decentralised actors: one per agent, sharing the graph encoder.

    Each actor reads only its own local observation, the graph the environment
    exposes, and the goal; it outputs one logit vector for all its knobs.
    """

    def __init__(self, layout: Layout, cfg: MADDPGConfig):
        super().__init__()
        self.layout = layout
        self.gnn = GraphEncoder(layout, cfg.embed, cfg.use_gnn)
        self.encoders = nn.ModuleDict({a.name: ObsEncoder(a, cfg) for a in layout.agents})
        self.heads = nn.ModuleDict({a.name: nn.Linear(cfg.hidden, a.action_dim) for a in layout.agents})
        with torch.no_grad():  # a prior towards "keep" (choice 0 of every slot): see docs/agents.md
            for a in layout.agents:
                starts = torch.tensor([0, *a.knobs[:-1]]).cumsum(0)
                self.heads[a.name].bias[starts] += cfg.keep_bias

    def forward(self, obs: dict) -> dict[str, torch.Tensor]:
        node_emb, _ = self.gnn(obs["graph"])
        return {
            name: self.heads[name](self.encoders[name](obs[name], obs["goal"], node_emb))
            for name in self.layout.names
        }


class CriticSet(nn.Module):
    """One Q-network per agent.

    Centralised (MADDPG): Q_i(global state, pooled graph, every agent's action, goal).
    Independent (ablation, = independent DDPG): Q_i(own observation, own action).
    """

    def __init__(self, layout: Layout, cfg: MADDPGConfig):
        super().__init__()
        self.layout = layout
        self.central = cfg.central_critic
        self.gnn = GraphEncoder(layout, cfg.embed, cfg.use_gnn)
        if self.central:
            inp = layout.state_dim + cfg.embed + GOAL_DIM + layout.joint_action_dim
            self.q = nn.ModuleDict({a.name: mlp([inp, cfg.hidden, cfg.hidden, 1]) for a in layout.agents})
        else:
            self.encoders = nn.ModuleDict({a.name: ObsEncoder(a, cfg) for a in layout.agents})
            self.q = nn.ModuleDict(
                {a.name: mlp([cfg.hidden + a.action_dim, cfg.hidden, 1]) for a in layout.agents}
            )

    def context(self, obs: dict) -> dict[str, torch.Tensor]:
        """The action-independent part of each critic's input, computed once per batch."""
        node_emb, pooled = self.gnn(obs["graph"])
        if self.central:
            shared = torch.cat([obs["state"], pooled, obs["goal"]], dim=-1)
            return {name: shared for name in self.layout.names}
        return {
            name: self.encoders[name](obs[name], obs["goal"], node_emb) for name in self.layout.names
        }

    def q_value(self, context: dict[str, torch.Tensor], actions: dict[str, torch.Tensor], name: str) -> torch.Tensor:
        """Q of agent `name`: all agents' actions when centralised, its own otherwise."""
        if self.central:
            act = torch.cat([actions[n] for n in self.layout.names], dim=-1)
        else:
            act = actions[name]
        return self.q[name](torch.cat([context[name], act], dim=-1)).squeeze(-1)

    def forward(self, obs: dict, actions: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        ctx = self.context(obs)
        return {name: self.q_value(ctx, actions, name) for name in self.layout.names}
