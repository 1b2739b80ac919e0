"""Proxies against a synthetic agent with known rules: fidelity, faithfulness, stability, size."""

from __future__ import annotations

import json

import numpy as np
import pytest
from explain_synthetic import KNOBS, features, observations, true_probs, view

from agents.explain.build import build_agent_proxy, build_proxies
from agents.explain.dataset import collect, one_hot_probs
from agents.explain.features import gather, scatter
from agents.explain.metrics import evaluate, faithfulness, fidelity
from agents.explain.proxy import AgentProxy, KnobProxy, PolicyProxies, fit_knob_proxy


@pytest.fixture(scope="module")
def data():
    obs, episode = observations(6000, seed=1)
    return collect(view(), obs, episode)


@pytest.fixture(scope="module")
def proxy(data):
    return build_agent_proxy(view(), data, seed=0)


def test_split_holds_out_whole_episodes(data):
    train, test = data.split(seed=0)
    assert len(train) + len(test) == len(data)
    assert 0.15 < len(test) / len(data) < 0.25
    assert not set(train.episode) & set(test.episode)


def test_fidelity_is_against_the_agents_real_actions_on_held_out_steps(data, proxy):
    _, test = data.split(seed=0)
    recomputed = float((proxy.predict(test.X) == test.actions).all(axis=1).mean())
    assert proxy.metrics["fidelity"] == pytest.approx(recomputed)
    assert proxy.metrics["n_test"] == len(test)
    assert proxy.metrics["fidelity"] >= 0.9 and proxy.metrics["max_depth"] <= 6
    # the same proxy scored against actions the agent did not take collapses
    flipped = (test.actions[:, 1] + 1) % 2
    assert fidelity(proxy.knobs[1], test.X, flipped) < 0.1


def test_proxy_finds_the_features_the_agent_uses(proxy):
    used = {f.name for f in proxy.used_features()}
    assert {"web.cpu_utilization", "web.latency_p99_ms", "cost_rate"} <= used
    assert not any(name.startswith("api.") for name in used)
    replicas = proxy.metrics["knobs"][0]
    assert replicas["faithfulness"] > 0.7
    assert replicas["path_jaccard"] > 0.9
    assert replicas["leaves"] <= 12


def _shuffled_proxy(data, seed: int = 0) -> KnobProxy:
    train, _ = data.split(seed=0)
    labels = np.random.default_rng(seed).permutation(train.actions[:, 0])
    return fit_knob_proxy(train.X, labels, KNOBS[0], seed=seed)


def _inverted(kp: KnobProxy) -> KnobProxy:
    """The same tree with every threshold's direction reversed."""
    data = kp.to_dict()
    nodes = data["nodes"]
    nodes["left_child"], nodes["right_child"] = nodes["right_child"], nodes["left_child"]
    return KnobProxy.from_dict(data)


def test_a_tree_fit_to_shuffled_labels_has_low_fidelity_and_faithfulness(data, proxy):
    _, test = data.split(seed=0)
    wrong = _shuffled_proxy(data)
    good_fid = fidelity(proxy.knobs[0], test.X, test.actions[:, 0])
    assert fidelity(wrong, test.X, test.actions[:, 0]) < good_fid - 0.2
    faith = faithfulness(wrong, 0, true_probs, test)
    assert faith is None or abs(faith) < 0.3


def test_inverted_thresholds_give_low_fidelity_and_negative_faithfulness(data, proxy):
    _, test = data.split(seed=0)
    wrong = _inverted(proxy.knobs[0])
    assert fidelity(wrong, test.X, test.actions[:, 0]) < 0.5
    assert faithfulness(wrong, 0, true_probs, test) < 0.0
    assert faithfulness(proxy.knobs[0], 0, true_probs, test) > 0.7


def test_deterministic_policy_with_one_hot_probabilities():
    obs, episode = observations(3000, seed=2)

    def rule(o):
        x = gather(o, features())
        return one_hot_probs(np.stack([np.where(x[:, 0] > 0.6, 2, 1), (x[:, -1] > 0.5).astype(int)], 1), KNOBS)

    p = build_agent_proxy(view(rule), collect(view(rule), obs, episode))
    assert p.metrics["fidelity"] > 0.98
    assert p.metrics["knobs"][0]["leaves"] == 2 and p.metrics["knobs"][1]["leaves"] == 2


def test_proxies_round_trip_through_json_without_pickle(data):
    obs, episode = observations(2000, seed=3)
    built = build_proxies("synthetic:v0001", [view()], obs, episode)
    text = json.dumps(built.to_dict())
    loaded = PolicyProxies.from_dict(json.loads(text))
    a, b = built.agents["compute"], loaded.agents["compute"]
    assert isinstance(b, AgentProxy)
    np.testing.assert_array_equal(a.predict(data.X), b.predict(data.X))
    np.testing.assert_allclose(a.knobs[0].predict_proba(data.X), b.knobs[0].predict_proba(data.X))
    assert loaded.meta["steps"] == 2000 and b.metrics == a.metrics


def test_scatter_changes_only_the_named_feature():
    obs, _ = observations(5, seed=4)
    feats = features()
    new = scatter(obs, [feats[3]], np.full((5, 1), 9.0))
    assert (new["compute"]["metrics"][:, 0, 3] == 9.0).all()
    assert (obs["compute"]["metrics"][:, 0, 3] != 9.0).all()  # the original is untouched
    assert new["compute"]["own"] is obs["compute"]["own"]


def test_evaluate_reports_every_metric(data, proxy):
    _, test = data.split(seed=0)
    metrics = evaluate(proxy, test, true_probs)
    for knob in metrics["knobs"]:
        assert {"fidelity", "majority_baseline", "faithfulness", "path_jaccard", "same_leaf",
                "depth", "leaves", "features_used"} <= set(knob)
        assert 0 <= knob["path_jaccard"] <= 1
