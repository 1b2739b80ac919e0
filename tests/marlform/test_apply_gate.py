"""Apply refuses what it must, whatever the target: each refusal is audited and changes nothing.

The target here is a recording double, because what is under test is the gate
and the apply/validate/rollback bookkeeping; the real simulator and the real
Terraform targets have their own end-to-end tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from gcp.spec import DeploymentSpec, load_spec
from marlform.apply import Validation, apply_plan
from marlform.approvals import decide
from marlform.errors import RefusedError, RolledBackError
from marlform.store import spec_hash
from marlform.workspace import Workspace
from tests.marlform.conftest import WEB_APP, record_plan, scaled, write_config

TEAM = {"approval": {"approvers": ["alice", "bob"]}}


@dataclass
class RecordingTarget:
    spec: DeploymentSpec
    valid: bool = True
    calls: list = field(default_factory=list)
    name: str = "recording"

    def current_spec(self):
        return self.spec

    def apply(self, bundle, after, resume):
        self.calls.append(("apply", spec_hash(after), resume))
        self.spec = after
        return {"resources": 1}

    def validate(self, spec):
        return Validation(self.valid, [{"name": "slo", "ok": self.valid}])

    def restore(self, before):
        self.calls.append(("restore", spec_hash(before)))
        self.spec = before
        return {"resources": 1}


@pytest.fixture
def team(home):
    write_config(home, "shop-web", TEAM)
    ws = Workspace.open(home)
    yield ws
    ws.close()


def refused(ws, plan, target, match, actor="user:alice"):
    with pytest.raises(RefusedError, match=match):
        apply_plan(ws, plan.id, target, actor)
    assert target.calls == []
    assert ws.store.plan(plan.id).status == "planned"
    assert ws.store.audit_entries(kind="apply.refused")[-1]["plan_id"] == plan.id


def test_unapproved_apply_is_refused(team):
    plan = record_plan(team)
    refused(team, plan, RecordingTarget(load_spec(WEB_APP)), "not approved: 0 of 1 approval")


def test_apply_after_a_bundle_file_changed_is_refused(team):
    plan = record_plan(team)
    decide(team, plan.id, "alice", "approve")
    path = team.bundle_path(plan.bundle_uri) / "main.tf.json"
    path.write_text(path.read_text() + " ")
    refused(team, plan, RecordingTarget(load_spec(WEB_APP)), "(?s)tampered.*main.tf.json changed")


def test_stale_plan_is_refused(team):
    first, second = record_plan(team), record_plan(team, after=scaled(load_spec(WEB_APP), "cache", 3))
    target = RecordingTarget(load_spec(WEB_APP))
    for plan in (first, second):
        decide(team, plan.id, "alice", "approve")
    assert apply_plan(team, first.id, target, "user:alice")["status"] == "applied"
    target.calls.clear()
    refused(team, second, target, "is stale")


def test_approval_by_someone_not_allowed_does_not_count(team):
    plan = record_plan(team)
    with pytest.raises(RefusedError, match="'mallory' may not approve"):
        decide(team, plan.id, "mallory", "approve")
    refused(team, plan, RecordingTarget(load_spec(WEB_APP)), "not approved")


def test_autonomous_high_impact_plan_waits_for_a_human(home):
    write_config(home, "shop-web", {**TEAM, "stages": {"default": "autonomous"},
                                    "autonomous": {"max_cost_delta_usd": 50}})
    ws = Workspace.open(home)
    big = record_plan(ws, stage="autonomous", cost_delta=120.0)
    refused(ws, big, RecordingTarget(load_spec(WEB_APP)),
            r"(?s)high impact \(cost delta \+120.00 \$/month, limit ±50.00\).*needs a human")
    small = record_plan(ws, stage="autonomous", cost_delta=12.0)
    result = apply_plan(ws, small.id, RecordingTarget(load_spec(WEB_APP)), "user:alice")
    assert result["mode"] == "autonomous"
    started = ws.store.audit_entries(kind="apply.started")[-1]
    assert started["actor"] == "agent:rules:test" and started["payload"]["mode"] == "autonomous"


def test_shadow_and_recommend_plans_are_never_applied(home):
    write_config(home, "shop-web", {**TEAM, "stages": {"default": "shadow"}})
    ws = Workspace.open(home)
    plan = record_plan(ws, stage="shadow")
    decide(ws, plan.id, "alice", "approve")
    refused(ws, plan, RecordingTarget(load_spec(WEB_APP)), "shadow stage")


def test_paused_deployment_applies_nothing(team):
    from marlform.controls import pause

    plan = record_plan(team)
    decide(team, plan.id, "alice", "approve")
    pause(team, "shop-web", "bob", "incident")
    refused(team, plan, RecordingTarget(load_spec(WEB_APP)), "paused by bob")


def test_failed_validation_rolls_back_and_records_it(team):
    plan = record_plan(team)
    decide(team, plan.id, "alice", "approve")
    before = load_spec(WEB_APP)
    target = RecordingTarget(before, valid=False)
    with pytest.raises(RolledBackError, match="failed validation \\(slo\\); rolled back") as err:
        apply_plan(team, plan.id, target, "user:alice")
    assert [c[0] for c in target.calls] == ["apply", "restore"]
    assert spec_hash(target.spec) == plan.before_hash and err.value.result["status"] == "rolled_back"
    assert team.store.plan(plan.id).status == "rolled_back"
    assert team.store.audit_entries(kind="rollback")[-1]["plan_id"] == plan.id
    assert team.store.verify_audit().ok
