"""The built-in safety policies. Each is a plain function over (plan, spec_before, spec_after,
config); rule ids are stable strings that reports and user configuration refer to."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable
from typing import Any

from gcp.catalog import load_catalog
from gcp.pricing import price_spec
from gcp.spec import DeploymentSpec, check_semantics
from terraform.plan_model import Plan, ResourceChange
from terraform.render_google import mig_split
from terraform.safety.model import STATEFUL_TYPES, Finding, SafetyConfig, register_policy

_WORLD = {"0.0.0.0/0", "::/0"}
_ADMIN_PORTS = {22: "SSH", 3389: "RDP"}


def _services(spec: DeploymentSpec | None) -> dict[str, Any]:
    return {s.name: s for s in spec.services} if spec else {}


def _depended_on(spec: DeploymentSpec) -> set[str]:
    """Services that other resources call, or that the load balancer sends users to."""
    names = {d.target for d in spec.dependencies}
    if spec.network.load_balancer.enabled:
        names |= set(spec.network.load_balancer.backends)
    return names & set(_services(spec))


@register_policy("cost.budget")
def budget(plan: Plan, before, after, config: SafetyConfig) -> list[Finding]:
    """Monthly cost after the change must stay within the budget (of the spec before)."""
    if after is None:
        return []
    limit = config.budget_monthly_usd or (before or after).budget_monthly_usd
    report = price_spec(after)
    if report.total <= limit:
        return []
    old = price_spec(before).by_resource() if before else {}
    if before is not None and report.total <= math.fsum(old.values()) + 0.005:
        return [Finding("cost.budget", "warn", "deployment",
                        f"monthly cost ${report.total:,.2f} is over the budget ${limit:,.2f}, "
                        "but this plan does not raise it")]
    grew = [(r, c - old.get(r, 0.0)) for r, c in report.by_resource().items() if c - old.get(r, 0.0) > 0.005]
    reason = f"monthly cost after the change ${report.total:,.2f} exceeds the budget ${limit:,.2f}"
    if not grew:
        return [Finding("cost.budget", "deny", "deployment", reason)]
    return [Finding("cost.budget", "deny", r, f"{reason}; {r} adds ${d:,.2f}", owner=_owner(r))
            for r, d in grew]


@register_policy("cost.delta")
def cost_delta(plan: Plan, before, after, config: SafetyConfig) -> list[Finding]:
    """Cap on the monthly cost increase of one plan, as a fraction of the cost before."""
    if before is None or after is None:
        return []
    old, new = price_spec(before), price_spec(after)
    delta = new.total - old.total
    if old.total <= 0 or delta <= config.warn_cost_delta_fraction * old.total:
        return []
    severity = "deny" if delta > config.max_cost_delta_fraction * old.total else "warn"
    reason = (f"monthly cost rises by ${delta:,.2f} ({delta / old.total:.0%}); cap "
              f"{config.max_cost_delta_fraction:.0%}")
    old_items = old.by_resource()
    grew = [r for r, c in new.by_resource().items() if c - old_items.get(r, 0.0) > 0.005]
    return [Finding("cost.delta", severity, r, reason, owner=_owner(r)) for r in grew]


def _owner(resource_key: str) -> str:
    return "network" if resource_key.startswith("network/") else resource_key


@register_policy("quota.regional")
def quota(plan: Plan, before, after, config: SafetyConfig) -> list[Finding]:
    """Regional quotas (limits from the config or the spec before): CPUS, MIGs, SSD, firewalls."""
    if after is None:
        return []
    catalog = load_catalog()
    limits_spec = before or after

    def limit(metric: str) -> int:
        return config.quotas.get(metric, limits_spec.quota(metric))

    def vcpus(spec: DeploymentSpec | None, attr: str) -> dict[str, float]:
        return {s.name: catalog.machine_type(s.machine_type).vcpu * getattr(s.replicas, attr)
                for s in (spec.services if spec else [])}

    findings = []
    now, old = vcpus(after, "target"), vcpus(before, "target")
    if sum(now.values()) > limit("CPUS"):
        grew = [n for n in now if now[n] > old.get(n, 0)] or list(now)
        findings += [Finding("quota.regional", "deny", f"service/{n}",
                             f"{sum(now.values()):g} vCPUs exceed the regional CPUS quota {limit('CPUS')}",
                             owner=f"service/{n}") for n in grew]
    elif sum(vcpus(after, "max").values()) > limit("CPUS"):
        findings.append(Finding("quota.regional", "warn", "services",
                                f"autoscaling to max would need {sum(vcpus(after, 'max').values()):g} vCPUs; "
                                f"CPUS quota is {limit('CPUS')}"))
    counts = _quota_counts(after)
    before_totals = _quota_usage(before) if before else {}
    for metric, per_owner in counts.items():
        total = sum(per_owner.values())
        if total <= limit(metric):
            continue
        reason = f"{metric} would be {total}, over the quota {limit(metric)}"
        if total <= before_totals.get(metric, 0):  # already over before: not made worse by this plan
            findings.append(Finding("quota.regional", "warn", metric, reason + " (unchanged by this plan)"))
        else:
            findings += [Finding("quota.regional", "deny", o, reason, owner=o) for o in per_owner]
    return findings


def _quota_usage(spec: DeploymentSpec) -> dict[str, float]:
    return {metric: sum(per.values()) for metric, per in _quota_counts(spec).items()}


def _quota_counts(spec: DeploymentSpec) -> dict[str, dict[str, float]]:
    """Per quota metric, the usage of each spec resource (MIGs, firewall rules, pd-ssd GB)."""
    return {
        "INSTANCE_GROUP_MANAGERS": {f"service/{s.name}": len(mig_split(s)) for s in spec.services},
        "FIREWALLS": {f"firewall/{r.name}": 1 for r in spec.network.firewall_rules},
        "SSD_TOTAL_GB": {f"service/{s.name}": s.disk_size_gb * s.replicas.target
                         for s in spec.services if s.disk_type == "pd-ssd"},
    }


@register_policy("stateful.destroy")
def stateful_destroy(plan: Plan, before, after, config: SafetyConfig) -> list[Finding]:
    """Deleting or replacing a stateful resource (Cloud SQL, bucket, disk) needs explicit permission."""
    out = []
    for c in plan.changes:
        if c.type in STATEFUL_TYPES and c.deletes and c.address not in config.allow_destroy:
            verb = "replaces" if c.action == "replace" else "deletes"
            why = f" (forced by {', '.join('.'.join(map(str, p)) for p in c.replace_paths)})" if c.replace_paths else ""
            out.append(Finding("stateful.destroy", "deny", c.address,
                               f"plan {verb} stateful {c.type}{why}; data would be lost. "
                               "Allow it explicitly (allow_destroy) if intended"))
    return out


@register_policy("scale.in_limit")
def scale_in_limit(plan: Plan, before, after, config: SafetyConfig) -> list[Finding]:
    """A service may lose at most max_scale_in_fraction of its replicas (at least 1) per step."""
    old, new = _services(before), _services(after)
    out = []
    for name, svc in old.items():
        target = new[name].replicas.target if name in new else 0
        allowed = max(1, int(svc.replicas.target * config.max_scale_in_fraction))
        drop = svc.replicas.target - target
        if drop > allowed and f"service/{name}" not in config.allow_destroy:
            out.append(Finding("scale.in_limit", "deny", f"service/{name}",
                               f"scales {name} in from {svc.replicas.target} to {target} replicas in one "
                               f"step; at most {allowed} per step", owner=f"service/{name}"))
    return out


@register_policy("replicas.dependency_min")
def dependency_min(plan: Plan, before, after, config: SafetyConfig) -> list[Finding]:
    """Services that others depend on (or the load balancer serves) keep a minimum of replicas."""
    if after is None:
        return []
    out = []
    for name in sorted(_depended_on(after)):
        svc = after.service(name)
        if svc.replicas.target < config.min_dependency_replicas:
            out.append(Finding("replicas.dependency_min", "deny", f"service/{name}",
                               f"{name} has {svc.replicas.target} replicas but others depend on it "
                               f"(minimum {config.min_dependency_replicas})", owner=f"service/{name}"))
        elif svc.replicas.min < config.min_dependency_replicas:
            out.append(Finding("replicas.dependency_min", "warn", f"service/{name}",
                               f"{name} may autoscale to {svc.replicas.min} replicas while others depend on it",
                               owner=f"service/{name}"))
    return out


@register_policy("slo.utilisation")
def utilisation(plan: Plan, before, after, config: SafetyConfig) -> list[Finding]:
    """Predicted CPU utilisation after the change at the observed/expected load (SLO risk)."""
    if after is None:
        return []
    catalog = load_catalog()
    out = []
    for svc in after.services:
        rps = config.load_rps.get(svc.name)
        if not rps:
            continue
        capacity = catalog.machine_type(svc.machine_type).vcpu * svc.replicas.target
        util = float("inf") if capacity <= 0 else rps * svc.cpu_ms_per_request / 1000.0 / capacity
        severity = "deny" if util > config.max_utilisation else "warn" if util > config.warn_utilisation else None
        if severity:
            out.append(Finding("slo.utilisation", severity, f"service/{svc.name}",
                               f"{svc.name} would run at {util:.0%} CPU at {rps:g} req/s "
                               f"(limit {config.max_utilisation:.0%}); p99 SLO {svc.slo_p99_ms:g} ms at risk",
                               owner=f"service/{svc.name}"))
    return out


def _covers_admin_port(ports: Iterable[str] | None) -> list[int]:
    if not ports:
        return sorted(_ADMIN_PORTS)
    hit = set()
    for p in ports:
        low, _, high = str(p).partition("-")
        hit |= {port for port in _ADMIN_PORTS if int(low) <= port <= int(high or low)}
    return sorted(hit)


def _world(ranges: Iterable[str] | None) -> bool:
    for r in ranges or []:
        try:
            if ipaddress.ip_network(r, strict=False).prefixlen == 0:
                return True
        except ValueError:
            continue
    return False


def _open_admin_ports(c: ResourceChange) -> list[int]:
    after = c.after if isinstance(c.after, dict) else {}
    ports: set[int] = set()
    ingress = after.get("direction", "INGRESS") == "INGRESS"
    if c.type == "google_compute_firewall" and ingress and _world(after.get("source_ranges")):
        for allow in after.get("allow") or []:
            if allow.get("protocol") in ("tcp", "all"):
                ports |= set(_covers_admin_port(allow.get("ports")))
    if c.type in ("aws_security_group", "aws_vpc_security_group_ingress_rule", "aws_security_group_rule"):
        entries = after.get("ingress") if c.type == "aws_security_group" else [after]
        for e in entries or []:
            if c.type == "aws_security_group_rule" and e.get("type") != "ingress":
                continue
            cidrs = list(e.get("cidr_blocks") or []) + list(e.get("ipv6_cidr_blocks") or [])
            cidrs += [e[k] for k in ("cidr_ipv4", "cidr_ipv6") if e.get(k)]
            proto = str(e.get("protocol", e.get("ip_protocol", "")))
            if _world(cidrs) and proto in ("tcp", "-1", "all", "6"):
                low, high = e.get("from_port", 0), e.get("to_port", 65535)
                ports |= {p for p in _ADMIN_PORTS if proto == "-1" or int(low) <= p <= int(high)}
    return sorted(ports)


@register_policy("security")
def security(plan: Plan, before, after, config: SafetyConfig) -> list[Finding]:
    """Public buckets, SSH/RDP open to the world, deletion protection turned off."""
    out = []
    alive = [c for c in plan.changes if c.after is not None and c.action != "delete"]
    blocks = {c.name for c in alive if c.type == "aws_s3_bucket_public_access_block"}
    for c in alive:
        after = c.after if isinstance(c.after, dict) else {}
        for port in _open_admin_ports(c):
            out.append(Finding("security.world_admin_port", "deny", c.address,
                               f"opens {_ADMIN_PORTS[port]} (port {port}) to the whole internet (0.0.0.0/0)"))
        if c.type == "google_storage_bucket":
            if after.get("public_access_prevention") != "enforced":
                state = "unknown until apply" if c.is_unknown("public_access_prevention") else repr(
                    after.get("public_access_prevention"))
                out.append(Finding("security.public_bucket", "deny", c.address,
                                   f"public_access_prevention is {state}, not 'enforced'"))
            if after.get("uniform_bucket_level_access") is False:
                out.append(Finding("security.public_bucket", "warn", c.address,
                                   "uniform bucket-level access is off (per-object ACLs can make objects public)"))
        if c.type == "aws_s3_bucket" and c.name not in blocks:
            out.append(Finding("security.public_bucket", "deny", c.address,
                               "bucket has no aws_s3_bucket_public_access_block in this plan"))
        if c.type == "aws_s3_bucket_public_access_block":
            open_flags = [k for k in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                                      "restrict_public_buckets") if after.get(k) is not True]
            if open_flags:
                out.append(Finding("security.public_bucket", "deny", c.address,
                                   f"public access not fully blocked: {', '.join(open_flags)} not true"))
        if not config.allow_deletion_protection_off:
            out += _deletion_protection(c, after)
    return out


def _deletion_protection(c: ResourceChange, after: dict) -> list[Finding]:
    off = []
    if c.type in ("google_sql_database_instance", "aws_db_instance") and after.get("deletion_protection") is False:
        off.append("deletion_protection")
    if c.type == "google_sql_database_instance":
        settings = (after.get("settings") or [{}])[0] or {}
        if settings.get("deletion_protection_enabled") is False:
            off.append("settings.deletion_protection_enabled")
    return [Finding("security.deletion_protection", "deny", c.address,
                    f"{' and '.join(off)} is off: the database could be deleted by any later change")] if off else []


@register_policy("dependency.validity")
def dependency_validity(plan: Plan, before, after, config: SafetyConfig) -> list[Finding]:
    """Every dependency edge and load-balancer backend must point at a resource that still exists."""
    if after is None:
        return []
    old_names = before.resource_names() if before else {}
    out = []
    for issue in check_semantics(after):
        if not issue.rule.startswith("dependency."):
            continue
        missing = next((n for n in old_names if repr(n) in issue.message), None)
        owner = f"{old_names[missing]}/{missing}" if missing else None
        out.append(Finding("dependency.validity", "deny", issue.path, issue.message, owner=owner))
    return out


@register_policy("change.rate")
def change_rate(plan: Plan, before, after, config: SafetyConfig) -> list[Finding]:
    """Too many resource changes in one plan are hard to review and to roll back."""
    changed = plan.changed()
    n = len(changed)
    if all(c.actions == ("create",) for c in plan.changes):
        return []  # a first deployment creates everything at once; nothing to roll back
    if n > config.max_changed_resources:
        return [Finding("change.rate", "deny", "plan",
                        f"{n} resources change in one plan; at most {config.max_changed_resources} per step")]
    if n > config.max_changed_resources // 2:
        return [Finding("change.rate", "warn", "plan", f"{n} resources change in one plan")]
    return []
