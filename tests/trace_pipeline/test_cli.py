"""`marlform trace` and `marlform workload` through the real CLI app."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from marlform.cli.main import app

runner = CliRunner()


def test_workload_generate_json_npz_and_png(tmp_path):
    out, png = tmp_path / "wl.npz", tmp_path / "wl.png"
    result = runner.invoke(app, ["workload", "generate", "--scenario", "ml", "--pattern", "burst",
                                 "--steps", "576", "--n-series", "3", "--seed", "4", "--out", str(out),
                                 "--png", str(png), "--all-classes", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["shape"] == [3, 576] and summary["meta"]["workload_class"] == "best_effort"
    data = np.load(out)
    assert data["demand"].shape == (3, 576) and data["bursts"].any()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_workload_bad_input_is_a_clean_error():
    result = runner.invoke(app, ["workload", "generate", "--steps", "0"])
    assert result.exit_code != 0
    assert "steps must be >= 1" in str(result.exception) or "steps must be >= 1" in result.output


def test_trace_prepare_and_show(sample_2011, tmp_path):
    result = runner.invoke(app, ["trace", "prepare", str(sample_2011), "--cache",
                                 str(tmp_path / "cache"), "--json"])
    assert result.exit_code == 0, result.output
    prepared = json.loads(result.stdout)
    assert prepared["tables"]["task_events"]["rows"] == 919_519
    png = tmp_path / "trace.png"
    result = runner.invoke(app, ["trace", "show", prepared["path"], "--png", str(png), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["windows"] == 83 and set(summary["classes"]) == {"production", "batch", "best_effort"}
    assert png.stat().st_size > 10_000


def test_trace_fetch_dry_run_against_the_emulator(gcs_emulator, tmp_path):
    result = runner.invoke(app, ["trace", "fetch", str(tmp_path), "--tables", "task_events",
                                 "--hours", "3", "--endpoint", gcs_emulator["endpoint"],
                                 "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["count"] == 3 and not any(tmp_path.iterdir())
