"""Cost and energy of one step, for a whole batch of environments at once.

Every price is the one `gcp.pricing.price_spec` uses (tabulated in `envs.topology`
from `gcp.pricing`'s own functions), so a spec left unchanged costs in the
simulator exactly what `price_spec` says for the same hours (tested).
"""

from __future__ import annotations

import numpy as np

from envs.rowops import row_sum
from envs.topology import Topology


def sud_cumulative(slopes: np.ndarray, knots: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """Cost at 1 $/h of one VM that ran `hours` this month (sustained-use schedule by `slopes` (..., 4))."""
    lo, hi = knots[:-1], knots[1:]
    span = np.clip(hours[..., None] - lo, 0.0, None)
    span = np.concatenate([np.minimum(span[..., :-1], hi[:-1] - lo[:-1]), span[..., -1:]], axis=-1)
    return (span * slopes).sum(axis=-1)


def egress_month_cost(segments: np.ndarray, tier: np.ndarray, gib: np.ndarray) -> np.ndarray:
    """`gcp.pricing.tiered_egress_cost` for arrays of monthly volumes `gib` on network tiers `tier`."""
    lower, width, price = segments[..., 0], segments[..., 1] - segments[..., 0], segments[..., 2]
    total = np.zeros(np.shape(gib))
    for j in range(segments.shape[1]):  # a few segments, each a whole-batch operation
        span = np.clip(gib - np.take(lower[:, j], tier), 0.0, np.take(width[:, j], tier))
        total += span * np.take(price[:, j], tier)
    return total


def vm_hour_rate(topo: Topology, mt: np.ndarray, spot: np.ndarray, running: np.ndarray,
                 spot_mult: np.ndarray) -> np.ndarray:
    """Mean list USD/h per VM of each group (N, S): its on-demand and spot VMs at their prices."""
    spot_n = np.floor(running * spot + 1e-9)
    total = (running - spot_n) * topo.m_hour[mt] + spot_n * topo.m_hour_spot[mt] * spot_mult[:, None]
    return total / np.maximum(running, 1)


def surge_cost(topo: Topology, st, mt: np.ndarray) -> np.ndarray:
    """USD (N, S) a rolling replace adds to a step billed at the new template for all of it.

    The replaced VMs ran `replace_old_s` VM-seconds at their old template's rate; the surge VMs
    did not exist for the first `replace_early_s` VM-seconds, so those are taken back at the new
    rate (docs/simulator.md, "Rolling replace").
    """
    new_rate = vm_hour_rate(topo, mt, st.spot, st.running, st.spot_mult)
    return (st.replace_rate * st.replace_old_s - new_rate * st.replace_early_s) / 3600.0 * topo.duty


def step_costs(topo: Topology, st, mt: np.ndarray, dt_h: float, r_net: np.ndarray,
               r_bucket: np.ndarray) -> dict[str, np.ndarray]:
    """USD spent in one step per domain, shape (N,) each; also per-service compute cost (N, S)."""
    cat = topo.catalog
    month_h = cat.hours_per_month
    # Every env of a batch is at the same hour of the month, so the SUD increment is a small
    # (machine type, service) table per step, gathered per env.
    used_before = st.month_hours
    used_after = used_before + dt_h * topo.duty
    inc = (sud_cumulative(topo.m_sud_slope[:, None, :], topo.sud_knots, used_after[None, :])
           - sud_cumulative(topo.m_sud_slope[:, None, :], topo.sud_knots, used_before[None, :]))
    spot_n = np.floor(st.running * st.spot + 1e-9)
    od_n = st.running - spot_n
    sud = inc[mt, np.arange(topo.n_services)[None, :]]
    on_demand = od_n * topo.m_hour[mt] * sud
    spot = spot_n * topo.m_hour_spot[mt] * st.spot_mult[:, None] * dt_h * topo.duty
    disks = st.running * st.disk_gb * topo.disk_price[st.disk_type] * dt_h * topo.duty / month_h
    per_service = on_demand + spot + disks + surge_cost(topo, st, mt)

    sql = cat.sql
    hourly = np.where(st.ha, topo.t_hour_regional[st.tier], topo.t_hour_zonal[st.tier])
    disk_rate = np.where(st.ha, sql["ssd_gib_month_regional"], sql["ssd_gib_month_zonal"])
    db = (
        hourly
        + st.replicas * topo.t_hour_zonal[st.tier]
        + (st.db_disk * disk_rate + st.replicas * st.db_disk * sql["ssd_gib_month_zonal"]) / month_h
        + topo.db_backup_gib * sql["backup_gib_month"] / month_h
    ) * dt_h

    months = dt_h / month_h
    storage = (
        topo.b_size * np.take(topo.b_price, st.klass + np.arange(topo.n_buckets) * topo.b_price.shape[1])
        + r_bucket * (
            topo.b_read_month * topo.class_retrieval[st.klass]
            + topo.b_ops_a_month * topo.class_ops_a[st.klass] / 1000.0
            + topo.b_ops_b_month * topo.class_ops_b[st.klass] / 1000.0
        )
    ) * months

    net = cat.network
    egress = topo.egress_month * r_net
    hit = np.where(st.cdn, topo.cdn_hit_ratio, 0.0) if topo.lb_enabled else np.zeros_like(r_net)
    network = (
        egress_month_cost(topo.egress_segments, st.net_tier, egress * (1.0 - hit))
        + egress * hit * net["cdn_cache_egress_per_gib"]
    ) * months
    if topo.lb_enabled:
        network = network + net["forwarding_rule_hour"] * dt_h
    return {
        "compute": row_sum(per_service),
        "storage": row_sum(storage),
        "network": network,
        "database": row_sum(db),
        "per_service": per_service,
    }


def step_energy_kwh(topo: Topology, st, mt: np.ndarray, dt_h: float, util: np.ndarray,
                    db_util: np.ndarray, egress_gib: np.ndarray) -> dict[str, np.ndarray]:
    """Energy per domain in one step (Cloud Carbon Footprint coefficients, catalog `energy`)."""
    e = topo.catalog.energy
    watts = e["vcpu_watts_min"] + np.clip(util, 0.0, 1.0) * (e["vcpu_watts_max"] - e["vcpu_watts_min"])
    compute = (st.running * topo.duty * (topo.m_vcpu[mt] * watts / 1000.0 + topo.m_ram[mt] * e["memory_kwh_per_gib_hour"]))
    disk_wh = np.where(st.disk_type == 0, e["hdd_wh_per_tb_hour"], e["ssd_wh_per_tb_hour"])
    compute = compute + st.running * topo.duty * st.disk_gb / 1024.0 * disk_wh / 1000.0
    db_watts = e["vcpu_watts_min"] + np.clip(db_util, 0.0, 1.0) * (e["vcpu_watts_max"] - e["vcpu_watts_min"])
    instances = 1.0 + st.ha + st.replicas
    db = instances * (topo.t_vcpu[st.tier] * db_watts / 1000.0 + topo.t_ram[st.tier] * e["memory_kwh_per_gib_hour"])
    db = db + instances * st.db_disk / 1024.0 * e["ssd_wh_per_tb_hour"] / 1000.0
    storage = topo.b_size / 1024.0 * e["hdd_wh_per_tb_hour"] / 1000.0 * np.ones_like(st.klass, dtype=np.float64)
    pue = e["pue"] * dt_h
    return {
        "compute": row_sum(compute) * pue,
        "storage": row_sum(storage) * pue,
        "network": egress_gib * 1.073741824 * e["network_kwh_per_gb"] * e["pue"],
        "database": row_sum(db) * pue,
    }
