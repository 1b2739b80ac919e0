"""The simulator's observation layout as named features, and its action slots as knobs.

Names come from the env itself: telemetry rows are the spec's resource names
and columns the `gcp.telemetry` metric names; context columns
use `envs.observe.CONTEXT`. The per-resource blocks
(`resources`, `pending`) have no exported column names yet, so their columns
are named here from `envs.observe.Observer._resources/_pending`; a test checks
every named column against the env's observation shapes and that the columns
left out (padding) stay zero, so drift in the env fails loudly instead of
mislabelling an explanation.
"""

from __future__ import annotations

from typing import Any

from agents.explain.features import Feature, Knob, metric_features

#: (name, label, unit, scaling, scale) of a resource-block column; None = padding.
Column = tuple[str, str, str, str, float] | None
RESOURCE_COLUMNS: dict[str, tuple[Column, ...]] = {
    "service": (
        ("target_replicas", "target replicas (share of max)", "ratio", "unit", 1.0),
        ("running_replicas", "running replicas (share of max)", "ratio", "unit", 1.0),
        ("vcpu_per_vm", "vCPUs per VM", "vCPU", "linear", 64.0),
        ("spot_fraction", "spot fraction", "ratio", "unit", 1.0),
        ("zone_share", "share of zones used", "ratio", "unit", 1.0),
        ("machine_rank", "machine size rank (share of ladder)", "ratio", "unit", 1.0),
    ),
    "bucket": (
        ("storage_class", "storage class rank (0 standard … 1 archive)", "ratio", "unit", 1.0),
        ("size", "bucket size", "GiB", "log", 1e5),
        None, None, None, None,
    ),
    "disk": (
        ("disk_type", "boot disk type rank", "ratio", "unit", 1.0),
        ("disk_gb", "boot disk size", "GB", "linear", 1000.0),
        None, None, None, None,
    ),
    "deployment": (
        ("cdn", "CDN enabled", "", "raw", 1.0),
        ("network_tier", "network tier (0 premium, 1 standard)", "", "raw", 1.0),
        ("max_rate", "load-balancer max rate per instance", "req/s", "linear", 1000.0),
        ("lb_enabled", "load balancer enabled", "", "raw", 1.0),
        None, None,
    ),
    "spread": (("zone_share", "share of zones used", "ratio", "unit", 1.0), None, None, None, None, None),
    "database": (
        ("tier_rank", "SQL tier rank (share of tiers)", "ratio", "unit", 1.0),
        ("regional", "regional HA", "", "raw", 1.0),
        ("read_replicas", "read replicas", "", "linear", 10.0),
        ("disk_gb", "SQL disk size", "GB", "linear", 1000.0),
        ("disk_used", "SQL disk used", "ratio", "unit", 1.0),
        ("operation_running", "SQL operation in flight", "", "raw", 1.0),
    ),
}
PENDING_COLUMNS: tuple[Column, ...] = (
    ("op_in_flight", "operation in flight", "", "raw", 1.0),
    ("op_remaining_s", "time left of the operation", "s", "linear", 1800.0),
    ("downtime_ahead_s", "downtime still ahead", "s", "linear", 1800.0),
)
#: Row kinds whose pending block is filled (buckets, disks and zone spread have no operations).
PENDING_KINDS = ("service", "deployment", "database")
CONTEXT_COLUMNS: dict[str, tuple[str, str, str, float]] = {
    "quota_headroom": ("CPU quota headroom", "ratio", "unit", 1.0),
    "spot_price_multiplier": ("spot price multiplier", "×", "raw", 1.0),
    "carbon_intensity_kg_per_kwh": ("grid carbon intensity", "kg/kWh", "raw", 1.0),
    "cost_vs_budget": ("deployment cost rate vs budget", "× budget", "raw", 1.0),
}


def resource_rows(topo: Any, agent: str) -> list[tuple[str, str]]:
    """(row kind, resource name) of each row of an agent's `resources`/`pending` block, in env order."""
    services = topo.service_names
    return {
        "compute": [("service", s) for s in services],
        "storage": [("bucket", b) for b in topo.bucket_names] + [("disk", s) for s in services],
        "network": [("deployment", topo.spec.name)] + [("spread", s) for s in services],
        "database": [("database", d) for d in topo.db_names],
    }[agent]


def _block(agent: str, key: str, rows: list[tuple[str, str]], columns_of) -> list[Feature]:
    out = []
    for r, (kind, resource) in enumerate(rows):
        for c, col in enumerate(columns_of(kind)):
            if col is None:
                continue
            name, label, unit, scaling, scale = col
            out.append(Feature(f"{resource}.{key}.{name}", (agent, key), (r, c), f"{label} of {resource}",
                               unit, scaling, scale))
    return out


def telemetry_rows(topo: Any, agent: str) -> tuple[list[str], list[float | None], str]:
    """Row names, each row's latency SLO (for "slo" scaling), and the row kind of a telemetry block."""
    if agent == "compute":
        return list(topo.service_names), [float(s) for s in topo.slo_ms], "service"
    if agent == "network":
        entries = [e for e in range(topo.n_services) if topo.calls[topo.net_node, e] > 0] or list(
            range(topo.n_services))
        slo = float(min(topo.slo_ms[e] for e in entries)) if entries else None
        return ["load_balancer"], [slo], ""
    if agent == "database":
        return list(topo.db_names), [None] * topo.n_databases, "database"
    return list(topo.bucket_names), [None] * topo.n_buckets, "bucket"


def peer_features(topo: Any, agent: str) -> list[Feature]:
    """Other agents' telemetry that a MADDPG actor reads through the dependency graph.

    The graph's node features are built from every agent's observed telemetry
    (`agents.observation.node_features`: the `NODE_METRICS` columns of each row),
    so these values are part of what the actor sees, under their own names.
    """
    from agents.observation import NODE_METRICS

    out = []
    for other, cols in NODE_METRICS.items():
        if other == agent:
            continue
        rows, slos, kind = telemetry_rows(topo, other)
        out += [f for f in metric_features(other, rows, (other, "telemetry"), slos, kind)  # type: ignore[arg-type]
                if f.index[1] in cols]
    return out


def agent_features(core: Any, agent: str, history: bool = True, peers: bool = False) -> tuple[Feature, ...]:
    """Every scalar of `agent`'s observation with a name, in the env's layout.

    history: include the earlier points of the telemetry window (the actor sees them;
    the env's `history` is time-major, (window, rows, metrics), oldest first, newest = telemetry);
    peers: include other agents' telemetry that reaches the actor through the dependency graph.
    """
    topo = core.topo
    rows, slos, kind = telemetry_rows(topo, agent)
    feats = metric_features(agent, rows, (agent, "telemetry"), slos, kind) if rows else []
    for f in list(feats):
        r, j = f.index
        feats.append(Feature(f"{f.name}.staleness", (agent, "staleness"), f.index,
                             f"staleness of {f.text}", "ratio", "unit"))
        if history:
            window = core.config.window
            for w in range(window - 1):
                lag = window - 1 - w
                feats.append(Feature(f"{f.name}@t-{lag}", (agent, "history"), (w, r, j),
                                     f"{f.text} {lag} step{'s' if lag > 1 else ''} earlier",
                                     f.unit, f.scaling, f.scale, f.slo_ms))
    res_rows = resource_rows(topo, agent)
    feats += _block(agent, "resources", res_rows, RESOURCE_COLUMNS.__getitem__)
    feats += _block(agent, "pending", res_rows,
                    lambda k: PENDING_COLUMNS if k in PENDING_KINDS else (None,) * len(PENDING_COLUMNS))
    feats.append(Feature(f"{agent}.cost_rate", (agent, "cost_rate"), (0,),
                         f"{agent} cost rate vs budget", "× budget", "raw"))
    from envs.observe import CONTEXT

    for c, name in enumerate(CONTEXT):
        label, unit, scaling, scale = CONTEXT_COLUMNS[name]
        feats.append(Feature(name, (agent, "context"), (c,), label, unit, scaling, scale))
    if peers:
        feats += peer_features(topo, agent)
    return tuple(feats)


def choice_label(value: Any, index: int, knob: str) -> str:
    """Words for one choice: index 0 is "keep"; numbers are signed changes, multipliers get ×."""
    if index == 0:
        return "keep"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float) and knob == "lb_capacity":
        return f"×{value:g}"
    if isinstance(value, int | float):
        return f"{value:+g}"
    return str(value)


def agent_knobs(core: Any, agent: str) -> tuple[Knob, ...]:
    """One knob per action slot ("replicas[frontend]"), in the env's slot order."""
    from envs.knobs import resource_names

    out = []
    for knob, count in zip(core.slots[agent].knobs, core.slots[agent].counts, strict=True):
        names = resource_names(core.topo, knob.resource)
        for r in range(count):
            labels = tuple(choice_label(v, i, knob.name) for i, v in enumerate(knob.choices))
            out.append(Knob(f"{knob.name}[{names[r]}]", labels))
    return tuple(out)

