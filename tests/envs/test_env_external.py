"""A live deployment's observation (`envs.external`) is the simulator's observation when its raw
telemetry is the simulator's: same layout, normalisation, delay, gap filling, masks and rows."""

from __future__ import annotations

import numpy as np
import pytest

from envs.config import SimConfig
from envs.errors import EnvConfigError
from envs.external import costs_per_step, observe_external, spec_after
from envs.knobs import AGENTS
from envs.provisioning import ProvisioningEnv
from gcp.pricing import price_spec
from gcp.spec import DeploymentSpec, load_spec
from gcp.telemetry import METRICS

STEP_H = 300 / 3600
TELEMETRY = ("telemetry", "history", "staleness")
#: Every random event off except the observation gaps, so the raw telemetry is exact.
GAPS = SimConfig(obs_noise=0.0, obs_missing=0.3, machine_failure_per_hour=0.0,
                 spot_preemption_per_hour=0.0, zone_outage_per_hour=0.0, stockout_per_hour=0.0,
                 spot_volatility_per_day=0.0)


@pytest.fixture(scope="module")
def web(example_path) -> DeploymentSpec:
    return load_spec(example_path("web-app"))


def trajectory(spec: DeploymentSpec, config: SimConfig, steps: int, seed: int = 3):
    """The simulator held at `spec` for `steps` steps: raw telemetry and observation per step."""
    env = ProvisioningEnv(spec=spec, config=config, seed=seed)
    obs, _ = env.reset(seed)
    raws, observations = [env.telemetry()], [obs]
    keep = {a: np.zeros(env.action_space(a).shape, dtype=np.int64) for a in AGENTS}
    for _ in range(steps):
        obs, *_ = env.step(keep)
        raws.append(env.telemetry())
        observations.append(obs)
    return env, raws, observations


def visible_history(raws: list[dict], t: int, missing: list[dict] | None = None) -> dict:
    """What a monitoring system holds at step t: points 0..t-1 (one step late; at reset point 0),
    NaN where the point is missing."""
    points = []
    for k in range(max(t, 1)):
        point = {a: raws[k][a].astype(np.float64) for a in AGENTS}
        if missing is not None:
            for a in AGENTS:
                point[a][missing[k][a]] = np.nan
        points.append(point)
    return {a: np.stack([p[a] for p in points], axis=-1) for a in AGENTS}


@pytest.mark.parametrize("offset", [0.0, 400.0])
def test_observation_from_simulator_telemetry_is_the_simulators_observation(web, offset):
    config = SimConfig(stochastic=False, month_offset_hours=offset)
    env, raws, observations = trajectory(web, config, 9)
    for t in (0, 1, 2, 6, 9):
        built = observe_external(web, visible_history(raws, t), offset + t * STEP_H)
        for agent in AGENTS:
            mine, sim = built.observations[agent], observations[t][agent]
            assert set(mine) == set(sim)
            for key in mine:
                assert mine[key].shape == sim[key].shape and mine[key].dtype == sim[key].dtype, key
            for key in TELEMETRY:
                np.testing.assert_allclose(mine[key], sim[key], rtol=1e-6, atol=1e-7,
                                           err_msg=f"{agent} {key} t={t}")
            np.testing.assert_array_equal(mine["action_mask"], sim["action_mask"])
            np.testing.assert_array_equal(mine["pending"], sim["pending"])
            # a database's data share is read from its disk utilisation one step back
            np.testing.assert_allclose(mine["resources"], sim["resources"], rtol=1e-4)
            np.testing.assert_allclose(mine["context"][:3], sim["context"][:3], rtol=1e-6)
            # the same price table and sustained-use position; usage-priced items (egress,
            # bucket reads) follow demand in the simulator and the declared usage when live
            rtol = 5e-3 if agent in ("network", "storage") else 1e-5
            np.testing.assert_allclose(mine["cost_rate"], sim["cost_rate"], rtol=rtol)
            np.testing.assert_allclose(mine["context"][3], sim["context"][3], rtol=5e-3)
            assert env.observation_space(agent).contains(mine)


def test_missing_points_are_filled_as_the_simulator_fills_them(web):
    _env, raws, observations = trajectory(web, GAPS, 12, seed=5)
    # A point is fresh exactly when its staleness is 0; the simulator shows point k's
    # staleness in the observation after step k + 1 (point 0 also at reset).
    missing = [{a: observations[k + 1][a]["staleness"] > 0 for a in AGENTS} for k in range(12)]
    assert any(m[a].any() for m in missing for a in AGENTS)
    for t in (1, 4, 8, 12):
        built = observe_external(web, visible_history(raws, t, missing))
        for agent in AGENTS:
            for key in TELEMETRY:
                np.testing.assert_allclose(built.observations[agent][key], observations[t][agent][key],
                                           rtol=1e-6, atol=1e-7, err_msg=f"{agent} {key} t={t}")
    stale = [built.observations[a]["staleness"] for a in AGENTS]
    assert any((s > 0).any() for s in stale)
    assert sum(built.missing.values()) > 0


def test_points_older_than_the_limit_become_zero_with_staleness_one(web):
    history = visible_history(trajectory(web, SimConfig(stochastic=False), 6)[1], 6)
    history["compute"][0, 0, -4:] = np.nan  # 4 steps without CPU for the first service
    history["compute"][1, 0, -2:] = np.nan  # 2 steps: still carried forward
    obs = observe_external(web, history).observations["compute"]
    assert obs["telemetry"][0, 0] == 0.0 and obs["staleness"][0, 0] == 1.0
    assert obs["telemetry"][1, 0] == pytest.approx(history["compute"][1, 0, -3], rel=1e-6)
    assert obs["staleness"][1, 0] == pytest.approx(2 / 3)


def test_a_domain_without_resources_is_never_observed(web):
    data = web.model_dump(mode="json")
    data["databases"] = []
    data["dependencies"] = [d for d in data["dependencies"] if d["target"] != "shop-db"]
    spec = DeploymentSpec.from_data(data)
    _env, raws, observations = trajectory(spec, SimConfig(stochastic=False), 2)
    assert raws[0]["database"].shape == (0, len(METRICS["database"]))
    built = observe_external(spec, visible_history(raws, 2))
    database = built.observations["database"]
    for key in TELEMETRY:
        np.testing.assert_array_equal(database[key], observations[2]["database"][key])
    assert (database["telemetry"] == 0).all() and (database["staleness"] == 1).all()
    assert built.spaces["database"].contains(database)


def test_observed_disk_utilisation_is_the_database_data_share(web):
    history = visible_history(trajectory(web, SimConfig(stochastic=False), 2)[1], 2)
    history["database"][0, 2, :] = 0.3
    assert observe_external(web, history).observations["database"]["resources"][0, 4] == \
        pytest.approx(0.3)
    history["database"][0, 2, :] = np.nan  # never observed: the spec's estimate (90 of 100 GB)
    assert observe_external(web, history).observations["database"]["resources"][0, 4] == \
        pytest.approx(0.9, rel=1e-3)


def test_month_average_cost_is_the_price_table(web):
    report = price_spec(web)
    costs = costs_per_step(web, 300)
    for domain, total in report.by_domain().items():
        assert costs[domain][0] == pytest.approx(total / report.hours * STEP_H)


def test_bad_telemetry_layout_names_the_domain(web):
    history = visible_history(trajectory(web, SimConfig(stochastic=False), 1)[1], 1)
    with pytest.raises(EnvConfigError, match=r"'storage'.*expected \(1, 4"):
        observe_external(web, {**history, "storage": np.zeros((2, 4, 3))})
    with pytest.raises(EnvConfigError, match="no 'network' domain"):
        observe_external(web, {a: v for a, v in history.items() if a != "network"})


def test_spec_after_applies_choices_as_the_simulator_does(web):
    env = ProvisioningEnv(spec=web, config=SimConfig(stochastic=False))
    actions = {a: np.zeros(env.action_space(a).shape, dtype=np.int64) for a in AGENTS}
    actions["compute"][1] = 3  # api: +1 replica
    actions["compute"][0] = 5  # frontend: +4 replicas
    after = spec_after(web, actions)
    assert after.service("api").replicas.target == web.service("api").replicas.target + 1
    assert after.service("frontend").replicas.target == web.service("frontend").replicas.target + 4
    assert after.service("cache").replicas.target == web.service("cache").replicas.target
