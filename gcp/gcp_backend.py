"""`GcpBackend`: a real project behind the `gcp.backend.DeploymentBackend` protocol.

The plan pipeline reads the simulator and a real deployment the same way.
`deployment_spec()` starts from the declared spec (which carries what GCP
cannot tell us: budgets, SLOs, dependencies, usage figures) and overwrites
every field that the inventory knows with what actually exists; a declared
resource that does not exist is left out. `telemetry()` is the latest step of
Cloud Monitoring data in the simulator's layout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gcp import drift, inventory, observe
from gcp.spec import DeploymentSpec
from gcp.telemetry import AgentDomain

if TYPE_CHECKING:
    from gcp.clients.session import GcpSession


class GcpBackend:
    def __init__(self, session: GcpSession, declared: DeploymentSpec, steps: int = 12):
        self.session = session
        self.declared = declared
        self.steps = steps
        self._inventory: inventory.Inventory | None = None

    def inventory(self, refresh: bool = False) -> inventory.Inventory:
        if self._inventory is None or refresh:
            self._inventory = inventory.read(self.session)
        return self._inventory

    def deployment_spec(self) -> DeploymentSpec:
        return reconstruct(self.declared, self.inventory())

    def raw_telemetry(self, now_s: float | None = None) -> observe.RawTelemetry:
        compute_only = self._inventory or inventory.read_compute(self.session)
        return observe.collect(self.session, self.declared, compute_only, self.steps, now_s)

    def telemetry(self) -> dict[AgentDomain, np.ndarray]:
        return self.raw_telemetry().latest()

    def validate(self) -> drift.DriftReport:
        return drift.diff(self.declared, self.inventory())


def reconstruct(declared: DeploymentSpec, inv: inventory.Inventory) -> DeploymentSpec:
    """The declared spec with every field the inventory knows replaced by what exists."""
    data: dict[str, Any] = declared.model_dump(mode="json")
    groups = drift.groups_by_service(declared, inv)
    services = []
    for svc in data["services"]:
        found = groups[svc["name"]]
        if not found:
            continue
        size = sum(g.target_size for g in found)
        machine = next((g.machine_type for g in found if g.machine_type), svc["machine_type"])
        scaled = {g.name: a for g in found if (a := inv.autoscaler_for(g)) is not None}
        fixed = sum(g.target_size for g in found if g.name not in scaled)
        lo = fixed + sum(a.min_replicas for a in scaled.values()) if scaled else size
        hi = fixed + sum(a.max_replicas for a in scaled.values()) if scaled else max(size, 1)
        spot = sum(g.target_size for g in found if g.provisioning_model == "SPOT")
        cpu = next((a.cpu_target for a in scaled.values() if a.cpu_target), None)
        svc.update(
            machine_type=machine,
            replicas={"min": min(lo, size), "target": size, "max": max(hi, size, 1)},
            spot_fraction=round(spot / size, 4) if size else 0.0,
            autoscaler_target_cpu=cpu or svc["autoscaler_target_cpu"],
        )
        services.append(svc)
    data["services"] = services

    buckets = {b.name: b for b in inv.buckets}
    data["buckets"] = [_bucket(b, buckets[b["name"]]) for b in data["buckets"] if b["name"] in buckets]
    sql = {i.name: i for i in inv.sql_instances}
    data["databases"] = [_database(d, sql[d["name"]], inv) for d in data["databases"] if d["name"] in sql]

    rules = {f.name: f for f in inv.firewalls if f.network == declared.network.vpc_name}
    firewall = []
    for rule in data["network"]["firewall_rules"]:
        have = rules.get(rule["name"])
        if have is not None:
            rule.update(direction=have.direction, action=have.action, protocol=have.protocol,
                        ports=have.ports, source_ranges=have.source_ranges, target_tags=have.target_tags)
            firewall.append(rule)
    data["network"]["firewall_rules"] = firewall

    kept = {s["name"] for s in services} | {b["name"] for b in data["buckets"]} | {
        d["name"] for d in data["databases"]
    }
    data["dependencies"] = [
        d for d in data["dependencies"] if d["source"] in kept and d["target"] in kept
    ]
    lb = data["network"]["load_balancer"]
    lb["backends"] = [b for b in lb["backends"] if b in kept]
    return DeploymentSpec.from_data(data, source=f"inventory of {inv.project}")


def _bucket(spec: dict[str, Any], have: inventory.BucketInfo) -> dict[str, Any]:
    spec.update(
        location=have.location,
        storage_class=have.storage_class,
        versioning=have.versioning,
        lifecycle_rules=[
            {"action": r.action, "age_days": r.age_days or 0, "storage_class": r.storage_class}
            for r in have.lifecycle_rules
        ],
    )
    return spec


def _database(spec: dict[str, Any], have: inventory.SqlInstance, inv: inventory.Inventory) -> dict[str, Any]:
    spec.update(
        database_version=have.database_version,
        tier=have.tier,
        availability_type=have.availability_type,
        read_replicas=len(inv.replicas_of(have.name)),
        disk_size_gb=max(have.disk_size_gb, 10),
        disk_autoresize=have.disk_autoresize,
        deletion_protection=have.deletion_protection,
        backup_enabled=have.backup_enabled,
    )
    return spec
