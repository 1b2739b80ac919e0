"""A thin Compute Engine client over google-cloud-compute (REST).

Reads use aggregated lists, so one call (and its pages) covers every zone and
region instead of one call per location. Resizes carry a request id that stays
the same across retries, so a retried resize whose first attempt did land is
not applied twice; `ResizeBatcher` turns several resizes of one group within
a window into one call.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gcp.clients import errors

if TYPE_CHECKING:
    from gcp.clients.session import GcpSession


@dataclass(frozen=True)
class GroupRef:
    """A managed instance group: regional when `region` is set, else zonal in `zone`."""

    name: str
    region: str | None = None
    zone: str | None = None

    @property
    def path(self) -> str:
        where = f"regions/{self.region}" if self.region else f"zones/{self.zone}"
        return f"{where}/instanceGroupManagers/{self.name}"


class ComputeClient:
    def __init__(self, session: GcpSession):
        self._session = session
        self._clients: dict[str, Any] = {}

    def _client(self, name: str) -> Any:
        """Build (once) the google-cloud-compute client class `name`, e.g. `NetworksClient`."""
        if name not in self._clients:
            from google.cloud import compute_v1

            options = {}
            if self._session.endpoints.compute:
                options["api_endpoint"] = self._session.endpoints.compute
            self._clients[name] = getattr(compute_v1, name)(
                credentials=self._session.auth.credentials, client_options=options or None
            )
        return self._clients[name]

    # reads ---------------------------------------------------------------
    def _pages(self, method_id: str, call: Callable[[str, float], Any]) -> Iterator[Any]:
        """Follow pageToken through every page; each page is retried on its own."""
        token = ""
        project = f"projects/{self._session.project}"
        while True:
            pager = self._session.retrier.call(
                method_id, lambda t, tok=token: call(tok, t), resource=project
            )
            page = next(iter(pager.pages))
            yield page
            token = page.next_page_token
            if not token:
                return

    def _aggregated(self, client: str, method_id: str, field: str) -> list[tuple[str, Any]]:
        """(scope, item) for every item of an aggregatedList, e.g. ('regions/us-central1', mig)."""
        from google.cloud import compute_v1

        request_type = getattr(compute_v1, f"AggregatedList{client.removesuffix('Client')}Request")
        api = self._client(client)
        out: list[tuple[str, Any]] = []
        for page in self._pages(
            method_id,
            lambda token, timeout: api.aggregated_list(
                request=request_type(project=self._session.project, page_token=token or None),
                retry=None,
                timeout=timeout,
            ),
        ):
            for scope, scoped in page.items.items():
                out.extend((scope, item) for item in getattr(scoped, field))
        return out

    def instance_group_managers(self) -> list[tuple[str, Any]]:
        return self._aggregated(
            "InstanceGroupManagersClient",
            "compute.instanceGroupManagers.aggregatedList",
            "instance_group_managers",
        )

    def instance_templates(self) -> list[tuple[str, Any]]:
        return self._aggregated(
            "InstanceTemplatesClient", "compute.instanceTemplates.aggregatedList", "instance_templates"
        )

    def autoscalers(self) -> list[tuple[str, Any]]:
        return self._aggregated("AutoscalersClient", "compute.autoscalers.aggregatedList", "autoscalers")

    def subnetworks(self) -> list[tuple[str, Any]]:
        return self._aggregated("SubnetworksClient", "compute.subnetworks.aggregatedList", "subnetworks")

    def _global_list(self, client: str, method_id: str, request: str) -> list[Any]:
        from google.cloud import compute_v1

        api = self._client(client)
        request_type = getattr(compute_v1, request)
        items: list[Any] = []
        for page in self._pages(
            method_id,
            lambda token, timeout: api.list(
                request=request_type(project=self._session.project, page_token=token or None),
                retry=None,
                timeout=timeout,
            ),
        ):
            items.extend(page.items)
        return items

    def networks(self) -> list[Any]:
        return self._global_list("NetworksClient", "compute.networks.list", "ListNetworksRequest")

    def firewalls(self) -> list[Any]:
        return self._global_list("FirewallsClient", "compute.firewalls.list", "ListFirewallsRequest")

    # mutations -----------------------------------------------------------
    def resize(self, group: GroupRef, size: int, request_id: str | None = None) -> Any:
        """Resize a managed instance group and wait for the operation; idempotent per request id."""
        request_id = request_id or str(uuid.uuid4())
        project = self._session.project
        resource = f"projects/{project}/{group.path}"
        from google.cloud import compute_v1

        if group.region:
            api = self._client("RegionInstanceGroupManagersClient")
            method_id = "compute.regionInstanceGroupManagers.resize"
            request: Any = compute_v1.ResizeRegionInstanceGroupManagerRequest(
                project=project, region=group.region, instance_group_manager=group.name,
                size=size, request_id=request_id,
            )
        else:
            api = self._client("InstanceGroupManagersClient")
            method_id = "compute.instanceGroupManagers.resize"
            request = compute_v1.ResizeInstanceGroupManagerRequest(
                project=project, zone=group.zone, instance_group_manager=group.name,
                size=size, request_id=request_id,
            )
        operation = self._session.retrier.call(
            method_id,
            lambda timeout: api.resize_unary(request=request, retry=None, timeout=timeout),
            resource=resource,
        )
        return self.wait(operation, group, resource)

    def wait(self, operation: Any, group: GroupRef, resource: str, poll_limit_s: float = 600) -> Any:
        """Wait for a zonal or regional operation until DONE; raise its error, typed."""
        from google.cloud import compute_v1

        done = compute_v1.Operation.Status.DONE
        if group.region:
            api, method_id = self._client("RegionOperationsClient"), "compute.regionOperations.wait"
            where = {"region": group.region}
        else:
            api, method_id = self._client("ZoneOperationsClient"), "compute.zoneOperations.wait"
            where = {"zone": group.zone}
        started = time.monotonic()
        while operation.status != done:
            if time.monotonic() - started > poll_limit_s:
                raise errors.Transient(
                    f"operation {operation.name} on {resource} not done after {poll_limit_s:.0f}s",
                    method_id,
                    resource,
                )
            name = operation.name
            operation = self._session.retrier.call(
                method_id,
                lambda timeout, n=name: api.wait(
                    project=self._session.project, operation=n, retry=None, timeout=timeout, **where
                ),
                resource=resource,
            )
        if operation.error and operation.error.errors:
            first = operation.error.errors[0]
            message = f"operation {operation.name} on {resource} failed: {first.code}: {first.message}"
            if "QUOTA" in first.code:
                raise errors.QuotaExceeded(message, method_id, resource)
            raise errors.GcpApiError(message, method_id, resource)
        return operation


class ResizeBatcher:
    """Coalesce resizes: requests for one group within `window_s` become one call (last size wins).

    Use as a context manager, or call `flush()`; a request that arrives after a
    group's window has elapsed flushes the pending size first.
    """

    def __init__(
        self,
        compute: ComputeClient,
        window_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._compute = compute
        self._window = window_s
        self._clock = clock
        self._pending: dict[GroupRef, tuple[int, float]] = {}
        self.calls = 0

    def request(self, group: GroupRef, size: int) -> None:
        pending = self._pending.get(group)
        if pending and self._clock() - pending[1] > self._window:
            self._send(group)
            pending = None
        self._pending[group] = (size, pending[1] if pending else self._clock())

    def flush(self) -> None:
        for group in list(self._pending):
            self._send(group)

    def _send(self, group: GroupRef) -> None:
        size, _ = self._pending.pop(group)
        self.calls += 1
        self._compute.resize(group, size)

    def __enter__(self) -> ResizeBatcher:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.flush()
