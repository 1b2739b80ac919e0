"""Rolling replace: a template change pays its surge VMs and no flip is free (docs/simulator.md)."""

from __future__ import annotations

import numpy as np
import pytest

from envs.config import SimConfig
from envs.core import BatchedCore
from envs.scenarios import scenario_spec
from gcp.catalog import load_catalog

CALM = SimConfig(stochastic=False)


def _machine_action(core: BatchedCore, service: int, choice: int) -> dict[str, np.ndarray]:
    act = np.zeros((1, core.slots["compute"].n_slots), dtype=np.int64)
    act[0, core.topo.n_services + service] = choice  # machine slots follow the replicas slots
    return {"compute": act}


def test_machine_change_bills_the_surge_waves_and_keeps_old_vms_serving():
    cat = load_catalog()
    wave = cat.delay_s("mig_resize") + cat.delay_s("vm_boot")
    core = BatchedCore(scenario_spec("web"), 1, demand=np.ones(289), config=CALM)
    api = 1  # 3 x n2-standard-4 over 3 zones: one wave of 3 surge VMs
    core.step({})
    static = core.last.costs["compute"][0]
    old_vcpu = core.state.prev_vcpu[0, api]
    old_rate = core.topo.m_hour[core.state.machine_of(core.topo)[0, api]]
    core.step(_machine_action(core, api, 2))  # one step up the ladder
    new_mt = core.state.machine_of(core.topo)[0, api]
    new_rate, new_vcpu = core.topo.m_hour[new_mt], core.topo.m_vcpu[new_mt]
    assert core.state.replace_old_s[0, api] == pytest.approx(3 * wave)
    surge = 3 * (old_rate * wave - new_rate * cat.delay_s("mig_resize")) / 3600
    core2 = BatchedCore(scenario_spec("web"), 1, demand=np.ones(289), config=CALM)
    core2.step({})
    core2.state.pos[0, api] += 1  # the same machine with no replace: what the step would bill
    core2.state.prev_vcpu[0, api] = new_vcpu
    core2.step({})
    assert core.last.costs["compute"][0] == pytest.approx(core2.last.costs["compute"][0] + surge)
    assert core.last.costs["compute"][0] > static
    servers = core.last.capacity[0, api] / (1000 / 25)
    share = wave / 300
    assert servers == pytest.approx(3 * (new_vcpu + (old_vcpu - new_vcpu) * share))
    core.step({})  # the replace is over: nothing more billed or blended
    assert core.state.replace_old_s[0, api] == 0
    assert core.last.costs["compute"][0] == pytest.approx(core2.last.costs["compute"][0])


def test_flipping_the_machine_every_step_costs_more_than_either_static_choice_on_average():
    import benchmarks.churn_billing as bench

    rows = bench.main()
    assert rows["machine"]["flip_cost_ratio"] > 1.02
    assert rows["disk_size"]["flip_cost_ratio"] > 1.02
    assert rows["replicas"]["flip_capacity_ratio"] < 1.0  # scale-out serves only after boot


def test_a_disruptive_operation_costs_reliability_in_the_reward_terms():
    from envs.config import RewardConfig

    def terms(weight: float, act: dict) -> dict:
        cfg = SimConfig(stochastic=False, reward=RewardConfig(disruption=weight))
        core = BatchedCore(scenario_spec("web"), 1, demand=np.ones(289), config=cfg)
        core.step({})
        return core.step(act(core))[4]["reward_terms"]

    flip = lambda core: _machine_action(core, 1, 2)  # noqa: E731
    keep = lambda core: {}  # noqa: E731
    hit, quiet, free = terms(1.0, flip), terms(1.0, keep), terms(0.0, flip)
    services = 4
    assert hit["compute_disruption"][0] == pytest.approx(1 / services)
    assert quiet["compute_disruption"][0] == 0 and hit["database_disruption"][0] == 0
    databases = 1
    assert hit["global_disruption"][0] == pytest.approx(1 / (services + databases))
    assert hit["global_reliability"][0] == pytest.approx(
        free["global_reliability"][0] - 1 / (services + databases))
    assert hit["compute_reliability"][0] == pytest.approx(free["compute_reliability"][0] - 1 / services)


def test_every_changed_knob_value_pays_the_change_cost_and_nothing_else_does():
    from envs.config import RewardConfig

    def step(cost: float, act) -> tuple[dict, np.ndarray]:
        cfg = SimConfig(stochastic=False, reward=RewardConfig(change_cost=cost))
        core = BatchedCore(scenario_spec("web"), 1, demand=np.ones(289), config=cfg)
        core.step({})
        _obs, rewards, *_rest, info = core.step(act(core))
        return info["reward_terms"], np.array([rewards[a][0] for a in sorted(rewards)])

    def storage_class(core: BatchedCore, choice: int) -> dict[str, np.ndarray]:
        act = np.zeros((1, core.slots["storage"].n_slots), dtype=np.int64)
        act[0, 0] = choice  # the first bucket's class slot: 1 + index into STORAGE_CLASSES
        return {"storage": act}

    current = lambda core: storage_class(core, int(core.state.klass[0, 0]) + 1)  # noqa: E731
    other = lambda core: storage_class(core, (int(core.state.klass[0, 0]) + 1) % 4 + 1)  # noqa: E731
    two = lambda core: {**_machine_action(core, 1, 2), **other(core)}  # noqa: E731
    keep = lambda core: {}  # noqa: E731
    quiet, _ = step(0.02, keep)
    same, _ = step(0.02, current)
    moved, paid = step(0.02, other)
    _, free = step(0.0, other)
    both, _ = step(0.02, two)
    assert quiet["penalty_changes"][0] == 0
    assert same["penalty_changes"][0] == 0  # choosing the value a knob already has changes nothing
    assert moved["penalty_changes"][0] == 1 and both["penalty_changes"][0] == 2
    assert moved["penalty"][0] == pytest.approx(quiet["penalty"][0] + 0.02, abs=1e-6)
    np.testing.assert_allclose(paid, free - 0.02, atol=1e-9)  # a shared penalty: every agent pays


def test_a_cloud_sql_tier_change_is_a_database_disruption():
    core = BatchedCore(scenario_spec("batch"), 1, demand=np.ones(289), config=CALM)
    act = np.zeros((1, core.slots["database"].n_slots), dtype=np.int64)
    act[0, 0] = 2
    info = core.step({"database": act})[4]
    assert info["reward_terms"]["database_disruption"][0] == pytest.approx(1.0)


def test_requests_the_load_balancer_rejects_are_errors_of_the_services_behind_it():
    core = BatchedCore(scenario_spec("web"), 1, demand=np.ones(289), config=CALM)
    core.step({})
    backends = np.nonzero(core._backends)[0]
    assert core.last.error[0, backends].max() < 0.01
    core.state.max_rate[:] = core.state.prev_max_rate[:] = 1.0  # a rate limit far below demand
    info = core.step({})[4]
    reject = core.last.lb_reject[0]
    assert reject > 0.5
    assert np.all(core.last.error[0, backends] >= reject - 1e-12)
    assert not core.last.slo_met[0, backends].any()
    assert info["reward_terms"]["global_reliability"][0] < 1.0 - reject + 1e-9
