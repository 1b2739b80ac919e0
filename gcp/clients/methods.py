"""Every Google Cloud API method marlform calls, with the IAM permission it needs.

This registry is the single source of truth for least privilege: the retry
layer refuses to run a method that is not listed here, error messages name the
permission from here, and `gcp.iam` builds each stage's custom role from it.
Method ids are the APIs' own (discovery-document) ids, which is also what the
test servers record, so tests can check coverage against real traffic.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ApiMethod:
    id: str
    permission: str
    mutating: bool = False


def _m(method_id: str, permission: str, mutating: bool = False) -> tuple[str, ApiMethod]:
    return method_id, ApiMethod(method_id, permission, mutating)


METHODS: dict[str, ApiMethod] = dict(
    [
        # Compute Engine reads: aggregated lists coalesce every zone and region into one call
        _m("compute.instanceGroupManagers.aggregatedList", "compute.instanceGroupManagers.list"),
        _m("compute.instanceTemplates.aggregatedList", "compute.instanceTemplates.list"),
        _m("compute.autoscalers.aggregatedList", "compute.autoscalers.list"),
        _m("compute.subnetworks.aggregatedList", "compute.subnetworks.list"),
        _m("compute.networks.list", "compute.networks.list"),
        _m("compute.firewalls.list", "compute.firewalls.list"),
        _m("compute.regionOperations.wait", "compute.regionOperations.get"),
        _m("compute.zoneOperations.wait", "compute.zoneOperations.get"),
        # Compute Engine mutations (each carries a requestId)
        _m("compute.regionInstanceGroupManagers.resize", "compute.instanceGroupManagers.update", True),
        _m("compute.instanceGroupManagers.resize", "compute.instanceGroupManagers.update", True),
        # Cloud Monitoring
        _m("monitoring.projects.timeSeries.list", "monitoring.timeSeries.list"),
        # Cloud Storage
        _m("storage.buckets.list", "storage.buckets.list"),
        # Cloud SQL Admin (REST through google.auth; not in the three client libraries)
        _m("sql.instances.list", "cloudsql.instances.list"),
    ]
)


def method(method_id: str) -> ApiMethod:
    """Look a method up; an unlisted method is a programming error, caught in tests."""
    try:
        return METHODS[method_id]
    except KeyError:
        raise KeyError(
            f"API method {method_id!r} is not in gcp.clients.methods.METHODS; add it with its "
            "IAM permission so that the generated roles cover it"
        ) from None
