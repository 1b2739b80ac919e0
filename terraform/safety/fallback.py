"""Evaluate a plan and repair it: drop the denied changes, re-plan, else fall back to the last
known safe spec. Every step is recorded in a JSON-serialisable SafetyReport (safety.json)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gcp.errors import MarlformError
from gcp.spec import DeploymentSpec
from terraform.plan_model import Plan
from terraform.safety.model import Finding, SafetyConfig, run_policies

Planner = Callable[[DeploymentSpec | None, DeploymentSpec], Plan]


@dataclass
class Attempt:
    label: str  # "proposed", "drop_denied", "last_safe"
    plan_source: str
    findings: list[Finding]

    @property
    def denied(self) -> bool:
        return any(f.severity == "deny" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "plan_source": self.plan_source, "denied": self.denied,
                "findings": [f.to_dict() for f in self.findings]}


@dataclass
class SafetyReport:
    """decision: accept (no deny), repaired (denied parts reverted), fallback (last safe spec),
    blocked (nothing safe to fall back to, or the fallback itself is denied)."""

    decision: str
    attempts: list[Attempt]
    fallbacks: list[dict[str, Any]] = field(default_factory=list)
    final_spec: DeploymentSpec | None = None
    final_plan: Plan | None = None

    @property
    def findings(self) -> list[Finding]:
        """Findings on the proposed plan."""
        return self.attempts[0].findings

    @property
    def denied(self) -> bool:
        return self.attempts[0].denied

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "denied": self.denied,
            "findings": [f.to_dict() for f in self.findings],
            "attempts": [a.to_dict() for a in self.attempts],
            "fallbacks": self.fallbacks,
            "final_spec": self.final_spec.model_dump(mode="json") if self.final_spec else None,
        }


def preview_planner(target: str) -> Planner:
    from terraform.preview import preview_plan

    return lambda before, after: Plan.parse(preview_plan(before, after, target))


def owners_of(spec: DeploymentSpec | None, target: str) -> dict[str, str]:
    from terraform.render import render_cached

    return render_cached(spec, target).owners if spec is not None else {}


def revert(after: DeploymentSpec, before: DeploymentSpec | None, owners: set[str]) -> DeploymentSpec | None:
    """`after` with the parts behind `owners` ("service/x", "firewall/y", "network", ...) taken
    back to `before` (restored, reverted or removed). None when the result is not a valid spec."""
    new = after.model_dump(mode="json")
    old = before.model_dump(mode="json") if before else {"services": [], "buckets": [], "databases": [],
                                                          "network": {"firewall_rules": [], "subnets": []}}
    groups = {"service": ("services",), "bucket": ("buckets",), "database": ("databases",),
              "firewall": ("network", "firewall_rules"), "subnet": ("network", "subnets")}
    for owner in sorted(owners):
        kind, _, name = owner.partition("/")
        if kind == "network" and before:
            keep = {k: new["network"][k] for k in ("firewall_rules", "subnets")}
            new["network"] = {**old["network"], **keep}
        elif kind == "deployment" and before:
            for key in ("budget_monthly_usd", "quotas", "labels"):
                new[key] = old[key]
        elif kind in groups:
            *parent, key = groups[kind]
            target_list = new[parent[0]][key] if parent else new[key]
            source_list = old[parent[0]][key] if parent else old[key]
            original = next((x for x in source_list if x["name"] == name), None)
            index = next((i for i, x in enumerate(target_list) if x["name"] == name), None)
            if original is None and index is not None:
                target_list.pop(index)
            elif original is not None and index is None:
                target_list.append(original)
            elif original is not None:
                target_list[index] = original
    _repair_edges(new, old)
    try:
        return DeploymentSpec.from_data(new)
    except MarlformError:
        return None


def _repair_edges(new: dict[str, Any], old: dict[str, Any]) -> None:
    """Keep dependency edges and LB backends consistent with the resources that remain."""
    names = {x["name"] for group in ("services", "buckets", "databases") for x in new[group]}
    edges = [d for d in new["dependencies"] if d["source"] in names and d["target"] in names]
    for d in old.get("dependencies", []):
        if d["source"] in names and d["target"] in names and d not in edges:
            edges.append(d)
    new["dependencies"] = edges
    services = {s["name"] for s in new["services"]}
    lb = new["network"]["load_balancer"]
    lb["backends"] = [b for b in lb["backends"] if b in services]


def evaluate(plan: Plan, spec_before: DeploymentSpec | None, spec_after: DeploymentSpec | None,
             config: SafetyConfig | None = None, planner: Planner | None = None) -> SafetyReport:
    """Run every policy on `plan`; on deny, revert the denied resources and re-plan; if still
    denied, fall back to `config.last_safe_spec` (default: `spec_before`, what runs now)."""
    config = config or SafetyConfig()
    planner = planner or preview_planner(config.target)
    first = Attempt("proposed", plan.source, run_policies(plan, spec_before, spec_after, config))
    report = SafetyReport("accept", [first], final_spec=spec_after, final_plan=plan)
    if not first.denied:
        return report
    if spec_after is not None:
        owners = owners_of(spec_before, config.target) | owners_of(spec_after, config.target)
        denied = [f for f in first.findings if f.severity == "deny"]
        to_revert = {f.owner or owners.get(f.address) for f in denied}
        if None not in to_revert:
            repaired = revert(spec_after, spec_before, to_revert)
            record: dict[str, Any] = {"kind": "drop_denied", "reverted": sorted(to_revert),
                                      "rules": sorted({f.rule_id for f in denied})}
            report.fallbacks.append(record)
            if repaired is None:
                record["result"] = "reverting left an invalid spec"
            else:
                plan2 = planner(spec_before, repaired)
                attempt = Attempt("drop_denied", plan2.source,
                                  run_policies(plan2, spec_before, repaired, config))
                report.attempts.append(attempt)
                record["result"] = "still denied" if attempt.denied else "accepted"
                if not attempt.denied:
                    report.decision, report.final_spec, report.final_plan = "repaired", repaired, plan2
                    return report
        else:
            report.fallbacks.append({"kind": "drop_denied", "result": "skipped: a denied finding has no "
                                     "spec resource to revert", "rules": sorted({f.rule_id for f in denied})})
    safe = config.last_safe_spec or spec_before
    if safe is None:
        report.fallbacks.append({"kind": "last_safe", "result": "no known safe spec"})
        report.decision, report.final_spec, report.final_plan = "blocked", None, None
        return report
    plan3 = planner(spec_before, safe)
    attempt = Attempt("last_safe", plan3.source, run_policies(plan3, spec_before, safe, config))
    report.attempts.append(attempt)
    report.fallbacks.append({"kind": "last_safe", "spec": safe.name,
                             "result": "still denied" if attempt.denied else "accepted"})
    report.decision = "blocked" if attempt.denied else "fallback"
    report.final_spec, report.final_plan = safe, plan3
    return report
