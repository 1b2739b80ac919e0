"""Rollout stages per deployment and per service, and promotion on evidence.

shadow → recommend → approve → autonomous. A deployment's own stage (key "*")
covers its network, buckets and databases and every service without a stage
of its own. A plan takes the most cautious stage among what it changes.
Promotion goes one step at a time, needs the configured evidence from plans
made in the current stage, and is itself approved by someone other than the
requester, with every step in the audit log. Demotion is immediate: making
the agents more cautious never waits for anyone.
"""

from __future__ import annotations

import secrets
from statistics import fmean
from typing import Any

from marlform import audit
from marlform.approvals import authorise
from marlform.config import STAGES, Stage
from marlform.errors import RefusedError
from marlform.workspace import Workspace

DEPLOYMENT = "*"


def current_stages(ws: Workspace, deployment: str, services: list[str]) -> dict[str, Stage]:
    """Stage of the deployment ("*") and of each service: the database, else the config."""
    config = ws.config(deployment).stages
    stored = ws.store.stages(deployment)
    default = stored.get(DEPLOYMENT, config.default)
    out: dict[str, Stage] = {DEPLOYMENT: default}
    for name in services:
        out[name] = stored.get(name, config.services.get(name, default))
    return out


def plan_stage(stages: dict[str, Stage], impact: dict[str, Any]) -> Stage:
    """The most cautious stage among the parts a plan changes."""
    touched = [stages.get(s, stages[DEPLOYMENT]) for s in impact["services_changed"]]
    if impact["other_changed"] or not touched:
        touched.append(stages[DEPLOYMENT])
    return min(touched, key=STAGES.index)


def evidence(ws: Workspace, deployment: str, service: str, stage: Stage) -> dict[str, Any]:
    """What plans made in `stage` show, for `service` (or the whole deployment for "*")."""
    plans = [p for p in ws.store.plans(deployment, limit=10_000) if p.stage == stage and (
        service == DEPLOYMENT or service in p.impact["services_changed"]
        or service in (p.shadow or {}).get("services", {}))]
    agreements = [p.shadow["agreement"] for p in plans if p.shadow]
    return {
        "stage": stage,
        "plans": len(plans),
        "mean_agreement": fmean(agreements) if agreements else None,
        "applied": sum(p.status == "applied" for p in plans),
        "rolled_back": sum(p.status == "rolled_back" for p in plans),
        "denied": sum(p.outcome == "denied" for p in plans),
    }


def missing_evidence(ws: Workspace, deployment: str, to: Stage, seen: dict[str, Any]) -> list[str]:
    need = ws.config(deployment).evidence_for(to)
    gaps = []
    if seen["plans"] < need.min_plans:
        gaps.append(f"{seen['plans']} plan(s) in {seen['stage']}, {need.min_plans} needed")
    agreement = seen["mean_agreement"]
    if need.min_agreement > 0 and (agreement is None or agreement < need.min_agreement):
        shown = "none measured" if agreement is None else f"{agreement:.2f}"
        gaps.append(f"agreement with the current autoscaler {shown}, {need.min_agreement:.2f} needed")
    if seen["applied"] < need.min_applied:
        gaps.append(f"{seen['applied']} plan(s) applied, {need.min_applied} needed")
    if seen["rolled_back"] > need.max_rollbacks:
        gaps.append(f"{seen['rolled_back']} rollback(s), at most {need.max_rollbacks} allowed")
    return gaps


def request_promotion(ws: Workspace, deployment: str, service: str, by: str) -> dict[str, Any]:
    """Ask to move one stage forward; refused without the configured evidence."""
    authorise(ws.config(deployment).approval, by, deployment)
    services = [] if service == DEPLOYMENT else [service]
    now_stage = current_stages(ws, deployment, services)[service]
    if now_stage == STAGES[-1]:
        raise RefusedError(f"{_where(deployment, service)} is already {now_stage}")
    to = STAGES[STAGES.index(now_stage) + 1]
    seen = evidence(ws, deployment, service, now_stage)
    gaps = missing_evidence(ws, deployment, to, seen)
    if gaps:
        raise RefusedError(f"not enough evidence to promote {_where(deployment, service)} "
                           f"from {now_stage} to {to}:\n  - " + "\n  - ".join(gaps))
    row = {"id": f"promo-{secrets.token_hex(4)}", "deployment": deployment, "service": service,
           "from_stage": now_stage, "to_stage": to, "requested_by": by, "evidence": seen,
           "status": "pending", "approvers": [], "at": audit.now()}
    with ws.store.transaction() as tx:
        ws.store.insert_promotion(tx, row)
        tx.audit(audit.Entry("promotion.requested", f"user:{by}", deployment,
                             action_hash=audit.sha256(audit.canonical(row)), payload=row))
    return row


def approve_promotion(ws: Workspace, promotion_id: str, by: str) -> dict[str, Any]:
    promo = ws.store.promotion(promotion_id)
    deployment = promo["deployment"]
    authorise(ws.config(deployment).approval, by, deployment)
    if promo["status"] != "pending":
        raise RefusedError(f"promotion {promotion_id} is {promo['status']}")
    if by == promo["requested_by"]:
        raise RefusedError(f"{by!r} requested promotion {promotion_id}; someone else must approve it")
    services = [] if promo["service"] == DEPLOYMENT else [promo["service"]]
    if current_stages(ws, deployment, services)[promo["service"]] != promo["from_stage"]:
        raise RefusedError(f"promotion {promotion_id} is outdated: the stage changed since it was asked")
    approvers = sorted({*promo["approvers"], by})
    done = len(approvers) >= ws.config(deployment).evidence_for(promo["to_stage"]).approvers
    with ws.store.transaction() as tx:
        ws.store.update_promotion(tx, promotion_id, "approved" if done else "pending", approvers)
        if done:
            ws.store.set_stage(tx, deployment, promo["service"], promo["to_stage"])
        tx.audit(audit.Entry("promotion.approved", f"user:{by}", deployment,
                             payload={"promotion": promotion_id, "complete": done,
                                      "to_stage": promo["to_stage"], "service": promo["service"]}))
    return ws.store.promotion(promotion_id)


def demote(ws: Workspace, deployment: str, service: str, to: Stage, by: str,
           reason: str | None) -> Stage:
    authorise(ws.config(deployment).approval, by, deployment)
    services = [] if service == DEPLOYMENT else [service]
    now_stage = current_stages(ws, deployment, services)[service]
    if STAGES.index(to) >= STAGES.index(now_stage):
        raise RefusedError(f"{_where(deployment, service)} is {now_stage}; demotion goes to an "
                           f"earlier stage ({', '.join(STAGES[:STAGES.index(now_stage)]) or 'none'})")
    with ws.store.transaction() as tx:
        ws.store.set_stage(tx, deployment, service, to)
        tx.audit(audit.Entry("stage.demoted", f"user:{by}", deployment, payload={
            "service": service, "from_stage": now_stage, "to_stage": to, "reason": reason}))
    return to


def _where(deployment: str, service: str) -> str:
    return f"deployment {deployment!r}" if service == DEPLOYMENT else \
        f"service {service!r} of {deployment!r}"
