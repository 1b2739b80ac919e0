"""`marlform plan`: observe → the policy acts → spec after → render → plan → safety and
fallback → explanation → a sealed bundle, recorded with its audit entries.

Runs under the deployment lock, after the kill switch and the rate limit. In
the autonomous stage a low-impact plan then applies itself (through the same
gate as `marlform apply`); in shadow it is compared with what the current
autoscaler would have done.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gcp.spec import DeploymentSpec, load_spec
from marlform import audit
from marlform.approvals import requirement
from marlform.controls import apply_overrides, check_rate, ensure_running
from marlform.crashpoints import crash_point
from marlform.errors import EXIT_CHANGES, EXIT_DENIED, EXIT_NO_CHANGES
from marlform.impact import high_impact_reasons, impact_of
from marlform.lock import deployment_lock
from marlform.publish import publish_plan
from marlform.report import explanation_md, summary_md
from marlform.stages import current_stages, plan_stage
from marlform.store import PlanRecord, spec_hash
from marlform.workspace import Workspace


@dataclass
class PlanRequest:
    deployment: Path
    scenario: str = "steady"
    policy: str | None = None
    observe: str = "sim"  # sim | gcp
    seed: int = 0
    #: Steps the simulator runs under the current autoscaler before the agents look.
    warmup_steps: int = 12
    target: str | None = None  # google | aws; default from the deployment config
    real_terraform: bool | None = None
    auto_apply: bool = True
    wait_s: float = 0.0
    #: --observe gcp: `NAME=URL` endpoint overrides (local servers) and a service-account key.
    endpoints: tuple[str, ...] = ()
    key_file: str | None = None


@dataclass
class PlanResult:
    record: PlanRecord
    summary: str
    needs: list[str]
    exit_code: int
    applied: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.record.to_dict(), "needs": self.needs, "exit_code": self.exit_code,
                "applied": self.applied, "notes": self.notes}


def new_plan_id(deployment: str) -> str:
    return f"{deployment}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def current_deployment(ws: Workspace, request: PlanRequest, file_spec: DeploymentSpec,
                       notes: list[str], backend=None) -> DeploymentSpec:
    """What is deployed now: the live project (gcp, read through `backend`), or the simulated
    deployment in the store."""
    if backend is not None:
        live = backend.deployment_spec()
        with ws.store.transaction() as tx:
            ws.store.put_deployment(tx, live, safe=ws.store.safe_spec(live.name) is None)
        return live
    stored = ws.store.deployment_spec(file_spec.name)
    if stored is None:
        with ws.store.transaction() as tx:
            ws.store.put_deployment(tx, file_spec, safe=True)
        notes.append(f"registered {file_spec.name!r} from {request.deployment} as the simulated "
                     "deployment")
        return file_spec
    if spec_hash(stored) != spec_hash(file_spec):
        notes.append(f"planning from the deployed state of {file_spec.name!r} recorded in the "
                     f"store (applied plans changed it); {request.deployment} differs")
    return stored


def run_plan(ws: Workspace, request: PlanRequest) -> PlanResult:
    from marlform.observe import decide, shadow_compare
    from marlform.safety import safe_plan

    file_spec = load_spec(request.deployment)
    name = file_spec.name
    config = ws.config(name)
    target = request.target or config.terraform.target
    try_real = config.terraform.real if request.real_terraform is None else request.real_terraform
    with deployment_lock(ws.home.locks, name, f"plan {name}", request.wait_s):
        ensure_running(ws, name, "agent decisions")
        policy_actor = f"agent:{request.policy or 'default'}"
        check_rate(ws, name, ("plan",), config.rate_limits.plans_per_hour, "plans", policy_actor)
        notes: list[str] = []
        backend = None
        if request.observe == "gcp":
            from marlform.observe import gcp_backend

            backend = gcp_backend(file_spec, request.endpoints, request.key_file)
        before = current_deployment(ws, request, file_spec, notes, backend)
        outcome = decide(before, request.scenario, request.policy, request.observe, request.seed,
                         request.warmup_steps, backend)
        notes.extend(outcome.notes)
        crash_point("plan.observed")
        overrides = {p: o["value"] for p, o in ws.store.overrides(name).items()}
        proposed, overridden = apply_overrides(outcome.spec_after, overrides)
        plan_id = new_plan_id(name)
        workdir = ws.home.terraform_dir(name)
        safety = safe_plan(workdir, before, ws.store.safe_spec(name) or before, proposed, target,
                           try_real)
        after, tf = safety["spec_after"], safety["plan"]
        impact = impact_of(tf.plan_json, safety["final_findings"], safety["fallback"], before,
                           after)
        stages = current_stages(ws, name, [s.name for s in before.services])
        stage = plan_stage(stages, impact)
        denied = safety["denied"]
        changed = impact["changes"] > 0 or spec_hash(after) != spec_hash(before)
        result_outcome = "denied" if denied else ("changes" if changed else "no_changes")
        shadow = shadow_compare(outcome, before) if stage == "shadow" else None
        needs = needs_for(ws, name, stage, result_outcome, impact, plan_id)
        policy_version = outcome.policy_version
        request_doc = {
            "plan_id": plan_id, "deployment": name, "spec_file": str(request.deployment),
            "scenario": request.scenario, "policy_version": policy_version,
            "observe": request.observe, "seed": request.seed, "stage": stage, "target": target,
            "stages": stages, "created_at": audit.now(),
        }
        summary = summary_md(plan_id, name, stage, result_outcome, tf.plan_json.get("source", tf.source),
                             impact, tf.plan_json, safety["findings"], needs, before, after)
        contents = {
            "request.json": request_doc,
            "observation.json": outcome.observation,
            "actions.json": {"policy_version": policy_version, "actions": outcome.decisions,
                             "overridden": overridden},
            "spec.before.json": before.to_json(),
            "spec.after.json": after.to_json(),
            "main.tf.json": tf.main_tf,
            "plan.json": tf.plan_json,
            "safety.json": safety["report"],
            "explanation.md": explanation_md(policy_version, outcome.decisions, overridden,
                                             safety["report"], shadow, outcome.explanation,
                                             outcome.no_explanation),
            "summary.md": summary,
        }
        if tf.tfplan is not None and result_outcome == "changes":
            contents["tfplan"] = tf.tfplan
        if tf.note:
            notes.append(f"plan source: preview ({tf.note.splitlines()[0]})")
        record = PlanRecord(
            id=plan_id, deployment=name, created_at=request_doc["created_at"], status="planned",
            outcome=result_outcome, stage=stage, plan_hash="", before_hash=spec_hash(before),
            after_hash=spec_hash(after), policy_version=policy_version, observe=request.observe,
            bundle_uri="", impact=impact, shadow=shadow)
        entries = decision_entries(name, policy_version, outcome.decisions)
        if safety["fallback"] or safety["dropped"]:
            entries.append(audit.Entry("fallback", "system", name, policy_version=policy_version,
                                       payload={"dropped": safety["dropped"],
                                                "fallback": safety["fallback"]}))
        if shadow:
            entries.append(audit.Entry("shadow", "system", name, policy_version=policy_version,
                                       value=shadow["agreement"], payload=shadow))
        record = publish_plan(ws, record, contents, entries)
    code = {"changes": EXIT_CHANGES, "denied": EXIT_DENIED, "no_changes": EXIT_NO_CHANGES}
    result = PlanResult(record, summary, needs, code[result_outcome], notes=notes)
    limits = config.autonomous
    if (request.auto_apply and stage == "autonomous" and result_outcome == "changes"
            and not high_impact_reasons(impact, limits.max_cost_delta_usd, limits.allow_warnings)):
        from marlform.apply import apply_plan
        from marlform.targets import target_for

        result.applied = apply_plan(ws, record.id, target_for(ws, record, request.scenario),
                                    f"agent:{policy_version}", request.wait_s)
    return result


def decision_entries(deployment: str, policy_version: str,
                     decisions: list[dict[str, Any]]) -> list[audit.Entry]:
    """One audit entry per agent action, flagged when it was exploration."""
    return [audit.Entry(
        "exploration" if d.get("exploration") else "decision", f"agent:{policy_version}",
        deployment, policy_version=policy_version,
        action_hash=audit.sha256(audit.canonical(d)), value=d.get("value"), exploration=bool(d.get("exploration")),
        payload={k: d[k] for k in ("agent", "resource", "action", "confidence") if k in d})
        for d in decisions]


def needs_for(ws: Workspace, deployment: str, stage: str, outcome: str, impact: dict[str, Any],
              plan_id: str) -> list[str]:
    """What a person must do next, in words, for the summary and the CLI."""
    if outcome == "no_changes":
        return ["nothing: the plan changes nothing"]
    if outcome == "denied":
        return ["nothing can be applied: the safety policies denied this plan and the fallback "
                "did not produce an acceptable change (see safety.json)"]
    if stage == "shadow":
        return ["nothing: shadow stage; the plan is compared with the current autoscaler and "
                "never applied"]
    if stage == "recommend":
        return ["review: recommend stage; marlform does not apply it (promote to approve with "
                "`marlform stage promote`)"]
    config = ws.config(deployment)
    need = requirement(config.approval, impact)
    who = ", ".join(config.approval.approvers) or "anyone named"
    approve = (f"{need.approvers} approval(s) from {who} ({'; '.join(need.reasons)}): "
               f"`marlform approve {plan_id} --by NAME`, then `marlform apply {plan_id}`")
    if stage == "autonomous":
        why = high_impact_reasons(impact, config.autonomous.max_cost_delta_usd,
                            config.autonomous.allow_warnings)
        if not why:
            return ["nothing: autonomous stage and low impact, so it applies itself"]
        return [f"high impact ({'; '.join(why)}): {approve}"]
    return [approve]
