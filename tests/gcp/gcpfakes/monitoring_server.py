"""A local Cloud Monitoring gRPC server: google.monitoring.v3.MetricService/ListTimeSeries.

Uses the real proto-plus message types from google-cloud-monitoring for the
wire format, paginates with page tokens over a small page size, and injects
gRPC faults (RESOURCE_EXHAUSTED, INTERNAL, UNAVAILABLE, a reply slower than
the deadline, an aborted stream) from the same seeded `Faults`.
Series are stored per (metric type, aligner, reducer), already aligned: the
server plays Monitoring's role of aligning and reducing.
"""

from __future__ import annotations

import re
import time
from concurrent import futures
from typing import Any

import grpc
from google.api import metric_pb2
from google.cloud import monitoring_v3

from gcpfakes.faults import Faults

SERVICE = "google.monitoring.v3.MetricService"
STATUS = {"429": grpc.StatusCode.RESOURCE_EXHAUSTED, "500": grpc.StatusCode.INTERNAL,
          "503": grpc.StatusCode.UNAVAILABLE, "reset": grpc.StatusCode.UNAVAILABLE}


class MonitoringServer:
    def __init__(self, project: str, faults: Faults | None = None, page_size: int = 3):
        self.project = project
        self.faults = faults or Faults()
        self.page_size = page_size
        #: (metric type, aligner name, reducer name) -> list of TimeSeries
        self.series: dict[tuple[str, str, str], list[Any]] = {}
        self.requests: list[Any] = []
        #: Points ending after this time are not visible yet: Monitoring's ingestion delay.
        self.visible_until = float("inf")
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        handler = grpc.method_handlers_generic_handler(SERVICE, {
            "ListTimeSeries": grpc.unary_unary_rpc_method_handler(
                self._list,
                request_deserializer=monitoring_v3.ListTimeSeriesRequest.deserialize,
                response_serializer=monitoring_v3.ListTimeSeriesResponse.serialize),
        })
        self._server.add_generic_rpc_handlers((handler,))
        self.port = self._server.add_insecure_port("127.0.0.1:0")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MonitoringServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(grace=None)

    def add(self, metric_type: str, aligner: str, reducer: str, resource_type: str,
            resource_labels: dict[str, str], points: dict[float, float],
            metric_labels: dict[str, str] | None = None) -> None:
        """One series; `points` maps aligned end time (s) -> value."""
        ts = monitoring_v3.TimeSeries(
            metric={"type": metric_type, "labels": metric_labels or {}},
            resource={"type": resource_type, "labels": resource_labels},
            metric_kind=metric_pb2.MetricDescriptor.MetricKind.GAUGE,
            value_type=metric_pb2.MetricDescriptor.ValueType.DOUBLE,
            points=[{"interval": {"start_time": {"seconds": int(t) - 300}, "end_time": {"seconds": int(t)}},
                     "value": {"double_value": v}}
                    for t, v in sorted(points.items(), reverse=True)],  # Monitoring: newest first
        )
        self.series.setdefault((metric_type, aligner, reducer), []).append(ts)

    def _list(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.requests.append(request)
        method = "monitoring.projects.timeSeries.list"
        if method in self.faults.deny:
            status, message = self.faults.deny[method]
            code = grpc.StatusCode.PERMISSION_DENIED if status == 403 else grpc.StatusCode.NOT_FOUND
            context.abort(code, message)
        kind = self.faults.draw(method)
        if kind == "slow":
            time.sleep(self.faults.slow_s)
        elif kind in STATUS:
            context.abort(STATUS[kind], f"injected fault {kind}")
        if request.name != f"projects/{self.project}":
            context.abort(grpc.StatusCode.PERMISSION_DENIED,
                          "Permission monitoring.timeSeries.list denied (or the resource may not exist).")
        match = re.search(r'metric\.type\s*=\s*"([^"]+)"', request.filter)
        resource = re.search(r'resource\.type\s*=\s*"([^"]+)"', request.filter)
        agg = request.aggregation
        key = (match.group(1) if match else "", agg.per_series_aligner.name, agg.cross_series_reducer.name)
        start = request.interval.start_time.timestamp()
        end = request.interval.end_time.timestamp()
        selected = []
        for ts in self.series.get(key, []):
            if resource and ts.resource.type != resource.group(1):
                continue
            points = [p for p in ts.points if start < p.interval.end_time.timestamp() <= min(end, self.visible_until)]
            if points:
                copy = monitoring_v3.TimeSeries(ts)
                copy.points = points
                selected.append(copy)
        offset = int(request.page_token or 0)
        size = min(request.page_size or self.page_size, self.page_size)
        page = selected[offset: offset + size]
        token = str(offset + size) if offset + size < len(selected) else ""
        return monitoring_v3.ListTimeSeriesResponse(time_series=page, next_page_token=token)
