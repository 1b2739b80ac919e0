"""DeploymentSpec → Terraform JSON for the aws provider (the testable twin of the google target).

The aws target exists so that the real Terraform lifecycle (init, plan -out, show -json, apply
of the saved plan) runs offline against a local moto server. It maps each GCP object to the
nearest AWS one and keeps to resources that moto 5.x and provider 5.100 handle well
(verified by tests/terraform/test_lifecycle_aws.py):

  VPC + subnets → aws_vpc (smallest supernet of the subnets) + aws_subnet
  firewall allow rules → aws_security_group (one per rule; AWS groups cannot deny, so deny
                         rules are left out, and listed in a "//" comment)
  MIG / spot MIG → aws_launch_template (+ spot market options) + aws_autoscaling_group
  bucket → aws_s3_bucket + public access block (+ versioning, + lifecycle configuration)
  Cloud SQL (+ replicas) → aws_db_instance (+ replicate_source_db); the master password is the
                           sensitive input variable `db_master_password` (TF_VAR_db_master_password),
                           never written in the config. (manage_master_user_password breaks
                           against moto: the instance cannot be read back after create.)
Machine types and SQL tiers map to the AWS shape with the same vCPUs and memory ratio; this is
a shape mapping, not a price equivalence.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from gcp.catalog import load_catalog
from gcp.spec import Bucket, ComputeService, Database, DeploymentSpec
from terraform.errors import TerraformInputError
from terraform.expr import ConfigBuilder, Ref, Var
from terraform.render_google import labels, mig_split

AWS_PROVIDER_VERSION = "5.100.0"
#: Services whose endpoints a local emulator must serve for this renderer's resources.
EMULATED_SERVICES = ("autoscaling", "ec2", "iam", "rds", "s3", "sts")
PASSWORD_VARIABLE = "db_master_password"
_REGIONS = {"us-central1": "us-east-2", "us-east1": "us-east-1", "us-east4": "us-east-1",
            "us-west1": "us-west-2", "us-west2": "us-west-1", "europe-west1": "eu-west-1",
            "europe-west2": "eu-west-2", "europe-west3": "eu-central-1", "europe-north1": "eu-north-1",
            "asia-northeast1": "ap-northeast-1", "asia-southeast1": "ap-southeast-1",
            "australia-southeast1": "ap-southeast-2", "southamerica-east1": "sa-east-1"}
_SIZES = ((2, "large"), (4, "xlarge"), (8, "2xlarge"), (16, "4xlarge"), (32, "8xlarge"),
          (48, "12xlarge"), (64, "16xlarge"), (96, "24xlarge"))
_STORAGE_CLASS = {"NEARLINE": "STANDARD_IA", "COLDLINE": "GLACIER_IR", "ARCHIVE": "DEEP_ARCHIVE",
                  "STANDARD": "STANDARD"}
_PROTOCOLS = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "all": "-1"}


@dataclass(frozen=True)
class AwsOptions:
    """Provider settings. With `endpoint` set, every used service points at it (a moto server)
    with fake credentials and no account lookups."""

    endpoint: str | None = None
    region: str | None = None
    image_id: str = "ami-12c6146b"
    extra_provider: dict[str, Any] = field(default_factory=dict)


def aws_region(spec: DeploymentSpec, options: AwsOptions) -> str:
    return options.region or _REGIONS.get(spec.region, "us-east-1")


def instance_type(vcpu: float, ram_gib: float, prefix: str = "") -> str:
    """Nearest AWS shape: t3 below 2 vCPUs, else c5/m5/r5 by GiB per vCPU, sized by vCPUs."""
    if vcpu < 2:
        return f"{prefix}t3." + ("micro" if ram_gib <= 1 else "small" if ram_gib <= 2 else "medium")
    ratio = ram_gib / vcpu
    family = "c5" if ratio < 3 else "m5" if ratio < 6 else "r5"
    size = next((name for cpus, name in _SIZES if vcpu <= cpus), _SIZES[-1][1])
    return f"{prefix}{family}.{size}"


def _provider(spec: DeploymentSpec, options: AwsOptions) -> dict[str, Any]:
    # No provider default_tags: moto echoes them back as launch-template tag_specifications,
    # which makes every later plan show a spurious update. Resources carry their tags instead.
    body: dict[str, Any] = {"region": aws_region(spec, options), **options.extra_provider}
    if options.endpoint:
        body.update({
            "access_key": "marlform-test", "secret_key": "marlform-test",
            "skip_credentials_validation": True, "skip_requesting_account_id": True,
            "skip_metadata_api_check": True, "skip_region_validation": True, "s3_use_path_style": True,
            "endpoints": [{name: options.endpoint for name in EMULATED_SERVICES}],
        })
    return body


def _vpc_cidr(spec: DeploymentSpec) -> str:
    nets = [ipaddress.ip_network(s.cidr) for s in spec.network.subnets]
    for prefix in range(min(n.prefixlen for n in nets), 15, -1):
        candidate = nets[0].supernet(new_prefix=prefix)
        if all(n.subnet_of(candidate) for n in nets):
            return str(candidate)
    raise TerraformInputError("aws target: the subnets do not fit one /16 VPC (AWS allows /16 to /28)")


def render_aws(spec: DeploymentSpec, options: AwsOptions | None = None) -> ConfigBuilder:
    options = options or AwsOptions()
    cfg = ConfigBuilder()
    cfg.root["//"] = f"generated by marlform from deployment {spec.name} (aws twin); do not hand-edit"
    cfg.root["terraform"] = {
        "required_providers": {"aws": {"source": "hashicorp/aws", "version": AWS_PROVIDER_VERSION}}
    }
    cfg.root["provider"] = {"aws": _provider(spec, options)}
    region = aws_region(spec, options)
    net = spec.network
    vpc = cfg.resource("aws_vpc", net.vpc_name,
                       {"cidr_block": _vpc_cidr(spec), "tags": labels(spec, Name=net.vpc_name)}, "network")
    subnets = [
        cfg.resource("aws_subnet", s.name,
                     {"vpc_id": vpc, "cidr_block": s.cidr, "availability_zone": f"{region}{'abc'[i % 3]}",
                      "tags": labels(spec, Name=s.name)}, f"subnet/{s.name}")
        for i, s in enumerate(net.subnets)
    ]
    groups: list[tuple[set[str], Ref]] = []
    denied = [r.name for r in net.firewall_rules if r.action == "deny"]
    if denied:
        cfg.root["//"] += f"; deny firewall rules have no security-group form: {', '.join(denied)}"
    for rule in net.firewall_rules:
        if rule.action == "allow":
            groups.append((set(rule.target_tags), _security_group(cfg, spec, rule, vpc)))
    for svc in spec.services:
        sgs = [sg for tags, sg in groups if not tags or tags & set(svc.network_tags)]
        _service(cfg, spec, svc, options, subnets, sgs)
    for bucket in spec.buckets:
        _bucket(cfg, spec, bucket)
    if spec.databases:
        cfg.root["variable"] = {PASSWORD_VARIABLE: {
            "type": "string", "sensitive": True,
            "description": "master password of every database; set TF_VAR_db_master_password"}}
    for db in spec.databases:
        _database(cfg, spec, db)
    return cfg


def _security_group(cfg: ConfigBuilder, spec: DeploymentSpec, rule, vpc: Ref) -> Ref:
    protocol = _PROTOCOLS[rule.protocol]
    spans = []
    for port in rule.ports or ([] if protocol in ("-1", "icmp") else ["0-65535"]):
        low, _, high = port.partition("-")
        spans.append((int(low), int(high or low)))
    if not spans:
        spans = [(0, 0) if protocol == "-1" else (-1, -1)]
    direction = "ingress" if rule.direction == "INGRESS" else "egress"
    entries = [{"from_port": lo, "to_port": hi, "protocol": protocol,
                "cidr_blocks": list(rule.source_ranges), "description": rule.name,
                "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [], "self": False}
               for lo, hi in spans]
    return cfg.resource("aws_security_group", rule.name,
                        {"name": rule.name, "description": f"marlform firewall rule {rule.name}",
                         "vpc_id": vpc, direction: entries, "tags": labels(spec, Name=rule.name),
                         "egress" if direction == "ingress" else "ingress": []},
                        f"firewall/{rule.name}")


def _service(cfg: ConfigBuilder, spec: DeploymentSpec, svc: ComputeService, options: AwsOptions,
             subnets: list[Ref], sgs: list[Ref]) -> None:
    owner = f"service/{svc.name}"
    mt = load_catalog().machine_type(svc.machine_type)
    for suffix, spot, lo, target, hi in mig_split(svc):
        name = f"{svc.name}{suffix}"
        template: dict[str, Any] = {
            "name": name, "image_id": options.image_id, "instance_type": instance_type(mt.vcpu, mt.ram_gib),
            "vpc_security_group_ids": sgs,
            "block_device_mappings": [{"device_name": "/dev/xvda", "ebs": [{
                "volume_size": svc.disk_size_gb, "volume_type": "gp3", "delete_on_termination": "true"}]}],
        }
        if spot:
            template["instance_market_options"] = [{"market_type": "spot"}]
        lt = cfg.resource("aws_launch_template", name, template, owner)
        cfg.resource("aws_autoscaling_group", name, {
            "name": name, "min_size": lo, "max_size": max(hi, 1), "desired_capacity": target,
            "vpc_zone_identifier": subnets, "wait_for_capacity_timeout": "0",
            "launch_template": [{"id": lt, "version": "$Latest"}],
            "tag": [{"key": "marlform-service", "value": svc.name, "propagate_at_launch": True}],
        }, owner)


def _bucket(cfg: ConfigBuilder, spec: DeploymentSpec, bucket: Bucket) -> None:
    owner = f"bucket/{bucket.name}"
    b = cfg.resource("aws_s3_bucket", bucket.name, {"bucket": bucket.name, "force_destroy": False,
                                                      "tags": labels(spec)}, owner)
    cfg.resource("aws_s3_bucket_public_access_block", bucket.name,
                 {"bucket": b, "block_public_acls": True, "block_public_policy": True,
                  "ignore_public_acls": True, "restrict_public_buckets": True}, owner)
    if bucket.versioning:
        cfg.resource("aws_s3_bucket_versioning", bucket.name,
                     {"bucket": b, "versioning_configuration": [{"status": "Enabled"}]}, owner)
    rules = []
    for i, rule in enumerate(bucket.lifecycle_rules):
        entry: dict[str, Any] = {"id": f"rule-{i}", "status": "Enabled", "filter": [{}]}
        if rule.action == "Delete":
            entry["expiration"] = [{"days": rule.age_days}]
        else:
            entry["transition"] = [{"days": rule.age_days,
                                    "storage_class": _STORAGE_CLASS[rule.storage_class or "STANDARD"]}]
        rules.append(entry)
    if rules:
        cfg.resource("aws_s3_bucket_lifecycle_configuration", bucket.name, {"bucket": b, "rule": rules}, owner)


def _engine(version: str) -> tuple[str, str]:
    engine, _, rest = version.partition("_")
    if engine == "POSTGRES":
        return "postgres", rest
    return "mysql", rest.replace("_", ".")


def _database(cfg: ConfigBuilder, spec: DeploymentSpec, db: Database) -> None:
    owner = f"database/{db.name}"
    tier = load_catalog().sql_tier(db.tier)
    engine, version = _engine(db.database_version)
    klass = instance_type(tier.vcpu, tier.ram_gib, prefix="db.")
    primary = cfg.resource("aws_db_instance", db.name, {
        "identifier": db.name, "engine": engine, "engine_version": version, "instance_class": klass,
        "allocated_storage": db.disk_size_gb, "storage_type": "gp2", "username": "marlform",
        "password": Var(PASSWORD_VARIABLE), "multi_az": db.availability_type == "REGIONAL",
        "deletion_protection": db.deletion_protection,
        "backup_retention_period": 7 if db.backup_enabled else 0,
        "skip_final_snapshot": False, "final_snapshot_identifier": f"{db.name}-final",
        "tags": labels(spec, **{"marlform-database": db.name}),
    }, owner)
    for i in range(db.read_replicas):
        cfg.resource("aws_db_instance", f"{db.name}-replica-{i}", {
            "identifier": f"{db.name}-replica-{i}", "instance_class": klass,
            "replicate_source_db": primary.to("identifier"), "skip_final_snapshot": True,
            "deletion_protection": db.deletion_protection,
        }, owner)
