"""plan → approve → apply → validate on the simulator, through the real CLI, with the HPA rule
policy behind the policy interface; and crash safety at every injected point of plan and apply."""

from __future__ import annotations

import json

import pytest

from marlform.crashpoints import EXIT_CODE
from tests.marlform.conftest import WEB_APP, write_config
from tests.marlform.test_crash_cli import assert_consistent, cli

PLAN = ("plan", "--deployment", str(WEB_APP), "--policy", "rules:hpa", "--preview", "--json")


def make_plan(home, crash: str | None = None):
    out = cli(home, *PLAN, crash=crash)
    return out, (json.loads(out.stdout) if out.returncode in (0, 3, 4) else None)


def test_plan_approve_apply_validate_on_the_simulator(home):
    write_config(home, "shop-web", {"approval": {"approvers": ["alice", "bob"]}})
    out, plan = make_plan(home)
    assert out.returncode == 3, out.stderr
    assert plan["outcome"] == "changes" and plan["policy_version"] == "rules:hpa"
    bundle = home / "plans" / plan["id"]
    assert {p.name for p in bundle.iterdir()} >= {"summary.md", "actions.json", "manifest.json"}
    actions = json.loads((bundle / "actions.json").read_text())["actions"]
    assert actions and actions[0]["confidence"] == 1.0
    assert cli(home, "apply", plan["id"]).returncode == 5  # not approved yet
    assert cli(home, "approve", plan["id"], "--by", "alice").returncode == 0
    out = cli(home, "apply", plan["id"], "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["status"] == "applied" and result["target"] == "simulator"
    assert {c["name"] for c in result["validation"]["checks"]} == {"matches-spec", "error-rate", "slo"}
    ws = assert_consistent(home)
    after = json.loads((bundle / "spec.after.json").read_text())
    assert ws.store.deployment_spec("shop-web").model_dump(mode="json") == after
    kinds = [e["kind"] for e in ws.store.audit_entries()]
    assert kinds.index("decision") < kinds.index("plan") < kinds.index("approval") \
        < kinds.index("apply.started") < kinds.index("apply.succeeded")
    out = cli(home, "apply", plan["id"])  # once only
    assert out.returncode == 5 and "is applied" in out.stderr


def test_failed_validation_rolls_back_on_the_simulator(home):
    """The plan is made on a steady workload; validating it under a burst, with strict limits,
    fails, and the previous spec comes back."""
    write_config(home, "shop-web", {"validation": {"max_error_rate": 0.001, "steps": 24}})
    _, plan = make_plan(home)
    cli(home, "approve", plan["id"], "--by", "alice")
    out = cli(home, "apply", plan["id"], "--scenario", "web:burst", "--json")
    assert out.returncode == 7, out.stdout + out.stderr
    result = json.loads(out.stdout)
    assert result["status"] == "rolled_back"
    assert not next(c for c in result["validation"]["checks"] if c["name"] == "error-rate")["ok"]
    ws = assert_consistent(home)
    before = json.loads((home / "plans" / plan["id"] / "spec.before.json").read_text())
    assert ws.store.deployment_spec("shop-web").model_dump(mode="json") == before
    assert ws.store.plan(plan["id"]).status == "rolled_back"
    assert ws.store.audit_entries(kind="rollback")[-1]["plan_id"] == plan["id"]


@pytest.mark.parametrize("point", ["plan.observed", "plan.bundle_partial", "plan.bundle_staged",
                                   "plan.bundle_published", "plan.recorded"])
def test_crash_during_plan(home, point):
    out, _ = make_plan(home, crash=point)
    assert out.returncode == EXIT_CODE, out.stderr
    ws = assert_consistent(home)
    recorded = ws.store.plans()
    assert len(recorded) == (1 if point == "plan.recorded" else 0)
    visible = [p for p in (home / "plans").iterdir() if not p.name.startswith(".")]
    assert [p.name for p in visible] == [p.id for p in recorded]
    out, _ = make_plan(home)
    assert out.returncode == 3, out.stderr
    assert_consistent(home)


@pytest.mark.parametrize("point", ["apply.started", "apply.applied", "apply.validated"])
def test_crash_during_apply_and_rerun(home, point):
    _, plan = make_plan(home)
    cli(home, "approve", plan["id"], "--by", "alice")
    out = cli(home, "apply", plan["id"], crash=point)
    assert out.returncode == EXIT_CODE, out.stderr
    ws = assert_consistent(home)
    status = ws.store.plan(plan["id"]).status
    assert status == ("applied" if point == "apply.validated" else "applying")
    ws.close()
    out = cli(home, "apply", plan["id"], "--json")
    if point == "apply.validated":
        assert out.returncode == 5 and "is applied" in out.stderr
    else:
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["status"] == "applied"
    ws = assert_consistent(home)
    assert ws.store.plan(plan["id"]).status == "applied"
    after = json.loads((home / "plans" / plan["id"] / "spec.after.json").read_text())
    assert ws.store.deployment_spec("shop-web").model_dump(mode="json") == after


def test_without_policy_the_promoted_trained_model_acts(home):
    """The default is the registry's promoted `web-maddpg`; each changed knob is named."""
    out = cli(home, "plan", "--deployment", str(WEB_APP), "--preview", "--json")
    assert out.returncode in (0, 3), out.stderr
    plan = json.loads(out.stdout)
    assert plan["policy_version"].startswith("web-maddpg:v")
    bundle = home / "plans" / plan["id"]
    actions = json.loads((bundle / "actions.json").read_text())["actions"]
    services = {"frontend", "api", "cache", "queue-worker", "acme-shop-static-assets", "shop-db", "shop-web"}
    for action in actions:
        assert action["resource"] in services and ": " in action["action"]
        assert 0.0 < action["confidence"] <= 1.0
    explanation = (bundle / "explanation.md").read_text()
    assert plan["policy_version"] in explanation
