"""The batched simulator core: N copies of one deployment step together in numpy.

Why batched: training and evaluation need millions of 5-minute steps; a Python
loop per environment or per service would cap that at a few thousand per
second. Every quantity is an array whose first axis is the environment; the
only Python loops in `step` run over agents, knobs, zones, short resource axes
(`envs.rowops`) and the depth of the dependency graph (a handful of
iterations, independent of N). The model and its equations are in
docs/simulator.md; docs/benchmarks.md ("Simulator throughput") has the speed
and what it took: rules evaluated environment-innermost, statistic-first queue
tables, one pass over all agents' monitoring points, and one uniform per rare event.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.churn import knob_values
from envs.config import SimConfig
from envs.economics import step_costs, step_energy_kwh, vm_hour_rate
from envs.errors import EnvConfigError
from envs.faults import Fault, compile_faults
from envs.knobs import AGENTS, KNOBS, NOOP, Slots, agent_slots
from envs.observe import Observer
from envs.queueing import RHO_CAP, mmc_table
from envs.reward import RewardModel
from envs.rowops import row_cumsum, row_mean, row_sum
from envs.sampling import rare_binomial
from envs.state import State, initial_state
from envs.topology import ModelParams, Topology, compile_spec
from envs.workload import WorkloadSpec, check_demand, generate_demand
from gcp.spec import DeploymentSpec

#: Client-side timeout: the latency a request sees when a node has no capacity at all.
TIMEOUT_MS = 30_000.0
#: Error-rate objective that goes with each latency SLO (assumption: 99 % success).
ERROR_SLO = 0.01
#: Choice values of the knobs (envs.knobs), as arrays for the vectorised masks and updates.
STEP_DELTAS = np.array([0, -1, 1])
SPOT_DELTAS = np.array([0.0, -0.25, 0.25])
DISK_STEPS = np.array([0, -10, 10])
DB_DISK_STEPS = np.array([0, 20, 100])
RATE_FACTORS = np.array([1.0, 0.8, 1.25])
#: Choice index minus one: the value a "keep, value 0, value 1, ..." knob sets (-1 = keep).
CHOICE_VALUES = np.arange(6) - 1


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
        offsets = {a: np.concatenate([[0], np.cumsum(self.slots[a].nvec)[:-1]]) for a in AGENTS}
        #: flat index, into an agent's (N, mask_size) masks, of choice 0 of each (env, slot)
        self._mask_cell = {a: np.arange(n_envs)[:, None] * self.slots[a].mask_size + offsets[a] for a in AGENTS}
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
        self._entry_services = self._entry_service_index()
        self._sync_t = np.ascontiguousarray(topo.sync.T)
        self._constants()
        self.observer = Observer(topo, self.slots, self.config, n_envs)
        self.reward = RewardModel(topo, self.config.reward, self._entry_services, self.config.step_s)
        self.total_steps = 0
        self.reset(seed)

    # ------------------------------------------------------------------ setup
    def _make_demand(self, seed: int | None) -> np.ndarray:
        return generate_demand(self.workload, self.n, len(self.topo.entries), self.config.steps,
                               self.config.step_s, 0 if seed is None else int(seed))

    def _constants(self) -> None:
        """Per-step constants of the spec, computed once (the step would otherwise rebuild them)."""
        topo, p = self.topo, self.topo.params
        s, v = topo.n_services, topo.n_nodes
        d0, b0 = topo.net_node + 1, topo.net_node + 1 + topo.n_databases
        # vCPU per VM by (service, ladder position), flat: index = service * L + position
        self._ladder_vcpu = topo.m_vcpu[topo.ladder].reshape(-1)
        self._ladder_base = (np.arange(s) * topo.ladder.shape[1])[None, :]
        mu = np.ones(v)
        mu[:s] = 1000.0 / topo.cpu_ms
        mu[d0:b0] = 1000.0 / p.db_ms_per_query
        self._mu = mu
        self._ms_per_unit = 1000.0 / mu  # mean service time per node, ms
        queue = np.zeros(v, dtype=bool)
        queue[:s] = True
        queue[d0:b0] = True
        self._queue_nodes = queue
        self._backends = topo.calls[topo.net_node, :s] > 0
        self._zone_plan_any = self._plan.zone_down.any(axis=1)
        self._replica_steps = np.array(KNOBS["compute"][0].choices)
        # flat-mask layout: (agent, knob) -> (agent, first column, end column, resources)
        self._mask_layout: dict[tuple[str, str], tuple[str, int, int, int]] = {}
        self._keep_columns: dict[str, np.ndarray] = {}
        for agent in AGENTS:
            slots, lo, keep = self.slots[agent], 0, []
            for knob, count in zip(slots.knobs, slots.counts, strict=True):
                hi = lo + count * knob.n
                self._mask_layout[agent, knob.name] = (agent, lo, hi, count)
                keep.extend(range(lo, hi, knob.n))
                lo = hi
            self._keep_columns[agent] = np.array(keep, dtype=np.intp)
        #: knobs without a rule (the stand-in knob of an agent with no resources): always allowed
        self._mask_free = [key for key in self._mask_layout if key[1] == NOOP.name]

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
        self.disruption = {a: np.zeros(self.n) for a in AGENTS}
        self.changes = np.zeros(self.n, dtype=np.int64)
        self.last = self._evaluate(np.zeros(self.n))
        self.observer.reset(self.last, self.state, self._seed)
        self.masks = self.compute_masks()
        self._flat = self.flat_masks()
        self.reward.reset(self.n, self.last)
        self.masked_count = {a: np.zeros(self.n, dtype=np.int64) for a in AGENTS}

    # ------------------------------------------------------------------ masks
    def _vcpu(self, pos: np.ndarray) -> np.ndarray:
        """vCPU per VM of each service (N, S) at ladder positions `pos`."""
        return np.take(self._ladder_vcpu, pos + self._ladder_base)

    def compute_masks(self) -> dict[str, dict[str, np.ndarray]]:
        """{agent: {knob: int8 (N, R, choices)}}: which choices are valid now (views of the flat masks).

        Why this layout: R and the choices are a handful and N is large, so every rule is
        evaluated environment-innermost, straight into a (mask columns, N) buffer (long
        contiguous loops, no temporaries per knob), and each agent's buffer is transposed once
        into its fresh (N, mask_size) flat mask. Observations carry those flat masks, so they
        stay valid after later steps.
        """
        topo, st, n = self.topo, self.state, self.n
        cols = {a: np.empty((self.slots[a].mask_size, n), dtype=bool) for a in AGENTS}

        def rule(agent: str, knob: str) -> np.ndarray:
            """The (R, choices, N) block of one knob; its choice 0 ("keep") is set afterwards."""
            _agent, lo, hi, count = self._mask_layout[agent, knob]
            return cols[agent][lo:hi].reshape(count, -1, n)

        def per_env(x: np.ndarray) -> np.ndarray:  # (N, R) -> (R, 1, N), environment innermost
            return np.ascontiguousarray(x.T)[:, None, :]

        if topo.n_services:
            target, pos = per_env(st.target), per_env(st.pos)
            vcpu = np.take(self._ladder_vcpu, pos + self._ladder_base.T[..., None])
            limit = st.quota - row_sum(st.target * self._vcpu(st.pos)) + 1e-9  # headroom
            d = self._replica_steps[:, None]
            new = target + d
            ok = rule("compute", "replicas")
            np.greater_equal(new, topo.rep_min[:, None, None], out=ok)
            ok &= new <= topo.rep_max[:, None, None]
            ok &= (d * vcpu <= limit) | (d <= 0)
            npos = pos + STEP_DELTAS[:, None]
            ok = rule("compute", "machine")
            np.greater_equal(npos, 0, out=ok)
            ok &= npos < topo.ladder_len[:, None, None]
            np.clip(npos, 0, topo.ladder.shape[1] - 1, out=npos)
            nvcpu = np.take(self._ladder_vcpu, npos + self._ladder_base.T[..., None])
            ok &= (nvcpu - vcpu) * target <= limit
            ns = per_env(st.spot) + SPOT_DELTAS[:, None]
            ok = rule("compute", "spot")
            np.greater_equal(ns, -1e-9, out=ok)
            ok &= ns <= 1 + 1e-9
            np.not_equal(CHOICE_VALUES[:4, None], per_env(st.disk_type), out=rule("storage", "disk_type"))
            ng = per_env(st.disk_gb) + DISK_STEPS[:, None]
            ok = rule("storage", "disk_size")
            np.greater_equal(ng, 10, out=ok)
            ok &= ng <= 65536
            nk = per_env(st.zones_k) + STEP_DELTAS[:, None]
            ok = rule("network", "zone_spread")
            np.greater_equal(nk, 1, out=ok)
            ok &= nk <= len(topo.zones)
        if topo.n_buckets:
            np.not_equal(CHOICE_VALUES[:5, None], per_env(st.klass), out=rule("storage", "class"))
        lb = topo.lb_enabled
        ok = rule("network", "cdn")
        np.not_equal(CHOICE_VALUES[:3, None], st.cdn, out=ok)
        ok &= lb
        np.not_equal(CHOICE_VALUES[:3, None], st.net_tier, out=rule("network", "tier"))
        rate = st.max_rate * RATE_FACTORS[:, None]
        ok = rule("network", "lb_capacity")
        np.greater_equal(rate, 1.0, out=ok)
        ok &= rate <= 1e5
        ok &= lb
        if topo.n_databases:
            idle = per_env(st.db_op_s <= 0)
            nt = per_env(st.tier) + STEP_DELTAS[:, None]
            ok = rule("database", "tier")
            np.greater_equal(nt, 0, out=ok)
            ok &= nt < len(topo.tier_names)
            ok &= idle
            ok = rule("database", "ha")
            np.not_equal(CHOICE_VALUES[:3, None], per_env(st.ha), out=ok)
            ok &= idle
            nr = per_env(st.replicas) + STEP_DELTAS[:, None]
            ok = rule("database", "read_replicas")
            np.greater_equal(nr, 0, out=ok)
            ok &= nr <= 10
            nd = per_env(st.db_disk) + DB_DISK_STEPS[:, None]
            ok = rule("database", "disk")
            np.less_equal(nd, 65536, out=ok)
            ok &= idle
        for agent, knob in self._mask_free:
            rule(agent, knob)[:] = True
        out: dict[str, dict[str, np.ndarray]] = {}
        self._flat_cache: dict[str, np.ndarray] = {}
        for agent in AGENTS:
            block = cols[agent]
            block[self._keep_columns[agent]] = True  # "keep" is always allowed
            flat = np.ascontiguousarray(block.T).view(np.int8)
            self._flat_cache[agent] = flat
            out[agent] = {knob: flat[:, lo:hi].reshape(n, count, -1)
                          for (a, knob), (_a, lo, hi, count) in self._mask_layout.items() if a == agent}
        return out

    def flat_masks(self) -> dict[str, np.ndarray]:
        """{agent: int8 (N, mask_size)}: the masks in slot order, as the observations carry them."""
        return self._flat_cache

    # ------------------------------------------------------------------ step
    def step(self, actions: dict[str, np.ndarray]):
        """Apply the agents' choices, advance 5 minutes, return (obs, rewards, terminated, truncated, info)."""
        chosen = self._validated(actions)
        before = knob_values(self.state)
        self._apply(chosen)
        #: knob values this step's choices changed (after masks, quota and clipping), per env
        self.changes = (knob_values(self.state) != before).sum(axis=1)
        st = self.state
        st.t += 1
        self.total_steps += self.n
        self.last = self._evaluate(np.full(self.n, float(st.t)))
        self.masks = self.compute_masks()
        self._flat = self.flat_masks()
        obs = self.observer.push(self.last, st, self._flat, self.costs_by_agent())
        truncated = np.full(self.n, st.t >= self.config.steps)
        rewards, terms = self.reward.step(self.last, st, self.total_steps, truncated, self.disruption,
                                          self.changes)
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
            if act is None:  # every slot keeps: always allowed, nothing to count
                chosen = np.zeros((self.n, slots.n_slots), dtype=np.int64)
            else:
                act = np.asarray(act).reshape(self.n, slots.n_slots).astype(np.int64, copy=False)
                inside = (act >= 0) & (act < self._nvec[agent])
                idx = np.where(inside, act, 0)
                # the mask entry of each chosen (env, slot, choice), by its position in the flat masks
                ok = np.take(self._flat[agent], idx + self._mask_cell[agent]) != 0
                ok &= inside
                bad = ~ok & (act != 0)
                if bad.any():
                    self.masked_count[agent] += bad.sum(axis=1)
                chosen = np.where(ok, idx, 0)
            self.action_log[agent] = chosen
            out[agent] = slots.split(chosen)
        return out

    def _apply(self, c: dict[str, dict[str, np.ndarray]]) -> None:
        topo, st, cat = self.topo, self.state, self.topo.catalog
        #: per agent, the share (N,) of its resources a disruptive operation hit this step
        self.disruption = {a: np.zeros(self.n) for a in AGENTS}
        if topo.n_services:
            comp = c["compute"]
            pos_old, spot_old = st.pos, st.spot
            disk_old = (st.disk_type, st.disk_gb)
            rate_old = vm_hour_rate(topo, st.machine_of(topo), st.spot, st.running, st.spot_mult)
            vcpu_old = self._vcpu(st.pos)
            new_target = st.target + self._replica_steps[comp["replicas"]]
            new_pos = st.pos + STEP_DELTAS[comp["machine"]]
            vcpu_new = self._vcpu(new_pos)
            grow = np.maximum(new_target * vcpu_new - st.target * vcpu_old, 0.0)
            headroom = st.quota - row_sum(st.target * vcpu_old)
            accept = row_cumsum(grow) <= headroom[:, None] + 1e-9
            accept |= grow == 0
            self.quota_rejected = row_sum(~accept)
            st.target = np.where(accept, new_target, st.target)
            st.pos = np.where(accept, new_pos, st.pos)
            st.prev_vcpu = vcpu_old
            st.spot = np.clip(st.spot + SPOT_DELTAS[comp["spot"]], 0.0, 1.0)
            sto = c["storage"]
            st.disk_type = np.where(sto["disk_type"] > 0, sto["disk_type"] - 1, st.disk_type)
            st.disk_gb = st.disk_gb + DISK_STEPS[sto["disk_size"]]
            st.zones_k = st.zones_k + STEP_DELTAS[c["network"]["zone_spread"]]
            self._mark_replaced(pos_old, spot_old, disk_old, rate_old)
        if topo.n_buckets:
            cls = c["storage"]["class"]
            st.klass = np.where(cls > 0, cls - 1, st.klass)
        net = c["network"]
        cdn, tier, cap = net["cdn"][:, 0], net["tier"][:, 0], net["lb_capacity"][:, 0]
        lb_change = (cdn > 0) | (cap > 0)
        st.cdn = np.where(cdn > 0, cdn == 2, st.cdn)
        st.net_tier = np.where(tier > 0, tier - 1, st.net_tier)
        st.prev_max_rate = np.where(lb_change & (st.lb_op_s <= 0), st.max_rate, st.prev_max_rate)
        st.max_rate = st.max_rate * RATE_FACTORS[cap]
        st.lb_op_s = np.where(lb_change, cat.delay_s("lb_update"), st.lb_op_s)
        if topo.n_databases:
            db = c["database"]
            # masks allow a tier/HA choice only while no operation is pending, so these start one
            change = (db["tier"] > 0) | (db["ha"] > 0)
            st.next_tier = np.where(db["tier"] > 0, st.tier + STEP_DELTAS[db["tier"]], st.next_tier)
            st.next_ha = np.where(db["ha"] > 0, db["ha"] == 2, st.next_ha)
            down = np.where(st.ha, cat.delay_s("sql_tier_change_downtime_regional"),
                            cat.delay_s("sql_tier_change_downtime_zonal"))
            st.db_op_s = np.where(change, cat.delay_s("sql_tier_change"), st.db_op_s)
            self.disruption["database"] = row_mean(change)
            st.db_down_s = np.where(change, down, st.db_down_s)
            dr = STEP_DELTAS[db["read_replicas"]]
            st.replicas = st.replicas + dr
            st.replicas_ready = np.minimum(st.replicas_ready, st.replicas)
            st.replica_op_s = np.where(dr > 0, cat.delay_s("sql_create"), st.replica_op_s)
            st.db_disk = st.db_disk + DB_DISK_STEPS[db["disk"]]

    def _mark_replaced(self, pos_old: np.ndarray, spot_old: np.ndarray,
                       disk_old: tuple[np.ndarray, np.ndarray], rate_old: np.ndarray) -> None:
        """VMs a new instance template replaces this step (docs/simulator.md, "Rolling replace").

        Machine type and boot disk live in the template, so changing them replaces every VM; a
        spot-share change moves VMs between the SPOT and STANDARD versions, replacing the
        difference in spot VMs.
        """
        st = self.state
        n = np.minimum(st.running, st.target).astype(np.float64)
        machine = st.pos != pos_old
        disk = (st.disk_type != disk_old[0]) | (st.disk_gb != disk_old[1])
        moved = np.abs(np.floor(n * st.spot + 1e-9) - np.floor(n * spot_old + 1e-9))
        st.replace_n = np.where(machine | disk, n, moved)
        st.replace_rate = rate_old
        # each replace is charged to the agent whose knob caused it (machine/spot: compute)
        hit = st.replace_n > 0
        self.disruption["compute"] = row_mean(hit & (machine | ~disk))
        self.disruption["storage"] = row_mean(hit & disk)

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
            # durations are drawn only for the (rare) events that start
            start = (st.zone_down == 0) & (rng.random(shape) < cfg.zone_outage_per_hour * dt_h)
            if start.any():
                st.zone_down[start] = rng.geometric(1.0 / max(cfg.zone_outage_steps, 1.0), int(start.sum()))
            start = (st.stockout == 0) & (rng.random(shape) < cfg.stockout_per_hour * dt_h)
            if start.any():
                st.stockout[start] = rng.geometric(1.0 / max(cfg.stockout_steps, 1.0), int(start.sum()))
        if self._zone_plan_any[t]:
            st.zone_down = np.where(plan.zone_down[t], np.maximum(st.zone_down, 1), st.zone_down)
        if not np.isnan(plan.quota[t]):
            st.quota = np.full(self.n, plan.quota[t])

    def _compute_capacity(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Running VMs after creations, failures and preemptions; effective servers; vCPU used."""
        topo, st, cfg, rng = self.topo, self.state, self.config, self.rng
        step = cfg.step_s
        dt_h = step / 3600.0
        # a service runs in the first zones_k zones of its zone order; count those up / creatable
        up = st.zone_down == 0
        creatable = up & (st.stockout == 0)
        n_up = np.zeros(st.zones_k.shape, dtype=np.int64)
        n_create = np.zeros_like(n_up)
        for j, zone in enumerate(topo.zone_order.T):  # zone: (S,) the j-th zone of each service
            used = st.zones_k > j
            n_up += np.take(up, zone, axis=1) & used
            n_create += np.take(creatable, zone, axis=1) & used
        k = st.zones_k.astype(np.float64)
        up_frac = n_up / k
        create_frac = n_create / k
        vcpu = self._vcpu(st.pos)
        st.running = np.minimum(st.running, st.target)
        want = np.floor((st.target - st.running) * create_frac + 1e-9)
        headroom = st.quota - row_sum(st.running * vcpu)
        fits = row_cumsum(want * vcpu) <= headroom[:, None] + 1e-9
        created = np.where(fits, want, 0.0)
        st.running = st.running + created.astype(st.running.dtype)
        lost = np.zeros_like(st.running)
        if cfg.stochastic and t > 0:
            p_fail = 1.0 - np.exp(-cfg.machine_failure_per_hour * dt_h)
            p_pre = 1.0 - np.exp(-cfg.spot_preemption_per_hour * dt_h)
            lost = rare_binomial(rng, st.running, p_fail)
            spot_n = np.floor((st.running - lost) * st.spot + 1e-9).astype(np.int64)
            lost = lost + rare_binomial(rng, spot_n, p_pre)
        wave = self._plan.preempt[min(t, cfg.steps)]
        if wave > 0:
            spot_n = np.floor((st.running - lost) * st.spot + 1e-9)
            lost = lost + np.floor(spot_n * wave + 1e-9).astype(lost.dtype)
        lost = np.minimum(lost, st.running)
        st.running = st.running - lost
        boot_s = topo.catalog.delay_s("vm_boot")
        eff_vms = np.maximum(st.running + 0.5 * lost - boot_s / step * created, 0.0) * up_frac
        old_share = self._rolling_replace(boot_s, float(step))
        vcpu_eff = vcpu + (st.prev_vcpu - vcpu) * old_share
        st.prev_vcpu = vcpu
        return eff_vms, eff_vms * vcpu_eff, row_sum(st.running * vcpu)

    def _rolling_replace(self, boot_s: float, step: float) -> np.ndarray:
        """Timing of this step's rolling replace; the share (N, S) of VM-seconds the old template served.

        The MIG update policy (terraform/render_google.py) is max_surge = zones, max_unavailable =
        0: waves of `zones` surge VMs are created (mig_resize), boot (vm_boot), and only then are
        the VMs they replace deleted. Wave j of a VM ends at (j + 1) × (mig_resize + vm_boot);
        the replaced VM runs and is billed until then, the surge VM from j × wave + mig_resize.
        A replace longer than the step is cut at the step's end (assumption, docs/simulator.md).
        """
        st = self.state
        n = np.minimum(st.replace_n, st.running)
        z = np.maximum(st.zones_k, 1)
        full = np.floor(n / z)
        wave_index_sum = z * full * (full - 1) / 2 + (n - full * z) * full
        wave_s = self.topo.catalog.delay_s("mig_resize") + boot_s
        st.replace_old_s = np.minimum(wave_s * (wave_index_sum + n), n * step)
        st.replace_early_s = np.minimum(wave_s * wave_index_sum + (wave_s - boot_s) * n, n * step)
        st.replace_n = np.zeros_like(st.replace_n)
        return st.replace_old_s / np.maximum(st.running * step, 1e-9)

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
        servers[:, :s] = servers_svc
        if topo.n_databases:
            servers[:, d0:b0] = self._database_capacity()
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
        lb_cap = rate * topo.capacity_scaler * row_sum(eff_vms * self._backends) if topo.lb_enabled else None
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
        cap = servers * self._mu
        queue_nodes = self._queue_nodes
        served = np.where(queue_nodes, np.minimum(lam, cap * RHO_CAP), lam)
        own_err = np.where(lam > 0, 1.0 - served / np.maximum(lam, 1e-12), 0.0)
        own_err[:, net] = lb_reject
        rho = np.where(cap > 0, served / np.maximum(cap, 1e-12), 0.0)
        # statistic-first (5, N, V): mean, p50, p95, p99 (ms), then log(1 - own error); rows 1..4
        # are the right-hand side of the end-to-end recurrence below without any copy
        stats = np.empty((5, n, v))
        self._table.lookup_stats(servers, rho, out=stats[:4])
        stats[:4] *= self._ms_per_unit
        no_cap = queue_nodes & (cap <= 0)
        if no_cap.any():
            own_err = np.where(no_cap & (lam > 0), 1.0, own_err)
            stats[:4, no_cap] = TIMEOUT_MS
        mean_lat, own3 = stats[0], stats[1:4]
        own3[:, :, net] = np.where(st.net_tier == 1, p.standard_tier_extra_ms, 0.0)
        mean_lat[:, net] = own3[0, :, net]
        own3[:, :, b0:] = p.gcs_latency_ms
        mean_lat[:, b0:] = p.gcs_latency_ms
        if topo.n_databases:  # connection limit (Little's law: connections = rate x time in system)
            conns = served[:, d0:b0] * mean_lat[:, d0:b0] / 1000.0
            over = np.where(conns > topo.db_max_conn, 1.0 - topo.db_max_conn / np.maximum(conns, 1e-12), 0.0)
            own_err[:, d0:b0] = 1.0 - (1.0 - own_err[:, d0:b0]) * (1.0 - over)
        st.err_prev = own_err
        # end to end along the call graph
        # one GEMM per round: rows are (statistic, env) pairs, columns are nodes
        np.log(np.clip(1.0 - own_err, 1e-12, 1.0), out=stats[4])
        own_rows = stats[1:].reshape(4 * n, v)
        rows = own_rows
        for _ in range(topo.depth):
            rows = own_rows + rows @ self._sync_t
        own_lat = own3.transpose(1, 2, 0)  # (N, V, 3)
        latency = np.minimum(rows[: 3 * n].reshape(3, n, v).transpose(1, 2, 0), TIMEOUT_MS)
        e2e_log_ok = rows[3 * n :]
        error = 1.0 - np.exp(e2e_log_ok)
        if topo.lb_enabled:  # a user reaches a backend through the LB: its rejections are the user's errors
            error[:, :s] = np.where(self._backends, 1.0 - (1.0 - error[:, :s]) * (1.0 - lb_reject)[:, None],
                                    error[:, :s])
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
