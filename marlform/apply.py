"""`marlform apply`: refuse anything not allowed, apply the saved plan, validate, roll back.

Order of checks (each refusal is audited and exits 5): kill switch, plan
status and outcome, rollout stage, bundle integrity against the recorded plan
hash, approvals (or, in the autonomous stage, low impact), and staleness (the
deployment must still be what the plan was made from). Then, under the
deployment lock:

  1. record `applying` (+ audit)        crash here: rerun re-applies
  2. apply through the target           crash here: rerun sees the after-spec, validates
  3. validate the result
  4a. valid: record `applied` and the new last-known-safe spec (+ audit)
  4b. invalid: apply the previous spec, record `rolled_back` (+ audit), exit 7

A plan left `applying` by a crash is resumed by running the same command again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gcp.spec import DeploymentSpec
from marlform import audit
from marlform.approvals import approval_state
from marlform.bundle import verify_bundle
from marlform.config import STAGES
from marlform.controls import check_rate, ensure_running
from marlform.crashpoints import crash_point
from marlform.errors import RefusedError, RolledBackError
from marlform.impact import high_impact_reasons
from marlform.lock import deployment_lock
from marlform.stages import current_stages, plan_stage
from marlform.store import PlanRecord, spec_hash
from marlform.workspace import Workspace


@dataclass
class Validation:
    ok: bool
    checks: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": self.checks}


class ApplyTarget(Protocol):
    """Where a plan lands: the simulator, or real infrastructure through Terraform."""

    name: str

    def current_spec(self) -> DeploymentSpec:
        ...

    def apply(self, bundle: Path, after: DeploymentSpec, resume: bool) -> dict[str, Any]:
        """Make `after` real; `resume` after a crash mid-apply (the saved plan may be stale)."""
        ...

    def validate(self, spec: DeploymentSpec) -> Validation:
        ...

    def restore(self, before: DeploymentSpec) -> dict[str, Any]:
        """Roll back to `before` after a failed validation."""
        ...


@dataclass
class Decision:
    """Why an apply may go ahead: who, under which stage, with which approvals."""

    actor: str
    stage: str
    mode: str  # approved | autonomous
    approvals: dict[str, Any]


def check(ws: Workspace, plan: PlanRecord, target: ApplyTarget, actor: str,
          bundle: Path) -> Decision:
    """Every refusal rule in order; raises RefusedError with what would make it allowed."""
    ensure_running(ws, plan.deployment, "applies")
    if plan.status not in ("planned", "applying"):
        raise RefusedError(f"plan {plan.id} is {plan.status}; it cannot be applied")
    if plan.outcome == "no_changes":
        raise RefusedError(f"plan {plan.id} changes nothing")
    if plan.outcome == "denied":
        raise RefusedError(f"plan {plan.id} was denied by the safety policies ({', '.join(plan.impact['rules'])})")
    stages = current_stages(ws, plan.deployment, plan.impact["services_changed"])
    stage = min(plan.stage, plan_stage(stages, plan.impact), key=STAGES.index)
    if stage in ("shadow", "recommend"):
        raise RefusedError(
            f"plan {plan.id} is in the {stage} stage: marlform "
            f"{'only compares such plans with the current autoscaler' if stage == 'shadow' else 'only recommends such plans'}"
            " and never applies them (promote with `marlform stage promote`)")
    problems = verify_bundle(bundle, plan.plan_hash)
    if problems:
        raise RefusedError(f"plan {plan.id} was tampered with since it was made; refusing:\n  - "
                           + "\n  - ".join(problems))
    config = ws.config(plan.deployment)
    state = approval_state(ws.store.approvals(plan.id), plan, config.approval)
    mode = "approved"
    if not state.satisfied:
        have = f"{len(state.approved_by)} of {state.required} approval(s)"
        needs = f"{have} ({'; '.join(state.reasons)})"
        if state.rejected_by:
            raise RefusedError(f"plan {plan.id} was rejected by {', '.join(state.rejected_by)}")
        if stage != "autonomous":
            raise RefusedError(f"plan {plan.id} is not approved: {needs}; run "
                               f"`marlform approve {plan.id} --by NAME`")
        limits = config.autonomous
        why = high_impact_reasons(plan.impact, limits.max_cost_delta_usd, limits.allow_warnings)
        if why:
            raise RefusedError(f"plan {plan.id} is high impact ({'; '.join(why)}); even in the "
                               f"autonomous stage it needs a human: {needs}")
        if plan.status == "planned":
            check_rate(ws, plan.deployment, ("apply.started",),
                       config.rate_limits.autonomous_applies_per_hour, "autonomous applies",
                       f"agent:{plan.policy_version}")
        mode, actor = "autonomous", f"agent:{plan.policy_version}"
    current = spec_hash(target.current_spec())
    allowed = {plan.before_hash} | ({plan.after_hash} if plan.status == "applying" else set())
    if current not in allowed:
        raise RefusedError(f"plan {plan.id} is stale: {plan.deployment!r} changed since the plan "
                           "was made (another plan was applied, or it was changed outside "
                           "marlform); make a new plan")
    return Decision(actor, stage, mode, state.to_dict())


def apply_plan(ws: Workspace, plan_id: str, target: ApplyTarget, actor: str,
               wait_s: float = 0.0) -> dict[str, Any]:
    plan = ws.store.plan(plan_id)
    with deployment_lock(ws.home.locks, plan.deployment, f"apply {plan_id}", wait_s):
        plan = ws.store.plan(plan_id)  # re-read under the lock
        bundle = ws.bundle_path(plan.bundle_uri)
        try:
            decision = check(ws, plan, target, actor, bundle)
        except RefusedError as exc:
            with ws.store.transaction() as tx:
                tx.audit(audit.Entry("apply.refused", actor, plan.deployment, plan.id,
                                     policy_version=plan.policy_version,
                                     action_hash=plan.plan_hash, payload={"reason": str(exc)}))
            raise
        return _run(ws, plan, target, decision, bundle)


def _run(ws: Workspace, plan: PlanRecord, target: ApplyTarget, decision: Decision,
         bundle: Path) -> dict[str, Any]:
    store = ws.store
    before = DeploymentSpec.from_json((bundle / "spec.before.json").read_text(), "spec.before.json")
    after = DeploymentSpec.from_json((bundle / "spec.after.json").read_text(), "spec.after.json")
    resume = plan.status == "applying"
    entry = audit.Entry("apply.started", decision.actor, plan.deployment, plan.id,
                        policy_version=plan.policy_version, action_hash=plan.plan_hash,
                        payload={"stage": decision.stage, "mode": decision.mode, "target": target.name,
                                 "approvals": decision.approvals, "resume": resume})
    with store.transaction() as tx:
        store.set_plan_status(tx, plan.id, "applying")
        tx.audit(entry)
    crash_point("apply.started")
    if spec_hash(target.current_spec()) == plan.after_hash:
        applied: dict[str, Any] = {"skipped": "the deployment already matches the plan (resumed)"}
    else:
        applied = target.apply(bundle, after, resume)
    crash_point("apply.applied")
    validation = target.validate(after)
    result = {"plan_id": plan.id, "deployment": plan.deployment, "target": target.name,
              "mode": decision.mode, "stage": decision.stage, "applied": applied,
              "validation": validation.to_dict()}
    if validation.ok:
        with store.transaction() as tx:
            store.set_plan_status(tx, plan.id, "applied")
            store.put_deployment(tx, after, safe=True)
            tx.audit(audit.Entry("apply.succeeded", decision.actor, plan.deployment, plan.id,
                                 policy_version=plan.policy_version, action_hash=plan.plan_hash,
                                 payload={"validation": validation.to_dict()}))
        crash_point("apply.validated")
        return {**result, "status": "applied"}
    restored = target.restore(before)
    with store.transaction() as tx:
        store.set_plan_status(tx, plan.id, "rolled_back")
        store.put_deployment(tx, before, safe=True)
        tx.audit(audit.Entry("rollback", "system", plan.deployment, plan.id,
                             policy_version=plan.policy_version, action_hash=plan.plan_hash,
                             payload={"validation": validation.to_dict(), "restored": restored}))
    crash_point("apply.rolled_back")
    failed = [c["name"] for c in validation.checks if not c["ok"]]
    raise RolledBackError(f"plan {plan.id} was applied but failed validation ({', '.join(failed)}); "
                          f"rolled back to the previous spec (recorded in the audit log)",
                          {**result, "status": "rolled_back", "restored": restored})
