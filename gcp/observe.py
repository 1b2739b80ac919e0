"""Cloud Monitoring time series mapped into the simulator's observation layout.

For each agent domain, `collect` builds raw series (n_resources, n_metrics, T)
in `gcp.telemetry.METRICS` order, resources in spec order, one column per
5-minute step, NaN where Monitoring has no point (missing or not yet
written). `observation` then applies exactly `telemetry.normalise` and
`telemetry.fill_missing`, the functions the simulator uses, so a policy sees
real and simulated telemetry the same way, late data included.

Reads are coalesced: one ListTimeSeries query per metric source (its pages
aside) for the whole deployment, however many resources it has, and a query
shared by several metrics (request counts feed throughput, error rate and the
network row) runs once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gcp import telemetry
from gcp.clients.monitoring import Query
from gcp.resource_names import group_service, instance_service
from gcp.spec import DeploymentSpec
from gcp.telemetry import AGENT_DOMAINS, STEP_SECONDS, AgentDomain

if TYPE_CHECKING:
    from gcp.clients.session import GcpSession
    from gcp.inventory import Inventory

GIB = 2.0**30


@dataclass(frozen=True)
class Source:
    """One Monitoring query shape: a metric type on a resource type, aligned and reduced."""

    metric_type: str
    resource_type: str
    aligner: str
    reducer: str = "REDUCE_NONE"
    group_by: tuple[str, ...] = ()

    def query(self, start_s: float, end_s: float) -> Query:
        return Query(
            filter=f'metric.type = "{self.metric_type}" AND resource.type = "{self.resource_type}"',
            start_s=start_s,
            end_s=end_s,
            period_s=STEP_SECONDS,
            aligner=self.aligner,
            group_by=self.group_by,
            reducer=self.reducer,
        )


#: The instance group behind the load balancer: one row per service, whatever the backend service.
_BACKEND = "resource.label.backend_name"
_LB = "loadbalancing.googleapis.com/https/"
CPU = Source("compute.googleapis.com/instance/cpu/utilization", "gce_instance", "ALIGN_MEAN")
EGRESS = Source("compute.googleapis.com/instance/network/sent_bytes_count", "gce_instance", "ALIGN_RATE")
REQUESTS = Source(
    _LB + "request_count", "https_lb_rule", "ALIGN_RATE", "REDUCE_SUM",
    (_BACKEND, "metric.label.response_code_class"),
)


def _latency(metric: str, percentile: int) -> Source:
    return Source(_LB + metric, "https_lb_rule", "ALIGN_DELTA", f"REDUCE_PERCENTILE_{percentile:02d}", (_BACKEND,))


def _sql(metric: str) -> Source:
    return Source(f"cloudsql.googleapis.com/database/{metric}", "cloudsql_database", "ALIGN_MEAN")


def _bucket(metric: str, aligner: str) -> Source:
    return Source(
        f"storage.googleapis.com/{metric}", "gcs_bucket", aligner, "REDUCE_SUM",
        ("resource.label.bucket_name",),
    )


@dataclass
class RawTelemetry:
    """Raw series per domain, (n_resources, n_metrics, T), with their resources and step end times."""

    series: dict[AgentDomain, np.ndarray]
    resources: dict[AgentDomain, list[str]]
    slo_ms: dict[AgentDomain, np.ndarray]
    step_end_s: np.ndarray

    def latest(self) -> dict[AgentDomain, np.ndarray]:
        """The last step's raw values (n_resources, n_metrics); NaN where missing."""
        return {d: s[..., -1].copy() for d, s in self.series.items()}

    def observation(self) -> dict[AgentDomain, tuple[np.ndarray, np.ndarray]]:
        return {d: observation(d, s, self.slo_ms[d]) for d, s in self.series.items()}

    def to_dict(self) -> dict[str, Any]:
        obs = self.observation()
        out: dict[str, Any] = {"step_end_s": self.step_end_s.tolist(), "domains": {}}
        for domain in AGENT_DOMAINS:
            values, staleness = obs[domain]
            raw = self.latest()[domain]
            out["domains"][domain] = {
                "metrics": telemetry.metric_names(domain),
                "resources": [
                    {
                        "name": name,
                        "raw": [None if math.isnan(v) else v for v in raw[i].tolist()],
                        "normalised": values[i, :, -1].tolist(),
                        "staleness": staleness[i, :, -1].tolist(),
                    }
                    for i, name in enumerate(self.resources[domain])
                ],
            }
        return out


def observation(
    domain: AgentDomain, series: np.ndarray, slo_ms: np.ndarray | float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Normalise then fill, exactly as the simulator does: returns (values, staleness) (n, m, T)."""
    slo = np.asarray(slo_ms, dtype=np.float64)
    if slo.ndim == 1:
        slo = slo[:, None]  # one SLO per resource, broadcast over time
    normalised = telemetry.normalise(domain, np.swapaxes(series, -1, -2), slo)
    return telemetry.fill_missing(np.swapaxes(normalised, -1, -2))


def slo_ms(spec: DeploymentSpec) -> dict[AgentDomain, np.ndarray]:
    """Latency reference per row: a service's p99 SLO; the network row uses its strictest backend."""
    services = np.array([s.slo_p99_ms for s in spec.services], dtype=np.float64)
    entry = [spec.service(b).slo_p99_ms for b in spec.network.load_balancer.backends]
    network = min(entry) if entry else (float(services.min()) if services.size else 1.0)
    return {
        "compute": services,
        "network": np.array([network]),
        "database": np.ones(len(spec.databases)),
        "storage": np.ones(len(spec.buckets)),
    }


class _Grid:
    """Accumulates Monitoring points into (rows, steps) arrays; coalesces identical queries."""

    def __init__(self, session: GcpSession, step_end_s: np.ndarray):
        self._session = session
        self.ends = step_end_s
        self._cache: dict[Source, list[Any]] = {}

    def fetch(self, source: Source) -> list[Any]:
        if source not in self._cache:
            start = float(self.ends[0]) - STEP_SECONDS
            query = source.query(start, float(self.ends[-1]))
            self._cache[source] = self._session.monitoring.list_time_series(query)
        return self._cache[source]

    def grid(
        self,
        source: Source,
        row_of: Callable[[Any], int | None],
        n_rows: int,
        combine: str = "mean",
        scale: float = 1.0,
    ) -> np.ndarray:
        """(n_rows, T): points of every series mapped to a row, combined per step (mean or sum)."""
        total = np.zeros((n_rows, len(self.ends)))
        count = np.zeros((n_rows, len(self.ends)))
        for series in self.fetch(source):
            row = row_of(series)
            if row is None:
                continue
            for point in series.points:
                step = self._step(point.interval.end_time.timestamp())
                if step is None:
                    continue
                total[row, step] += _value(point) * scale
                count[row, step] += 1
        with np.errstate(invalid="ignore", divide="ignore"):
            out = total / count if combine == "mean" else np.where(count > 0, total, np.nan)
        return np.where(count > 0, out, np.nan)

    def _step(self, end_s: float) -> int | None:
        """The step whose window (end - 300 s, end] holds `end_s`."""
        index = math.ceil((end_s - float(self.ends[0])) / STEP_SECONDS - 1e-9)
        return index if 0 <= index < len(self.ends) else None


def _value(point: Any) -> float:
    which = point.value._pb.WhichOneof("value")
    if which == "distribution_value":
        return float(point.value.distribution_value.mean)
    return float(getattr(point.value, which))


def step_ends(steps: int, now_s: float | None = None, delay_s: float = STEP_SECONDS) -> np.ndarray:
    """End times of the last `steps` 5-minute steps, the newest ending at least `delay_s` ago."""
    now = time.time() if now_s is None else now_s
    last = math.floor((now - delay_s) / STEP_SECONDS) * STEP_SECONDS
    return np.array([last - (steps - 1 - k) * STEP_SECONDS for k in range(steps)], dtype=np.float64)


def collect(
    session: GcpSession,
    spec: DeploymentSpec,
    inventory: Inventory,
    steps: int = 12,
    now_s: float | None = None,
) -> RawTelemetry:
    """Read every metric of `spec`'s resources for the last `steps` steps."""
    grid = _Grid(session, step_ends(steps, now_s))
    services = [s.name for s in spec.services]
    row = {name: i for i, name in enumerate(services)}
    group_rows = {
        g.base_instance_name: row[svc]
        for g in inventory.instance_groups
        if (svc := group_service(g.name, services, g.template_labels)) is not None
    }

    def by_instance(series: Any) -> int | None:
        return instance_service(series.metric.labels.get("instance_name", ""), group_rows)

    def by_backend(series: Any) -> int | None:
        svc = group_service(series.resource.labels.get("backend_name", ""), services)
        return row.get(svc) if svc else None

    def server_errors(series: Any) -> int | None:
        return by_backend(series) if series.metric.labels.get("response_code_class") == "500" else None

    n = len(services)
    requests = grid.grid(REQUESTS, by_backend, n, "sum")
    errors = grid.grid(REQUESTS, server_errors, n, "sum")
    compute = np.stack(
        [
            grid.grid(CPU, by_instance, n),
            grid.grid(_latency("backend_latencies", 50), by_backend, n),
            grid.grid(_latency("backend_latencies", 95), by_backend, n),
            grid.grid(_latency("backend_latencies", 99), by_backend, n),
            _ratio(errors, requests),
            requests,
        ],
        axis=1,
    )

    def whole(lookup: Callable[[Any], int | None]) -> Callable[[Any], int | None]:
        return lambda series: 0 if lookup(series) is not None else None

    lb_requests = grid.grid(REQUESTS, whole(by_backend), 1, "sum")
    network = np.stack(
        [
            lb_requests,
            _max_rows(grid.grid(_latency("total_latencies", 99), by_backend, n)),
            _ratio(grid.grid(REQUESTS, whole(server_errors), 1, "sum"), lb_requests),
            grid.grid(EGRESS, whole(by_instance), 1, "sum", scale=3600 / GIB),
        ],
        axis=1,
    )

    dbs = {d.name: i for i, d in enumerate(spec.databases)}

    def by_db(series: Any) -> int | None:
        return dbs.get(series.resource.labels.get("database_id", "").split(":")[-1])

    database = np.stack(
        [
            grid.grid(_sql(m), by_db, len(dbs))
            for m in ("cpu/utilization", "memory/utilization", "disk/utilization", "network/connections")
        ],
        axis=1,
    )

    buckets = {b.name: i for i, b in enumerate(spec.buckets)}

    def by_bucket(series: Any) -> int | None:
        return buckets.get(series.resource.labels.get("bucket_name", ""))

    nb = len(buckets)
    storage = np.stack(
        [
            grid.grid(_bucket("storage/object_count", "ALIGN_MEAN"), by_bucket, nb, "sum"),
            grid.grid(_bucket("storage/total_bytes", "ALIGN_MEAN"), by_bucket, nb, "sum", 1 / GIB),
            grid.grid(_bucket("network/sent_bytes_count", "ALIGN_RATE"), by_bucket, nb, "sum", 3600 / GIB),
            grid.grid(_bucket("api/request_count", "ALIGN_RATE"), by_bucket, nb, "sum"),
        ],
        axis=1,
    )
    series = {"compute": compute, "network": network, "database": database, "storage": storage}
    for domain, array in series.items():
        assert array.shape[1] == len(telemetry.METRICS[domain]), domain
    return RawTelemetry(
        series=series,
        resources={
            "compute": services,
            "network": [spec.name],
            "database": list(dbs),
            "storage": list(buckets),
        },
        slo_ms=slo_ms(spec),
        step_end_s=grid.ends,
    )


def _ratio(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """part / whole; 0 where there was no traffic, NaN where the total is missing."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(whole > 0, np.nan_to_num(part) / whole, 0.0)
    return np.where(np.isnan(whole), np.nan, ratio)


def _max_rows(grid: np.ndarray) -> np.ndarray:
    """(1, T): the worst row per step; NaN where every row is missing."""
    if grid.shape[0] == 0:
        return np.full((1, grid.shape[1]), np.nan)
    with np.errstate(all="ignore"):
        out = np.where(np.isnan(grid).all(axis=0), np.nan, np.nanmax(np.nan_to_num(grid, nan=-np.inf), axis=0))
    return out[None, :]
