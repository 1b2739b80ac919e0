"""The batched simulator core: N copies of one deployment step together in numpy.

Why batched: training and evaluation need millions of 5-minute steps; a Python
loop per environment or per service would cap that at a few thousand per
second. Every quantity is an array whose first axis is the environment; the
only Python loops in `step` run over agents, knobs, and the depth of the
dependency graph (a handful of iterations, independent of N and of the number
of services). The model and its equations are in docs/simulator.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.config import SimConfig
from envs.economics import step_costs, step_energy_kwh
from envs.errors import EnvConfigError
from envs.faults import Fault, compile_faults
from envs.knobs import AGENTS, Slots, agent_slots
from envs.observe import Observer
from envs.queueing import RHO_CAP, mmc_table
from envs.reward import RewardModel
from envs.state import State, initial_state
from envs.topology import ModelParams, Topology, compile_spec
from envs.workload import WorkloadSpec, check_demand, generate_demand
from gcp.spec import DeploymentSpec

#: Client-side timeout: the latency a request sees when a node has no capacity at all.
TIMEOUT_MS = 30_000.0
#: Error-rate objective that goes with each latency SLO (assumption: 99 % success).
ERROR_SLO = 0.01


@dataclass
class Outcome:
    """What happened in one step, per environment (the true state the critic and info see)."""

    demand: np.ndarray  # (N, V) requests/s offered to each node
    served: np.ndarray  # (N, V)
    util: np.ndarray  # (N, V) utilisation of services and databases
    own_latency: np.ndarray  # (N, V, 3) p50/p95/p99 ms of the node itself
    latency: np.ndarray  # (N, V, 3) end to end, including everything the node calls
    mean_latency: np.ndarray  # (N, V) own mean response time, ms
    own_error: np.ndarray  # (N, V)
    error: np.ndarray  # (N, V) end to end
    capacity: np.ndarray  # (N, V) requests/s the node can serve
    running: np.ndarray  # (N, S) VMs
    costs: dict[str, np.ndarray]  # per domain, USD in this step
    energy: dict[str, np.ndarray]  # per domain, kWh in this step
    carbon_kg: np.ndarray  # (N,)
    slo_met: np.ndarray  # (N, S) bool
    egress_gib: np.ndarray  # (N,)
    lb_reject: np.ndarray  # (N,)
    vcpu_used: np.ndarray  # (N,)

    @property
    def cost(self) -> np.ndarray:
        return sum(self.costs[a] for a in AGENTS)


class BatchedCore:
    """N environments of one spec. `step` takes {agent: int array (N, n_slots)}."""

    def __init__(
        self,
        spec: DeploymentSpec,
        n_envs: int = 1,
        workload: WorkloadSpec | None = None,
        demand: np.ndarray | None = None,
        config: SimConfig | None = None,
        faults: tuple[Fault, ...] = (),
        params: ModelParams | None = None,
        seed: int | None = 0,
    ):
        self.config = config or SimConfig()
        self.config.validate()
        if n_envs < 1:
            raise EnvConfigError("n_envs must be >= 1")
        self.workload = workload or WorkloadSpec()
        self.workload.validate()
        spec = DeploymentSpec.from_data(spec.model_dump(mode="json"), source=f"spec {spec.name}")
        topo = compile_spec(spec, params)
        if not topo.catalog.regions[spec.region]["priced"]:
            raise EnvConfigError(
                f"region {spec.region} has no price table; the simulator prices {topo.catalog.price_region}"
            )
        self.topo: Topology = topo
        self.n = n_envs
        self.slots: dict[str, Slots] = {a: agent_slots(topo, a) for a in AGENTS}
        self._nvec = {a: self.slots[a].nvec[None, :] for a in AGENTS}
        self._offsets = {a: np.concatenate([[0], np.cumsum(self.slots[a].nvec)[:-1]])[None, :] for a in AGENTS}
        self.faults = tuple(faults)
        n_entries = len(topo.entries)
        self._plan = compile_faults(self.faults, topo.zones, n_entries, self.config.steps)
        self._fixed_demand = (
            None if demand is None
            else check_demand(demand, n_envs, n_entries, self.config.steps, "demand")
        )
        self._seed = seed
        self.demand = self._fixed_demand if demand is not None else self._make_demand(seed)
        max_vcpu = topo.m_vcpu[topo.ladder].max(initial=1.0)
        self._table = mmc_table(int(max(topo.rep_max.max(initial=1) * max_vcpu,
                                        topo.t_vcpu.max() * 11, 1)))
        z = len(topo.zones)
        rank = np.zeros((topo.n_services, z), dtype=np.int64)
        for s in range(topo.n_services):
            rank[s, topo.zone_order[s]] = np.arange(z)
        self._zone_rank = rank
        self._entry_services = self._entry_service_index()
        self._sync_t = np.ascontiguousarray(topo.sync.T)
        self.observer = Observer(topo, self.slots, self.config, n_envs)
        self.reward = RewardModel(topo, self.config.reward, self._entry_services, self.config.step_s)
        self.total_steps = 0
        self.reset(seed)

    # ------------------------------------------------------------------ setup
    def _make_demand(self, seed: int | None) -> np.ndarray:
        return generate_demand(self.workload, self.n, len(self.topo.entries), self.config.steps,
                               self.config.step_s, 0 if seed is None else int(seed))

    def _entry_service_index(self) -> np.ndarray:
        """Services that face users: load-balancer backends and services nobody calls."""
        topo = self.topo
        s = topo.n_services
        faces = topo.calls[topo.net_node, :s] > 0
        faces |= topo.calls[:s, :s].sum(axis=0) == 0
        return np.nonzero(faces)[0]

    def reset(self, seed: int | None = None) -> None:
        """Back to the spec; new random draws and (unless demand was given) a new workload."""
        if seed is not None:
            self._seed = seed
        self.rng = np.random.default_rng(self._seed)
        if self._fixed_demand is None and seed is not None:
            self.demand = self._make_demand(seed)
        self.state: State = initial_state(self.topo, self.n)
        self.state.month_hours[:] = self.config.month_offset_hours
        self.action_log: dict[str, np.ndarray] = {}
        self.last = self._evaluate(np.zeros(self.n))
        self.observer.reset(self.last, self.state, self._seed)
        self.masks = self.compute_masks()
        self._flat = self.flat_masks()
        self.reward.reset(self.n, self.last)
        self.masked_count = {a: np.zeros(self.n, dtype=np.int64) for a in AGENTS}

    # ------------------------------------------------------------------ masks
    def _vcpu(self, pos: np.ndarray) -> np.ndarray:
        return self.topo.m_vcpu[self.topo.ladder[np.arange(self.topo.n_services)[None, :], pos]]

    def compute_masks(self) -> dict[str, dict[str, np.ndarray]]:
        """{agent: {knob: int8 (N, R, choices)}}: which choices are valid now (views of the flat masks)."""
        topo, st, slots = self.topo, self.state, self.slots
        out: dict[str, dict[str, np.ndarray]] = {}
        self._flat_cache: dict[str, np.ndarray] = {}
        vcpu = self._vcpu(st.pos)
        headroom = st.quota - (st.target * vcpu).sum(axis=1)
        masks = {}
        if topo.n_services:
            d = np.array(slots["compute"].knobs[0].choices)
            new = st.target[..., None] + d
            ok = (new >= topo.rep_min[:, None]) & (new <= topo.rep_max[:, None])
            ok &= (d <= 0) | (d * vcpu[..., None] <= headroom[:, None, None] + 1e-9)
            masks["replicas"] = ok
            dm = np.array([0, -1, 1])
            npos = st.pos[..., None] + dm
            ok = (npos >= 0) & (npos < topo.ladder_len[:, None])
            nvcpu = topo.m_vcpu[topo.ladder[np.arange(topo.n_services)[:, None], np.clip(npos, 0, topo.ladder.shape[1] - 1)]]
            ok &= (nvcpu - vcpu[..., None]) * st.target[..., None] <= headroom[:, None, None] + 1e-9
            masks["machine"] = ok
            ns = st.spot[..., None] + np.array([0.0, -0.25, 0.25])
            masks["spot"] = (ns >= -1e-9) & (ns <= 1 + 1e-9)
            masks["disk_type"] = np.arange(4) - 1 != st.disk_type[..., None]
            ng = st.disk_gb[..., None] + np.array([0, -10, 10])
            masks["disk_size"] = (ng >= 10) & (ng <= 65536)
            nk = st.zones_k[..., None] + np.array([0, -1, 1])
            masks["zone_spread"] = (nk >= 1) & (nk <= len(topo.zones))
        if topo.n_buckets:
            masks["class"] = np.arange(5) - 1 != st.klass[..., None]
        lb = np.full((self.n, 1, 1), topo.lb_enabled)
        masks["cdn"] = (np.arange(3) - 1 != st.cdn.astype(np.int64)[:, None, None]) & lb
        masks["tier"] = np.arange(3) - 1 != st.net_tier[:, None, None]
        rate = st.max_rate[:, None, None] * np.array([1.0, 0.8, 1.25])
        masks["lb_capacity"] = lb & (rate >= 1.0) & (rate <= 1e5)
        if topo.n_databases:
            idle = (st.db_op_s <= 0)[..., None]
            nt = st.tier[..., None] + np.array([0, -1, 1])
            masks["db_tier"] = (nt >= 0) & (nt < len(topo.tier_names)) & idle
            masks["ha"] = (np.arange(3) - 1 != st.ha.astype(np.int64)[..., None]) & idle
            nr = st.replicas[..., None] + np.array([0, -1, 1])
            masks["read_replicas"] = (nr >= 0) & (nr <= 10)
            nd = st.db_disk[..., None] + np.array([0, 20, 100])
            masks["disk"] = (nd <= 65536) & idle
        for agent in AGENTS:
            flat = np.empty((self.n, slots[agent].mask_size), dtype=np.int8)
            out[agent] = {}
            start = 0
            for knob, count in zip(slots[agent].knobs, slots[agent].counts, strict=True):
                key = "db_tier" if (agent == "database" and knob.name == "tier") else knob.name
                view = flat[:, start : start + count * knob.n].reshape(self.n, count, knob.n)
                view[:] = masks.get(key, 1)
                view[..., 0] = 1  # "keep" is always allowed
                out[agent][knob.name] = view
                start += count * knob.n
            self._flat_cache[agent] = flat
        return out

    def flat_masks(self) -> dict[str, np.ndarray]:
        """{agent: int8 (N, mask_size)}: the masks in slot order, as the observations carry them."""
        return self._flat_cache

    # ------------------------------------------------------------------ step
    def step(self, actions: dict[str, np.ndarray]):
        """Apply the agents' choices, advance 5 minutes, return (obs, rewards, terminated, truncated, info)."""
        chosen = self._validated(actions)
        self._apply(chosen)
        st = self.state
        st.t += 1
        self.total_steps += self.n
        self.last = self._evaluate(np.full(self.n, float(st.t)))
        self.masks = self.compute_masks()
        self._flat = self.flat_masks()
        obs = self.observer.push(self.last, st, self._flat, self.costs_by_agent())
        truncated = np.full(self.n, st.t >= self.config.steps)
        rewards, terms = self.reward.step(self.last, st, self.total_steps, truncated)
        info = {"reward_terms": terms, "masked_ignored": {a: self.masked_count[a].copy() for a in AGENTS},
                "cost_usd": self.last.cost, "slo_met": self.last.slo_met, "carbon_kg": self.last.carbon_kg}
        return obs, rewards, np.zeros(self.n, dtype=bool), truncated, info

    def costs_by_agent(self) -> dict[str, np.ndarray]:
        return {a: self.last.costs[a] for a in AGENTS}

    def _validated(self, actions: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
        """Per agent and knob, the chosen indices (N, R), with masked or out-of-range choices set to keep."""
        out = {}
        for agent in AGENTS:
            slots = self.slots[agent]
            act = actions.get(agent)
            act = np.zeros((self.n, slots.n_slots), dtype=np.int64) if act is None else np.asarray(act)
            act = act.reshape(self.n, slots.n_slots).astype(np.int64)
            inside = (act >= 0) & (act < self._nvec[agent])
            idx = np.where(inside, act, 0)
            ok = np.take_along_axis(self._flat[agent], idx + self._offsets[agent], axis=1).astype(bool) & inside
            self.masked_count[agent] += (~ok & (act != 0)).sum(axis=1)
            chosen = np.where(ok, idx, 0)
            self.action_log[agent] = chosen
            out[agent] = slots.split(chosen)
        return out

    def _apply(self, c: dict[str, dict[str, np.ndarray]]) -> None:
        topo, st, cat = self.topo, self.state, self.topo.catalog
        knobs = {a: {k.name: k for k in self.slots[a].knobs} for a in AGENTS}
        if topo.n_services:
            comp = c["compute"]
            vcpu_old = self._vcpu(st.pos)
            new_target = st.target + np.array(knobs["compute"]["replicas"].choices)[comp["replicas"]]
            new_pos = st.pos + np.array([0, -1, 1])[comp["machine"]]
            vcpu_new = self._vcpu(new_pos)
            grow = np.maximum(new_target * vcpu_new - st.target * vcpu_old, 0.0)
            headroom = st.quota - (st.target * vcpu_old).sum(axis=1)
            accept = np.cumsum(grow, axis=1) <= headroom[:, None] + 1e-9
            accept |= grow == 0
            self.quota_rejected = (~accept).sum(axis=1)
            st.target = np.where(accept, new_target, st.target)
            st.pos = np.where(accept, new_pos, st.pos)
            st.prev_vcpu = vcpu_old
            st.spot = np.clip(st.spot + np.array([0.0, -0.25, 0.25])[comp["spot"]], 0.0, 1.0)
            sto = c["storage"]
            st.disk_type = np.where(sto["disk_type"] > 0, sto["disk_type"] - 1, st.disk_type)
            st.disk_gb = st.disk_gb + np.array([0, -10, 10])[sto["disk_size"]]
            st.zones_k = st.zones_k + np.array([0, -1, 1])[c["network"]["zone_spread"]]
        if topo.n_buckets:
            cls = c["storage"]["class"]
            st.klass = np.where(cls > 0, cls - 1, st.klass)
        net = c["network"]
        cdn, tier, cap = net["cdn"][:, 0], net["tier"][:, 0], net["lb_capacity"][:, 0]
        lb_change = (cdn > 0) | (cap > 0)
        st.cdn = np.where(cdn > 0, cdn == 2, st.cdn)
        st.net_tier = np.where(tier > 0, tier - 1, st.net_tier)
        st.prev_max_rate = np.where(lb_change & (st.lb_op_s <= 0), st.max_rate, st.prev_max_rate)
        st.max_rate = st.max_rate * np.array([1.0, 0.8, 1.25])[cap]
        st.lb_op_s = np.where(lb_change, cat.delay_s("lb_update"), st.lb_op_s)
        if topo.n_databases:
            db = c["database"]
            # masks allow a tier/HA choice only while no operation is pending, so these start one
            change = (db["tier"] > 0) | (db["ha"] > 0)
            st.next_tier = np.where(db["tier"] > 0, st.tier + np.array([0, -1, 1])[db["tier"]], st.next_tier)
            st.next_ha = np.where(db["ha"] > 0, db["ha"] == 2, st.next_ha)
            down = np.where(st.ha, cat.delay_s("sql_tier_change_downtime_regional"),
                            cat.delay_s("sql_tier_change_downtime_zonal"))
            st.db_op_s = np.where(change, cat.delay_s("sql_tier_change"), st.db_op_s)
            st.db_down_s = np.where(change, down, st.db_down_s)
            dr = np.array([0, -1, 1])[db["read_replicas"]]
            st.replicas = st.replicas + dr
            st.replicas_ready = np.minimum(st.replicas_ready, st.replicas)
            st.replica_op_s = np.where(dr > 0, cat.delay_s("sql_create"), st.replica_op_s)
            st.db_disk = st.db_disk + np.array([0, 20, 100])[db["disk"]]

    # ------------------------------------------------------------------ world
    def _world(self, t: int) -> None:
        """Random events (spot price, zone outages and stockouts) and scripted faults at step t."""
        cfg, st, rng = self.config, self.state, self.rng
        plan = self._plan
        t = min(t, cfg.steps)
        dt_h = cfg.step_s / 3600.0
        st.zone_down = np.maximum(st.zone_down - 1, 0)
        st.stockout = np.maximum(st.stockout - 1, 0)
        if cfg.stochastic and t > 0:
            dt_day = cfg.step_s / 86400.0
            x = np.log(st.spot_mult)
            x += -cfg.spot_reversion_per_day * x * dt_day + cfg.spot_volatility_per_day * np.sqrt(dt_day) * \
                rng.standard_normal(self.n)
            st.spot_mult = np.exp(x)
            shape = st.zone_down.shape
            start = (st.zone_down == 0) & (rng.random(shape) < cfg.zone_outage_per_hour * dt_h)
            st.zone_down = np.where(start, rng.geometric(1.0 / max(cfg.zone_outage_steps, 1.0), shape), st.zone_down)
            start = (st.stockout == 0) & (rng.random(shape) < cfg.stockout_per_hour * dt_h)
            st.stockout = np.where(start, rng.geometric(1.0 / max(cfg.stockout_steps, 1.0), shape), st.stockout)
        st.zone_down = np.where(plan.zone_down[t], np.maximum(st.zone_down, 1), st.zone_down)
        if not np.isnan(plan.quota[t]):
            st.quota = np.full(self.n, plan.quota[t])

    def _compute_capacity(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Running VMs after creations, failures and preemptions; effective servers; vCPU used."""
        topo, st, cfg, rng = self.topo, self.state, self.config, self.rng
        step = cfg.step_s
        dt_h = step / 3600.0
        active = self._zone_rank[None, :, :] < st.zones_k[..., None]  # (N, S, Z)
        up = (st.zone_down == 0)[:, None, :]
        k = st.zones_k.astype(np.float64)
        up_frac = (active & up).sum(axis=-1) / k
        create_frac = (active & up & (st.stockout == 0)[:, None, :]).sum(axis=-1) / k
        vcpu = self._vcpu(st.pos)
        st.running = np.minimum(st.running, st.target)
        want = np.floor((st.target - st.running) * create_frac + 1e-9)
        headroom = st.quota - (st.running * vcpu).sum(axis=1)
        fits = np.cumsum(want * vcpu, axis=1) <= headroom[:, None] + 1e-9
        created = np.where(fits, want, 0.0)
        st.running = st.running + created.astype(st.running.dtype)
        lost = np.zeros_like(st.running)
        if cfg.stochastic and t > 0:
            p_fail = 1.0 - np.exp(-cfg.machine_failure_per_hour * dt_h)
            p_pre = 1.0 - np.exp(-cfg.spot_preemption_per_hour * dt_h)
            lost = rng.binomial(st.running, p_fail)
            spot_n = np.floor((st.running - lost) * st.spot + 1e-9).astype(np.int64)
            lost = lost + rng.binomial(spot_n, p_pre)
        wave = self._plan.preempt[min(t, cfg.steps)]
        if wave > 0:
            spot_n = np.floor((st.running - lost) * st.spot + 1e-9)
            lost = lost + np.floor(spot_n * wave + 1e-9).astype(lost.dtype)
        lost = np.minimum(lost, st.running)
        st.running = st.running - lost
        boot = topo.catalog.delay_s("vm_boot") / step
        resize = topo.catalog.delay_s("mig_resize") / step
        eff_vms = np.maximum(st.running + 0.5 * lost - boot * created, 0.0) * up_frac
        resized = st.prev_vcpu != vcpu
        vcpu_eff = np.where(resized, vcpu * (1 - resize) + st.prev_vcpu * resize, vcpu)
        st.prev_vcpu = vcpu
        return eff_vms, eff_vms * vcpu_eff, (st.running * vcpu).sum(axis=1)

    def _database_capacity(self) -> np.ndarray:
        """Servers (vCPU) each database offers this step: pending operations, downtime, outages."""
        topo, st = self.topo, self.state
        step = float(self.config.step_s)
        r = st.db_op_s
        pending = r > 0
        overlap = np.clip(np.minimum(r, step) - np.maximum(r - st.db_down_s, 0.0), 0.0, None)
        avail = np.where(pending, 1.0 - overlap / step, 1.0)
        frac_new = np.where(pending, np.clip((step - r) / step, 0.0, 1.0), 0.0)
        vcpu = topo.t_vcpu[st.tier] * (1 - frac_new) + topo.t_vcpu[st.next_tier] * frac_new
        done = pending & (r <= step)
        st.tier = np.where(done, st.next_tier, st.tier)
        st.ha = np.where(done, st.next_ha, st.ha)
        st.db_op_s = np.maximum(r - step, 0.0)
        r2 = st.replica_op_s
        waiting = st.replicas - st.replicas_ready
        ready_frac = np.where(r2 > 0, np.clip((step - r2) / step, 0.0, 1.0), 1.0)
        eff_replicas = st.replicas_ready + waiting * ready_frac
        st.replicas_ready = np.where(r2 <= step, st.replicas, st.replicas_ready)
        st.replica_op_s = np.maximum(r2 - step, 0.0)
        primary_up = (st.zone_down[:, :1] == 0) | st.ha  # a ZONAL instance lives in the region's first zone
        return vcpu * (1.0 + eff_replicas) * avail * primary_up

    def _evaluate(self, t_arr: np.ndarray) -> Outcome:
        topo, st, cfg, p = self.topo, self.state, self.config, self.topo.params
        t = int(t_arr[0])
        self._world(t)
        n, s, v = self.n, topo.n_services, topo.n_nodes
        net = topo.net_node
        d0 = net + 1
        b0 = d0 + topo.n_databases
        eff_vms, servers_svc, vcpu_used = self._compute_capacity(t)
        servers = np.zeros((n, v))
        mu = np.ones((n, v))
        servers[:, :s] = servers_svc
        mu[:, :s] = 1000.0 / topo.cpu_ms
        if topo.n_databases:
            servers[:, d0:b0] = self._database_capacity()
            mu[:, d0:b0] = 1000.0 / p.db_ms_per_query
        # LB rate limit, blended while an LB update is in flight
        step = float(cfg.step_s)
        f_old = np.clip(st.lb_op_s / step, 0.0, 1.0)
        rate = st.prev_max_rate * f_old + st.max_rate * (1 - f_old)
        st.lb_op_s = np.maximum(st.lb_op_s - step, 0.0)
        st.prev_max_rate = np.where(st.lb_op_s <= 0, st.max_rate, st.prev_max_rate)
        # demand
        tt = min(t, self.demand.shape[-1] - 1)
        ext = np.zeros((n, v))
        ext[:, topo.entries] = self.demand[:, :, tt] * topo.base_rate[topo.entries] * self._plan.spike[min(t, cfg.steps)]
        backends = topo.calls[net, :s] > 0
        lb_cap = rate * topo.capacity_scaler * (eff_vms * backends).sum(axis=1) if topo.lb_enabled else None
        lb_reject = np.zeros(n)
        if topo.lb_enabled:
            offered = ext[:, net]
            lb_reject = np.where(offered > 0, 1.0 - np.minimum(offered, lb_cap) / np.maximum(offered, 1e-12), 0.0)
        ok_prev = 1.0 - st.err_prev
        ok_prev[:, net] = 1.0 - lb_reject
        amp = 1.0 + p.retry_share * st.err_prev
        lam = ext.copy()
        for _ in range(topo.depth):
            lam = ext + ((lam * ok_prev) @ topo.weights) * amp
        # queues
        cap = servers * mu
        queue_nodes = np.zeros(v, dtype=bool)
        queue_nodes[:s] = True
        queue_nodes[d0:b0] = True
        served = np.where(queue_nodes, np.minimum(lam, cap * RHO_CAP), lam)
        own_err = np.where(lam > 0, 1.0 - served / np.maximum(lam, 1e-12), 0.0)
        own_err[:, net] = lb_reject
        rho = np.where(cap > 0, served / np.maximum(cap, 1e-12), 0.0)
        stats = self._table.lookup(servers, rho) * (1000.0 / mu)[..., None]  # ms
        no_cap = queue_nodes & (cap <= 0)
        own_err = np.where(no_cap & (lam > 0), 1.0, own_err)
        stats = np.where(no_cap[..., None], TIMEOUT_MS, stats)
        own_lat = stats[..., 1:].copy()
        mean_lat = stats[..., 0]
        own_lat[:, net] = np.where(st.net_tier == 1, p.standard_tier_extra_ms, 0.0)[:, None]
        mean_lat[:, net] = own_lat[:, net, 0]
        own_lat[:, b0:] = p.gcs_latency_ms
        mean_lat[:, b0:] = p.gcs_latency_ms
        if topo.n_databases:  # connection limit (Little's law: connections = rate x time in system)
            conns = served[:, d0:b0] * mean_lat[:, d0:b0] / 1000.0
            over = np.where(conns > topo.db_max_conn, 1.0 - topo.db_max_conn / np.maximum(conns, 1e-12), 0.0)
            own_err[:, d0:b0] = 1.0 - (1.0 - own_err[:, d0:b0]) * (1.0 - over)
        st.err_prev = own_err
        # end to end along the call graph
        # one GEMM per round: rows are (env, statistic) pairs, columns are nodes
        own_rows = np.concatenate([own_lat.transpose(2, 0, 1).reshape(3 * n, v),
                                   np.log(np.clip(1.0 - own_err, 1e-12, 1.0))], axis=0)
        rows = own_rows
        for _ in range(topo.depth):
            rows = own_rows + rows @ self._sync_t
        latency = np.minimum(rows[: 3 * n].reshape(3, n, v).transpose(1, 2, 0), TIMEOUT_MS)
        e2e_log_ok = rows[3 * n :]
        error = 1.0 - np.exp(e2e_log_ok)
        # usage-driven quantities
        base = np.maximum(topo.base_rate, 1e-12)
        ratio = lam / base
        r_net = ratio[:, net] if (topo.lb_enabled and topo.base_rate[net] > 0) else \
            (ratio[:, topo.entries].mean(axis=1) if len(topo.entries) else np.ones(n))
        dt_h = step / 3600.0
        mt = st.machine_of(topo)
        costs = step_costs(topo, st, mt, dt_h, r_net, ratio[:, b0:])
        st.month_hours = st.month_hours + dt_h * topo.duty
        egress_gib = topo.egress_month * r_net * dt_h / topo.catalog.hours_per_month
        energy = step_energy_kwh(topo, st, mt, dt_h, rho[:, :s], rho[:, d0:b0], egress_gib)
        carbon = sum(energy.values()) * topo.carbon_g_per_kwh / 1000.0
        if topo.n_databases:
            st.db_data = st.db_data * (1.0 + p.db_growth_per_day * ratio[:, d0:b0] * step / 86400.0)
        slo_met = (latency[:, :s, 2] <= topo.slo_ms) & (error[:, :s] <= ERROR_SLO)
        return Outcome(
            demand=lam, served=served, util=rho, own_latency=own_lat, latency=latency, mean_latency=mean_lat,
            own_error=own_err, error=error, capacity=cap, running=st.running.copy(), costs=costs,
            energy=energy, carbon_kg=carbon, slo_met=slo_met, egress_gib=egress_gib, lb_reject=lb_reject,
            vcpu_used=vcpu_used,
        )

    # ------------------------------------------------------------------ views
    def global_state(self) -> np.ndarray:
        """(N, state_dim) true global state for a centralised critic (no delay, no noise)."""
        return self.observer.global_state(self.last, self.state)

    def graph(self) -> dict[str, np.ndarray]:
        """Dependency graph for a GNN: node names/kinds, edge_index (2, E), node features (N, V, F)."""
        return {"edge_index": self.topo.edge_index, "node_kind": self.topo.node_kind,
                "node_features": self.observer.node_features(self.last, self.state)}
