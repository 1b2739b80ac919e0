"""`marlform explain --policy`: stored proxies printed as rules, a metrics table and PNGs."""

from __future__ import annotations

import json

import numpy as np
from explain_synthetic import observations, view
from typer.testing import CliRunner

from agents.explain.build import build_proxies
from agents.explain.report import tree_pngs
from agents.explain.store import save_for_version
from agents.registry import ModelRegistry
from marlform.cli.main import app


def test_explain_policy_prints_trees_metrics_and_writes_pngs(tmp_path):
    obs, episode = observations(2000, seed=9)
    proxies = build_proxies("tiny:v0001", [view()], obs, episode)
    version = ModelRegistry(tmp_path / "reg").save("tiny", {"w": np.zeros(1)}, config={}, layout={},
                                                   simulator_version="t")
    save_for_version(version, proxies, tree_pngs(proxies))
    runner = CliRunner()
    args = ["explain", "--policy", "tiny:v0001", "--registry", str(tmp_path / "reg")]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "png"), "--results", str(tmp_path / "r.md")])
    assert result.exit_code == 0, result.output
    assert "if CPU utilisation of service web" in result.output and "fidelity" in result.output
    assert (tmp_path / "png" / "compute" / "replicas.png").is_file()
    assert "| **compute** |" in (tmp_path / "r.md").read_text()
    assert json.loads((tmp_path / "r.json").read_text())["agents"]["compute"]["meets_target"] is True
    data = json.loads(runner.invoke(app, [*args, "--json"]).output)
    assert data["agents"]["compute"]["fidelity"] >= 0.9 and data["pngs"]


def test_explain_needs_exactly_one_target():
    result = CliRunner().invoke(app, ["explain"])
    assert result.exit_code == 2 and "either a PLAN_ID or --policy" in result.output
