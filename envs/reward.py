"""Multi-objective reward: local + shared global terms, normalised, penalised, dense-to-sparse.

Scales (docs/simulator.md, "Reward"): cost in units of the budget's rate (-1 =
spending exactly the budget), performance and reliability in [0, 1], carbon in
units of the starting spec's carbon rate (-1 = as much as at the start).
Reliability also pays `disruption` per share of resources hit by a disruptive
operation (rolling replace, Cloud SQL tier/HA change): without it a policy that
flips a knob every step loses nothing it can see. Every changed knob value also
costs `change_cost` (a shared penalty), so a change must earn its keep even where
nothing is replaced. Every term is returned for `info`, so the reward can be
decomposed in logs.
"""

from __future__ import annotations

import numpy as np

from envs.config import RewardConfig
from envs.knobs import AGENTS
from envs.rowops import row_mean, row_sum
from envs.topology import Topology

TERMS = ("cost", "performance", "reliability", "sustainability")


class RewardModel:
    def __init__(self, topo: Topology, cfg: RewardConfig, entry_services: np.ndarray, step_s: float):
        self.topo, self.cfg = topo, cfg
        self.step_h = step_s / 3600.0
        self.entries = entry_services
        s = topo.n_services
        d0, b0 = topo.net_node + 1, topo.net_node + 1 + topo.n_databases
        calls = topo.calls[:s]
        # services that call a database / a bucket: whose latency the database / storage agent affects
        self.uses = {"database": calls[:, d0:b0].sum(axis=1) > 0, "storage": calls[:, b0:].sum(axis=1) > 0}
        self.weights = np.array([cfg.cost, cfg.performance, cfg.reliability, cfg.sustainability])
        self.edges = np.nonzero(topo.calls)
        self._uses_index = {k: np.nonzero(v)[0] for k, v in self.uses.items()}
        # resources a disruption share is taken over (services for compute/storage replaces)
        self.resources = {"compute": s, "storage": s, "network": 0, "database": topo.n_databases}
        self.total_resources = max(s + topo.n_databases, 1)

    def reset(self, n: int, first) -> None:
        self.carbon_ref = np.maximum(first.carbon_kg, 1e-9)
        self.episode_sum = np.zeros(n)

    def _mean(self, values: np.ndarray, index: np.ndarray) -> np.ndarray:
        if not len(index):
            return np.ones(values.shape[0])
        return row_mean(values[:, index])

    def step(self, out, st, total_steps: int, truncated: np.ndarray,
             disruption: dict[str, np.ndarray] | None = None, changes: np.ndarray | None = None):
        """Rewards per agent and every term; `disruption` = per agent, the share of its resources
        a disruptive operation (rolling replace, Cloud SQL tier/HA change) hit this step;
        `changes` = per env, how many knob values the step's choices changed."""
        topo, cfg = self.topo, self.cfg
        s = topo.n_services
        d0, b0 = topo.net_node + 1, topo.net_node + 1 + topo.n_databases
        budget_step = topo.spec.budget_monthly_usd / topo.catalog.hours_per_month * self.step_h
        perf_s = np.minimum(1.0, topo.slo_ms / np.maximum(out.latency[:, :s, 2], 1e-9))
        weight = np.maximum(out.demand[:, self.entries], 1e-12)
        weight = weight / row_sum(weight)[:, None]
        total_cost = out.cost
        churn = disruption or {a: np.zeros(len(total_cost)) for a in AGENTS}
        # each agent's share weighted by its resources: the deployment-wide share of resources hit
        glob_churn = sum(churn[a] * self.resources[a] for a in AGENTS) / self.total_resources
        glob = {
            "cost": -total_cost / budget_step,
            "performance": row_sum(perf_s[:, self.entries] * weight),
            "reliability": 1.0 - row_sum(out.error[:, self.entries] * weight)
            - cfg.disruption * glob_churn,
            "sustainability": -out.carbon_kg / self.carbon_ref,
        }
        carbon_share = {a: out.energy[a] * topo.carbon_g_per_kwh / 1000.0 / self.carbon_ref for a in AGENTS}
        local = {
            "compute": (row_mean(perf_s) if s else np.ones(len(total_cost)),
                        1.0 - (row_mean(out.own_error[:, :s]) if s else 0.0)),
            "storage": (self._mean(perf_s, self._uses_index["storage"]),
                        1.0 - (row_mean(out.own_error[:, b0:]) if topo.n_buckets else 0.0)),
            "network": (glob["performance"], 1.0 - out.lb_reject),
            "database": (self._mean(perf_s, self._uses_index["database"]),
                         1.0 - (row_mean(out.own_error[:, d0:b0]) if topo.n_databases else 0.0)),
        }
        over_budget = np.maximum(total_cost / budget_step - 1.0, 0.0)
        over_quota = np.where(out.vcpu_used > st.quota + 1e-9,
                              1.0 + (out.vcpu_used - st.quota) / np.maximum(st.quota, 1.0), 0.0)
        _src, dst = self.edges
        broken = row_mean(out.own_error[:, dst] > 0.5) if len(dst) else np.zeros(len(total_cost))
        slo_missed = 1.0 - row_sum(out.slo_met[:, self.entries] * weight)
        changed = np.zeros(len(total_cost)) if changes is None else np.asarray(changes, dtype=np.float64)
        penalty = (cfg.budget_penalty * over_budget + cfg.quota_penalty * over_quota
                   + cfg.dependency_penalty * broken + cfg.slo_penalty * slo_missed
                   + cfg.change_cost * changed)
        global_term = sum(w * glob[k] for w, k in zip(self.weights, TERMS, strict=True))
        self.episode_sum += global_term - penalty
        dense_w = 1.0 if cfg.shaping_steps == 0 else max(0.0, 1.0 - total_steps / cfg.shaping_steps)
        sparse = np.where(truncated, self.episode_sum, 0.0)
        terms: dict[str, np.ndarray | float] = {f"global_{k}": glob[k] for k in TERMS}
        terms.update({"global": global_term, "penalty_budget": over_budget, "penalty_quota": over_quota,
                      "penalty_dependencies": broken, "penalty_slo": slo_missed,
                      "penalty_changes": changed, "penalty": penalty,
                      "dense_weight": dense_w, "sparse": sparse, "global_disruption": glob_churn})
        rewards = {}
        for agent in AGENTS:
            perf, rel = local[agent]
            parts = {"cost": -out.costs[agent] / budget_step, "performance": perf,
                     "reliability": rel - cfg.disruption * churn[agent],
                     "sustainability": -carbon_share[agent]}
            loc = sum(w * parts[k] for w, k in zip(self.weights, TERMS, strict=True))
            dense = cfg.local_share * loc + (1.0 - cfg.local_share) * global_term - penalty
            rewards[agent] = dense_w * dense + (1.0 - dense_w) * sparse
            terms.update({f"{agent}_{k}": v for k, v in parts.items()})
            terms[f"{agent}_local"] = loc
            terms[f"{agent}_disruption"] = churn[agent]
        return rewards, terms
