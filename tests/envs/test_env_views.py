"""Render, Gymnasium/RLlib bridges, online gap filling, faults and the random graph generator."""

from __future__ import annotations

import numpy as np
import pytest

from envs.bridges import JointActionEnv
from envs.config import SimConfig
from envs.core import BatchedCore
from envs.faults import DemandSpike, PreemptionWave, QuotaCut
from envs.knobs import AGENTS
from envs.observe import LOG_COLUMNS, fill_step, normalise_scales
from envs.provisioning import ProvisioningEnv
from envs.scenarios import scenario_spec
from gcp.telemetry import METRICS, fill_missing, normalise


def test_render_draws_a_png_timeline(tmp_path):
    env = ProvisioningEnv("web", "burst", render_mode="rgb_array")
    obs, _ = env.reset(seed=1)
    for _ in range(24):
        obs, *_ = env.step({a: env.action_space(a).sample(mask=obs[a]["action_mask"]) for a in AGENTS})
    image = env.render()
    assert image.ndim == 3 and image.shape[2] == 3
    path = env.save_png(tmp_path / "timeline.png")
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_gymnasium_joint_action_env():
    from gymnasium.utils.env_checker import check_env

    env = JointActionEnv(scenario="batch")
    check_env(env, skip_render_check=True)


def test_rllib_registration_is_lazy_and_works():
    import subprocess
    import sys

    import envs.bridges as bridges

    probe = "import sys, envs.bridges; sys.exit('ray' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0  # ray is lazy
    single, multi = bridges.register_rllib()
    from ray.tune.registry import ENV_CREATOR, _global_registry

    env = _global_registry.get(ENV_CREATOR, multi)({"scenario": "ml"})
    obs, _ = env.reset(seed=0)
    assert set(obs) == set(AGENTS)
    assert _global_registry.get(ENV_CREATOR, single)({"scenario": "web"}).action_space.shape[0] > 0


def test_online_gap_filling_equals_fill_missing():
    rng = np.random.default_rng(0)
    series = rng.random((3, 4, 6, 30))
    series[rng.random(series.shape) < 0.3] = np.nan
    series[..., 5:12][:, 0] = np.nan  # a long gap: goes stale
    expected, stale = fill_missing(series)
    last, age = np.zeros((3, 4, 6)), np.full((3, 4, 6), np.inf)
    for t in range(series.shape[-1]):
        value, staleness = fill_step(series[..., t], last, age)
        assert np.array_equal(value, expected[..., t])
        assert np.array_equal(staleness, stale[..., t])


def test_one_pass_normalisation_equals_gcp_normalise():
    rng = np.random.default_rng(1)
    for agent in AGENTS:
        rows = 3
        slo = rng.uniform(50, 500, rows) if agent == "compute" else 200.0
        raw = rng.lognormal(0.0, 3.0, (5, rows, len(METRICS[agent]))) * rng.choice([-1, 1], (5, rows, 1))
        div, high = normalise_scales(agent, slo, rows)
        values = raw.copy()
        for j in LOG_COLUMNS[agent]:
            values[..., j] = np.log1p(np.maximum(values[..., j], 0.0))
        assert np.array_equal(np.clip(values / div, 0.0, high), normalise(agent, raw, slo))


def test_history_is_the_window_before_the_delayed_point():
    core = BatchedCore(scenario_spec("web"), 2, config=SimConfig(obs_missing=0.0))
    seen = []
    for _ in range(10):
        obs = core.step({})[0]["network"]
        seen.append(obs["telemetry"])
        window = core.config.window
        assert np.array_equal(obs["history"][:, -1], obs["telemetry"])
        if len(seen) > window:  # oldest first, the last `window` delayed points, nothing newer
            assert np.array_equal(obs["history"], np.stack(seen[-window:], axis=1))


def test_scripted_faults():
    spec = scenario_spec("ml")  # trainer runs half on spot
    calm = dict(demand=np.ones(289))
    base = BatchedCore(spec, 1, **calm)
    faulty = BatchedCore(spec, 1, **calm, faults=(PreemptionWave(2, 1.0), DemandSpike(4, 2, 3.0),
                                                  QuotaCut(6, 40)))
    for _ in range(2):
        base.step({})
        faulty.step({})
    trainer = faulty.topo.service_names.index("trainer")
    assert faulty.state.running[0, trainer] < base.state.running[0, trainer]
    for _ in range(2):
        base.step({})
        faulty.step({})
    e = faulty.topo.entries
    assert faulty.last.demand[0, e] == pytest.approx(3 * base.last.demand[0, e], rel=0.05)
    for _ in range(2):
        faulty.step({})
    assert faulty.state.quota[0] == 40
    assert faulty.compute_masks()["compute"]["replicas"][0][:, 3:].sum() == 0  # no scale-out over quota
    *_, info = faulty.step({})
    assert info["reward_terms"]["penalty_quota"][0] > 0


@pytest.mark.parametrize("seed", range(6))
def test_random_service_graphs_build_and_step(seed):
    from envs.random_graph import random_spec

    spec = random_spec(seed)
    env = ProvisioningEnv(spec=spec, pattern="burst")
    obs, _ = env.reset(seed=seed)
    for _ in range(10):
        for agent in AGENTS:
            assert env.observation_space(agent).contains(obs[agent])
        obs, rewards, *_ = env.step({a: env.action_space(a).sample(mask=obs[a]["action_mask"]) for a in AGENTS})
        assert all(np.isfinite(list(rewards.values())))
    assert env.deployment_spec().name == spec.name
