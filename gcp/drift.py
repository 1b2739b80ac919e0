"""Drift: what exists compared with what a DeploymentSpec declares, per resource.

Used after an apply (does reality match the plan?) and on demand
(`marlform gcp validate SPEC`). Each finding names the resource, the field,
what the spec wants and what exists, so an operator can act on one line.
Groups under an autoscaler may legitimately differ from the spec's target
size; for them the autoscaler's bounds are checked and the size must lie
within them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from gcp.inventory import InstanceGroup, Inventory
from gcp.resource_names import group_service
from gcp.spec import Bucket, ComputeService, Database, DeploymentSpec

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Drift:
    kind: str  # service | bucket | database | network | firewall
    resource: str
    field: str
    expected: Any
    actual: Any
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.kind} {self.resource}: {self.field} is {self.actual!r}, spec says {self.expected!r}"


@dataclass
class DriftReport:
    deployment: str
    project: str
    drifts: list[Drift] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.drifts)

    def by_resource(self) -> dict[str, list[Drift]]:
        out: dict[str, list[Drift]] = {}
        for d in self.drifts:
            out.setdefault(f"{d.kind}/{d.resource}", []).append(d)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "project": self.project,
            "ok": self.ok,
            "resources": {k: [asdict(d) for d in v] for k, v in self.by_resource().items()},
        }


MISSING = "<missing>"


def groups_by_service(spec: DeploymentSpec, inventory: Inventory) -> dict[str, list[InstanceGroup]]:
    names = [s.name for s in spec.services]
    out: dict[str, list[InstanceGroup]] = {n: [] for n in names}
    for group in inventory.instance_groups:
        service = group_service(group.name, names, group.template_labels)
        if service is not None:
            out[service].append(group)
    return out


def diff(spec: DeploymentSpec, inventory: Inventory) -> DriftReport:
    report = DriftReport(spec.name, inventory.project)
    groups = groups_by_service(spec, inventory)
    for service in spec.services:
        report.drifts.extend(_service(service, groups[service.name], inventory))
    buckets = {b.name: b for b in inventory.buckets}
    for bucket in spec.buckets:
        report.drifts.extend(_bucket(bucket, buckets.get(bucket.name)))
    sql = {i.name: i for i in inventory.sql_instances}
    for db in spec.databases:
        report.drifts.extend(_database(db, sql.get(db.name), inventory))
    report.drifts.extend(_network(spec, inventory))
    return report


def _service(svc: ComputeService, groups: list[InstanceGroup], inv: Inventory) -> list[Drift]:
    def d(name: str, expected: Any, actual: Any, severity: Severity = "error") -> Drift:
        return Drift("service", svc.name, name, expected, actual, severity)

    if not groups:
        return [d("instance_group", "present", MISSING)]
    out = [
        d(f"{g.name}.machine_type", svc.machine_type, g.machine_type)
        for g in groups
        if g.machine_type != svc.machine_type
    ]
    size = sum(g.target_size for g in groups)
    scaled = {g.name: a for g in groups if (a := inv.autoscaler_for(g)) is not None}
    scalers = list(scaled.values())
    if scalers:
        # Groups without an autoscaler (e.g. a fixed spot group) add their size to both bounds.
        fixed = sum(g.target_size for g in groups if g.name not in scaled)
        lo = fixed + sum(a.min_replicas for a in scalers)
        hi = fixed + sum(a.max_replicas for a in scalers)
        if (lo, hi) != (svc.replicas.min, svc.replicas.max):
            out.append(d("autoscaler.replicas", [svc.replicas.min, svc.replicas.max], [lo, hi]))
        if not lo <= size <= hi:
            out.append(d("size", f"within [{lo}, {hi}]", size))
        for a in scalers:
            if a.cpu_target is not None and abs(a.cpu_target - svc.autoscaler_target_cpu) > 1e-6:
                out.append(d(f"{a.name}.cpu_target", svc.autoscaler_target_cpu, a.cpu_target))
    elif size != svc.replicas.target:
        out.append(d("size", svc.replicas.target, size))
    spot = sum(g.target_size for g in groups if g.provisioning_model == "SPOT")
    if spot != svc.spot_replicas(size):
        out.append(d("spot_replicas", svc.spot_replicas(size), spot, "warning"))
    return out


def _bucket(spec: Bucket, actual: Any) -> list[Drift]:
    def d(name: str, expected: Any, value: Any, severity: Severity = "error") -> Drift:
        return Drift("bucket", spec.name, name, expected, value, severity)

    if actual is None:
        return [d("bucket", "present", MISSING)]
    out = []
    if actual.storage_class != spec.storage_class:
        out.append(d("storage_class", spec.storage_class, actual.storage_class))
    if actual.location != spec.location.upper():
        out.append(d("location", spec.location, actual.location))
    if actual.versioning != spec.versioning:
        out.append(d("versioning", spec.versioning, actual.versioning))
    if actual.public_access_prevention != "enforced":
        out.append(d("public_access_prevention", "enforced", actual.public_access_prevention))
    have = {(r.action, r.age_days, r.storage_class) for r in actual.lifecycle_rules}
    want = {(r.action, r.age_days, r.storage_class) for r in spec.lifecycle_rules}
    for action, age, cls in sorted(want - have, key=str):
        out.append(d("lifecycle_rule", _rule(action, age, cls), MISSING))
    for action, age, cls in sorted(have - want, key=str):
        out.append(d("lifecycle_rule", "absent", _rule(action, age, cls), "warning"))
    return out


def _rule(action: str, age: int | None, storage_class: str | None) -> str:
    target = f" to {storage_class}" if storage_class else ""
    return f"{action}{target} after {age} days"


def _database(db: Database, actual: Any, inv: Inventory) -> list[Drift]:
    def d(name: str, expected: Any, value: Any, severity: Severity = "error") -> Drift:
        return Drift("database", db.name, name, expected, value, severity)

    if actual is None:
        return [d("instance", "present", MISSING)]
    out = []
    checks: list[tuple[str, Any, Any, Severity]] = [
        ("tier", db.tier, actual.tier, "error"),
        ("availability_type", db.availability_type, actual.availability_type, "error"),
        ("database_version", db.database_version, actual.database_version, "error"),
        ("disk_autoresize", db.disk_autoresize, actual.disk_autoresize, "warning"),
        ("deletion_protection", db.deletion_protection, actual.deletion_protection, "error"),
        ("backup_enabled", db.backup_enabled, actual.backup_enabled, "error"),
        ("read_replicas", db.read_replicas, len(inv.replicas_of(db.name)), "error"),
    ]
    out.extend(d(n, e, a, s) for n, e, a, s in checks if e != a)
    # Autoresize grows disks past the spec; only a smaller disk is drift.
    if actual.disk_size_gb < db.disk_size_gb:
        out.append(d("disk_size_gb", db.disk_size_gb, actual.disk_size_gb))
    return out


def _network(spec: DeploymentSpec, inv: Inventory) -> list[Drift]:
    net = spec.network
    vpc = next((n for n in inv.networks if n.name == net.vpc_name), None)
    if vpc is None:
        return [Drift("network", net.vpc_name, "vpc", "present", MISSING)]
    out = []
    subnets = {s.name: s for s in vpc.subnets}
    for sub in net.subnets:
        have = subnets.get(sub.name)
        if have is None:
            out.append(Drift("network", net.vpc_name, f"subnet.{sub.name}", sub.cidr, MISSING))
        elif have.cidr != sub.cidr:
            out.append(Drift("network", net.vpc_name, f"subnet.{sub.name}.cidr", sub.cidr, have.cidr))
    rules = {f.name: f for f in inv.firewalls if f.network == net.vpc_name}
    for rule in net.firewall_rules:
        have = rules.pop(rule.name, None)
        if have is None:
            out.append(Drift("firewall", rule.name, "rule", "present", MISSING))
            continue
        want = {
            "direction": rule.direction,
            "action": rule.action,
            "protocol": rule.protocol,
            "ports": sorted(rule.ports),
            "source_ranges": sorted(rule.source_ranges),
            "target_tags": sorted(rule.target_tags),
        }
        for name, value in want.items():
            if getattr(have, name) != value:
                out.append(Drift("firewall", rule.name, name, value, getattr(have, name)))
    out.extend(
        Drift("firewall", name, "rule", "absent", "present (not in spec)", "warning") for name in rules
    )
    return out
