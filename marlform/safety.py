"""Safety for a proposed spec: plan it, run the safety policies, repair or fall back, and
re-plan the spec that survives, so the bundle's plan is exactly what would be applied.

The policies and the repair/fallback logic are `terraform.safety`; this module decides what
the outcome means for marlform: `denied` when nothing of the agents' proposal survives
(the result is the current deployment) or the safety layer is blocked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gcp.spec import DeploymentSpec
from marlform.planner import TfPlan, make_plan
from marlform.store import spec_hash


def findings_of(attempt) -> list[dict[str, Any]]:
    return [{"rule": f.rule_id, "severity": f.severity, "address": f.address, "reason": f.reason}
            for f in attempt.findings]


def safe_plan(workdir: Path, before: DeploymentSpec, last_safe: DeploymentSpec,
              proposed: DeploymentSpec, target: str, try_real: bool) -> dict[str, Any]:
    from terraform.plan_model import Plan
    from terraform.safety import SafetyConfig, evaluate
    from terraform.safety.fallback import preview_planner

    first: TfPlan = make_plan(workdir, before, proposed, target, try_real)
    config = SafetyConfig(target=target, last_safe_spec=last_safe)
    report = evaluate(Plan.parse(first.plan_json), before, proposed, config,
                      planner=preview_planner(target))
    blocked = report.decision == "blocked"
    after = report.final_spec if report.final_spec is not None and not blocked else before
    tf = first
    if spec_hash(after) != spec_hash(proposed):  # plan what will really be applied
        tf = make_plan(workdir, before, after, target, try_real)
    denied = blocked or (report.denied and spec_hash(after) == spec_hash(before))
    return {
        "spec_after": after,
        "plan": tf,
        "denied": denied,
        "fallback": report.decision in ("fallback", "blocked"),
        "dropped": [f for f in report.fallbacks if f.get("kind") == "drop_denied"],
        "findings": findings_of(report.attempts[0]),
        "final_findings": findings_of(report.attempts[-1]),
        "report": report.to_dict(),
    }
