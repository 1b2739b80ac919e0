"""DeploymentSpec: the currency between marlform's layers.

Agents change it through the simulator, `terraform/` renders it, `gcp/` prices,
applies and validates it. Field-level rules (names, ranges, catalog membership)
live on the fields; rules that span fields (CIDR overlap, dependency edges,
quotas) live in `check_semantics`, so that each error names its exact path.
Always build specs through `load_spec`/`DeploymentSpec.from_data`, which run both.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from gcp import naming
from gcp.catalog import load_catalog
from gcp.errors import Issue, SpecError


def _rule(rule: str, check: Callable[[Any], str | None]) -> AfterValidator:
    """Wrap a naming check so that pydantic reports our rule id as the error type."""

    def validate(value: Any) -> Any:
        reason = check(value)
        if reason:
            raise PydanticCustomError(rule, f"{value!r} {reason}")
        return value

    return AfterValidator(validate)


def _in_catalog(rule: str, names: Callable[[], Iterable[str]], what: str) -> AfterValidator:
    def check(value: str) -> str | None:
        known = list(names())
        if value in known:
            return None
        return f"is not a known {what}; known: {', '.join(sorted(known)[:12])}{' …' if len(known) > 12 else ''}"

    return _rule(rule, check)


def _cidr(value: str) -> str | None:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        return f"is not a valid IPv4 CIDR range ({exc})"
    if net.version != 4:
        return "must be an IPv4 range"
    return None


def _subnet_cidr(value: str) -> str | None:
    reason = _cidr(value)
    if reason:
        return reason
    prefix = ipaddress.ip_network(value).prefixlen
    if not 8 <= prefix <= 29:
        return f"has prefix /{prefix}; subnet primary ranges must be /8 to /29"
    return None


ServiceName = Annotated[str, _rule("name.rfc1035", lambda v: naming.rfc1035(v, naming.SERVICE_NAME_MAX))]
ResourceName = Annotated[str, _rule("name.rfc1035", naming.rfc1035)]
SqlInstanceName = Annotated[str, _rule("name.sql_instance", lambda v: naming.rfc1035(v, 98))]
BucketName = Annotated[str, _rule("name.bucket", naming.bucket_name)]
ProjectId = Annotated[str, _rule("name.project_id", naming.project_id)]
Cidr = Annotated[str, _rule("cidr.invalid", _cidr)]
SubnetCidr = Annotated[str, _rule("cidr.invalid", _subnet_cidr)]
MachineTypeName = Annotated[
    str, _in_catalog("catalog.machine_type", lambda: load_catalog().machine_type_names, "machine type")
]
SqlTierName = Annotated[
    str, _in_catalog("catalog.sql_tier", lambda: load_catalog().sql_tier_names, "Cloud SQL tier")
]
StorageClass = Annotated[
    str, _in_catalog("catalog.storage_class", lambda: load_catalog().storage_classes, "storage class")
]
DiskType = Annotated[str, _in_catalog("catalog.disk_type", lambda: load_catalog().disk_types, "disk type")]
Region = Annotated[str, _in_catalog("catalog.region", lambda: load_catalog().regions, "region")]
BucketLocation = Annotated[
    str,
    _in_catalog(
        "catalog.bucket_location",
        lambda: [r.upper() for r in load_catalog().regions] + ["US", "EU", "ASIA"],
        "bucket location",
    ),
]
DatabaseVersion = Annotated[
    str,
    _in_catalog(
        "catalog.database_version", lambda: load_catalog().sql["database_versions"], "database version"
    ),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Subnet(_Model):
    name: ResourceName
    cidr: SubnetCidr


class FirewallRule(_Model):
    name: ResourceName
    direction: Literal["INGRESS", "EGRESS"] = "INGRESS"
    protocol: Literal["tcp", "udp", "icmp", "all"] = "tcp"
    ports: list[Annotated[str, Field(pattern=r"^\d{1,5}(-\d{1,5})?$")]] = Field(default_factory=list)
    source_ranges: list[Cidr] = Field(default_factory=list)
    target_tags: list[ResourceName] = Field(default_factory=list)
    action: Literal["allow", "deny"] = "allow"


class LoadBalancer(_Model):
    enabled: bool = True
    cdn: bool = False
    #: Services behind the load balancer: the deployment's entry points.
    backends: list[ServiceName] = Field(default_factory=list)
    #: Requests per second each backend instance is allowed before the LB spills over.
    max_rate_per_instance: float = Field(default=100.0, gt=0)
    capacity_scaler: float = Field(default=1.0, gt=0, le=1)
    #: Share of egress served from the CDN cache when the CDN is on.
    cdn_hit_ratio: float = Field(default=0.6, ge=0, le=1)


class NetworkSpec(_Model):
    vpc_name: ResourceName
    subnets: list[Subnet] = Field(min_length=1)
    tier: Literal["PREMIUM", "STANDARD"] = "PREMIUM"
    load_balancer: LoadBalancer = Field(default_factory=LoadBalancer)
    firewall_rules: list[FirewallRule] = Field(default_factory=list)
    #: Expected internet egress, the usage figure that network pricing needs.
    egress_gib_month: float = Field(default=0.0, ge=0)


class Replicas(_Model):
    min: int = Field(ge=0, le=1000)
    target: int = Field(ge=0, le=1000)
    max: int = Field(ge=1, le=1000)


class ComputeService(_Model):
    name: ServiceName
    machine_type: MachineTypeName
    replicas: Replicas
    spot_fraction: float = Field(default=0.0, ge=0, le=1)
    autoscaler_target_cpu: float = Field(default=0.6, gt=0, le=1)
    zones: list[str] = Field(default_factory=list)
    disk_type: DiskType = "pd-balanced"
    disk_size_gb: int = Field(default=20, ge=10, le=65536)
    #: Hours per month the group runs: less than 730 for batch work; drives the SUD.
    hours_per_month: float = Field(default=730.0, gt=0, le=744)
    #: Application model for the simulator and the SLO-risk policy.
    cpu_ms_per_request: float = Field(default=20.0, gt=0)
    slo_p99_ms: float = Field(default=300.0, gt=0)
    network_tags: list[ResourceName] = Field(default_factory=list)

    def spot_replicas(self, replicas: int | None = None) -> int:
        """Spot VMs among `replicas` (the target by default): rounded down, so on-demand wins ties."""
        count = self.replicas.target if replicas is None else replicas
        return int(count * self.spot_fraction + 1e-9)


class LifecycleRule(_Model):
    action: Literal["Delete", "SetStorageClass"]
    storage_class: StorageClass | None = None
    age_days: int = Field(ge=0, le=36500)


class Bucket(_Model):
    name: BucketName
    location: BucketLocation = "US-CENTRAL1"
    storage_class: StorageClass = "STANDARD"
    versioning: bool = False
    lifecycle_rules: list[LifecycleRule] = Field(default_factory=list)
    #: Always enforced: marlform never renders a bucket open to the public.
    public_access_prevention: Literal["enforced"] = "enforced"
    #: Usage figures for pricing and the simulator.
    size_gib: float = Field(default=0.0, ge=0)
    read_gib_month: float = Field(default=0.0, ge=0)
    class_a_ops_month: float = Field(default=0.0, ge=0)
    class_b_ops_month: float = Field(default=0.0, ge=0)


class Database(_Model):
    name: SqlInstanceName
    database_version: DatabaseVersion = "POSTGRES_16"
    tier: SqlTierName
    availability_type: Literal["ZONAL", "REGIONAL"] = "ZONAL"
    read_replicas: int = Field(default=0, ge=0, le=10)
    disk_type: Literal["PD_SSD"] = "PD_SSD"
    disk_size_gb: int = Field(default=10, ge=10, le=65536)
    disk_autoresize: bool = True
    deletion_protection: bool = True
    backup_enabled: bool = True
    backup_gib: float = Field(default=0.0, ge=0)
    max_connections: int = Field(default=200, ge=1)


class Dependency(_Model):
    """`source` calls `target`: latency and errors of the target reach the source."""

    source: str
    target: str


class DeploymentSpec(_Model):
    name: ServiceName
    project: ProjectId
    region: Region = "us-central1"
    labels: dict[str, str] = Field(default_factory=dict)
    budget_monthly_usd: float = Field(gt=0)
    #: Regional quota overrides (metric -> limit); unset metrics use the catalog defaults.
    quotas: dict[str, int] = Field(default_factory=dict)
    network: NetworkSpec
    services: list[ComputeService] = Field(default_factory=list)
    buckets: list[Bucket] = Field(default_factory=list)
    databases: list[Database] = Field(default_factory=list)
    dependencies: list[Dependency] = Field(default_factory=list)

    # construction ----------------------------------------------------------
    @classmethod
    def from_data(cls, data: Any, source: str | None = None) -> DeploymentSpec:
        try:
            spec = cls.model_validate(data)
        except ValidationError as exc:
            raise SpecError(_issues_from_pydantic(exc), source) from None
        issues = check_semantics(spec)
        if issues:
            raise SpecError(issues, source)
        return spec

    @classmethod
    def from_json(cls, text: str, source: str | None = None) -> DeploymentSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError([Issue("", "syntax.json", f"not valid JSON: {exc}")], source) from None
        return cls.from_data(data, source)

    @classmethod
    def from_yaml(cls, text: str, source: str | None = None) -> DeploymentSpec:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SpecError([Issue("", "syntax.yaml", f"not valid YAML: {exc}")], source) from None
        return cls.from_data(data, source)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)

    # lookups ---------------------------------------------------------------
    def resource_names(self) -> dict[str, str]:
        """Every addressable resource name mapped to its kind."""
        names = {s.name: "service" for s in self.services}
        names.update({b.name: "bucket" for b in self.buckets})
        names.update({d.name: "database" for d in self.databases})
        return names

    def service(self, name: str) -> ComputeService:
        return next(s for s in self.services if s.name == name)

    def zones(self, service: ComputeService) -> list[str]:
        return service.zones or load_catalog().zones(self.region)

    def quota(self, metric: str) -> int:
        return self.quotas.get(metric, load_catalog().default_quota(metric))


def load_spec(path: str | Path) -> DeploymentSpec:
    """Read a spec from a .yaml/.yml or .json file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError([Issue("", "io.read", f"cannot read {path}: {exc.strerror}")], str(path)) from None
    if path.suffix.lower() == ".json":
        return DeploymentSpec.from_json(text, str(path))
    return DeploymentSpec.from_yaml(text, str(path))


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-after", "function-")):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def _issues_from_pydantic(exc: ValidationError) -> list[Issue]:
    issues = []
    for err in exc.errors(include_url=False):
        rule = err["type"] if "." in err["type"] else f"schema.{err['type']}"
        issues.append(Issue(_format_loc(err["loc"]), rule, err["msg"]))
    return issues


# --------------------------------------------------------------------------
# rules that span fields


def check_semantics(spec: DeploymentSpec) -> list[Issue]:
    """Cross-field rules; each issue carries the exact path of the offending field."""
    checks = (
        _check_labels,
        _check_unique_names,
        _check_cidrs,
        _check_replicas,
        _check_zones,
        _check_sql_names,
        _check_load_balancer,
        _check_dependencies,
        _check_quota,
    )
    issues: list[Issue] = []
    for check in checks:
        issues.extend(check(spec))
    return issues


def _check_labels(spec: DeploymentSpec) -> Iterable[Issue]:
    for key, value in spec.labels.items():
        reason = naming.label(key, value)
        if reason:
            yield Issue(f"labels.{key}", "name.label", reason)


def _check_unique_names(spec: DeploymentSpec) -> Iterable[Issue]:
    seen: dict[str, str] = {}
    groups = (("services", spec.services), ("buckets", spec.buckets), ("databases", spec.databases))
    for group, items in groups:
        for i, item in enumerate(items):
            if item.name in seen:
                yield Issue(
                    f"{group}[{i}].name",
                    "name.duplicate",
                    f"{item.name!r} is already used by {seen[item.name]}; names must be unique",
                )
            else:
                seen[item.name] = f"{group}[{i}]"


def _check_cidrs(spec: DeploymentSpec) -> Iterable[Issue]:
    nets = [(i, ipaddress.ip_network(s.cidr)) for i, s in enumerate(spec.network.subnets)]
    for a in range(len(nets)):
        for b in range(a + 1, len(nets)):
            (i, net_i), (j, net_j) = nets[a], nets[b]
            if net_i.overlaps(net_j):
                yield Issue(
                    f"network.subnets[{j}].cidr",
                    "cidr.overlap",
                    f"{net_j} overlaps {net_i} of network.subnets[{i}]",
                )


def _check_replicas(spec: DeploymentSpec) -> Iterable[Issue]:
    for i, svc in enumerate(spec.services):
        r = svc.replicas
        if r.min > r.max:
            yield Issue(f"services[{i}].replicas", "replicas.order", f"min ({r.min}) > max ({r.max})")
        elif not r.min <= r.target <= r.max:
            yield Issue(
                f"services[{i}].replicas.target",
                "replicas.order",
                f"target ({r.target}) must lie between min ({r.min}) and max ({r.max})",
            )


def _check_zones(spec: DeploymentSpec) -> Iterable[Issue]:
    region_zones = set(load_catalog().zones(spec.region))
    for i, svc in enumerate(spec.services):
        for j, zone in enumerate(svc.zones):
            if zone not in region_zones:
                yield Issue(
                    f"services[{i}].zones[{j}]",
                    "zone.region",
                    f"{zone!r} is not a zone of {spec.region} ({', '.join(sorted(region_zones))})",
                )


def _check_sql_names(spec: DeploymentSpec) -> Iterable[Issue]:
    for i, db in enumerate(spec.databases):
        reason = naming.sql_instance_name(db.name, spec.project)
        if reason:
            yield Issue(f"databases[{i}].name", "name.sql_instance", reason)


def _check_load_balancer(spec: DeploymentSpec) -> Iterable[Issue]:
    services = {s.name for s in spec.services}
    for i, backend in enumerate(spec.network.load_balancer.backends):
        if backend not in services:
            yield Issue(
                f"network.load_balancer.backends[{i}]",
                "dependency.dangling",
                f"backend {backend!r} is not a service of this deployment",
            )


def _check_dependencies(spec: DeploymentSpec) -> Iterable[Issue]:
    names = spec.resource_names()
    graph: dict[str, list[str]] = {n: [] for n in names}
    dangling = False
    for i, dep in enumerate(spec.dependencies):
        for end in ("source", "target"):
            value = getattr(dep, end)
            if value not in names:
                dangling = True
                yield Issue(
                    f"dependencies[{i}].{end}",
                    "dependency.dangling",
                    f"{value!r} is not a service, bucket or database of this deployment",
                )
        if dep.source == dep.target:
            yield Issue(f"dependencies[{i}]", "dependency.cycle", f"{dep.source!r} depends on itself")
        elif dep.source in graph and dep.target in names:
            graph[dep.source].append(dep.target)
    if dangling:
        return
    cycle = _find_cycle(graph)
    if cycle:
        index = next(
            i for i, d in enumerate(spec.dependencies) if d.source == cycle[-2] and d.target == cycle[-1]
        )
        yield Issue(
            f"dependencies[{index}]", "dependency.cycle", f"dependencies form a cycle: {' -> '.join(cycle)}"
        )


def _find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def _check_quota(spec: DeploymentSpec) -> Iterable[Issue]:
    catalog = load_catalog()
    vcpus = sum(catalog.machine_type(s.machine_type).vcpu * s.replicas.target for s in spec.services)
    limit = spec.quota("CPUS")
    if vcpus > limit:
        yield Issue(
            "services",
            "quota.cpus",
            f"running {vcpus:g} vCPUs needs more than the regional CPUS quota of {limit} "
            "(raise it in deployment quotas.CPUS if the project has more)",
        )
