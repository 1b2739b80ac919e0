"""The perfect-foresight oracle: a lower bound on an episode's cost, solved as a MILP with HiGHS.

Why a relaxation and not a re-simulation: the oracle must be a *bound*, so it
may only ever be more permissive than the simulator. It knows the whole
episode in advance (demand, spikes, the realised spot-price path) and uses the
simulator's own prices, queueing table, delays and call graph, but it drops
every frictions a policy suffers (preemptions, failures, outages, stockouts,
quota, database operation delays) and it may mix machine sizes and pay spot
or the deepest sustained-use rate, whichever is cheaper. What it keeps:

- **SLO capacity.** A service meets its SLO only if its own M/M/c p99, read
  from the simulator's table (`envs.queueing.mmc_table`) at the utilisation
  its servers give, fits in the SLO minus the smallest possible latency of
  everything it calls, and its own error stays within `envs.core.ERROR_SLO`.
  That gives the fewest vCPU servers x_min[t, s] any policy needs.
- **Demand.** The lower bound on each node's arrival rate: the external
  demand propagated along the call graph with every caller failing at most
  `ERROR_SLO` of its calls and no retries (retries only add load).
- **Provisioning delay.** A VM created at step t serves only (1 - boot) of
  the step (`vm_boot` over the step length, as in the core): capacity is
  Σ_m vcpu_m n[t,m] - boot · vcpu_min · created[t], created[t] >= N[t] - N[t-1],
  starting from the spec's replicas.
- Databases, buckets and the network are priced per step at their cheapest
  configuration that carries the (lower-bound) load.

The integer program: n[t,s,m] >= 0 integer VMs of machine m for service s,
created[t,s] >= 0, and met[t,s] in {0, 1}; capacity >= x_min · met. The full
oracle fixes met = 1 wherever the SLO is attainable at all; the *matched*
oracle asks only for at least K met service-steps (the policy's own count),
with demand that no policy can avoid (direct external demand only), so it
bounds every episode, also those that miss the SLO. The bound reported is
HiGHS's dual bound, which is a valid lower bound even when the solver stops
at its time limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from envs.core import BatchedCore

#: Relative tolerance of the lower-bound check (the MILP's dual bound is exact up to float error).
TOLERANCE = 1e-6


@dataclass(frozen=True)
class OracleProblem:
    """The episode, reduced to what the MILP needs. T steps, S services, L machine sizes per service."""

    steps: int
    step_s: float
    need: np.ndarray  # (T, S) fewest vCPU servers that can meet the SLO (inf: no allocation can)
    vcpu: np.ndarray  # (S, L) vCPUs of each machine on the service's ladder
    vm_cost: np.ndarray  # (T, S, L) USD per VM-step: cheaper of spot and deepest SUD, plus minimum disk
    boot: float  # share of its first step a new VM does not serve
    initial_vms: np.ndarray  # (S,)
    ladder_len: np.ndarray  # (S,) sizes on each ladder (the rest of its row repeats the top size)
    fixed: dict[str, np.ndarray] = field(default_factory=dict)  # domain -> (T,) USD of the rest


@dataclass(frozen=True)
class OracleSolution:
    cost: float  # the lower bound (HiGHS dual bound), USD over the episode
    by_domain: dict[str, float]
    met: int  # service-steps whose SLO the allocation meets
    attainable: int  # service-steps whose SLO any allocation can meet
    status: str
    gap: float
    solve_s: float


def _lower_bound_rates(core: BatchedCore, ext: np.ndarray, ok: float) -> np.ndarray:
    """(T, V) arrival rates when every caller succeeds on at least `ok` of its calls, no retries."""
    topo = core.topo
    lam = ext.copy()
    for _ in range(topo.depth):
        lam = ext + (lam * ok) @ topo.weights
    return lam


def _min_latency(core: BatchedCore) -> np.ndarray:
    """(V,) the smallest end-to-end p99 (ms) each node can have: its queues empty, read from the table."""
    from envs.core import TIMEOUT_MS

    topo, p = core.topo, core.topo.params
    s, d0 = topo.n_services, topo.net_node + 1
    b0 = d0 + topo.n_databases
    idle_p99 = float(core._table.table[:, 0, 3].min())  # in units of 1/μ, at utilisation 0
    own = np.zeros(topo.n_nodes)
    own[:s] = idle_p99 * topo.cpu_ms
    own[d0:b0] = idle_p99 * p.db_ms_per_query
    own[b0:] = p.gcs_latency_ms
    latency = own.copy()
    for _ in range(topo.depth):
        latency = own + topo.calls @ latency
    return np.minimum(latency, TIMEOUT_MS)


def _servers_needed(core: BatchedCore, lam: np.ndarray, budget: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """(T, S) fewest real-valued servers x with own p99 <= budget and own error <= ERROR_SLO.

    The core rounds servers to the nearest integer c in its table but uses x
    itself in the utilisation, so for each c the most favourable x (c + 0.5)
    is tried: the result never exceeds what any policy actually needed.
    """
    from envs.core import ERROR_SLO
    from envs.queueing import RHO_CAP

    table = core._table
    t_len, s = lam.shape
    need = np.full((t_len, s), np.inf)
    c = np.arange(1, table.c_max + 1, dtype=np.float64)
    for j in range(s):
        rho = np.minimum(lam[:, j, None] / ((c[None, :] + 0.5) * mu[j]), 1.0)
        p99 = table.lookup(np.broadcast_to(c, rho.shape), rho)[..., 3] * (1000.0 / mu[j])
        ok = (p99 <= budget[j]) & (rho < RHO_CAP)
        first = np.where(ok.any(axis=1), ok.argmax(axis=1), -1)
        c_star = np.where(first >= 0, c[np.maximum(first, 0)], np.inf)
        error_floor = (1.0 - ERROR_SLO) * lam[:, j] / (RHO_CAP * mu[j])
        need[:, j] = np.where(np.isfinite(c_star), np.maximum(np.maximum(c_star - 0.5, 1e-6), error_floor),
                              np.inf)
    return need


def build_problem(core: BatchedCore, spot_mult: np.ndarray | None = None, matched: bool = False,
                  env: int = 0) -> OracleProblem:
    """Reduce environment `env` of a reset core (its demand, faults and prices) to an OracleProblem.

    `spot_mult` is the realised spot-price multiplier at steps 1..T (the runner
    records it); without it the oracle assumes the lowest multiplier that path
    could plausibly reach is 1 - nothing, i.e. it uses the list spot price.
    `matched=True` builds the universal variant (see the module docstring).
    """
    from envs.core import ERROR_SLO
    from envs.economics import egress_month_cost

    topo, cfg = core.topo, core.config
    cat = topo.catalog
    steps, step_s = cfg.steps, float(cfg.step_s)
    dt_h = step_s / 3600.0
    month_h = cat.hours_per_month
    ts = np.arange(1, steps + 1)
    s, v, net = topo.n_services, topo.n_nodes, topo.net_node
    d0 = net + 1
    b0 = d0 + topo.n_databases
    ext = np.zeros((steps, v))
    demand = core.demand[env][:, np.minimum(ts, core.demand.shape[-1] - 1)].T  # (T, E)
    ext[:, topo.entries] = demand * topo.base_rate[topo.entries] * core._plan.spike[ts]
    if matched:  # only what reaches a node directly from outside: no caller can avoid sending it
        lam = ext.copy()
        lam[:, net] = 0.0
    else:
        lam = _lower_bound_rates(core, ext, 1.0 - ERROR_SLO)
    mu = 1000.0 / topo.cpu_ms
    latency = _min_latency(core)
    budget = topo.slo_ms - topo.calls[:s] @ latency
    need = _servers_needed(core, lam[:, :s], budget, mu)

    ladder = topo.ladder
    vcpu = topo.m_vcpu[ladder].astype(np.float64)  # (S, L)
    mult = np.ones(steps) if spot_mult is None else np.asarray(spot_mult, dtype=np.float64)[:steps]
    spot = topo.m_hour_spot[ladder][None] * mult[:, None, None]
    sud = (topo.m_hour * topo.m_sud_slope.min(axis=1))[ladder][None]
    disk = 10.0 * topo.disk_price.min() / month_h
    vm_cost = (np.minimum(spot, sud) + disk) * dt_h * topo.duty[None, :, None]

    fixed = {"storage": np.zeros(steps), "network": np.zeros(steps), "database": np.zeros(steps)}
    base = np.maximum(topo.base_rate, 1e-12)
    if topo.n_buckets:
        r_bucket = lam[:, b0:] / base[b0:]
        per_class = (topo.b_size[None, :, None] * topo.b_price[None]
                     + r_bucket[..., None] * (topo.b_read_month[None, :, None] * topo.class_retrieval
                                              + topo.b_ops_a_month[None, :, None] * topo.class_ops_a / 1000.0
                                              + topo.b_ops_b_month[None, :, None] * topo.class_ops_b / 1000.0))
        fixed["storage"] = per_class.min(axis=-1).sum(axis=-1) * dt_h / month_h
    if topo.lb_enabled and topo.base_rate[net] > 0:
        r_net = ext[:, net] / base[net]
    else:
        r_net = ext[:, topo.entries].mean(axis=1) / base[topo.entries].mean() if len(topo.entries) else np.ones(steps)
    egress = topo.egress_month * r_net
    options = [egress_month_cost(topo.egress_segments, np.full(steps, tier, dtype=np.intp), egress)
               for tier in range(topo.egress_segments.shape[0])]
    if topo.lb_enabled:
        hit = topo.cdn_hit_ratio
        options += [egress_month_cost(topo.egress_segments, np.full(steps, tier, dtype=np.intp),
                                      egress * (1 - hit)) + egress * hit * cat.network["cdn_cache_egress_per_gib"]
                    for tier in range(topo.egress_segments.shape[0])]
    fixed["network"] = np.min(options, axis=0) * dt_h / month_h
    if topo.lb_enabled:
        fixed["network"] = fixed["network"] + cat.network["forwarding_rule_hour"] * dt_h
    if topo.n_databases:
        fixed["database"] = _database_floor(core, lam[:, d0:b0], dt_h, matched)
    return OracleProblem(steps=steps, step_s=step_s, need=need, vcpu=vcpu, vm_cost=vm_cost,
                         boot=cat.delay_s("vm_boot") / step_s, initial_vms=topo.initial["target"].astype(float),
                         ladder_len=topo.ladder_len.copy(),
                         fixed=fixed)


def _database_floor(core: BatchedCore, lam: np.ndarray, dt_h: float, matched: bool) -> np.ndarray:
    """(T,) cheapest USD per step of all databases: zonal tier and read replicas that carry the load."""
    from envs.core import ERROR_SLO
    from envs.queueing import RHO_CAP

    topo = core.topo
    sql = topo.catalog.sql
    month_h = topo.catalog.hours_per_month
    mu = 1000.0 / topo.params.db_ms_per_query
    need = np.zeros_like(lam) if matched else (1.0 - ERROR_SLO) * lam / (RHO_CAP * mu)
    replicas = np.arange(0, 11)
    servers = topo.t_vcpu[:, None] * (1 + replicas[None, :])  # (K, R)
    disk = topo.initial["db_disk"]  # disks only grow
    total = np.zeros(lam.shape[0])
    for d in range(topo.n_databases):
        hourly = topo.t_hour_zonal[:, None] * (1 + replicas[None, :]) \
            + (disk[d] * sql["ssd_gib_month_zonal"] * (1 + replicas[None, :])
               + topo.db_backup_gib[d] * sql["backup_gib_month"]) / month_h
        ok = servers[None] >= need[:, d, None, None]
        cheapest = np.where(ok, hourly[None], np.inf).min(axis=(1, 2))
        total += np.where(np.isfinite(cheapest), cheapest, hourly.min()) * dt_h
    return total


def _model(problem: OracleProblem, services: list[int], min_met: int | None):
    """The MILP of `services` (variables n, created, met per step) in scipy.optimize.milp's form."""
    from scipy.optimize import Bounds, LinearConstraint
    from scipy.sparse import coo_array

    t_len, lad = problem.steps, problem.vcpu.shape[1]
    k = len(services)
    need = problem.need[:, services]
    attainable = np.isfinite(need)
    need = np.where(attainable, need, 0.0)
    n_vm = t_len * k * lad
    i_vm = np.arange(n_vm).reshape(t_len, k, lad)
    i_cr = n_vm + np.arange(t_len * k).reshape(t_len, k)
    i_met = n_vm + t_len * k + np.arange(t_len * k).reshape(t_len, k)
    n_var = n_vm + 2 * t_len * k
    cost = np.zeros(n_var)
    cost[:n_vm] = problem.vm_cost[:, services].ravel()
    vcpu = problem.vcpu[services]
    vmin = vcpu.min(axis=1)
    # capacity[t, j]: sum_m vcpu n - boot vmin created - need met >= 0
    t_idx, j_idx = np.meshgrid(np.arange(t_len), np.arange(k), indexing="ij")
    cap_row = (t_idx * k + j_idx).ravel()
    rows = [np.repeat(cap_row, lad), cap_row, cap_row]
    cols = [i_vm.ravel(), i_cr.ravel(), i_met.ravel()]
    vals = [np.broadcast_to(vcpu[None], (t_len, k, lad)).ravel(),
            np.broadcast_to(-problem.boot * vmin, (t_len, k)).ravel(), -need.ravel()]
    # created[t, j] - N[t, j] + N[t-1, j] >= -initial (t = 0) or 0
    cr_row = t_len * k + cap_row
    rows += [cr_row, np.repeat(cr_row, lad)]
    cols += [i_cr.ravel(), i_vm.ravel()]
    vals += [np.ones(t_len * k), -np.ones(n_vm)]
    prev = (t_idx[1:] * k + j_idx[1:]).ravel() + t_len * k
    rows.append(np.repeat(prev, lad))
    cols.append(i_vm[:-1].ravel())
    vals.append(np.ones((t_len - 1) * k * lad))
    n_rows = 2 * t_len * k
    matrix = coo_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                       shape=(n_rows, n_var)).tocsr()
    lo = np.zeros(n_rows)
    lo[t_len * k : t_len * k + k] = -problem.initial_vms[services]
    constraints = [LinearConstraint(matrix, lo, np.inf)]
    lower, upper = np.zeros(n_var), np.full(n_var, np.inf)
    padded = np.arange(lad)[None, :] >= problem.ladder_len[services][:, None]  # repeats of the top size
    upper[i_vm.ravel()] = np.where(np.broadcast_to(padded[None], (t_len, k, lad)), 0.0, np.inf).ravel()
    upper[i_met.ravel()] = attainable.ravel()
    if min_met is None:
        lower[i_met.ravel()] = attainable.ravel()
    else:
        row = np.zeros(n_var)
        row[i_met.ravel()] = 1.0
        constraints.append(LinearConstraint(row[None, :], min(int(min_met), int(attainable.sum())), np.inf))
    return cost, constraints, Bounds(lower, upper), i_met, int(attainable.sum())


def knapsack_costs(problem: OracleProblem) -> np.ndarray:
    """(T, S) cheapest USD of VMs whose vCPUs cover need[t, s] (inf where unattainable).

    An exact min-cost covering knapsack per step, by dynamic programming over
    vCPU units (every size on a ladder is a multiple of its smallest), vectorised
    over steps. It ignores the boot loss, so it never exceeds the MILP's optimum.
    """
    t_len, s = problem.need.shape
    out = np.full((t_len, s), np.inf)
    for j in range(s):
        sizes = problem.vcpu[j, : problem.ladder_len[j]]
        unit = sizes.min()
        weight = np.rint(sizes / unit).astype(int)
        cost = problem.vm_cost[:, j, : problem.ladder_len[j]]
        finite = np.isfinite(problem.need[:, j])
        units = np.where(finite, np.ceil(problem.need[:, j] / unit - 1e-9), 0).astype(int)
        top = int(units.max(initial=0))
        best = np.zeros((t_len, top + 1))
        for u in range(1, top + 1):
            best[:, u] = (best[:, np.maximum(u - weight, 0)] + cost).min(axis=1)
        out[:, j] = np.where(finite, best[np.arange(t_len), units], np.inf)
    return out


def digest(problem: OracleProblem) -> str:
    """A content hash of the problem: equal digests mean equal inputs, hence equal solutions.

    Every policy of a suite runs replicate i on the same workload, so their full-oracle
    problems coincide whenever the realised spot path does; the runner solves each once.
    """
    import hashlib

    h = hashlib.sha256(f"{problem.steps}/{problem.step_s}/{problem.boot}".encode())
    arrays = [problem.need, problem.vcpu, problem.vm_cost, problem.initial_vms, problem.ladder_len]
    arrays += [problem.fixed[k] for k in sorted(problem.fixed)]
    for key, array in zip([*"nvcil", *sorted(problem.fixed)], arrays, strict=True):
        a = np.ascontiguousarray(array)
        h.update(f"{key}{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def solve(problem: OracleProblem, min_met: int | None = None, milp_seconds: float = 0.0) -> OracleSolution:
    """The lower bound on the episode's cost: compute, plus the other domains' floors.

    `min_met=None` (the full oracle): every attainable service-step meets its
    SLO; the compute bound per service is the larger of the knapsack bound and,
    when `milp_seconds > 0`, the dual bound of the MILP with provisioning
    delays (both are valid lower bounds, so their maximum is too). With
    `min_met=K` (the matched oracle) the exact optimum of the knapsack bound is
    the K cheapest attainable service-steps.
    """
    start = time.perf_counter()
    knap = knapsack_costs(problem)
    attainable = np.isfinite(knap)
    statuses = []
    if min_met is None:
        per_service = np.where(attainable, knap, 0.0).sum(axis=0)
        if milp_seconds > 0:
            per_service = np.maximum(per_service, [_milp_bound(problem, j, milp_seconds, statuses)
                                                   for j in range(problem.need.shape[1])])
        compute, met = float(per_service.sum()), int(attainable.sum())
    else:
        met = min(int(min_met), int(attainable.sum()))
        compute = float(np.sort(knap[attainable])[:met].sum())
    by_domain = {"compute": compute, **{k: float(v.sum()) for k, v in problem.fixed.items()}}
    status = "knapsack" if not statuses else (
        "optimal" if all(statuses) else "time limit (dual bound)")
    return OracleSolution(cost=float(sum(by_domain.values())), by_domain=by_domain, met=met,
                          attainable=int(attainable.sum()), status=status, gap=0.0,
                          solve_s=time.perf_counter() - start)


def _milp_bound(problem: OracleProblem, service: int, seconds: float, statuses: list[bool]) -> float:
    """HiGHS's dual bound of one service's MILP (integer VMs, boot loss), valid at any time limit."""
    from scipy.optimize import milp

    cost, constraints, bounds, _, _ = _model(problem, [service], None)
    integrality = np.zeros(cost.size)
    integrality[: problem.steps * problem.vcpu.shape[1]] = 1
    res = milp(cost, constraints=constraints, integrality=integrality, bounds=bounds,
               options={"time_limit": seconds, "mip_rel_gap": 1e-4})
    statuses.append(res.status == 0)
    bound = getattr(res, "mip_dual_bound", None)
    values = [float(b) for b in (bound, res.fun if res.status == 0 else None) if b is not None and np.isfinite(b)]
    return min(values) if values else 0.0
