"""How deployed GCP resources are matched back to the spec's names.

`terraform/render_google.py` names each resource after the spec entry it
comes from: a Cloud SQL instance (and `<name>-replica-<i>`), a bucket, a VPC,
a subnet and a firewall rule carry the spec's name exactly; a service becomes
one or two regional managed instance groups, `<service>` (on-demand) and
`<service>-spot`, whose instance templates carry a `marlform-service` label,
which wins when present. Load-balancer metrics name the instance group
(`backend_name`), so they map to services the same way. Inventory, drift and observation all match through
this module, so the convention lives in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")

SERVICE_LABEL = "marlform-service"
GROUP_SUFFIXES = ("", "-mig", "-igm", "-spot", "-spot-mig", "-spot-igm", "-od", "-od-mig")


def match_service(name: str, services: Iterable[str], suffixes: tuple[str, ...]) -> str | None:
    """The service `name` belongs to, trying the longest service name first (so `api-gw` beats `api`)."""
    for service in sorted(services, key=len, reverse=True):
        if any(name == service + suffix for suffix in suffixes):
            return service
    return None


def group_service(
    group: str, services: Iterable[str], template_labels: dict[str, str] | None = None
) -> str | None:
    services = list(services)
    labelled = (template_labels or {}).get(SERVICE_LABEL)
    if labelled in services:
        return labelled
    return match_service(group, services, GROUP_SUFFIXES)


def instance_service(instance: str, groups: dict[str, T]) -> T | None:
    """What `groups` maps the VM's group to: MIG instances are named `<base name>-<4 characters>`."""
    base, sep, tail = instance.rpartition("-")
    if not sep or len(tail) != 4:
        return None
    return groups.get(base)


def last_segment(url: str) -> str:
    """`.../instanceTemplates/web-tpl` -> `web-tpl`; names pass through unchanged."""
    return url.rstrip("/").rsplit("/", 1)[-1]
