"""The quick suite end to end (shrunk to seconds), the A/B command and the CLI's errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation import suites
from evaluation.ab import compare_episodes, run_ab
from evaluation.schema import EvaluationError

FIGURES = ("cost_slo_tradeoff", "scenario_cost_ratio", "scenario_slo", "reward_decomposition",
           "training_curves", "decision_boundaries", "perturbation_timelines")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("quick")
    old = dict(suites.TINY_OVERRIDES)
    suites.TINY_OVERRIDES.update(iterations=2, eval_every=1, episode_steps=8, warmup_transitions=8)
    try:
        results = suites.run("quick", out, workers=0, registry=str(out / "empty-registry"),
                             scenarios=("web",), patterns=("steady", "replay"), steps=12)
    finally:
        suites.TINY_OVERRIDES.clear()
        suites.TINY_OVERRIDES.update(old)
    return out, results


def test_quick_suite_report_has_every_table_and_figure(quick):
    out, results = quick
    md = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    for name in FIGURES:
        png = out / "figures" / f"{name}.png"
        assert png.stat().st_size > 10_000, name
        assert f"figures/{name}.png" in md and f"figures/{name}.png" in html
    eps = results.episodes
    assert set(eps["policy"]) == {"maddpg", "hpa", "mig", "static", "ppo", "ippo-lstm"}
    assert eps["seed"].nunique() == 5
    assert set(eps["perturbation"]) == {"none", "zone_failure", "preemption_wave", "demand_spike", "quota_cut"}
    # non-trivial values: costs, ratios, rewards and perturbation metrics are real numbers, not constants
    for column in ("cost_total", "cost_ratio", "slo_attainment", "reward_total", "carbon_kg"):
        assert eps[column].notna().all() and eps[column].std() > 0, column
    assert (eps["cost_ratio"] > 1.0).all()
    perturbed = eps[eps["perturbation"] != "none"]
    assert perturbed["recovery_min"].notna().all() and perturbed["slo_lost"].notna().all()
    assert not results.training.empty and not results.boundaries.empty and not results.timelines.empty
    for heading in ("Headline results", "Cost by domain", "Per scenario", "Per workload pattern",
                    "Significance against the reference", "Perturbations", "Reward decomposition",
                    "Learning", "Reproducibility"):
        assert heading in md
    assert "no policy beat the oracle." in md
    record = results.record
    assert record["seeds"] == [0, 1, 2, 3, 4] and record["packages"]["numpy"] == np.__version__
    assert any(m["path"].startswith("trace_pipeline/profiles/") for m in record["data_manifest"])
    assert record["policies"]["maddpg/web"]["kind"] == "maddpg"


def test_ab_compares_on_identical_episodes():
    result = run_ab("hpa", "static", scenarios=("web",), patterns=("steady",), seeds=5, steps=24)
    by = {c["metric"]: c for c in result["comparisons"]}
    assert by["cost_ratio"]["better"] == "A"  # a static peak-sized deployment costs more than HPA
    assert result["verdict"]["winner"] in ("A", "mixed")
    assert result["verdict"]["text"]
    with pytest.raises(EvaluationError, match="same configuration"):
        run_ab("hpa", "hpa")


def test_compare_episodes_needs_both_policies():
    frame = pd.DataFrame({"policy": ["a", "a"], "cost_ratio": [1.0, 1.1]})
    with pytest.raises(EvaluationError, match="no episodes of policy 'b'"):
        compare_episodes(frame, "a", "b")


def _cli(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("marlform")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120)


def test_cli_errors_are_clean():
    res = _cli("evaluate", "--suite", "nope", "--out", "/tmp/never")
    assert res.returncode == 2 and "unknown suite 'nope'" in res.stderr and "Traceback" not in res.stderr
    res = _cli("ab", "hpa", "nosuch", "--seeds", "2", "--steps", "4")
    assert res.returncode == 2 and "unknown policy 'nosuch'" in res.stderr and "Traceback" not in res.stderr


def test_training_curve_comes_only_from_the_run_that_made_the_model(tmp_path, monkeypatch):
    import torch

    from agents.registry import ModelRegistry

    registry = tmp_path / "registry"
    ModelRegistry(registry).save("web-maddpg", {"w": np.zeros(1)}, config={"seed": 3}, layout={},
                                 simulator_version="t",
                                 metrics={"selected_iteration": 40.0, "validation_return": 1.5})
    run = tmp_path / "runs" / "web-maddpg-s3"
    run.mkdir(parents=True)
    evaluations = [{"iteration": 0.0, "return": 1.0}, {"iteration": 40.0, "return": 1.5}]
    run_config = {"rollout_actors": 2, "envs_per_actor": 8, "steps_per_iteration": 8}
    torch.save({"best": {"iteration": 40.0, "validation_return": 1.5}, "evaluations": evaluations,
                "config": run_config}, run / "checkpoint.pt")
    monkeypatch.chdir(tmp_path)
    config = suites.suite_config("quick", policies=("maddpg",), scenarios=("web",))
    rows, missing = suites._training_log(config, str(registry))
    assert [r["reward"] for r in rows] == [1.0, 1.5] and not missing
    assert [r["env_steps"] for r in rows] == [0, 40 * 128]  # 2 actors x 8 envs x 8 steps
    # the same seed trained again: that run's curve is not this model's
    torch.save({"best": {"iteration": 80.0, "validation_return": 2.0}, "evaluations": evaluations,
                "config": run_config}, run / "checkpoint.pt")
    rows, missing = suites._training_log(config, str(registry))
    assert rows == [] and "holds a later run" in missing["maddpg/web"]
    (run / "checkpoint.pt").unlink()
    rows, missing = suites._training_log(config, str(registry))
    assert rows == [] and "not on this machine" in missing["maddpg/web"]
