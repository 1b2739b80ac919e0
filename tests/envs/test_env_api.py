"""PettingZoo API, seeding, spaces, masks and the DeploymentSpec round trip."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

from envs.knobs import AGENTS
from envs.provisioning import ProvisioningEnv
from gcp.backend import DeploymentBackend
from gcp.catalog import load_catalog
from gcp.spec import DeploymentSpec
from gcp.telemetry import METRICS


def test_parallel_api_test_passes():
    parallel_api_test(ProvisioningEnv("web"), num_cycles=60)


def test_seed_test_passes():
    parallel_seed_test(lambda: ProvisioningEnv("ml", "burst"), num_cycles=30)


@pytest.mark.parametrize("scenario", ["web", "batch", "ml"])
def test_observations_stay_inside_their_spaces_under_random_masked_play(scenario):
    env = ProvisioningEnv(scenario, "burst")
    obs, _ = env.reset(seed=5)
    for _ in range(120):
        for agent in AGENTS:
            assert env.observation_space(agent).contains(obs[agent]), agent
        actions = {a: env.action_space(a).sample(mask=obs[a]["action_mask"]) for a in AGENTS}
        obs, rewards, _, trunc, infos = env.step(actions)
        assert all(np.isfinite(r) for r in rewards.values())
        assert all(info["masked_ignored"] == 0 for info in infos.values())
        DeploymentSpec.from_data(env.deployment_spec().model_dump(mode="json"))
        if any(trunc.values()):
            break
    assert env.core.state.t == 120


def test_masked_actions_are_never_applied():
    env = ProvisioningEnv("web")
    env.reset(seed=0)
    core = env.core
    before = core.state.copy()
    masks = core.masks
    # choose, for every slot, a choice that is masked right now where one exists
    actions = {}
    for agent in AGENTS:
        slots = core.slots[agent]
        picks = []
        for knob, count in zip(slots.knobs, slots.counts, strict=True):
            m = masks[agent][knob.name][0]
            for r in range(count):
                bad = np.nonzero(m[r] == 0)[0]
                picks.append(int(bad[0]) if len(bad) else 0)
        actions[agent] = np.array(picks)
    _, _, _, _, infos = env.step(actions)
    assert sum(info["masked_ignored"] for info in infos.values()) > 0
    st = core.state
    for name in ("target", "pos", "spot", "disk_type", "disk_gb", "zones_k", "klass", "next_tier", "next_ha",
                 "replicas", "db_disk", "cdn", "net_tier", "max_rate"):
        assert np.array_equal(getattr(st, name), getattr(before, name)), name
    assert env.deployment_spec() == env.spec0


def test_replica_bounds_and_quota_are_masked():
    env = ProvisioningEnv("web")
    env.reset(seed=0)
    core = env.core
    m = core.masks["compute"]["replicas"][0]  # frontend target 3 in [2, 10]: -2 invalid, -1 valid
    assert m[0].tolist() == [1, 0, 1, 1, 1, 1]
    core.state.quota[:] = (core.state.target * core._vcpu(core.state.pos)).sum()  # no headroom left
    masks = core.compute_masks()
    assert not masks["compute"]["replicas"][0][:, 3:].any()  # no scale-out
    assert not masks["compute"]["machine"][0][:, 2].any()  # no size-up


def test_env_is_a_deployment_backend_with_the_telemetry_layout():
    env = ProvisioningEnv("web")
    env.reset(seed=0)
    assert isinstance(env, DeploymentBackend)
    tele = env.telemetry()
    spec = env.deployment_spec()
    rows = {"compute": len(spec.services), "network": 1, "database": len(spec.databases),
            "storage": len(spec.buckets)}
    for domain, arr in tele.items():
        assert arr.shape == (rows[domain], len(METRICS[domain]))


def test_actions_change_the_spec_and_state_is_global():
    env = ProvisioningEnv("web")
    env.reset(seed=0)
    act = {a: np.zeros(env.action_space(a).shape, dtype=np.int64) for a in AGENTS}
    act["compute"][0] = 3  # frontend +1 replica
    act["database"][0] = 2  # shop-db one tier up
    env.step(act)
    spec = env.deployment_spec()
    assert spec.service("frontend").replicas.target == 4
    ladder = load_catalog().sql_tier_ladder()
    assert spec.databases[0].tier == ladder[ladder.index("db-custom-4-15360") + 1]
    assert env.state().shape == env.state_space.shape
    g = env.graph()
    assert g["edge_index"].shape[0] == 2 and g["node_features"].shape[0] == len(g["nodes"])
