"""`marlform tf` through the console entry point: exit codes, --json, nothing written on bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
BIN = Path(sys.executable).parent / "marlform"


def tf(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), "tf", *args], capture_output=True, text=True, timeout=120)


def test_check_accepts_a_real_plan_and_reports_json():
    out = tf("check", str(FIXTURES / "aws_scale.plan.json"), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["acceptable"] and result["format_version"] == "1.2" and result["source"] == "terraform"
    assert {c["address"] for c in result["changes"]} == {"aws_autoscaling_group.frontend"}


def test_check_reads_format_0_and_accepts_stateless_removal(tmp_path):
    plan = json.loads((FIXTURES / "aws_replace.plan.json").read_text())
    plan["format_version"] = "0.1"  # the same plan in the 0.x envelope
    path = tmp_path / "old.json"
    path.write_text(json.dumps(plan))
    out = tf("check", str(FIXTURES / "aws_remove.plan.json"), "--json")
    assert out.returncode == 0, out.stdout  # removing a stateless service is acceptable
    out = tf("check", str(path), "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["format_version"] == "0.1"


def test_check_denies_open_ssh(tmp_path):
    plan = json.loads((FIXTURES / "aws_scale.plan.json").read_text())
    sg = next(rc for rc in plan["resource_changes"] if rc["type"] == "aws_security_group")
    sg["change"]["actions"] = ["update"]
    sg["change"]["after"]["ingress"][0].update(from_port=22, to_port=22, protocol="tcp", cidr_blocks=["0.0.0.0/0"])
    path = tmp_path / "ssh.json"
    path.write_text(json.dumps(plan))
    out = tf("check", str(path), "--json")
    assert out.returncode == 1
    rules = {f["rule_id"] for f in json.loads(out.stdout)["findings"] if f["severity"] == "deny"}
    assert rules == {"security.world_admin_port"}


@pytest.mark.parametrize("content, message", [
    ("{oops", "not valid JSON"),
    ('{"format_version": "3.0", "resource_changes": []}', "unsupported plan format_version 3.0"),
    ('{"format_version": "1.2", "resource_changes": [{"address": "aws_vpc.x${file(1)}", "change": '
     '{"actions": ["create"]}}]}', "malformed resource address"),
    ('{"format_version": "1.2", "prior_state": {"values": {"root_module": {"resources": []}}}, '
     '"resource_changes": [{"address": "aws_vpc.gone", "type": "aws_vpc", "name": "gone", '
     '"change": {"actions": ["delete"]}}]}', "missing resource"),
])
def test_check_refuses_bad_input_with_exit_2(tmp_path, content, message):
    path = tmp_path / "plan.json"
    path.write_text(content)
    before = sorted(tmp_path.iterdir())
    out = tf("check", str(path))
    assert out.returncode == 2 and message in out.stderr.replace("\n", " ")
    assert sorted(tmp_path.iterdir()) == before


def test_plan_preview_writes_the_bundle_files(tmp_path, example_path):
    out = tf("plan", str(example_path("web-app")), "--preview", "--out", str(tmp_path / "b"), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["source"] == "preview" and result["safety"]["decision"] == "accept"
    assert result["cost"]["after"] > 0 and result["cost"]["before"] == 0
    assert {p.name for p in (tmp_path / "b").iterdir()} == {"plan.json", "safety.json", "cost.json"}


def test_plan_with_hostile_spec_writes_nothing(tmp_path, example_path):
    spec = tmp_path / "evil.yaml"
    spec.write_text(example_path("web-app").read_text().replace("vpc_name: shop-vpc", 'vpc_name: "x%{if 1}"'))
    out = tf("plan", str(spec), "--preview", "--out", str(tmp_path / "b"))
    assert out.returncode == 2 and "network.vpc_name" in out.stderr
    assert not (tmp_path / "b").exists()


def test_plan_repairs_a_risky_change(tmp_path, example_path):
    after = tmp_path / "after.yaml"
    after.write_text(example_path("web-app").read_text().replace("source_ranges: [35.235.240.0/20]",
                                                                 "source_ranges: [0.0.0.0/0]"))
    out = tf("plan", str(after), "--before", str(example_path("web-app")), "--preview", "--json")
    assert out.returncode == 0, out.stderr
    safety = json.loads(out.stdout)["safety"]
    assert safety["decision"] == "repaired" and safety["fallbacks"][0]["reverted"] == ["firewall/allow-iap-ssh"]


@pytest.mark.skipif(not shutil.which("terraform"), reason="terraform is not on PATH")
def test_plan_falls_back_to_preview_when_the_provider_is_missing(tmp_path, example_path):
    empty_mirror = tmp_path / "mirror"
    empty_mirror.mkdir()
    out = tf("plan", str(example_path("web-app")), "--plugin-mirror", str(empty_mirror),
             "--workdir", str(tmp_path / "wd"), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["source"] == "preview" and "Failed to query available provider packages" in result["note"]
