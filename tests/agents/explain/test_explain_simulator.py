"""The explainer on the real simulator: named features, slots, recording, real policies."""

from __future__ import annotations

import numpy as np
import pytest

from agents.explain.build import build_proxies
from agents.explain.features import gather
from agents.explain.plan import explain_plan_json
from agents.explain.policies import actor_probs, one_hot_policy
from agents.explain.simfeatures import agent_features, agent_knobs
from agents.explain.simulate import joint_observation, record, scenario_cores, views
from envs.knobs import AGENTS
from gcp.spec import load_spec
from gcp.telemetry import METRICS


class Threshold:
    """An HPA-like rule behind the policy interface: scale each service on its observed CPU."""

    name = "threshold"

    def __init__(self, core):
        self.sizes = {a: [int(n) for n in core.slots[a].nvec] for a in AGENTS}

    def act_batch(self, observations, info):
        out = {a: np.zeros((len(observations[a]["action_mask"]), len(s)), dtype=np.int64)
               for a, s in self.sizes.items()}
        cpu = observations["compute"]["telemetry"][:, :, 0]
        out["compute"][:, : cpu.shape[1]] = np.where(cpu > 0.7, 3, np.where(cpu < 0.3, 2, 0))
        return out


@pytest.fixture(scope="module")
def cores():
    return scenario_cores(load_spec("examples/web-app.yaml"), 3, ("steady", "burst"))


def test_features_address_the_env_observation_and_padding_stays_zero(cores):
    core = cores[1]
    rule = Threshold(core)
    sizes = rule.sizes
    obs, _ = record([core], one_hot_policy(rule, lambda: None, sizes), steps=40)
    for agent in AGENTS:
        feats = agent_features(core, agent, peers=True)
        X = gather(obs, feats)  # raises on any index outside the env's arrays
        assert X.shape == (len(obs[agent]["action_mask"]), len(feats))
        named = {(f.path[1], f.index) for f in feats if f.path[0] == agent}
        for key in ("resources", "pending"):
            block = obs[agent][key]
            for idx in np.ndindex(block.shape[1:]):
                if (key, idx) not in named:
                    assert not block[(slice(None), *idx)].any(), f"{agent}/{key}{idx} is unnamed but not padding"
    telemetry = {f.name.split(".", 1)[1] for f in agent_features(core, "compute") if f.path[1] == "telemetry"}
    assert telemetry == {m.name for m in METRICS["compute"]}


def test_knobs_are_the_env_slots(cores):
    core = cores[0]
    for agent in AGENTS:
        knobs = agent_knobs(core, agent)
        assert [len(k.choices) for k in knobs] == [int(n) for n in core.slots[agent].nvec]
    assert agent_knobs(core, "compute")[0].name == "replicas[frontend]"
    assert agent_knobs(core, "compute")[0].choices[3] == "+1"


def test_rule_policy_proxies_and_plan_names_only_observed_features(cores):
    rule = Threshold(cores[0])
    policy = one_hot_policy(rule, lambda: None, rule.sizes)
    obs, episodes = record(cores, policy, steps=80)
    proxies = build_proxies("threshold", views(cores[0], policy, ["compute"]), obs, episodes)
    compute = proxies.agents["compute"]
    assert compute.metrics["fidelity"] >= 0.9 and compute.metrics["max_depth"] <= 6
    replicas = compute.metrics["knobs"][0]
    assert replicas["features_used"] == ["frontend.cpu_utilization"]
    one = {a: {k: v[7] for k, v in o.items()} for a, o in obs.items()}
    chosen = {a: c[0] for a, c in rule.act_batch({a: {k: v[7:8] for k, v in o.items()} for a, o in obs.items()},
                                                None).items()}
    data = explain_plan_json(proxies, one, chosen)
    observed = {f.name for f in agent_features(cores[0], "compute")}
    named = {c["feature"] for a in data["agents"] for k in a["knobs"] for c in k["conditions"]}
    assert named and named <= observed
    assert data["unexplained"] == ["database", "network", "storage"]


def test_maddpg_probabilities_match_the_policys_own_actions(cores):
    import torch

    from agents.config import MADDPGConfig
    from agents.maddpg_policy import MADDPGPolicy
    from agents.networks import ActorSet
    from agents.sim_env import layout_of

    torch.manual_seed(0)
    core = cores[0]
    layout = layout_of(core)
    policy = MADDPGPolicy(ActorSet(layout, MADDPGConfig(hidden=16, embed=8)), layout)
    probs = actor_probs(policy)
    core.reset(0)
    obs = joint_observation(core)
    p = probs(obs)
    chosen = policy.act_batch(obs, None)
    for agent in AGENTS:
        assert np.array_equal(np.stack([b.argmax(axis=1) for b in p[agent]], axis=1), chosen[agent])
        for block in p[agent]:
            np.testing.assert_allclose(block.sum(axis=1), 1.0, rtol=1e-5)
    # the peers' telemetry the actor reads through the graph is named, not invented
    peers = {f.name for f in agent_features(core, "compute", peers=True)} - {
        f.name for f in agent_features(core, "compute")}
    assert "shop-db.cpu_utilization" in peers and "load_balancer.latency_p99_ms" in peers
