"""Inventory read through the real clients, and drift reported per resource."""

from __future__ import annotations

from gcp import drift, inventory
from gcp.gcp_backend import GcpBackend


def _mig(cloud, name):
    return next(m for s, m in cloud.compute.scoped["instanceGroupManagers"] if m["name"] == name)


def _report(cloud):
    return drift.diff(cloud.spec, inventory.read(cloud.session()))


def test_inventory_reads_every_kind(cloud):
    inv = inventory.read(cloud.session())
    groups = {g.name: g for g in inv.instance_groups}
    assert groups["frontend"].machine_type == "n2-standard-4" and groups["frontend"].target_size == 3
    assert groups["queue-worker-spot"].provisioning_model == "SPOT"
    assert {a.target_group for a in inv.autoscalers} >= {"frontend", "api"}
    bucket = inv.buckets[0]
    assert (bucket.name, bucket.storage_class, bucket.versioning) == ("acme-shop-static-assets", "STANDARD", True)
    assert [(r.action, r.age_days) for r in bucket.lifecycle_rules] == [("Delete", 365)]
    db = next(i for i in inv.sql_instances if i.name == "shop-db")
    assert (db.tier, db.availability_type) == ("db-custom-4-15360", "REGIONAL")
    assert inv.networks[0].name == "shop-vpc" and len(inv.networks[0].subnets) == 2
    assert {f.name for f in inv.firewalls} == {r.name for r in cloud.spec.network.firewall_rules}


def test_matching_project_has_no_drift(cloud):
    report = _report(cloud)
    assert report.ok, report.to_dict()
    assert report.drifts == []


def test_drift_is_reported_per_resource(cloud):
    tpl = next(t for s, t in cloud.compute.scoped["instanceTemplates"] if t["name"].startswith("api-tpl"))
    tpl["properties"]["machineType"] = "e2-standard-4"  # wrong machine type
    cloud.compute.scoped["autoscalers"] = [
        (s, a) for s, a in cloud.compute.scoped["autoscalers"] if not a["name"].startswith("cache")
    ]
    _mig(cloud, "cache")["targetSize"] = 5  # wrong size (no autoscaler: the target is fixed)
    db = next(i for i in cloud.compute.sql_instances if i["name"] == "shop-db")
    db["settings"]["availabilityType"] = "ZONAL"  # HA turned off
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project=cloud.spec.project, credentials=AnonymousCredentials(),
                            client_options={"api_endpoint": cloud.storage.url})
    bucket = client.get_bucket("acme-shop-static-assets")
    bucket.lifecycle_rules = []  # missing lifecycle rule
    bucket.patch()

    report = _report(cloud)
    found = {k: {(d.field, str(d.expected), str(d.actual)) for d in v} for k, v in report.by_resource().items()}
    assert not report.ok
    assert found["service/api"] == {("api.machine_type", "n2-standard-4", "e2-standard-4")}
    assert found["service/cache"] == {("size", "2", "5")}
    assert found["database/shop-db"] == {("availability_type", "REGIONAL", "ZONAL")}
    assert found["bucket/acme-shop-static-assets"] == {("lifecycle_rule", "Delete after 365 days", "<missing>")}
    assert set(found) == {"service/api", "service/cache", "database/shop-db", "bucket/acme-shop-static-assets"}


def test_autoscaled_group_outside_its_bounds_and_missing_resources(cloud):
    _mig(cloud, "frontend")["targetSize"] = 40
    cloud.compute.sql_instances = [i for i in cloud.compute.sql_instances if i["name"] != "shop-db-replica-0"]
    cloud.compute.firewalls = [f for f in cloud.compute.firewalls if f["name"] != "allow-iap-ssh"]
    found = {(d.kind, d.resource, d.field) for d in _report(cloud).drifts}
    assert ("service", "frontend", "size") in found
    assert ("database", "shop-db", "read_replicas") in found
    assert ("firewall", "allow-iap-ssh", "rule") in found


def test_backend_reconstructs_what_exists_on_top_of_the_declared_spec(cloud):
    _mig(cloud, "cache")["targetSize"] = 3
    next(i for i in cloud.compute.sql_instances if i["name"] == "shop-db")["settings"]["tier"] = "db-custom-2-7680"
    backend = GcpBackend(cloud.session(), cloud.spec)
    spec = backend.deployment_spec()
    assert spec.service("cache").replicas.target == 3
    assert spec.databases[0].tier == "db-custom-2-7680"
    assert spec.service("queue-worker").spot_fraction == 0.5
    assert spec.dependencies == cloud.spec.dependencies  # what GCP cannot tell us is kept
    from gcp.backend import DeploymentBackend

    assert isinstance(backend, DeploymentBackend)
