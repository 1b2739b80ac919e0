"""Compile a DeploymentSpec into the static arrays the batched core steps over.

Why: the core must not loop over services in Python, so everything it needs
about a spec (ladders, prices, dependency matrices, calibrated base demand) is
turned into numpy arrays once, here. Prices come from `gcp.pricing` and
`gcp.catalog`, tabulated so that a vectorised lookup gives the same number.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from gcp.catalog import Catalog, load_catalog
from gcp.pricing import bucket_is_regional, sql_instance_hourly, sud_cost, tiered_egress_cost
from gcp.spec import DeploymentSpec

STORAGE_CLASSES = ("STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE")
DISK_TYPES = ("pd-standard", "pd-balanced", "pd-ssd")
NETWORK_TIERS = ("PREMIUM", "STANDARD")
#: Graph node kinds, in node order: services, the deployment's network, databases, buckets
#: (the resource order of `gcp.backend.DeploymentBackend.telemetry`).
NODE_KINDS = ("service", "network", "database", "bucket")
_OPEN = 1e18  # GiB: stands for "no upper edge" in the egress segments


@dataclass(frozen=True)
class ModelParams:
    """Application-model parameters that a spec does not carry (docs/simulator.md, "Parameters")."""

    #: CPU time of one query on one Cloud SQL vCPU (assumption: a simple indexed OLTP query).
    db_ms_per_query: float = 4.0
    #: CPU utilisation the spec's SQL tier runs at when demand is at its mean level.
    db_base_utilisation: float = 0.5
    #: Time to first byte of a Cloud Storage read (same for every class; assumption).
    gcs_latency_ms: float = 30.0
    #: Extra round-trip latency of the STANDARD network tier (public internet; assumption).
    standard_tier_extra_ms: float = 25.0
    #: Share of failed calls that the caller retries once (overload amplification).
    retry_share: float = 0.5
    #: Average object size, for the object_count metric (assumption).
    object_mib: float = 4.0
    #: Daily growth of a database's data, as a share of its data at mean demand (assumption).
    db_growth_per_day: float = 0.01


@dataclass
class Topology:
    """Static arrays of one spec. Shapes: S services, D databases, B buckets, V = S + 1 + D + B nodes."""

    spec: DeploymentSpec
    catalog: Catalog
    params: ModelParams
    zones: list[str]
    # services
    service_names: list[str]
    cpu_ms: np.ndarray
    slo_ms: np.ndarray
    target_cpu: np.ndarray
    rep_min: np.ndarray
    rep_max: np.ndarray
    duty: np.ndarray
    ladder: np.ndarray  # (S, L) global machine indices, padded with the top size
    ladder_len: np.ndarray
    zone_order: np.ndarray  # (S, Z) zone indices, the spec's zones first
    # machine table (all catalog machine types)
    machine_names: list[str]
    m_vcpu: np.ndarray
    m_ram: np.ndarray
    m_hour: np.ndarray
    m_hour_spot: np.ndarray
    m_sud_slope: np.ndarray  # (M, 4) cost per hour used in each quarter of the month, at 1 $/h
    sud_knots: np.ndarray  # (5,) hours: 0, 182.5, 365, 547.5, 730
    disk_price: np.ndarray  # (3,) per GiB-month, DISK_TYPES order
    # databases
    db_names: list[str]
    tier_names: list[str]
    t_vcpu: np.ndarray
    t_ram: np.ndarray
    t_hour_zonal: np.ndarray
    t_hour_regional: np.ndarray
    db_backup_gib: np.ndarray
    db_max_conn: np.ndarray
    # buckets
    bucket_names: list[str]
    b_size: np.ndarray
    b_read_month: np.ndarray
    b_ops_a_month: np.ndarray
    b_ops_b_month: np.ndarray
    b_price: np.ndarray  # (B, 4) GiB-month price of each class at the bucket's location type
    class_retrieval: np.ndarray  # (4,)
    class_ops_a: np.ndarray  # (4,) per 1000
    class_ops_b: np.ndarray
    # network
    lb_enabled: bool
    cdn_hit_ratio: float
    capacity_scaler: float
    egress_month: float
    egress_segments: np.ndarray  # (2 tiers, 3, [lower GiB, upper GiB, $/GiB]) per month
    carbon_g_per_kwh: float
    # graph
    node_names: list[str]
    node_kind: np.ndarray  # (V,) index into NODE_KINDS
    calls: np.ndarray  # (V, V) 1 where row calls column
    sync: np.ndarray  # (V, V) the calls a request waits for (latency and errors travel back)
    weights: np.ndarray  # (V, V) calls per request of the caller
    entries: np.ndarray  # node indices where external demand enters
    base_rate: np.ndarray  # (V,) requests/s at demand level 1
    depth: int
    initial: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_services(self) -> int:
        return len(self.service_names)

    @property
    def n_databases(self) -> int:
        return len(self.db_names)

    @property
    def n_buckets(self) -> int:
        return len(self.bucket_names)

    @property
    def n_nodes(self) -> int:
        return len(self.node_names)

    @property
    def net_node(self) -> int:
        return self.n_services

    @property
    def edge_index(self) -> np.ndarray:
        """(2, E) int64 source/target node pairs, the torch-geometric layout."""
        src, dst = np.nonzero(self.calls)
        return np.stack([src, dst]).astype(np.int64)

    def machine_index(self, name: str) -> int:
        return self.machine_names.index(name)


def _sud_slopes(catalog: Catalog, knots: np.ndarray, schedule: str | None) -> np.ndarray:
    """Per-quarter cost slope of one 1 $/h VM, derived from `gcp.pricing.sud_cost` itself."""
    cum = np.array([sud_cost(1.0, float(h), schedule, catalog) for h in knots])
    return np.diff(cum) / np.diff(knots)


def _egress_table(catalog: Catalog) -> np.ndarray:
    """Segments (tier, k, [lower, upper, $/GiB]) of the monthly tiered egress price.

    The slopes are read back from `gcp.pricing.tiered_egress_cost`, so the vectorised
    sum over segments equals it at every volume.
    """
    table = np.zeros((len(NETWORK_TIERS), 3, 3))
    for i, tier in enumerate(NETWORK_TIERS):
        edges = [0.0] + [float(u) for u, _ in catalog.network["egress_tiers_gib"][tier] if u is not None]
        edges.append(edges[-1] + 1e9)  # the open last tier
        for k, (lo, hi) in enumerate(itertools.pairwise(edges)):
            slope = (tiered_egress_cost(hi, tier, catalog) - tiered_egress_cost(lo, tier, catalog)) / (hi - lo)
            table[i, k] = (lo, _OPEN if k == len(edges) - 2 else hi, slope)
        for k in range(len(edges) - 1, 3):  # unused segments: empty
            table[i, k] = (_OPEN, _OPEN, 0.0)
    return table


def compile_spec(spec: DeploymentSpec, params: ModelParams | None = None) -> Topology:
    """Turn a validated spec into a Topology (services, databases, buckets and the call graph)."""
    catalog = load_catalog()
    params = params or ModelParams()
    zones = catalog.zones(spec.region)
    machine_names = catalog.machine_type_names
    machines = [catalog.machine_type(n) for n in machine_names]
    knots = np.array(catalog.sud_schedule("max20")[0]) * catalog.hours_per_month
    knots = np.concatenate([[0.0], knots])
    services = spec.services
    ladders = [[machine_names.index(n) for n in catalog.machine_family_ladder(s.machine_type)] for s in services]
    width = max((len(lad) for lad in ladders), default=1)
    ladder = np.array([lad + [lad[-1]] * (width - len(lad)) for lad in ladders], dtype=np.intp).reshape(
        len(services), width
    )
    zone_order = np.zeros((len(services), len(zones)), dtype=np.intp)
    for i, svc in enumerate(services):
        own = [zones.index(z) for z in spec.zones(svc)]
        zone_order[i] = own + [z for z in range(len(zones)) if z not in own]
    tier_names = catalog.sql_tier_ladder()
    tiers = [catalog.sql_tier(n) for n in tier_names]
    classes = catalog.storage_classes

    topo = Topology(
        spec=spec,
        catalog=catalog,
        params=params,
        zones=zones,
        service_names=[s.name for s in services],
        cpu_ms=np.array([s.cpu_ms_per_request for s in services], dtype=np.float64),
        slo_ms=np.array([s.slo_p99_ms for s in services], dtype=np.float64),
        target_cpu=np.array([s.autoscaler_target_cpu for s in services], dtype=np.float64),
        rep_min=np.array([s.replicas.min for s in services], dtype=np.int64),
        rep_max=np.array([s.replicas.max for s in services], dtype=np.int64),
        duty=np.array([s.hours_per_month / catalog.hours_per_month for s in services], dtype=np.float64),
        ladder=ladder,
        ladder_len=np.array([len(lad) for lad in ladders], dtype=np.intp),
        zone_order=zone_order,
        machine_names=machine_names,
        m_vcpu=np.array([m.vcpu for m in machines]),
        m_ram=np.array([m.ram_gib for m in machines]),
        m_hour=np.array([m.hour for m in machines]),
        m_hour_spot=np.array([m.hour_spot for m in machines]),
        m_sud_slope=np.array([_sud_slopes(catalog, knots, m.sud) for m in machines]),
        sud_knots=knots,
        disk_price=np.array([catalog.disk_types[d]["gib_month"] for d in DISK_TYPES]),
        db_names=[d.name for d in spec.databases],
        tier_names=tier_names,
        t_vcpu=np.array([t.vcpu for t in tiers]),
        t_ram=np.array([t.ram_gib for t in tiers]),
        t_hour_zonal=np.array([sql_instance_hourly(n, "ZONAL", catalog) for n in tier_names]),
        t_hour_regional=np.array([sql_instance_hourly(n, "REGIONAL", catalog) for n in tier_names]),
        db_backup_gib=np.array([d.backup_gib if d.backup_enabled else 0.0 for d in spec.databases]),
        db_max_conn=np.array([d.max_connections for d in spec.databases], dtype=np.float64),
        bucket_names=[b.name for b in spec.buckets],
        b_size=np.array([b.size_gib for b in spec.buckets], dtype=np.float64),
        b_read_month=np.array([b.read_gib_month for b in spec.buckets], dtype=np.float64),
        b_ops_a_month=np.array([b.class_a_ops_month for b in spec.buckets], dtype=np.float64),
        b_ops_b_month=np.array([b.class_b_ops_month for b in spec.buckets], dtype=np.float64),
        b_price=np.array(
            [
                [classes[c]["gib_month_regional" if bucket_is_regional(b) else "gib_month_multi_region"]
                 for c in STORAGE_CLASSES]
                for b in spec.buckets
            ],
            dtype=np.float64,
        ).reshape(len(spec.buckets), len(STORAGE_CLASSES)),
        class_retrieval=np.array([classes[c]["retrieval_per_gib"] for c in STORAGE_CLASSES]),
        class_ops_a=np.array([classes[c]["class_a_per_1000"] for c in STORAGE_CLASSES]),
        class_ops_b=np.array([classes[c]["class_b_per_1000"] for c in STORAGE_CLASSES]),
        lb_enabled=spec.network.load_balancer.enabled,
        cdn_hit_ratio=spec.network.load_balancer.cdn_hit_ratio,
        capacity_scaler=spec.network.load_balancer.capacity_scaler,
        egress_month=spec.network.egress_gib_month,
        egress_segments=_egress_table(catalog),
        carbon_g_per_kwh=catalog.carbon_intensity(spec.region),
        node_names=[],
        node_kind=np.zeros(0, dtype=np.intp),
        calls=np.zeros((0, 0)),
        sync=np.zeros((0, 0)),
        weights=np.zeros((0, 0)),
        entries=np.zeros(0, dtype=np.intp),
        base_rate=np.zeros(0),
        depth=1,
    )
    topo.initial = _initial_state(spec, topo)
    _build_graph(spec, topo)
    return topo


def _initial_state(spec: DeploymentSpec, topo: Topology) -> dict[str, np.ndarray]:
    """The spec's own settings, as the arrays the core resets to."""
    pos = []
    for i, svc in enumerate(spec.services):
        ladder = list(topo.ladder[i, : topo.ladder_len[i]])
        pos.append(ladder.index(topo.machine_index(svc.machine_type)))
    lb = spec.network.load_balancer
    return {
        "pos": np.array(pos, dtype=np.int64),
        "target": np.array([s.replicas.target for s in spec.services], dtype=np.int64),
        "spot": np.array([s.spot_fraction for s in spec.services], dtype=np.float64),
        "zones_k": np.array([len(spec.zones(s)) for s in spec.services], dtype=np.int64),
        "disk_type": np.array([DISK_TYPES.index(s.disk_type) for s in spec.services], dtype=np.int64),
        "disk_gb": np.array([s.disk_size_gb for s in spec.services], dtype=np.float64),
        "tier": np.array([topo.tier_names.index(d.tier) for d in spec.databases], dtype=np.int64),
        "ha": np.array([d.availability_type == "REGIONAL" for d in spec.databases], dtype=bool),
        "replicas": np.array([d.read_replicas for d in spec.databases], dtype=np.int64),
        "db_disk": np.array([d.disk_size_gb for d in spec.databases], dtype=np.float64),
        "klass": np.array([STORAGE_CLASSES.index(b.storage_class) for b in spec.buckets], dtype=np.int64),
        "cdn": np.array(lb.enabled and lb.cdn),
        "net_tier": np.array(NETWORK_TIERS.index(spec.network.tier)),
        "max_rate": np.array(lb.max_rate_per_instance, dtype=np.float64),
    }


def _build_graph(spec: DeploymentSpec, topo: Topology) -> None:
    """Nodes, call edges, calibrated base demand and per-edge call weights.

    Calibration (docs/simulator.md, "Demand"): at demand level 1 every service runs
    its spec'd target replicas at its autoscaler target CPU, except load-balancer
    backends, which receive max_rate_per_instance x target replicas x target CPU;
    each database runs at `db_base_utilisation`; a bucket receives its class A+B
    operations rate. An edge u -> v carries w_uv = base_v / sum(base of v's callers)
    calls per request of u, so base demand is reproduced exactly when it flows in.
    """
    ini, p = topo.initial, topo.params
    names = [*topo.service_names, spec.network.vpc_name, *topo.db_names, *topo.bucket_names]
    kinds = [0] * topo.n_services + [1] + [2] * topo.n_databases + [3] * topo.n_buckets
    index = {n: i for i, n in enumerate(names)}
    v = len(names)
    calls = np.zeros((v, v))
    for dep in spec.dependencies:
        calls[index[dep.source], index[dep.target]] = 1.0
    lb = spec.network.load_balancer
    net = topo.n_services
    if lb.enabled:
        for backend in lb.backends:
            calls[net, index[backend]] = 1.0
    base = np.zeros(v)
    vcpu = topo.m_vcpu[topo.ladder[np.arange(topo.n_services), ini["pos"]]]
    base[:net] = topo.target_cpu * ini["target"] * vcpu * 1000.0 / topo.cpu_ms
    backends = [index[b] for b in lb.backends] if lb.enabled else []
    for b in backends:
        base[b] = lb.max_rate_per_instance * ini["target"][b] * topo.target_cpu[b]
    d0 = net + 1
    base[d0 : d0 + topo.n_databases] = (
        p.db_base_utilisation * topo.t_vcpu[ini["tier"]] * (1 + ini["replicas"]) * 1000.0 / p.db_ms_per_query
    )
    seconds_month = topo.catalog.hours_per_month * 3600.0
    b0 = d0 + topo.n_databases
    base[b0:] = np.maximum((topo.b_ops_a_month + topo.b_ops_b_month) / seconds_month, 1e-3)
    if backends:
        base[net] = sum(base[b] for b in backends)
    has_caller = calls.sum(axis=0) > 0
    entries = [i for i in range(net) if not has_caller[i]]
    if lb.enabled and backends:
        entries = [net, *entries]
    caller_base = calls.T @ base  # per target: sum of its callers' base
    weights = calls * np.where(caller_base > 0, base / np.maximum(caller_base, 1e-12), 0.0)[None, :]
    if not lb.enabled or not backends:  # a network without a load balancer carries no requests
        base[net] = 0.0
    topo.node_names = names
    topo.node_kind = np.array(kinds, dtype=np.intp)
    topo.calls = calls
    # A service that may take longer than its caller's own SLO cannot be waited for: such a
    # call is asynchronous (e.g. a queue worker), so its latency and errors do not travel back.
    slo = np.full(v, np.inf)
    slo[:net] = topo.slo_ms
    slo[net] = slo[:net][calls[net, :net] > 0].min(initial=np.inf)
    looser = np.array(kinds)[None, :] == 0
    looser = looser & (slo[None, :] > slo[:, None])
    topo.sync = calls * ~looser
    topo.weights = weights
    topo.entries = np.array(entries, dtype=np.intp)
    topo.base_rate = base
    topo.depth = _longest_path(calls)


def _longest_path(calls: np.ndarray) -> int:
    """Edges on the longest call path (>= 1): how many propagation rounds reach a fixed point."""
    reach = calls.copy()
    depth = 1
    while reach.any() and depth <= len(calls):
        reach = reach @ calls
        if reach.any():
            depth += 1
    return depth
