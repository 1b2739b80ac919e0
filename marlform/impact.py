"""How much a plan matters: what changes, what it costs, what it risks.

Computed once when the plan is made and stored with it, because approval
rules, the plan's stage, the autonomous limits and the summary all read the
same facts. Changes come from the plan JSON (`resource_changes`, Terraform's
shape), cost from `gcp.pricing` on the specs, findings from the safety report.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from gcp.pricing import price_spec
from gcp.spec import DeploymentSpec


def resource_actions(plan_json: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(address, type, action) for every resource change that is not a no-op or read."""
    out = []
    for change in plan_json.get("resource_changes", []):
        actions = change["change"]["actions"]
        if actions in (["no-op"], ["read"]):
            continue
        action = "replace" if sorted(actions) == ["create", "delete"] else actions[0]
        out.append((change["address"], change["type"], action))
    return out


def changed_parts(before: DeploymentSpec, after: DeploymentSpec) -> tuple[list[str], bool]:
    """Services whose settings changed, and whether anything else (network, data) changed."""
    old = {s.name: s for s in before.services}
    new = {s.name: s for s in after.services}
    services = sorted(n for n in old.keys() | new.keys() if old.get(n) != new.get(n))
    rest_before = before.model_dump(exclude={"services"})
    rest_after = after.model_dump(exclude={"services"})
    return services, rest_before != rest_after


def impact_of(plan_json: dict[str, Any], findings: list[dict[str, Any]], fallback: bool,
              before: DeploymentSpec, after: DeploymentSpec) -> dict[str, Any]:
    from terraform.safety import STATEFUL_TYPES

    changes = resource_actions(plan_json)
    destructive = sorted(addr for addr, kind, action in changes
                         if action in ("delete", "replace") and kind in STATEFUL_TYPES)
    cost_before, cost_after = price_spec(before).total, price_spec(after).total
    denies = [f for f in findings if f["severity"] == "deny"]
    warnings = [f for f in findings if f["severity"] == "warn"]
    services, other = changed_parts(before, after)
    delta = cost_after - cost_before
    if not changes and not services and not other:
        risk = "none"
    elif denies or destructive:
        risk = "high"
    elif warnings or abs(delta) > 0.1 * max(cost_before, 1.0):
        risk = "medium"
    else:
        risk = "low"
    return {
        "changes": len(changes),
        "actions": dict(Counter(action for _, _, action in changes)),
        "destructive": bool(destructive),
        "destructive_resources": destructive,
        "cost_before": round(cost_before, 2),
        "cost_after": round(cost_after, 2),
        "cost_delta": round(delta, 2),
        "denies": len(denies),
        "warnings": len(warnings),
        "rules": sorted({f["rule"] for f in findings}),
        "fallback": fallback,
        "services_changed": services,
        "other_changed": other,
        "risk": risk,
    }


def high_impact_reasons(impact: dict[str, Any], max_cost_delta: float, allow_warnings: bool) -> list[str]:
    """Why a plan is NOT low impact (empty when it may apply itself in the autonomous stage)."""
    why = []
    if impact["denies"]:
        why.append(f"{impact['denies']} safety denial(s)")
    if impact["fallback"]:
        why.append("safety fell back to the last safe spec")
    if impact["destructive"]:
        why.append("destructive change to " + ", ".join(impact["destructive_resources"]))
    if abs(impact["cost_delta"]) >= max_cost_delta:
        why.append(f"cost delta {impact['cost_delta']:+,.2f} $/month, limit ±{max_cost_delta:,.2f}")
    if impact["warnings"] and not allow_warnings:
        why.append(f"{impact['warnings']} safety warning(s)")
    return why


def spec_changes(before: DeploymentSpec, after: DeploymentSpec) -> list[tuple[str, object, object]]:
    """(path, before, after) of every changed leaf, items of named lists addressed by name."""
    out: list[tuple[str, object, object]] = []

    def walk(old: object, new: object, path: str) -> None:
        if isinstance(old, dict) and isinstance(new, dict):
            for key in sorted(old.keys() | new.keys()):
                walk(old.get(key), new.get(key), f"{path}.{key}" if path else key)
        elif (isinstance(old, list) and isinstance(new, list)
              and all(isinstance(x, dict) and "name" in x for x in old + new)):
            olds, news = {x["name"]: x for x in old}, {x["name"]: x for x in new}
            for name in sorted(olds.keys() | news.keys()):
                walk(olds.get(name), news.get(name), f"{path}[{name}]")
        elif old != new:
            out.append((path, old, new))

    walk(before.model_dump(mode="json"), after.model_dump(mode="json"), "")
    return out
