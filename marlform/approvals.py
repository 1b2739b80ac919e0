"""Who must approve a plan, who may, and whether the approvals on record suffice.

An approval binds to the plan hash it was given for: if the bundle changes,
earlier approvals no longer count (and apply refuses the tampered bundle
anyway). Approvers are distinct people; one person approving twice counts once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from marlform import audit
from marlform.bundle import verify_bundle
from marlform.config import ApprovalPolicy
from marlform.crashpoints import crash_point
from marlform.errors import RefusedError
from marlform.store import Approval, PlanRecord
from marlform.workspace import Workspace


@dataclass
class Requirement:
    approvers: int
    reasons: list[str]


def requirement(policy: ApprovalPolicy, impact: dict[str, Any]) -> Requirement:
    """The number of distinct approvers a plan with this impact needs, and why."""
    needed, reasons = policy.min_approvers, [f"every plan needs {policy.min_approvers}"]
    for rule in policy.rules:
        why = []
        when = rule.when
        if when.destructive and impact["destructive"]:
            why.append("destructive change to " + ", ".join(impact["destructive_resources"]))
        if when.cost_delta_over_usd is not None and abs(impact["cost_delta"]) > when.cost_delta_over_usd:
            why.append(f"cost delta {impact['cost_delta']:+,.2f} $/month beyond "
                       f"±{when.cost_delta_over_usd:,.2f}")
        if when.warnings and impact["warnings"]:
            why.append(f"{impact['warnings']} safety warning(s)")
        if why and rule.approvers > needed:
            needed = rule.approvers
        if why:
            reasons.append(f"rule {rule.name!r} ({'; '.join(why)}) needs {rule.approvers}")
    return Requirement(needed, reasons)


def authorise(policy: ApprovalPolicy, name: str, deployment: str) -> None:
    if policy.approvers and name not in policy.approvers:
        raise RefusedError(
            f"{name!r} may not approve or reject plans of {deployment!r}; approvers are "
            f"{', '.join(policy.approvers)} (approval.approvers in the deployment config)")


@dataclass
class ApprovalState:
    required: int
    reasons: list[str]
    approved_by: list[str]
    rejected_by: list[str]
    #: Approvals given for another plan hash: they do not count.
    stale: list[str]

    @property
    def satisfied(self) -> bool:
        return not self.rejected_by and len(self.approved_by) >= self.required

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "satisfied": self.satisfied}


def approval_state(approvals: list[Approval], plan: PlanRecord,
                   policy: ApprovalPolicy) -> ApprovalState:
    need = requirement(policy, plan.impact)
    valid = [a for a in approvals if a.plan_hash == plan.plan_hash]
    approved = sorted({a.approver for a in valid if a.decision == "approve"})
    rejected = sorted({a.approver for a in valid if a.decision == "reject"})
    stale = sorted({a.approver for a in approvals if a.plan_hash != plan.plan_hash})
    return ApprovalState(need.approvers, need.reasons, approved, rejected, stale)


def decide(ws: Workspace, plan_id: str, approver: str, decision: str,
           comment: str | None = None) -> ApprovalState:
    """Record an approval or rejection after checking who asks and what they sign."""
    assert decision in ("approve", "reject")
    store = ws.store
    plan = store.plan(plan_id)
    policy = ws.config(plan.deployment).approval
    actor = f"user:{approver}"
    try:
        authorise(policy, approver, plan.deployment)
    except RefusedError as exc:
        with store.transaction() as tx:
            tx.audit(audit.Entry("approval.refused", actor, plan.deployment, plan_id,
                                 action_hash=plan.plan_hash,
                                 payload={"decision": decision, "reason": str(exc)}))
        raise
    if plan.status != "planned":
        raise RefusedError(f"plan {plan_id} is {plan.status}; only planned plans can be "
                           f"{decision}d")
    if plan.outcome == "no_changes":
        raise RefusedError(f"plan {plan_id} changes nothing; there is nothing to {decision}")
    problems = verify_bundle(ws.bundle_path(plan.bundle_uri), plan.plan_hash)
    if problems:
        raise RefusedError(f"plan {plan_id} was tampered with; refusing to sign it:\n  - "
                           + "\n  - ".join(problems))
    approval = Approval(approver, decision, comment, plan.plan_hash, audit.now())
    with store.transaction() as tx:
        store.add_approval(tx, plan_id, approval)
        if decision == "reject":
            store.set_plan_status(tx, plan_id, "rejected")
        tx.audit(audit.Entry("approval", actor, plan.deployment, plan_id,
                             policy_version=plan.policy_version, action_hash=plan.plan_hash,
                             payload={"decision": decision, "comment": comment}))
        crash_point("approve.before_commit")
    crash_point("approve.committed")
    return approval_state(store.approvals(plan_id), store.plan(plan_id), policy)
