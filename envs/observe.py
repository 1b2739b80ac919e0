"""What the agents see: telemetry in the `gcp.telemetry` layout, delayed, noisy and gap-filled.

A policy trained here must act on a real project through `gcp` Monitoring
metrics, so the raw metrics are produced per domain in exactly
`gcp.telemetry.METRICS` order, normalised with `gcp.telemetry.normalise`, and
gaps are filled with `gcp.telemetry.fill_missing`, as on the real path.
The observation after step t shows the monitoring point of step t-1 (one
interval of delay) and a window of the points before it.

Gap filling runs online, one point per step, with the recurrence of
`gcp.telemetry.fill_missing` (carry the last real point forward; a point older
than STALE_LIMIT_STEPS becomes 0 with staleness 1); tests check that the two
agree point for point, and the online form keeps the step cost flat.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from envs.config import SimConfig
from envs.knobs import AGENTS, Slots
from envs.topology import Topology
from gcp.telemetry import METRICS, STALE_LIMIT_STEPS, normalise

RESOURCE_FEATURES = 6
PENDING_FEATURES = 3
CONTEXT = ("quota_headroom", "spot_price_multiplier", "carbon_intensity_kg_per_kwh", "cost_vs_budget")
NODE_FEATURES = ("is_service", "is_network", "is_database", "is_bucket", "utilisation", "latency_vs_slo",
                 "error_rate", "demand_vs_base", "capacity_vs_demand", "cost_share")
#: Upper bound of normalised telemetry (the "slo" scaling clips at 10).
TELEMETRY_MAX = 10.0


def telemetry_rows(topo: Topology) -> dict[str, int]:
    return {"compute": topo.n_services, "network": 1, "database": topo.n_databases, "storage": topo.n_buckets}


def raw_telemetry(topo: Topology, out, st, step_h: float) -> dict[str, np.ndarray]:
    """True metrics per domain (N, rows, metrics), in METRICS order and the spec's resource order."""
    s, net = topo.n_services, topo.net_node
    d0, b0 = net + 1, net + 1 + topo.n_databases
    months_h = topo.catalog.hours_per_month
    compute = np.stack([out.util[:, :s], out.latency[:, :s, 0], out.latency[:, :s, 1], out.latency[:, :s, 2],
                        out.error[:, :s], out.served[:, :s]], axis=-1)
    entries = topo.entries
    weight = np.maximum(out.demand[:, entries], 1e-12)
    weight = weight / weight.sum(axis=1, keepdims=True)
    network = np.stack([out.demand[:, entries].sum(axis=1),
                        (out.latency[:, entries, 2] * weight).sum(axis=1),
                        (out.error[:, entries] * weight).sum(axis=1),
                        out.egress_gib / step_h], axis=-1)[:, None, :]
    util = out.util[:, d0:b0]
    database = np.stack([util, np.minimum(1.0, 0.25 + 0.6 * util), st.db_data / np.maximum(st.db_disk, 1e-9),
                         out.served[:, d0:b0] * out.mean_latency[:, d0:b0] / 1000.0], axis=-1)
    ratio = out.demand[:, b0:] / np.maximum(topo.base_rate[b0:], 1e-12)
    size = np.broadcast_to(topo.b_size, ratio.shape)
    storage = np.stack([size * 1024.0 / topo.params.object_mib, size, topo.b_read_month * ratio / months_h,
                        out.demand[:, b0:]], axis=-1)
    return {"compute": compute, "network": network, "database": database, "storage": storage}


class Observer:
    """Keeps the noisy monitoring history and builds each agent's observation Dict."""

    def __init__(self, topo: Topology, slots: dict[str, Slots], config: SimConfig, n: int):
        self.topo, self.slots, self.config, self.n = topo, slots, config, n
        self.rows = telemetry_rows(topo)
        self.resource_rows = {"compute": topo.n_services, "storage": topo.n_buckets + topo.n_services,
                              "network": 1 + topo.n_services, "database": topo.n_databases}
        entry_slo = topo.slo_ms[[e for e in range(topo.n_services) if topo.calls[topo.net_node, e] > 0]
                                or list(range(topo.n_services))]
        self.slo = {"compute": topo.slo_ms if topo.n_services else 1.0,
                    "network": float(entry_slo.min()) if entry_slo.size else 1.0,
                    "database": 1.0, "storage": 1.0}
        self.rng = np.random.default_rng(0)
        self.window = config.window
        self.spaces = {a: self._space(a) for a in AGENTS}

    # spaces --------------------------------------------------------------------
    def _shape(self, agent: str) -> tuple[int, int]:
        return max(self.rows[agent], 1), len(METRICS[agent])

    def _space(self, agent: str) -> spaces.Dict:
        r, m = self._shape(agent)
        rr = max(self.resource_rows[agent], 1)
        f32 = np.float32
        return spaces.Dict({
            "telemetry": spaces.Box(0.0, TELEMETRY_MAX, (r, m), f32),
            "history": spaces.Box(0.0, TELEMETRY_MAX, (self.window, r, m), f32),
            "staleness": spaces.Box(0.0, 1.0, (r, m), f32),
            "resources": spaces.Box(0.0, 1.0, (rr, RESOURCE_FEATURES), f32),
            "cost_rate": spaces.Box(0.0, 100.0, (1,), f32),
            "context": spaces.Box(0.0, 100.0, (len(CONTEXT),), f32),
            "pending": spaces.Box(0.0, 1.0, (rr, PENDING_FEATURES), f32),
            "action_mask": spaces.Box(0, 1, (self.slots[agent].mask_size,), np.int8),
        })

    # history -------------------------------------------------------------------
    def _noisy(self, raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Normalised monitoring points with multiplicative noise and random gaps (NaN)."""
        cfg = self.config
        noisy = cfg.stochastic and cfg.obs_noise > 0
        gaps = cfg.stochastic and cfg.obs_missing > 0
        sizes = [self.n * int(np.prod(self._shape(a))) for a in AGENTS]
        total = sum(sizes)
        noise = np.exp(cfg.obs_noise * self.rng.standard_normal(total, dtype=np.float32)) if noisy else None
        missing = self.rng.random(total, dtype=np.float32) < cfg.obs_missing if gaps else None
        out, start = {}, 0
        for agent, size in zip(AGENTS, sizes, strict=True):
            shape = (self.n, *self._shape(agent))
            values = np.zeros(shape)
            values[:, : self.rows[agent]] = raw[agent]
            if noise is not None:
                values *= noise[start : start + size].reshape(shape)
            values = normalise(agent, values, self.slo[agent])
            if missing is not None:
                values[missing[start : start + size].reshape(shape)] = np.nan
            if self.rows[agent] == 0:
                values[:] = np.nan  # nothing to monitor: the policy sees zeros with staleness 1
            out[agent] = values
            start += size
        return out

    def _fill(self, point: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """One step of `fill_missing`'s recurrence: (filled value, staleness) per agent."""
        out = {}
        for agent in AGENTS:
            fresh = ~np.isnan(point[agent])
            self._last[agent] = np.where(fresh, point[agent], self._last[agent])
            self._age[agent] = np.where(fresh, 0.0, self._age[agent] + 1.0)
            usable = self._age[agent] <= STALE_LIMIT_STEPS
            out[agent] = (np.where(usable, self._last[agent], 0.0),
                          np.minimum(self._age[agent] / STALE_LIMIT_STEPS, 1.0))
        return out

    def reset(self, out, st, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(None if seed is None else seed + 7919)
        first = self._noisy(raw_telemetry(self.topo, out, st, self.config.step_s / 3600.0))
        self._last = {a: np.zeros_like(first[a]) for a in AGENTS}
        self._age = {a: np.full(first[a].shape, np.inf) for a in AGENTS}
        filled = self._fill(first)
        # Monitoring history, time-major and written twice (at i and i + window), so that the
        # last `window` points are always one contiguous slice: no copy of the ring per step.
        w = self.window
        self._ring = {a: np.repeat(filled[a][0][None].astype(np.float32), 2 * w, axis=0) for a in AGENTS}
        self._pos = 0
        self._stale = {a: (filled[a][1].astype(np.float32),) * 2 for a in AGENTS}

    def push(self, out, st, masks: dict[str, np.ndarray], costs: dict[str, np.ndarray]):
        filled = self._fill(self._noisy(raw_telemetry(self.topo, out, st, self.config.step_s / 3600.0)))
        w = self.window
        self._pos = (self._pos + 1) % w
        for agent in AGENTS:
            value, stale = filled[agent]
            self._ring[agent][self._pos] = value
            self._ring[agent][self._pos + w] = value
            self._stale[agent] = (self._stale[agent][1], stale.astype(np.float32))
        return self.observe(st, masks, costs)

    def window_of(self, agent: str) -> np.ndarray:
        """(window, N, rows, metrics) filled points, oldest first, ending one step before now."""
        end = self._pos + self.window  # index of the newest point, which is not visible yet
        return self._ring[agent][end - self.window : end]

    # observations ----------------------------------------------------------------
    def observe(self, st, masks: dict[str, np.ndarray], costs: dict[str, np.ndarray]) -> dict[str, dict]:
        """{agent: {key: (N, ...) float32}} -- the batched form of each agent's Dict observation."""
        topo = self.topo
        budget_h = topo.spec.budget_monthly_usd / topo.catalog.hours_per_month
        step_h = self.config.step_s / 3600.0
        total = sum(costs.values()) / step_h
        vcpu = topo.m_vcpu[st.machine_of(topo)]
        headroom = np.clip(1.0 - (st.target * vcpu).sum(axis=1) / np.maximum(st.quota, 1e-9), 0.0, 1.0)
        context = np.stack([headroom, st.spot_mult, np.full(self.n, topo.carbon_g_per_kwh / 1000.0),
                            total / budget_h], axis=-1)
        context = np.clip(context, 0.0, 100.0).astype(np.float32)
        resources = self._resources(st)
        pending = self._pending(st)
        obs = {}
        for agent in AGENTS:
            window = self.window_of(agent)
            obs[agent] = {
                "telemetry": window[-1].copy(),
                "history": np.ascontiguousarray(window.transpose(1, 0, 2, 3)),
                "staleness": self._stale[agent][0].copy(),
                "resources": resources[agent],
                "cost_rate": np.clip(costs[agent] / step_h / budget_h, 0.0, 100.0)[:, None].astype(np.float32),
                "context": context,
                "pending": pending[agent],
                "action_mask": masks[agent],
            }
        return obs

    def _pad(self, rows: list[np.ndarray], agent: str, width: int) -> np.ndarray:
        mats = [np.asarray(r, dtype=np.float64).reshape(self.n, -1, width) for r in rows if np.size(r)]
        count = max(self.resource_rows[agent], 1)
        out = np.zeros((self.n, count, width), dtype=np.float32)
        if mats:
            stacked = np.concatenate(mats, axis=1)
            out[:, : stacked.shape[1]] = np.clip(stacked, 0.0, 1.0)
        return out

    def _resources(self, st) -> dict[str, np.ndarray]:
        topo = self.topo
        z = float(len(topo.zones))
        mt = st.machine_of(topo)
        top = np.maximum(topo.ladder_len - 1, 1)
        zeros_s = np.zeros_like(st.spot)
        comp = np.stack([st.target / topo.rep_max, st.running / topo.rep_max, topo.m_vcpu[mt] / 64.0,
                         st.spot, st.zones_k / z, st.pos / top], axis=-1)
        disks = np.stack([st.disk_type / 2.0, st.disk_gb / 1000.0, zeros_s, zeros_s, zeros_s, zeros_s], -1)
        zb = np.zeros(st.klass.shape)
        buckets = np.stack([st.klass / 3.0, np.log1p(np.broadcast_to(topo.b_size, zb.shape)) / np.log1p(1e5),
                            zb, zb, zb, zb], -1)
        lb = np.full(self.n, float(topo.lb_enabled))
        deploy = np.stack([st.cdn.astype(float), st.net_tier.astype(float), st.max_rate / 1000.0, lb,
                           np.zeros(self.n), np.zeros(self.n)], -1)
        spread = np.stack([st.zones_k / z, zeros_s, zeros_s, zeros_s, zeros_s, zeros_s], -1)
        tiers = max(len(topo.tier_names) - 1, 1)
        db = np.stack([st.tier / tiers, st.ha.astype(float), st.replicas / 10.0, st.db_disk / 1000.0,
                       st.db_data / np.maximum(st.db_disk, 1e-9), (st.db_op_s > 0).astype(float)], -1)
        w = RESOURCE_FEATURES
        return {"compute": self._pad([comp], "compute", w), "storage": self._pad([buckets, disks], "storage", w),
                "network": self._pad([deploy, spread], "network", w), "database": self._pad([db], "database", w)}

    def _pending(self, st) -> dict[str, np.ndarray]:
        """Per resource: operation in flight, its remaining time (/1800 s), downtime still ahead (/1800 s)."""
        topo = self.topo
        boot = topo.catalog.delay_s("vm_boot")
        creating = st.target > st.running
        comp = np.stack([creating, creating * boot / 1800.0, np.zeros_like(st.spot)], -1)
        storage_rows = np.zeros((self.n, topo.n_buckets + topo.n_services, PENDING_FEATURES))
        lb = st.lb_op_s > 0
        deploy = np.stack([lb, st.lb_op_s / 1800.0, np.zeros(self.n)], -1)
        spread = np.zeros((self.n, topo.n_services, PENDING_FEATURES))
        busy = (st.db_op_s > 0) | (st.replica_op_s > 0)
        db = np.stack([busy, np.maximum(st.db_op_s, st.replica_op_s) / 1800.0,
                       np.where(st.db_op_s > 0, st.db_down_s, 0.0) / 1800.0], -1)
        w = PENDING_FEATURES
        return {"compute": self._pad([comp], "compute", w), "storage": self._pad([storage_rows], "storage", w),
                "network": self._pad([deploy, spread], "network", w), "database": self._pad([db], "database", w)}

    # critic and GNN views ----------------------------------------------------------
    def global_state(self, out, st) -> np.ndarray:
        """True (undelayed, noiseless) normalised telemetry, resources and context, flattened (N, dim)."""
        raw = raw_telemetry(self.topo, out, st, self.config.step_s / 3600.0)
        parts = []
        for agent in AGENTS:
            if self.rows[agent]:
                parts.append(normalise(agent, raw[agent], self.slo[agent]).reshape(self.n, -1))
        res = self._resources(st)
        parts += [res[a].reshape(self.n, -1) for a in AGENTS]
        parts.append(np.stack([st.spot_mult, st.quota / 1000.0, np.full(self.n, st.t / self.config.steps)], -1))
        return np.concatenate(parts, axis=1).astype(np.float32)

    def node_features(self, out, st) -> np.ndarray:
        """(N, V, len(NODE_FEATURES)) features of the dependency-graph nodes."""
        topo = self.topo
        v = topo.n_nodes
        feats = np.zeros((self.n, v, len(NODE_FEATURES)), dtype=np.float32)
        feats[:, np.arange(v), topo.node_kind] = 1.0
        slo = np.full(v, 1000.0)
        slo[: topo.n_services] = topo.slo_ms
        feats[..., 4] = np.clip(out.util, 0, 1)
        feats[..., 5] = np.clip(out.latency[..., 2] / slo, 0, 10)
        feats[..., 6] = out.error
        feats[..., 7] = np.clip(out.demand / np.maximum(topo.base_rate, 1e-12), 0, 10)
        feats[..., 8] = np.clip(out.capacity / np.maximum(out.demand, 1e-12), 0, 10)
        share = np.zeros((self.n, v))
        total = np.maximum(out.cost, 1e-12)
        share[:, : topo.n_services] = out.costs["per_service"] / total[:, None]
        feats[..., 9] = share
        return feats
