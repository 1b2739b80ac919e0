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
from envs.rowops import row_sum
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


#: Per domain, the metrics scaled "log" by `gcp.telemetry.normalise` (they take a log1p first).
LOG_COLUMNS: dict[str, tuple[int, ...]] = {
    a: tuple(j for j, m in enumerate(METRICS[a]) if m.scaling == "log") for a in AGENTS
}


def normalise_scales(domain: str, slo_ms, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """`gcp.telemetry.normalise` as one divide and one clip: (divisor, upper bound), each (rows, metrics).

    Why: the observer normalises every agent's points in a single pass over one buffer
    (after taking log1p of the LOG_COLUMNS); a unit metric divides by 1 (exact), an "slo"
    one by its row's SLO, a "log" one by log1p(scale). Tests check it equals `normalise`.
    """
    metrics = METRICS[domain]
    div = np.ones((rows, len(metrics)))
    high = np.ones((rows, len(metrics)))
    slo = np.broadcast_to(np.asarray(slo_ms, dtype=np.float64), (rows,))
    for j, metric in enumerate(metrics):
        if metric.scaling == "slo":
            div[:, j], high[:, j] = slo, 10.0
        elif metric.scaling == "log":
            div[:, j], high[:, j] = np.log1p(metric.scale), 2.0
    return div, high


def fill_step(point: np.ndarray, last: np.ndarray, age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One step of `gcp.telemetry.fill_missing`'s recurrence: updates `last` and `age` in place.

    Returns (filled value, staleness) for this point; tests check that it reproduces
    `fill_missing` point for point.
    """
    fresh = ~np.isnan(point)
    np.copyto(last, point, where=fresh)
    age += 1.0
    np.copyto(age, 0.0, where=fresh)
    return np.where(age <= STALE_LIMIT_STEPS, last, 0.0), np.minimum(age / STALE_LIMIT_STEPS, 1.0)


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
        self._layout()

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
    def _layout(self) -> None:
        """Where each agent's monitoring points sit in the step's flat point buffer, and their scales.

        The buffer is agent-major in AGENTS order, then (N, rows, metrics): the order of the
        noise draws, so the noise, the gaps and the gap filling are one array operation each
        for all agents together.
        """
        self._blocks: dict[str, tuple[int, int, tuple[int, ...]]] = {}
        div, high, start = [], [], 0
        for agent in AGENTS:
            shape = (self.n, *self._shape(agent))
            size = int(np.prod(shape))
            self._blocks[agent] = (start, start + size, shape)
            d, h = normalise_scales(agent, self.slo[agent], shape[1])
            div.append(np.broadcast_to(d, shape).reshape(-1))
            high.append(np.broadcast_to(h, shape).reshape(-1))
            start += size
        self._div, self._high = np.concatenate(div), np.concatenate(high)
        self._size = start

    def _point(self, raw: dict[str, np.ndarray]) -> np.ndarray:
        """The step's monitoring point, flat: normalised, with multiplicative noise and gaps (NaN)."""
        cfg = self.config
        noisy = cfg.stochastic and cfg.obs_noise > 0
        gaps = cfg.stochastic and cfg.obs_missing > 0
        noise = np.exp(cfg.obs_noise * self.rng.standard_normal(self._size, dtype=np.float32)) if noisy else None
        missing = self.rng.random(self._size, dtype=np.float32) < cfg.obs_missing if gaps else None
        point = np.empty(self._size)  # every block is written below
        for agent in AGENTS:
            lo, hi, shape = self._blocks[agent]
            if not self.rows[agent]:
                point[lo:hi] = 0.0  # nothing to monitor: NaN below (the policy sees zeros, staleness 1)
                continue
            values = point[lo:hi].reshape(shape)
            if noise is None:
                values[:] = raw[agent]
            else:
                np.multiply(raw[agent], noise[lo:hi].reshape(shape), out=values)
            for j in LOG_COLUMNS[agent]:
                column = values[..., j]
                np.maximum(column, 0.0, out=column)
                np.log1p(column, out=column)
        point /= self._div
        np.clip(point, 0.0, self._high, out=point)
        if missing is not None:
            np.copyto(point, np.nan, where=missing)
        for agent in AGENTS:
            if not self.rows[agent]:
                lo, hi, _shape = self._blocks[agent]
                point[lo:hi] = np.nan
        return point

    def _record(self, point: np.ndarray) -> None:
        """Gap-fill the point and append it to the history ring (newest point not yet visible)."""
        value, stale = fill_step(point, self._last, self._age)
        c = self.window + 1  # the visible window plus the newest point
        self._pos = (self._pos + 1) % c
        for agent in AGENTS:
            lo, hi, _shape = self._blocks[agent]
            block = value[lo:hi].reshape(self.n, -1)
            self._ring[agent][:, self._pos] = block
            self._ring[agent][:, self._pos + c] = block
        self._stale = (self._stale[1], stale.astype(np.float32))

    def reset(self, out, st, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(None if seed is None else seed + 7919)
        first = self._point(raw_telemetry(self.topo, out, st, self.config.step_s / 3600.0))
        self._last = np.zeros(self._size)
        self._age = np.full(self._size, np.inf)
        value, stale = fill_step(first, self._last, self._age)
        # Per agent (N, 2c, rows x metrics), env-major, each point written at i and i + c
        # (c = window + 1), so the window before the newest point is one contiguous slice per env.
        c = self.window + 1
        self._ring = {}
        for agent in AGENTS:
            lo, hi, _shape = self._blocks[agent]
            block = value[lo:hi].reshape(self.n, 1, -1).astype(np.float32)
            self._ring[agent] = np.repeat(block, 2 * c, axis=1)
        self._pos = 0
        self._stale = (stale.astype(np.float32),) * 2

    def push(self, out, st, masks: dict[str, np.ndarray], costs: dict[str, np.ndarray]):
        self._record(self._point(raw_telemetry(self.topo, out, st, self.config.step_s / 3600.0)))
        return self.observe(st, masks, costs)

    def window_of(self, agent: str) -> np.ndarray:
        """(N, window, rows x metrics) filled points, oldest first, ending one step before now."""
        start = self._pos + 1  # the oldest visible point; the newest (not visible) is at pos + c
        return self._ring[agent][:, start : start + self.window]

    # observations ----------------------------------------------------------------
    def observe(self, st, masks: dict[str, np.ndarray], costs: dict[str, np.ndarray]) -> dict[str, dict]:
        """{agent: {key: (N, ...) float32}} -- the batched form of each agent's Dict observation.

        Every array is freshly allocated, so a caller may keep observations across steps.
        """
        topo, n = self.topo, self.n
        budget_h = topo.spec.budget_monthly_usd / topo.catalog.hours_per_month
        step_h = self.config.step_s / 3600.0
        total = sum(costs.values()) / step_h
        vcpu = topo.m_vcpu[st.machine_of(topo)]
        context = np.empty((n, len(CONTEXT)), dtype=np.float32)
        context[:, 0] = np.clip(1.0 - row_sum(st.target * vcpu) / np.maximum(st.quota, 1e-9), 0.0, 1.0)
        context[:, 1] = st.spot_mult
        context[:, 2] = topo.carbon_g_per_kwh / 1000.0
        context[:, 3] = total / budget_h
        np.clip(context, 0.0, 100.0, out=context)
        resources = self._resources(st)
        pending = self._pending(st)
        obs = {}
        for agent in AGENTS:
            lo, hi, shape = self._blocks[agent]
            history = self.window_of(agent).reshape(n, self.window, *shape[1:]).copy()
            obs[agent] = {
                "telemetry": history[:, -1].copy(),
                "history": history,
                "staleness": self._stale[0][lo:hi].reshape(shape).copy(),
                "resources": resources[agent],
                "cost_rate": np.clip(costs[agent] / step_h / budget_h, 0.0, 100.0)[:, None].astype(np.float32),
                "context": context,
                "pending": pending[agent],
                "action_mask": masks[agent],
            }
        return obs

    def _blank(self, agent: str, width: int) -> np.ndarray:
        return np.zeros((self.n, max(self.resource_rows[agent], 1), width), dtype=np.float32)

    def _resources(self, st) -> dict[str, np.ndarray]:
        """Own resources per agent, (N, rows, RESOURCE_FEATURES) in [0, 1]; unused features are 0."""
        topo = self.topo
        s, b = topo.n_services, topo.n_buckets
        z = float(len(topo.zones))
        out = {a: self._blank(a, RESOURCE_FEATURES) for a in AGENTS}
        if s:
            comp = out["compute"]
            comp[:, :s, 0] = st.target / topo.rep_max
            comp[:, :s, 1] = st.running / topo.rep_max
            comp[:, :s, 2] = topo.m_vcpu[st.machine_of(topo)] / 64.0
            comp[:, :s, 3] = st.spot
            comp[:, :s, 4] = st.zones_k / z
            comp[:, :s, 5] = st.pos / np.maximum(topo.ladder_len - 1, 1)
            disks = out["storage"][:, b : b + s]
            disks[..., 0] = st.disk_type / 2.0
            disks[..., 1] = st.disk_gb / 1000.0
            out["network"][:, 1 : 1 + s, 0] = st.zones_k / z
        if b:
            buckets = out["storage"][:, :b]
            buckets[..., 0] = st.klass / 3.0
            buckets[..., 1] = np.log1p(topo.b_size) / np.log1p(1e5)
        deploy = out["network"][:, 0]
        deploy[:, 0] = st.cdn
        deploy[:, 1] = st.net_tier
        deploy[:, 2] = st.max_rate / 1000.0
        deploy[:, 3] = float(topo.lb_enabled)
        if topo.n_databases:
            db = out["database"]
            d = topo.n_databases
            db[:, :d, 0] = st.tier / max(len(topo.tier_names) - 1, 1)
            db[:, :d, 1] = st.ha
            db[:, :d, 2] = st.replicas / 10.0
            db[:, :d, 3] = st.db_disk / 1000.0
            db[:, :d, 4] = st.db_data / np.maximum(st.db_disk, 1e-9)
            db[:, :d, 5] = st.db_op_s > 0
        for values in out.values():
            np.clip(values, 0.0, 1.0, out=values)
        return out

    def _pending(self, st) -> dict[str, np.ndarray]:
        """Per resource: operation in flight, its remaining time (/1800 s), downtime still ahead (/1800 s)."""
        topo = self.topo
        s = topo.n_services
        out = {a: self._blank(a, PENDING_FEATURES) for a in AGENTS}
        if s:
            creating = st.target > st.running
            out["compute"][:, :s, 0] = creating
            out["compute"][:, :s, 1] = creating * topo.catalog.delay_s("vm_boot") / 1800.0
        deploy = out["network"][:, 0]
        deploy[:, 0] = st.lb_op_s > 0
        deploy[:, 1] = st.lb_op_s / 1800.0
        if topo.n_databases:
            db = out["database"][:, : topo.n_databases]
            db[..., 0] = (st.db_op_s > 0) | (st.replica_op_s > 0)
            db[..., 1] = np.maximum(st.db_op_s, st.replica_op_s) / 1800.0
            db[..., 2] = np.where(st.db_op_s > 0, st.db_down_s, 0.0) / 1800.0
        for values in out.values():
            np.clip(values, 0.0, 1.0, out=values)
        return out

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
