"""Populate the local servers with the resources a DeploymentSpec would have produced.

Tests then change one thing (a machine type, a size, HA...) to create drift.
"""

from __future__ import annotations

from typing import Any

from gcp.spec import DeploymentSpec
from gcpfakes.compute_server import BASE, ComputeServer


def populate_compute(server: ComputeServer, spec: DeploymentSpec) -> None:
    p, region = spec.project, spec.region
    scope = f"regions/{region}"
    net_url = f"{BASE}/{p}/global/networks/{spec.network.vpc_name}"
    for svc in spec.services:
        spot = svc.spot_replicas()
        parts = [(svc.name, "STANDARD", svc.replicas.target - spot)]
        if spot:
            parts.append((f"{svc.name}-spot", "SPOT", spot))
        for name, model, size in parts:
            tpl = f"{name}-tpl-20250101"
            server.scoped["instanceTemplates"].append(("global", {
                "kind": "compute#instanceTemplate", "id": "1", "name": tpl,
                "selfLink": f"{BASE}/{p}/global/instanceTemplates/{tpl}",
                "properties": {"machineType": svc.machine_type, "labels": {"marlform-service": svc.name},
                               "scheduling": {"provisioningModel": model},
                               "networkInterfaces": [{"network": net_url}]}}))
            mig_url = f"{BASE}/{p}/{scope}/instanceGroupManagers/{name}"
            server.scoped["instanceGroupManagers"].append((scope, {
                "kind": "compute#instanceGroupManager", "id": "2", "name": name,
                "region": f"{BASE}/{p}/{scope}", "baseInstanceName": name, "targetSize": size,
                "instanceTemplate": f"{BASE}/{p}/global/instanceTemplates/{tpl}",
                "versions": [{"instanceTemplate": f"{BASE}/{p}/global/instanceTemplates/{tpl}"}],
                "selfLink": mig_url, "status": {"isStable": True}}))
            if model == "STANDARD":
                server.scoped["autoscalers"].append((scope, {
                    "kind": "compute#autoscaler", "name": f"{name}-autoscaler", "target": mig_url,
                    "region": f"{BASE}/{p}/{scope}",
                    "autoscalingPolicy": {"minNumReplicas": svc.replicas.min - spot,
                                          "maxNumReplicas": svc.replicas.max - spot,
                                          "cpuUtilization": {"utilizationTarget": svc.autoscaler_target_cpu},
                                          "mode": "ON"}}))
    server.networks.append({"kind": "compute#network", "name": spec.network.vpc_name, "selfLink": net_url,
                            "autoCreateSubnetworks": False})
    for sub in spec.network.subnets:
        server.scoped["subnetworks"].append((scope, {
            "kind": "compute#subnetwork", "name": sub.name, "network": net_url, "ipCidrRange": sub.cidr,
            "region": f"{BASE}/{p}/{scope}"}))
    for rule in spec.network.firewall_rules:
        entry: dict[str, Any] = {"IPProtocol": rule.protocol}
        if rule.ports:
            entry["ports"] = rule.ports
        server.firewalls.append({
            "kind": "compute#firewall", "name": rule.name, "network": net_url, "direction": rule.direction,
            "sourceRanges": rule.source_ranges, "targetTags": rule.target_tags,
            "allowed" if rule.action == "allow" else "denied": [entry]})
    for db in spec.databases:
        server.sql_instances.append(sql_instance(spec, db.name, db.tier, db.availability_type, db))
        for i in range(db.read_replicas):
            replica = sql_instance(spec, f"{db.name}-replica-{i}", db.tier, "ZONAL", db)
            replica["masterInstanceName"] = f"{p}:{db.name}"
            replica["instanceType"] = "READ_REPLICA_INSTANCE"
            server.sql_instances.append(replica)


def sql_instance(spec: DeploymentSpec, name: str, tier: str, availability: str, db: Any) -> dict:
    return {"kind": "sql#instance", "name": name, "project": spec.project, "region": spec.region,
            "databaseVersion": db.database_version, "state": "RUNNABLE",
            "instanceType": "CLOUD_SQL_INSTANCE",
            "settings": {"tier": tier, "availabilityType": availability,
                         "dataDiskSizeGb": str(db.disk_size_gb), "storageAutoResize": db.disk_autoresize,
                         "deletionProtectionEnabled": db.deletion_protection,
                         "backupConfiguration": {"enabled": db.backup_enabled}}}


def populate_storage(endpoint: str, spec: DeploymentSpec) -> None:
    """Create the spec's buckets in the emulator with the real client (insert, then patch metadata)."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project=spec.project, credentials=AnonymousCredentials(),
                            client_options={"api_endpoint": endpoint})
    for b in spec.buckets:
        bucket = client.create_bucket(b.name)
        bucket.storage_class = b.storage_class
        bucket.versioning_enabled = b.versioning
        bucket.iam_configuration.public_access_prevention = "enforced"
        bucket._patch_property("location", b.location)
        rules = []
        for r in b.lifecycle_rules:
            action = {"type": r.action, **({"storageClass": r.storage_class} if r.storage_class else {})}
            rules.append({"action": action, "condition": {"age": r.age_days}})
        bucket.lifecycle_rules = rules
        bucket.patch()
