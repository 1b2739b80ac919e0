"""A local Compute Engine (REST v1) and Cloud SQL Admin (v1) server for tests.

It speaks the real wire format that google-cloud-compute sends and parses:
aggregated lists keyed by scope with NO_RESULTS_ON_PAGE warnings for empty
scopes, pageToken pagination over a small page size, resizes that return a
RUNNING operation which is DONE only on a later `wait`, and requestId
de-duplication (a repeated request id returns the first operation and applies
nothing). Every call is recorded by method id for the IAM coverage test.
"""

from __future__ import annotations

import base64
import itertools
import re
import threading
from collections import Counter
from typing import Any, ClassVar

from gcpfakes.http_base import Handled, LocalServer

P = r"/compute/v1/projects/(?P<project>[^/]+)"
SQL = r"/v1/projects/(?P<project>[^/]+)"
BASE = "https://www.googleapis.com/compute/v1/projects"

AGGREGATED = {
    "instanceGroupManagers": "compute.instanceGroupManagers.aggregatedList",
    "instanceTemplates": "compute.instanceTemplates.aggregatedList",
    "autoscalers": "compute.autoscalers.aggregatedList",
    "subnetworks": "compute.subnetworks.aggregatedList",
}
#: The IAM permission each list method needs, as Google documents it (used for 403 messages).
LIST_PERMISSION = {
    "compute.instanceGroupManagers.aggregatedList": "compute.instanceGroupManagers.list",
    "compute.instanceTemplates.aggregatedList": "compute.instanceTemplates.list",
    "compute.autoscalers.aggregatedList": "compute.autoscalers.list",
    "compute.subnetworks.aggregatedList": "compute.subnetworks.list",
    "compute.networks.list": "compute.networks.list",
    "compute.firewalls.list": "compute.firewalls.list",
}


class ComputeServer(LocalServer):
    routes: ClassVar = [
        *[("GET", re.compile(rf"{P}/aggregated/{kind}"), method, "aggregated")
          for kind, method in AGGREGATED.items()],
        ("GET", re.compile(rf"{P}/global/networks"), "compute.networks.list", "global_list"),
        ("GET", re.compile(rf"{P}/global/firewalls"), "compute.firewalls.list", "global_list"),
        ("POST", re.compile(rf"{P}/regions/(?P<region>[^/]+)/instanceGroupManagers/(?P<name>[^/]+)/resize"),
         "compute.regionInstanceGroupManagers.resize", "resize"),
        ("POST", re.compile(rf"{P}/zones/(?P<zone>[^/]+)/instanceGroupManagers/(?P<name>[^/]+)/resize"),
         "compute.instanceGroupManagers.resize", "resize"),
        ("POST", re.compile(rf"{P}/regions/(?P<region>[^/]+)/operations/(?P<op>[^/]+)/wait"),
         "compute.regionOperations.wait", "wait"),
        ("POST", re.compile(rf"{P}/zones/(?P<zone>[^/]+)/operations/(?P<op>[^/]+)/wait"),
         "compute.zoneOperations.wait", "wait"),
        ("GET", re.compile(rf"{SQL}/instances"), "sql.instances.list", "sql_list"),
    ]
    mutating = frozenset({"compute.regionInstanceGroupManagers.resize", "compute.instanceGroupManagers.resize"})

    def __init__(self, project: str, faults: Any = None, page_size: int = 2, polls_to_done: int = 2):
        super().__init__(faults)
        self.project = project
        self.page_size = page_size
        self.polls_to_done = polls_to_done
        #: kind -> [(scope, item)], e.g. "instanceGroupManagers" -> [("regions/us-central1", {...})]
        self.scoped: dict[str, list[tuple[str, dict]]] = {k: [] for k in AGGREGATED}
        self.networks: list[dict] = []
        self.firewalls: list[dict] = []
        self.sql_instances: list[dict] = []
        self.operations: dict[str, dict] = {}
        self.by_request_id: dict[str, str] = {}
        #: (group path, size) per mutation actually applied, and how often each request id applied.
        self.applied: list[tuple[str, int]] = []
        self.applied_request_ids: Counter = Counter()
        self._lock = threading.Lock()
        self._ids = itertools.count(1000)

    # helpers ------------------------------------------------------------
    def _check_project(self, project: str, method: str) -> None:
        if project != self.project:
            permission = LIST_PERMISSION.get(method, method)
            raise Handled(403, f"Required '{permission}' permission for 'projects/{project}'", "forbidden")

    def _page(self, items: list[Any], query: dict) -> tuple[list[Any], str | None]:
        size = min(int(query.get("maxResults", self.page_size)), self.page_size)
        start = int(base64.b64decode(query["pageToken"]).decode()) if query.get("pageToken") else 0
        end = start + size
        token = base64.b64encode(str(end).encode()).decode() if end < len(items) else None
        return items[start:end], token

    # routes ---------------------------------------------------------------
    def dispatch(self, route: Any, verb: str, path: str, query: dict, body: bytes) -> tuple[int, Any]:
        if route is not None and route[0] == "aggregated":
            kind = path.rsplit("/", 1)[-1]
            self._check_project(route[1]["project"], AGGREGATED[kind])
            return 200, self._aggregated(kind, query)
        if route is not None and route[0] == "global_list":
            kind = path.rsplit("/", 1)[-1]
            self._check_project(route[1]["project"], f"compute.{kind}.list")
            return 200, self._global(kind, query)
        return super().dispatch(route, verb, path, query, body)

    def _aggregated(self, kind: str, query: dict) -> dict:
        items, token = self._page(self.scoped[kind], query)
        scopes = sorted({s for s, _ in self.scoped[kind]} | {"zones/us-central1-f"})
        out: dict[str, Any] = {}
        for scope in scopes:
            found = [item for s, item in items if s == scope]
            out[scope] = {kind: found} if found else {
                "warning": {"code": "NO_RESULTS_ON_PAGE", "message": "There are no results for scope "
                            f"'{scope}' on this page.", "data": [{"key": "scope", "value": scope}]}}
        page = {"kind": f"compute#{kind}AggregatedList", "id": f"projects/{self.project}/aggregated/{kind}",
                "items": out, "selfLink": f"{BASE}/{self.project}/aggregated/{kind}"}
        if token:
            page["nextPageToken"] = token
        return page

    def _global(self, kind: str, query: dict) -> dict:
        items, token = self._page(getattr(self, kind), query)
        page = {"kind": f"compute#{kind[:-1]}List", "items": items}
        if token:
            page["nextPageToken"] = token
        return page

    def resize(self, project: str, name: str, query: dict, body: bytes,
               region: str | None = None, zone: str | None = None) -> dict:
        self._check_project(project, "compute.instanceGroupManagers.update")
        scope = f"regions/{region}" if region else f"zones/{zone}"
        request_id = query.get("requestId")
        with self._lock:
            if request_id and request_id in self.by_request_id:
                return self.operations[self.by_request_id[request_id]]
            group = next((m for s, m in self.scoped["instanceGroupManagers"]
                          if s == scope and m["name"] == name), None)
            if group is None:
                raise Handled(404, f"The resource 'projects/{project}/{scope}/instanceGroupManagers/"
                                   f"{name}' was not found", "notFound")
            size = int(query["size"])
            group["targetSize"] = size
            self.applied.append((f"{scope}/{name}", size))
            self.applied_request_ids[request_id] += 1
            op_name = f"operation-{next(self._ids)}-resize"
            op = {"kind": "compute#operation", "id": str(next(self._ids)), "name": op_name,
                  "operationType": "compute.instanceGroupManagers.resize", "status": "RUNNING",
                  "progress": 0, "targetLink": f"{BASE}/{project}/{scope}/instanceGroupManagers/{name}",
                  "selfLink": f"{BASE}/{project}/{scope}/operations/{op_name}", "_polls": 0}
            op["region" if region else "zone"] = f"{BASE}/{project}/{scope}"
            self.operations[op_name] = op
            if request_id:
                self.by_request_id[request_id] = op_name
            return _public(op)

    def wait(self, project: str, op: str, query: dict, body: bytes,
             region: str | None = None, zone: str | None = None) -> dict:
        with self._lock:
            operation = self.operations.get(op)
            if operation is None:
                raise Handled(404, f"The resource 'projects/{project}/operations/{op}' was not found",
                              "notFound")
            operation["_polls"] += 1
            if operation["_polls"] >= self.polls_to_done:
                operation.update(status="DONE", progress=100)
            return _public(operation)

    def sql_list(self, project: str, query: dict, body: bytes) -> dict:
        if project != self.project:
            raise Handled(403, "The client is not authorized to make this request.", "notAuthorized")
        items, token = self._page(self.sql_instances, query)
        page: dict[str, Any] = {"kind": "sql#instancesList", "items": items}
        if token:
            page["nextPageToken"] = token
        return page


def _public(op: dict) -> dict:
    return {k: v for k, v in op.items() if not k.startswith("_")}
