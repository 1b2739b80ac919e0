"""The telemetry layout that both the simulator and Cloud Monitoring produce.

A trained policy can act on a real deployment only if it sees real metrics in
exactly the layout and normalisation it learned on. So the layout lives here,
in the lowest layer: `envs/` builds its observations with it, and `gcp/`
maps Monitoring time series into it. Missing or late points are filled the
same way in both (`fill_missing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Scaling = Literal["unit", "slo", "log"]
AgentDomain = Literal["compute", "storage", "network", "database"]
AGENT_DOMAINS: tuple[AgentDomain, ...] = ("compute", "storage", "network", "database")

#: Monitoring samples a point every 60 s and the simulator steps every 300 s;
#: a value older than this many steps is treated as missing.
STALE_LIMIT_STEPS = 3
STEP_SECONDS = 300


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    scaling: Scaling
    #: For "log": the value that maps to 1.0. For "slo": ignored (the reference is the SLO).
    scale: float
    #: The Cloud Monitoring metric type it comes from on a real project.
    monitoring_type: str


METRICS: dict[AgentDomain, tuple[Metric, ...]] = {
    "compute": (  # one row per compute service (managed instance group)
        Metric("cpu_utilization", "ratio", "unit", 1.0, "compute.googleapis.com/instance/cpu/utilization"),
        Metric("latency_p50_ms", "ms", "slo", 1.0, "loadbalancing.googleapis.com/https/backend_latencies"),
        Metric("latency_p95_ms", "ms", "slo", 1.0, "loadbalancing.googleapis.com/https/backend_latencies"),
        Metric("latency_p99_ms", "ms", "slo", 1.0, "loadbalancing.googleapis.com/https/backend_latencies"),
        Metric("error_rate", "ratio", "unit", 1.0, "loadbalancing.googleapis.com/https/request_count"),
        Metric("throughput_rps", "1/s", "log", 10_000.0, "loadbalancing.googleapis.com/https/request_count"),
    ),
    "network": (  # one row per deployment (its load balancer and egress)
        Metric("request_rate_rps", "1/s", "log", 10_000.0, "loadbalancing.googleapis.com/https/request_count"),
        Metric("latency_p99_ms", "ms", "slo", 1.0, "loadbalancing.googleapis.com/https/total_latencies"),
        Metric("error_rate", "ratio", "unit", 1.0, "loadbalancing.googleapis.com/https/request_count"),
        Metric("egress_gib_per_hour", "GiB/h", "log", 100.0, "compute.googleapis.com/instance/network/sent_bytes_count"),
    ),
    "database": (  # one row per Cloud SQL instance
        Metric("cpu_utilization", "ratio", "unit", 1.0, "cloudsql.googleapis.com/database/cpu/utilization"),
        Metric("memory_utilization", "ratio", "unit", 1.0, "cloudsql.googleapis.com/database/memory/utilization"),
        Metric("disk_utilization", "ratio", "unit", 1.0, "cloudsql.googleapis.com/database/disk/utilization"),
        Metric("connections", "count", "log", 1_000.0, "cloudsql.googleapis.com/database/network/connections"),
    ),
    "storage": (  # one row per bucket
        Metric("object_count", "count", "log", 1e8, "storage.googleapis.com/storage/object_count"),
        Metric("stored_gib", "GiB", "log", 1e5, "storage.googleapis.com/storage/total_bytes"),
        Metric("read_gib_per_hour", "GiB/h", "log", 1_000.0, "storage.googleapis.com/network/sent_bytes_count"),
        Metric("request_rate_rps", "1/s", "log", 10_000.0, "storage.googleapis.com/api/request_count"),
    ),
}


def metric_names(domain: AgentDomain) -> list[str]:
    return [m.name for m in METRICS[domain]]


def normalise(domain: AgentDomain, raw: np.ndarray, slo_ms: np.ndarray | float = 1.0) -> np.ndarray:
    """Map raw metric values (..., n_metrics) of `domain` to the policy's scale.

    - "unit" metrics are ratios, clipped to [0, 1];
    - "slo" metrics (latencies) are divided by the resource's p99 SLO and clipped to [0, 10];
    - "log" metrics are log1p(value) / log1p(scale), clipped to [0, 2].
    NaN (missing) stays NaN; `fill_missing` decides what the policy sees instead.
    """
    raw = np.asarray(raw, dtype=np.float64)
    out = np.empty_like(raw)
    slo = np.asarray(slo_ms, dtype=np.float64)
    for j, metric in enumerate(METRICS[domain]):
        col = raw[..., j]
        if metric.scaling == "unit":
            out[..., j] = np.clip(col, 0.0, 1.0)
        elif metric.scaling == "slo":
            out[..., j] = np.clip(col / slo, 0.0, 10.0)
        else:
            out[..., j] = np.clip(np.log1p(np.maximum(col, 0.0)) / np.log1p(metric.scale), 0.0, 2.0)
    return out


def fill_missing(series: np.ndarray, stale_limit: int = STALE_LIMIT_STEPS) -> tuple[np.ndarray, np.ndarray]:
    """Carry the last point forward along the last axis (time); report staleness.

    Returns (values, staleness) where staleness counts the steps since the last
    real point, divided by `stale_limit` and capped at 1. A value staler than
    the limit, or never seen, becomes 0 with staleness 1: the policy must learn
    to distrust it rather than act on an old number.
    """
    series = np.asarray(series, dtype=np.float64)
    values = np.zeros_like(series)
    age = np.full(series.shape, np.inf)
    last = np.zeros(series.shape[:-1])
    last_age = np.full(series.shape[:-1], np.inf)
    for t in range(series.shape[-1]):
        point = series[..., t]
        fresh = ~np.isnan(point)
        last = np.where(fresh, point, last)
        last_age = np.where(fresh, 0.0, last_age + 1)
        usable = last_age <= stale_limit
        values[..., t] = np.where(usable, last, 0.0)
        age[..., t] = last_age
    staleness = np.minimum(age / stale_limit, 1.0)
    return values, staleness
