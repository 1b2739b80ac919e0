"""A thin Cloud Monitoring client over google-cloud-monitoring (gRPC).

One ListTimeSeries call (and its pages) per metric type covers every resource
of a deployment; the caller groups series by resource labels. Each page is
retried on its own, so a failure on page 7 does not refetch pages 1 to 6.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gcp.clients.session import GcpSession


@dataclass(frozen=True)
class Query:
    """One ListTimeSeries request: a filter, a window and an aligner per `period_s`."""

    filter: str
    start_s: float
    end_s: float
    period_s: int
    aligner: str  # an Aggregation.Aligner name, e.g. "ALIGN_MEAN", "ALIGN_RATE", "ALIGN_PERCENTILE_99"
    group_by: tuple[str, ...] = ()
    reducer: str = "REDUCE_NONE"


class MonitoringClient:
    def __init__(self, session: GcpSession):
        self._session = session
        self._api: Any = None

    def _client(self) -> Any:
        if self._api is None:
            from google.cloud import monitoring_v3

            endpoint = self._session.endpoints.monitoring
            if endpoint and endpoint.startswith("http://"):
                import grpc
                from google.cloud.monitoring_v3.services.metric_service.transports import (
                    MetricServiceGrpcTransport,
                )

                channel = grpc.insecure_channel(endpoint.removeprefix("http://"))
                self._api = monitoring_v3.MetricServiceClient(
                    transport=MetricServiceGrpcTransport(channel=channel)
                )
            else:
                options = {"api_endpoint": endpoint} if endpoint else None
                self._api = monitoring_v3.MetricServiceClient(
                    credentials=self._session.auth.credentials, client_options=options
                )
        return self._api

    def list_time_series(self, query: Query, page_size: int = 500) -> list[Any]:
        """Every TimeSeries matching `query`, across all pages."""
        from google.cloud import monitoring_v3
        from google.protobuf import duration_pb2, timestamp_pb2

        api = self._client()
        name = f"projects/{self._session.project}"
        interval = monitoring_v3.TimeInterval(
            start_time=timestamp_pb2.Timestamp(seconds=int(query.start_s)),
            end_time=timestamp_pb2.Timestamp(seconds=int(query.end_s)),
        )
        aggregation = monitoring_v3.Aggregation(
            alignment_period=duration_pb2.Duration(seconds=query.period_s),
            per_series_aligner=getattr(monitoring_v3.Aggregation.Aligner, query.aligner),
            cross_series_reducer=getattr(monitoring_v3.Aggregation.Reducer, query.reducer),
            group_by_fields=list(query.group_by),
        )
        series: list[Any] = []
        token = ""
        while True:
            request = monitoring_v3.ListTimeSeriesRequest(
                name=name,
                filter=query.filter,
                interval=interval,
                aggregation=aggregation,
                view=monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.FULL,
                page_size=page_size,
                page_token=token,
            )
            pager = self._session.retrier.call(
                "monitoring.projects.timeSeries.list",
                lambda timeout, r=request: api.list_time_series(
                    request=r, retry=None, timeout=timeout
                ),
                resource=name,
            )
            page = next(iter(pager.pages))
            series.extend(page.time_series)
            token = page.next_page_token
            if not token:
                return series
