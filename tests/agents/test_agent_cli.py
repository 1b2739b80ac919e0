"""`marlform train`, `models` and `evaluate --quick` through the console script, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BIN = Path(sys.executable).parent / "marlform"


def run_cli(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200"})


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A registry with one tiny in-process-trained web model (v0001)."""
    root = tmp_path_factory.mktemp("cli")
    out = run_cli("train", "--preset", "tiny", "--iterations", "3", "--rollout-actors", "0", "--no-track",
                  "--registry", str(root / "reg"), "--run-dir", str(root / "run"), "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["model"] == "web-maddpg" and summary["version"] == "v0001"
    assert (root / "run" / "checkpoint.pt").is_file()
    return root / "reg"


def test_models_list_promote_rollback(trained):
    reg = str(trained)
    listed = json.loads(run_cli("models", "list", "--registry", reg, "--json").stdout)
    (row,) = listed["models"]
    assert row["version"] == "v0001" and row["simulator_version"] and "eval_return" in row["metrics"]
    assert row["size_bytes"] < 2 * 1024 * 1024
    assert run_cli("models", "promote", "web-maddpg", "v0001", "--registry", reg).returncode == 0
    out = run_cli("models", "rollback", "web-maddpg", "--registry", reg)
    assert out.returncode == 2 and "nothing to roll back" in out.stderr and "Traceback" not in out.stderr
    out = run_cli("models", "promote", "web-maddpg", "v0042", "--registry", reg)
    assert out.returncode == 2 and "no version 'v0042'" in out.stderr


def test_evaluate_quick_compares_with_the_rules_on_held_out_workloads(trained):
    out = run_cli("evaluate", "--quick", "--registry", str(trained), "--episodes", "3", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert set(report["policies"]) == {"maddpg", "hpa", "mig", "static"}
    for summary in report["policies"].values():
        for metric in ("cost_usd", "slo_attainment", "reliability", "carbon_kg"):
            s = summary[metric]
            assert s["lo"] - 1e-9 <= s["mean"] <= s["hi"] + 1e-9 and np.isfinite(s["mean"])
    assert "held-out" in report["workload"]
    assert {"cost_diff_usd", "ci_excludes_zero", "slo_not_lower"} <= set(report["vs_hpa"]["maddpg"])


def test_a_model_for_another_scenario_is_refused_clearly(trained):
    out = run_cli("evaluate", "--quick", "--scenario", "batch", "--model", "web-maddpg",
                  "--registry", str(trained), "--episodes", "2")
    assert out.returncode == 2 and "incompatible with this environment" in out.stderr
    assert "Traceback" not in out.stderr


def test_bad_options_fail_cleanly(tmp_path):
    out = run_cli("train", "--preset", "huge", "--registry", str(tmp_path))
    assert out.returncode == 2 and "unknown preset 'huge'" in out.stderr
    out = run_cli("evaluate")
    assert out.returncode == 2 and "--quick" in out.stderr
    out = run_cli("models", "list", "--registry", str(tmp_path), "--json")
    assert json.loads(out.stdout)["models"] == []
