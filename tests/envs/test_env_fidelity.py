"""Fidelity: price table, trace replay, provisioning delays, M/M/c, zone outages."""

from __future__ import annotations

import math

import numpy as np
import pytest

from envs.config import SimConfig
from envs.core import BatchedCore
from envs.faults import ZoneOutage
from envs.queueing import MMCTable, erlang_c, mmc_mean_response, wait_quantile
from envs.scenarios import scenario_spec
from envs.workload import WorkloadSpec
from gcp.catalog import load_catalog
from gcp.pricing import price_spec

CALM = SimConfig(stochastic=False)


@pytest.mark.parametrize("scenario", ["web", "batch", "ml"])
def test_static_spec_for_24h_costs_what_gcp_pricing_says(scenario):
    spec = scenario_spec(scenario)
    core = BatchedCore(spec, 2, demand=np.ones(289), config=CALM)
    total = np.zeros(2)
    for _ in range(288):
        core.step({})
        total += core.last.cost
    expected = price_spec(spec, hours=24).total
    assert total == pytest.approx([expected, expected], rel=1e-12)


def test_replay_reproduces_the_trace_series_exactly():
    from trace_pipeline.workloads import WorkloadConfig, generate

    # the shipped replay series (a processed trace window) has 83 five-minute steps
    config = SimConfig(stochastic=False, steps=80)
    core = BatchedCore(scenario_spec("web"), 1, workload=WorkloadSpec("web", "replay"), config=config)
    series = generate(WorkloadConfig(scenario="web", pattern="replay", steps=81)).demand[0]
    assert np.array_equal(core.demand[0, 0], series)
    entry = core.topo.entries[0]
    for t in range(1, 81):
        core.step({})
        offered = core.last.demand[0, entry] / core.topo.base_rate[entry]
        assert offered == pytest.approx(series[t], rel=1e-12)


def test_scale_out_waits_for_the_catalog_boot_delay():
    core = BatchedCore(scenario_spec("web"), 1, demand=np.ones(289), config=CALM)
    core.step({})
    vms = core.last.capacity[0, 1] / (1000 / 25) / 4  # api: 3 x n2-standard-4, 25 ms per request
    assert vms == pytest.approx(3.0)
    act = np.zeros(core.slots["compute"].n_slots, dtype=np.int64)
    act[1] = 5  # api +4
    core.step({"compute": act[None]})
    boot = load_catalog().delay_s("vm_boot")
    vms = core.last.capacity[0, 1] / (1000 / 25) / 4
    assert vms == pytest.approx(3 + 4 * (1 - boot / 300))
    core.step({})
    assert core.last.capacity[0, 1] / (1000 / 25) / 4 == pytest.approx(7.0)


def test_sql_tier_change_takes_the_catalog_delay_with_zonal_downtime():
    cat = load_catalog()
    change, down = cat.delay_s("sql_tier_change"), cat.delay_s("sql_tier_change_downtime_zonal")
    core = BatchedCore(scenario_spec("batch"), 1, demand=np.ones(289), config=CALM)  # ZONAL, 2 vCPU
    d0 = core.topo.net_node + 1
    act = np.zeros(core.slots["database"].n_slots, dtype=np.int64)
    act[0] = 2  # one step up the tier ladder
    old_vcpu = core.topo.t_vcpu[core.state.tier[0, 0]]
    new_vcpu = core.topo.t_vcpu[core.state.tier[0, 0] + 1]
    core.step({"database": act[None]})
    servers = core.last.capacity[0, d0] / (1000 / 4)
    # step 1 covers [0, 300) s of an operation ending at 420 s, down during [120, 420)
    assert servers == pytest.approx(old_vcpu * (1 - (300 - (change - down)) / 300))
    assert core.state.db_op_s[0, 0] == pytest.approx(change - 300)
    assert core.masks["database"]["tier"][0, 0].tolist() == [1, 0, 0]  # one operation at a time
    core.step({})
    # step 2 covers [300, 600): down until 420 s, then the new tier
    frac_new = (600 - change) / 300
    avail = 1 - (change - 300) / 300
    expected = (old_vcpu * (1 - frac_new) + new_vcpu * frac_new) * avail
    assert core.last.capacity[0, d0] / (1000 / 4) == pytest.approx(expected)
    core.step({})
    assert core.last.capacity[0, d0] / (1000 / 4) == pytest.approx(new_vcpu)
    assert core.masks["database"]["tier"][0, 0].tolist() == [1, 1, 1]


@pytest.mark.parametrize(("c", "rho"), [(1, 0.5), (4, 0.8), (12, 0.6), (40, 0.95), (100, 0.3)])
def test_mmc_latency_matches_the_formula(c, rho):
    a = c * rho
    terms = sum(a**k / math.factorial(k) for k in range(c))
    top = a**c / math.factorial(c) * c / (c - a)
    erlang = top / (terms + top)
    assert erlang_c(np.array(c), np.array(a)) == pytest.approx(erlang, rel=1e-9)
    mu = 1000 / 25  # 25 ms per request
    lam = a * mu
    mean = erlang / (c * mu - lam) + 1 / mu
    assert mmc_mean_response(np.array(c), np.array(lam), np.array(mu)) == pytest.approx(mean, rel=1e-9)
    stats = MMCTable(128).lookup(np.array(c), np.array(rho)) / mu
    assert stats[0] == pytest.approx(mean, rel=2e-3)
    for q, value in zip((0.5, 0.95, 0.99), stats[1:], strict=True):
        w = max(math.log(erlang / (1 - q)), 0) / (c * mu - lam)
        assert wait_quantile(np.array(c), np.array(lam), np.array(mu), q) == pytest.approx(w, rel=1e-9, abs=1e-12)
        assert value == pytest.approx(w + 1 / mu, rel=2e-3, abs=5e-3 / mu)  # linear near the kink at W = 0


def test_core_latency_is_the_mmc_latency_of_each_service():
    core = BatchedCore(scenario_spec("web"), 1, demand=np.full(289, 1.5), config=CALM)  # api at 90 %
    core.step({})
    api = 1
    c = 3 * 4
    lam = core.last.demand[0, api]
    mu = 1000 / 25
    expected = mmc_mean_response(np.array(c), np.array(lam), np.array(mu)) * 1000
    assert core.last.mean_latency[0, api] == pytest.approx(expected, rel=2e-3)


def test_zone_outage_removes_capacity_and_latency_reaches_callers():
    spec = scenario_spec("web")
    zone = load_catalog().zones(spec.region)[0]
    calm = BatchedCore(spec, 1, demand=np.full(289, 1.5), config=CALM)
    hit = BatchedCore(spec, 1, demand=np.full(289, 1.5), config=CALM, faults=(ZoneOutage(zone, 2, 3),))
    for _ in range(2):
        calm.step({})
        hit.step({})
    s = calm.topo.n_services
    # every service spreads over the 4 zones of us-central1: a quarter of its VMs is gone
    assert hit.last.capacity[0, :s] == pytest.approx(calm.last.capacity[0, :s] * 0.75)
    # shop-db is ZONAL? no: REGIONAL, it fails over; api (called by frontend) slows down, and so does frontend
    api, frontend = 1, 0
    assert hit.last.own_latency[0, api, 2] > calm.last.own_latency[0, api, 2]
    assert hit.last.latency[0, frontend, 2] - calm.last.latency[0, frontend, 2] >= \
        hit.last.own_latency[0, api, 2] - calm.last.own_latency[0, api, 2] - 1e-9
    for _ in range(4):
        hit.step({})
        calm.step({})
    assert hit.last.capacity[0, :s] == pytest.approx(calm.last.capacity[0, :s])


def test_zonal_database_in_a_failed_zone_breaks_its_callers():
    spec = scenario_spec("batch")  # etl-metadata is ZONAL
    zone = load_catalog().zones(spec.region)[0]
    core = BatchedCore(spec, 1, demand=np.ones(289), config=CALM, faults=(ZoneOutage(zone, 1, 2),))
    core.step({})
    d0 = core.topo.net_node + 1
    assert core.last.own_error[0, d0] == 1.0
    scheduler = core.topo.service_names.index("scheduler")
    assert core.last.error[0, scheduler] == pytest.approx(1.0)
    assert not core.last.slo_met[0, scheduler]
