"""Findings, configuration and the policy registry of the safety layer.

A policy is a plain function `(plan, spec_before, spec_after, config) -> list[Finding]`, so each
can be tested alone. Policies that need specs return nothing when a spec is None (as in
`marlform tf check` on someone else's plan JSON). Users add their own with `@register_policy`
or through the entry-point group `marlform.safety_policies`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from gcp.spec import DeploymentSpec
from terraform.plan_model import Plan

Severity = Literal["deny", "warn"]
ENTRY_POINT_GROUP = "marlform.safety_policies"
#: Resource types whose delete or replace loses data.
STATEFUL_TYPES = frozenset({
    "google_sql_database_instance", "google_storage_bucket", "google_compute_disk", "google_redis_instance",
    "aws_db_instance", "aws_s3_bucket", "aws_ebs_volume",
})


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: Severity
    address: str  # a Terraform address, or a spec key such as "service/api" for spec-level rules
    reason: str
    owner: str | None = None  # the spec resource to revert when this is denied ("service/api", ...)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SafetyConfig:
    """Thresholds and explicit permissions. Defaults are conservative; budget and quotas default
    to the spec *before* the change, so an agent cannot raise its own limits."""

    target: str = "google"
    budget_monthly_usd: float | None = None
    max_cost_delta_fraction: float = 0.25
    warn_cost_delta_fraction: float = 0.10
    quotas: dict[str, int] = field(default_factory=dict)
    allow_destroy: frozenset[str] = frozenset()  # addresses or spec keys ("database/shop-db")
    allow_deletion_protection_off: bool = False
    max_scale_in_fraction: float = 0.5
    min_dependency_replicas: int = 1
    load_rps: dict[str, float] = field(default_factory=dict)  # observed/expected load per service
    max_utilisation: float = 0.9
    warn_utilisation: float = 0.75
    max_changed_resources: int = 30
    disabled_rules: frozenset[str] = frozenset()
    last_safe_spec: DeploymentSpec | None = None


Policy = Callable[[Plan, DeploymentSpec | None, DeploymentSpec | None, SafetyConfig], list[Finding]]
_REGISTRY: dict[str, Policy] = {}
_entry_points_loaded = False


def register_policy(name: str) -> Callable[[Policy], Policy]:
    """Decorator: add a policy under `name` (replacing one of the same name)."""

    def add(fn: Policy) -> Policy:
        _REGISTRY[name] = fn
        return fn

    return add


def unregister_policy(name: str) -> None:
    _REGISTRY.pop(name, None)


def policies() -> dict[str, Policy]:
    """Built-in policies, registered ones, and those exposed under the entry-point group."""
    global _entry_points_loaded
    from terraform.safety import rules  # noqa: F401  (registers the built-ins)

    if not _entry_points_loaded:
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            _REGISTRY.setdefault(ep.name, ep.load())
        _entry_points_loaded = True
    return dict(_REGISTRY)


def run_policies(plan: Plan, before: DeploymentSpec | None, after: DeploymentSpec | None,
                 config: SafetyConfig) -> list[Finding]:
    findings: list[Finding] = []
    for name, policy in sorted(policies().items()):
        if name not in config.disabled_rules:
            findings.extend(f for f in policy(plan, before, after, config)
                            if f.rule_id not in config.disabled_rules)
    return findings
