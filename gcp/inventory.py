"""What exists in a project: read through the thin clients, as plain data.

Instance groups with their size and their template's machine type,
autoscalers, buckets with class and lifecycle, Cloud SQL instances with tier
and HA, networks with subnets, and firewall rules. Each kind is one
aggregated or paginated list call, whatever the number of zones or resources.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from gcp.resource_names import last_segment

if TYPE_CHECKING:
    from gcp.clients.session import GcpSession


@dataclass
class InstanceGroup:
    name: str
    #: `regions/us-central1` or `zones/us-central1-a`.
    scope: str
    target_size: int
    template: str
    machine_type: str | None
    provisioning_model: str
    base_instance_name: str
    template_labels: dict[str, str] = field(default_factory=dict)

    @property
    def regional(self) -> bool:
        return self.scope.startswith("regions/")

    @property
    def location(self) -> str:
        return self.scope.split("/", 1)[1]


@dataclass
class Autoscaler:
    name: str
    scope: str
    target_group: str
    min_replicas: int
    max_replicas: int
    cpu_target: float | None
    mode: str


@dataclass
class LifecycleRuleInfo:
    action: str
    age_days: int | None
    storage_class: str | None = None


@dataclass
class BucketInfo:
    name: str
    location: str
    storage_class: str
    versioning: bool
    public_access_prevention: str
    lifecycle_rules: list[LifecycleRuleInfo] = field(default_factory=list)


@dataclass
class SqlInstance:
    name: str
    database_version: str
    tier: str
    availability_type: str
    disk_size_gb: int
    disk_autoresize: bool
    deletion_protection: bool
    backup_enabled: bool
    master_instance: str | None
    state: str


@dataclass
class Subnetwork:
    name: str
    region: str
    cidr: str
    network: str


@dataclass
class Network:
    name: str
    subnets: list[Subnetwork] = field(default_factory=list)


@dataclass
class Firewall:
    name: str
    network: str
    direction: str
    action: str
    protocol: str
    ports: list[str]
    source_ranges: list[str]
    target_tags: list[str]


@dataclass
class Inventory:
    project: str
    instance_groups: list[InstanceGroup] = field(default_factory=list)
    autoscalers: list[Autoscaler] = field(default_factory=list)
    buckets: list[BucketInfo] = field(default_factory=list)
    sql_instances: list[SqlInstance] = field(default_factory=list)
    networks: list[Network] = field(default_factory=list)
    firewalls: list[Firewall] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def autoscaler_for(self, group: InstanceGroup) -> Autoscaler | None:
        return next(
            (a for a in self.autoscalers if a.target_group == group.name and a.scope == group.scope),
            None,
        )

    def replicas_of(self, primary: str) -> list[SqlInstance]:
        return [i for i in self.sql_instances if i.master_instance == primary]


def read_compute(session: GcpSession) -> Inventory:
    """The Compute Engine part (what the observe stage may read)."""
    compute = session.compute
    templates = {last_segment(t.self_link) or t.name: t for _, t in compute.instance_templates()}
    inventory = Inventory(project=session.project)
    for scope, mig in compute.instance_group_managers():
        template_url = mig.instance_template or (mig.versions[0].instance_template if mig.versions else "")
        template = templates.get(last_segment(template_url)) if template_url else None
        props = template.properties if template is not None else None
        inventory.instance_groups.append(
            InstanceGroup(
                name=mig.name,
                scope=scope,
                target_size=int(mig.target_size),
                template=last_segment(template_url) if template_url else "",
                machine_type=last_segment(props.machine_type) if props and props.machine_type else None,
                provisioning_model=(
                    props.scheduling.provisioning_model or "STANDARD" if props else "STANDARD"
                ),
                base_instance_name=mig.base_instance_name or mig.name,
                template_labels=dict(props.labels) if props else {},
            )
        )
    for scope, scaler in compute.autoscalers():
        policy = scaler.autoscaling_policy
        inventory.autoscalers.append(
            Autoscaler(
                name=scaler.name,
                scope=scope,
                target_group=last_segment(scaler.target),
                min_replicas=int(policy.min_num_replicas),
                max_replicas=int(policy.max_num_replicas),
                cpu_target=(
                    policy.cpu_utilization.utilization_target
                    if "cpu_utilization" in policy
                    else None
                ),
                mode=policy.mode or "ON",
            )
        )
    subnets: dict[str, list[Subnetwork]] = {}
    for scope, sub in compute.subnetworks():
        network = last_segment(sub.network)
        subnets.setdefault(network, []).append(
            Subnetwork(sub.name, scope.split("/", 1)[-1], sub.ip_cidr_range, network)
        )
    inventory.networks = [Network(n.name, subnets.get(n.name, [])) for n in compute.networks()]
    inventory.firewalls = [_firewall(f) for f in compute.firewalls()]
    return inventory


def _firewall(rule: Any) -> Firewall:
    entries, action = (rule.allowed, "allow") if rule.allowed else (rule.denied, "deny")
    protocols = sorted({e.I_p_protocol for e in entries}) or ["all"]
    ports = sorted({p for e in entries for p in e.ports})
    return Firewall(
        name=rule.name,
        network=last_segment(rule.network),
        direction=rule.direction or "INGRESS",
        action=action,
        protocol=protocols[0] if len(protocols) == 1 else ",".join(protocols),
        ports=ports,
        source_ranges=sorted(rule.source_ranges),
        target_tags=sorted(rule.target_tags),
    )


def read(session: GcpSession) -> Inventory:
    """Everything: compute, buckets and Cloud SQL instances."""
    inventory = read_compute(session)
    inventory.buckets = [_bucket(b) for b in session.storage.buckets()]
    inventory.sql_instances = [_sql(i) for i in session.sql.instances()]
    return inventory


def _bucket(bucket: Any) -> BucketInfo:
    rules = []
    for rule in bucket.lifecycle_rules:
        action = rule.get("action", {})
        condition = rule.get("condition", {})
        rules.append(
            LifecycleRuleInfo(
                action=action.get("type", ""),
                age_days=condition.get("age"),
                storage_class=action.get("storageClass"),
            )
        )
    return BucketInfo(
        name=bucket.name,
        location=(bucket.location or "").upper(),
        storage_class=bucket.storage_class or "STANDARD",
        versioning=bool(bucket.versioning_enabled),
        public_access_prevention=bucket.iam_configuration.public_access_prevention or "inherited",
        lifecycle_rules=rules,
    )


def _sql(item: dict[str, Any]) -> SqlInstance:
    settings = item.get("settings", {})
    return SqlInstance(
        name=item["name"],
        database_version=item.get("databaseVersion", ""),
        tier=settings.get("tier", ""),
        availability_type=settings.get("availabilityType", "ZONAL"),
        disk_size_gb=int(settings.get("dataDiskSizeGb", 0)),
        disk_autoresize=bool(settings.get("storageAutoResize", False)),
        deletion_protection=bool(settings.get("deletionProtectionEnabled", False)),
        backup_enabled=bool(settings.get("backupConfiguration", {}).get("enabled", False)),
        master_instance=(item.get("masterInstanceName") or "").split(":")[-1] or None,
        state=item.get("state", ""),
    )
