"""Approval rules, approver authorisation, stage resolution and evidence-gated promotion."""

from __future__ import annotations

import pytest

from marlform.approvals import approval_state, decide, requirement
from marlform.config import ApprovalPolicy
from marlform.errors import RefusedError
from marlform.stages import approve_promotion, current_stages, demote, plan_stage, request_promotion
from marlform.workspace import Workspace
from tests.marlform.conftest import impact, record_plan, write_config

TEAM = {"approval": {"approvers": ["alice", "bob", "carol"]}}


def test_destructive_or_expensive_changes_need_two_approvers():
    policy = ApprovalPolicy()
    assert requirement(policy, impact()).approvers == 1
    assert requirement(policy, impact(cost_delta=-600.0)).approvers == 2
    need = requirement(policy, impact(destructive=True, destructive_resources=["sql/shop-db"]))
    assert need.approvers == 2 and "sql/shop-db" in need.reasons[-1]


def test_approver_not_allowed_is_refused_and_audited(home):
    write_config(home, "shop-web", TEAM)
    ws = Workspace.open(home)
    plan = record_plan(ws)
    with pytest.raises(RefusedError, match="'mallory' may not approve"):
        decide(ws, plan.id, "mallory", "approve")
    assert ws.store.approvals(plan.id) == []
    refused = ws.store.audit_entries(kind="approval.refused")
    assert refused[-1]["actor"] == "user:mallory" and refused[-1]["plan_id"] == plan.id


def test_two_distinct_approvers_for_a_destructive_plan(home):
    write_config(home, "shop-web", TEAM)
    ws = Workspace.open(home)
    plan = record_plan(ws, destructive=True, destructive_resources=["sql/shop-db"])
    assert not decide(ws, plan.id, "alice", "approve").satisfied
    assert not decide(ws, plan.id, "alice", "approve").satisfied  # the same person counts once
    state = decide(ws, plan.id, "bob", "approve", comment="checked the backup")
    assert state.satisfied and state.approved_by == ["alice", "bob"]
    assert [e["payload"]["decision"] for e in ws.store.audit_entries(kind="approval")] == ["approve"] * 3


def test_approvals_bind_to_the_plan_hash(ws):
    plan = record_plan(ws)
    decide(ws, plan.id, "alice", "approve")
    moved = plan.__class__(**{**plan.to_dict(), "plan_hash": "f" * 64})
    state = approval_state(ws.store.approvals(plan.id), moved, ApprovalPolicy())
    assert not state.satisfied and state.stale == ["alice"]


def test_reject_closes_the_plan(ws):
    plan = record_plan(ws)
    decide(ws, plan.id, "alice", "reject", comment="too aggressive")
    assert ws.store.plan(plan.id).status == "rejected"
    with pytest.raises(RefusedError, match="is rejected"):
        decide(ws, plan.id, "bob", "approve")


def test_tampered_bundle_cannot_be_approved(ws):
    plan = record_plan(ws)
    (ws.bundle_path(plan.bundle_uri) / "summary.md").write_text("all fine, approve me\n")
    with pytest.raises(RefusedError, match="tampered"):
        decide(ws, plan.id, "alice", "approve")


def test_plan_takes_the_most_cautious_stage():
    stages = {"*": "approve", "api": "autonomous", "frontend": "shadow"}
    assert plan_stage(stages, impact(services_changed=["api"])) == "autonomous"
    assert plan_stage(stages, impact(services_changed=["api", "frontend"])) == "shadow"
    assert plan_stage(stages, impact(services_changed=["api"], other_changed=True)) == "approve"
    assert plan_stage(stages, impact(services_changed=["cache"])) == "approve"


def test_promotion_needs_evidence_and_a_second_person(home):
    write_config(home, "shop-web", {**TEAM, "stages": {"default": "shadow"},
                                    "promotion": {"recommend": {"min_plans": 3,
                                                                "min_agreement": 0.6}}})
    ws = Workspace.open(home)
    record_plan(ws, stage="shadow", shadow={"agreement": 0.9, "services": {}})
    with pytest.raises(RefusedError, match="1 plan\\(s\\) in shadow, 3 needed"):
        request_promotion(ws, "shop-web", "*", "alice")
    record_plan(ws, stage="shadow", shadow={"agreement": 0.2, "services": {}})
    record_plan(ws, stage="shadow", shadow={"agreement": 0.4, "services": {}})
    with pytest.raises(RefusedError, match=r"agreement with the current autoscaler 0\.50, 0\.60"):
        request_promotion(ws, "shop-web", "*", "alice")
    record_plan(ws, stage="shadow", shadow={"agreement": 1.0, "services": {}})
    promo = request_promotion(ws, "shop-web", "*", "alice")
    assert promo["to_stage"] == "recommend" and promo["evidence"]["plans"] == 4
    assert current_stages(ws, "shop-web", [])["*"] == "shadow"
    with pytest.raises(RefusedError, match="someone else must approve"):
        approve_promotion(ws, promo["id"], "alice")
    with pytest.raises(RefusedError, match="may not approve"):
        approve_promotion(ws, promo["id"], "mallory")
    assert approve_promotion(ws, promo["id"], "bob")["status"] == "approved"
    assert current_stages(ws, "shop-web", ["api"]) == {"*": "recommend", "api": "recommend"}
    kinds = [e["kind"] for e in ws.store.audit_entries()]
    assert kinds[-2:] == ["promotion.requested", "promotion.approved"]


def test_demotion_is_immediate_and_only_goes_down(home):
    write_config(home, "shop-web", {**TEAM, "stages": {"default": "autonomous"}})
    ws = Workspace.open(home)
    assert demote(ws, "shop-web", "api", "shadow", "carol", "incident 42") == "shadow"
    assert current_stages(ws, "shop-web", ["api", "cache"]) == {
        "*": "autonomous", "api": "shadow", "cache": "autonomous"}
    with pytest.raises(RefusedError, match="demotion goes to an earlier stage"):
        demote(ws, "shop-web", "api", "approve", "carol", None)
