"""Per-plan explanations, stored proxies and the rendered report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from explain_synthetic import features, observations, view

from agents.explain.build import build_proxies
from agents.explain.plan import explain_plan, explain_plan_json
from agents.explain.report import metrics_markdown, tree_pngs, trees_text
from agents.explain.store import ExplainError, load_for_version, save_for_version
from agents.registry import ModelRegistry


@pytest.fixture(scope="module")
def proxies():
    obs, episode = observations(4000, seed=5)
    return build_proxies("synthetic:v0001", [view()], obs, episode)


def _state(**metrics) -> dict:
    """One unbatched observation as JSON would carry it (nested lists)."""
    obs, _ = observations(1, seed=6)
    m = obs["compute"]["metrics"][0]
    m[0, 0], m[0, 3] = metrics.get("cpu", 0.9), metrics.get("p99", 2.0)
    obs["compute"]["own"][0, 0] = metrics.get("cost", 0.2)
    return json.loads(json.dumps({"compute": {k: v[0].tolist() for k, v in obs["compute"].items()}}))


def test_explanation_names_only_features_the_agent_observes(proxies):
    observed = {f.name for f in features()}
    data = explain_plan_json(proxies, _state(), {"compute": [2, 0]})
    named = {c["feature"] for a in data["agents"] for k in a["knobs"] for c in k["conditions"]}
    assert named and named <= observed
    text = explain_plan(proxies, _state(), {"compute": [2, 0]})
    labels = {f.text for f in features()}
    for line in text.splitlines():
        if " because " in line:
            reason = line.split(" because ", 1)[1].split(" (proxy fidelity")[0]
            for clause in reason.split(" and "):
                assert any(clause.startswith(label) for label in labels), clause


def test_rule_reads_in_engineers_units_with_fidelity_beside_it(proxies):
    text = explain_plan(proxies, _state(cpu=0.9, p99=2.0, cost=0.2), {"compute": {"replicas": "+1", "spot": "off"}})
    line = next(line for line in text.splitlines() if line.startswith("- **replicas: +1**"))
    assert "because" in line and "p99 latency of service web >" in line and " ms" in line
    assert "CPU utilisation of service web > 0.70" in line
    assert "proxy fidelity 1.00" in line or "proxy fidelity 0.99" in line
    assert "⚠" not in text


def test_warns_when_the_proxy_disagrees_with_the_agent_on_this_state(proxies):
    data = explain_plan_json(proxies, _state(cpu=0.9, p99=2.0), {"compute": [0, 0]})
    replicas = data["agents"][0]["knobs"][0]
    assert replicas["agrees"] is False and replicas["predicted_label"] == "+1"
    text = explain_plan(proxies, _state(cpu=0.9, p99=2.0), {"compute": [0, 0]})
    assert "- **replicas: -1**: ⚠ no faithful explanation" in text and "predicts **+1**" in text


def test_agents_without_proxies_are_listed_not_invented(proxies):
    data = explain_plan_json(proxies, _state(), {"compute": [1, 0], "database": [0]})
    assert data["unexplained"] == ["database"]


def test_bad_actions_are_reported_clearly(proxies):
    with pytest.raises(ValueError, match="1 choices for 2 knobs"):
        explain_plan_json(proxies, _state(), {"compute": [1]})


def test_proxies_stored_beside_the_model_version(tmp_path, proxies):
    registry = ModelRegistry(tmp_path)
    version = registry.save("tiny", {"w": np.zeros(1)}, config={}, layout={}, simulator_version="t")
    folder = save_for_version(version, proxies, tree_pngs(proxies))
    assert folder.name == "v0001.explain" and folder.parent == version.path.parent
    assert (folder / "trees" / "compute" / "replicas.png").read_bytes()[:4] == b"\x89PNG"
    assert [v.version for v in registry.versions("tiny")] == ["v0001"]  # the registry is undisturbed
    loaded = load_for_version(registry.get("tiny", "v0001"))
    assert loaded.meta["model_sha256"] == version.metadata["sha256"]
    second = registry.save("tiny", {"w": np.ones(1)}, config={}, layout={}, simulator_version="t")
    (second.path.parent / "v0002.explain").symlink_to(folder)  # proxies of other weights
    with pytest.raises(ExplainError, match="rebuild them"):
        load_for_version(second)


def test_report_has_trees_and_metrics(proxies):
    table = metrics_markdown(proxies)
    assert "| **compute** | (all knobs) |" in table and "All agents reach" in table
    text = trees_text(proxies)
    assert "if CPU utilisation of service web ≤ 0.30:" in text
