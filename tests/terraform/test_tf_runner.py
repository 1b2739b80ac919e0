"""The Terraform adapter: CLI config for the plugin mirror, clean errors, timeouts, no prompts."""

from __future__ import annotations

import shutil
import stat

import pytest

from terraform.errors import TerraformRunError, TerraformUnavailable
from terraform.runner import CLI_CONFIG_NAME, TerraformRunner, error_lines


def fake_terraform(tmp_path, body: str):
    script = tmp_path / "fake-terraform"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_cli_config_points_at_the_mirror_and_disables_the_registry(tmp_path):
    mirror, cache = tmp_path / "mirror", tmp_path / "cache"
    mirror.mkdir()
    seen = tmp_path / "seen"
    bin_ = fake_terraform(tmp_path, f'env > "{seen}"; echo "$@" >> "{seen}"')
    TerraformRunner(tmp_path / "wd", plugin_mirror=mirror, plugin_cache=cache, terraform_bin=bin_).init()
    config = (tmp_path / "wd" / CLI_CONFIG_NAME).read_text()
    assert f'path = "{mirror}"' in config and 'exclude = ["registry.terraform.io/*/*"]' in config
    assert f'plugin_cache_dir = "{cache}"' in config
    env = seen.read_text()
    assert f"TF_CLI_CONFIG_FILE={tmp_path / 'wd' / CLI_CONFIG_NAME}" in env and "TF_IN_AUTOMATION=1" in env
    assert "init -no-color -input=false" in env


def test_mirror_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MARLFORM_TF_PLUGIN_MIRROR", str(tmp_path))
    assert TerraformRunner(tmp_path / "wd").plugin_mirror == tmp_path


def test_missing_binary_is_unavailable(tmp_path):
    runner = TerraformRunner(tmp_path, terraform_bin=str(tmp_path / "no-such-terraform"))
    with pytest.raises(TerraformUnavailable):
        runner.init()


def test_timeout_is_a_clean_error(tmp_path):
    runner = TerraformRunner(tmp_path, terraform_bin=fake_terraform(tmp_path, "sleep 5"), timeout=0.5)
    with pytest.raises(TerraformRunError, match=r"timed out after 0\.5 s"):
        runner.plan()


def test_plan_exit_codes(tmp_path):
    assert TerraformRunner(tmp_path, terraform_bin=fake_terraform(tmp_path, "exit 2")).plan() is True
    assert TerraformRunner(tmp_path, terraform_bin=fake_terraform(tmp_path, "exit 0")).plan() is False


def test_error_lines_strip_the_box():
    stderr = "╷\n│ Error: Invalid JSON\n│\n│   on main.tf.json line 1:\n│ bad token\n╵\n"
    assert error_lines(stderr) == "Error: Invalid JSON\non main.tf.json line 1:\nbad token"


@pytest.mark.skipif(not shutil.which("terraform"), reason="terraform is not on PATH")
def test_real_terraform_error_is_reported_from_stderr(tmp_path):
    (tmp_path / "main.tf.json").write_text('{"resource": {"aws_vpc": {"x": {"cidr_block": 1}}')
    with pytest.raises(TerraformRunError, match=r"(?s)terraform init failed.*Error:"):
        TerraformRunner(tmp_path, timeout=60).init()
