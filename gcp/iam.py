"""Least-privilege custom IAM roles per rollout stage, rendered as Terraform JSON.

Each stage's role is exactly the permissions its code paths use:

- observe: Monitoring time series and the Compute reads that place them
  (`gcp.observe` and `gcp.inventory.read_compute`);
- plan: observe, plus the rest of the inventory (buckets, Cloud SQL) for
  validation, plus what `terraform plan` needs to refresh each resource type
  marlform renders;
- apply: plan, plus what `terraform apply` needs to create, change and delete
  those resources, plus marlform's own mutations (MIG resize and its operations).

Permissions of marlform's own API calls come from `gcp.clients.methods`, the
registry every call goes through, so a new call cannot silently escape the
roles. The tests check the roles against the calls the local servers record.
"""

from __future__ import annotations

from typing import Any, Literal

from gcp.clients.methods import METHODS

Stage = Literal["observe", "plan", "apply"]
STAGES: tuple[Stage, ...] = ("observe", "plan", "apply")

#: marlform's own API methods used by each stage's code paths (not cumulative).
STAGE_METHODS: dict[Stage, tuple[str, ...]] = {
    "observe": (
        "monitoring.projects.timeSeries.list",
        "compute.instanceGroupManagers.aggregatedList",
        "compute.instanceTemplates.aggregatedList",
        "compute.autoscalers.aggregatedList",
        "compute.subnetworks.aggregatedList",
        "compute.networks.list",
        "compute.firewalls.list",
    ),
    "plan": ("storage.buckets.list", "sql.instances.list"),
    "apply": (
        "compute.regionInstanceGroupManagers.resize",
        "compute.instanceGroupManagers.resize",
        "compute.regionOperations.wait",
        "compute.zoneOperations.wait",
    ),
}

#: Terraform google-provider resource types marlform renders: (refresh/read, write) permissions.
#: Sources: the IAM permissions reference (cloud.google.com/iam/docs/permissions-reference) and
#: each API's method pages; writes include the `use`/`updatePolicy` permissions that
#: referencing another resource needs, and the operation reads the provider polls.
TERRAFORM_RESOURCES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "google_compute_network": (
        ("compute.networks.get",),
        ("compute.networks.create", "compute.networks.delete", "compute.networks.update",
         "compute.globalOperations.get"),
    ),
    "google_compute_subnetwork": (
        ("compute.subnetworks.get",),
        ("compute.subnetworks.create", "compute.subnetworks.delete", "compute.subnetworks.update",
         "compute.networks.updatePolicy", "compute.regionOperations.get"),
    ),
    "google_compute_firewall": (
        ("compute.firewalls.get",),
        ("compute.firewalls.create", "compute.firewalls.delete", "compute.firewalls.update",
         "compute.networks.updatePolicy", "compute.globalOperations.get"),
    ),
    "google_compute_instance_template": (
        ("compute.instanceTemplates.get",),
        ("compute.instanceTemplates.create", "compute.instanceTemplates.delete",
         "compute.networks.get", "compute.subnetworks.get", "compute.globalOperations.get"),
    ),
    "google_compute_region_instance_group_manager": (
        ("compute.instanceGroupManagers.get",),
        ("compute.instanceGroupManagers.create", "compute.instanceGroupManagers.delete",
         "compute.instanceGroupManagers.update", "compute.instanceTemplates.useReadOnly",
         "compute.subnetworks.use", "compute.instances.create", "compute.disks.create",
         "compute.instances.setLabels", "compute.instances.setMetadata",
         "compute.instances.setTags", "iam.serviceAccounts.actAs", "compute.regionOperations.get"),
    ),
    "google_compute_region_autoscaler": (
        ("compute.autoscalers.get",),
        ("compute.autoscalers.create", "compute.autoscalers.delete", "compute.autoscalers.update",
         "compute.instanceGroupManagers.use", "compute.regionOperations.get"),
    ),
    "google_compute_health_check": (
        ("compute.healthChecks.get",),
        ("compute.healthChecks.create", "compute.healthChecks.delete", "compute.healthChecks.update",
         "compute.globalOperations.get"),
    ),
    "google_compute_backend_service": (
        ("compute.backendServices.get",),
        ("compute.backendServices.create", "compute.backendServices.delete",
         "compute.backendServices.update", "compute.healthChecks.useReadOnly",
         "compute.instanceGroups.use", "compute.globalOperations.get"),
    ),
    "google_compute_url_map": (
        ("compute.urlMaps.get",),
        ("compute.urlMaps.create", "compute.urlMaps.delete", "compute.urlMaps.update",
         "compute.backendServices.use", "compute.globalOperations.get"),
    ),
    "google_compute_target_http_proxy": (
        ("compute.targetHttpProxies.get",),
        ("compute.targetHttpProxies.create", "compute.targetHttpProxies.delete",
         "compute.targetHttpProxies.setUrlMap", "compute.urlMaps.use", "compute.globalOperations.get"),
    ),
    "google_compute_global_forwarding_rule": (
        ("compute.globalForwardingRules.get",),
        ("compute.globalForwardingRules.create", "compute.globalForwardingRules.delete",
         "compute.globalForwardingRules.setLabels", "compute.targetHttpProxies.use",
         "compute.globalOperations.get"),
    ),
    "google_storage_bucket": (
        ("storage.buckets.get",),
        ("storage.buckets.create", "storage.buckets.delete", "storage.buckets.update"),
    ),
    "google_sql_database_instance": (
        ("cloudsql.instances.get",),
        ("cloudsql.instances.create", "cloudsql.instances.delete", "cloudsql.instances.update"),
    ),
}


def stage_methods(stage: Stage) -> list[str]:
    """marlform API methods a stage may call (cumulative: apply also plans, plan also observes)."""
    _check(stage)
    upto = STAGES[: STAGES.index(stage) + 1]
    return sorted({m for s in upto for m in STAGE_METHODS[s]})


def stage_permissions(stage: Stage) -> list[str]:
    _check(stage)
    perms = {METHODS[m].permission for m in stage_methods(stage)}
    if stage in ("plan", "apply"):
        perms.update(p for read, _ in TERRAFORM_RESOURCES.values() for p in read)
    if stage == "apply":
        perms.update(p for _, write in TERRAFORM_RESOURCES.values() for p in write)
    return sorted(perms)


def role_id(stage: Stage) -> str:
    """Custom role ids allow [a-zA-Z0-9_.] only."""
    return f"marlform_{stage}"


def custom_role_terraform(stage: Stage, project: str | None = None) -> dict[str, Any]:
    """`google_project_iam_custom_role` for `stage`, as Terraform JSON (a .tf.json document)."""
    role: dict[str, Any] = {
        "role_id": role_id(stage),
        "title": f"marlform {stage}",
        "description": f"Least privilege for marlform's {stage} stage (generated; do not edit).",
        "stage": "GA",
        "permissions": stage_permissions(stage),
    }
    if project:
        role["project"] = project
    return {"resource": {"google_project_iam_custom_role": {f"marlform_{stage}": role}}}


def _check(stage: str) -> None:
    if stage not in STAGES:
        from gcp.errors import MarlformError

        raise MarlformError(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)}")
