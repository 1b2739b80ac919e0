"""Seed the Monitoring server with known series for a spec, and return the raw arrays expected.

The expected arrays are built independently of `gcp.observe`, straight from
the values seeded here, in `gcp.telemetry.METRICS` order. Missing points are
NaN: seeded gaps and the newest step of some resources (late data).
"""

from __future__ import annotations

import numpy as np

from gcp.spec import DeploymentSpec
from gcpfakes.monitoring_server import MonitoringServer

GIB = 2.0**30
LB = "loadbalancing.googleapis.com/https/"


def seed(server: MonitoringServer, spec: DeploymentSpec, ends: np.ndarray, seed: int = 3,
         gap: float = 0.2) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    T = len(ends)

    def pts(values: np.ndarray) -> dict[float, float]:
        return {float(t): float(v) for t, v in zip(ends, values, strict=True) if not np.isnan(v)}

    def gappy(values: np.ndarray) -> np.ndarray:
        values = values.astype(float)
        values[rng.random(values.shape) < gap] = np.nan
        return values

    n = len(spec.services)
    compute = np.full((n, 6, T), np.nan)
    req_total = np.full((n, T), np.nan)
    err_total = np.full((n, T), np.nan)
    sents = np.full((n, T), np.nan)
    tot_p99 = np.full((n, T), np.nan)
    for i, svc in enumerate(spec.services):
        cpu_a, cpu_b = rng.uniform(0.05, 0.95, T), rng.uniform(0.05, 0.95, T)
        drop = rng.random(T) < gap
        cpu_a[drop] = cpu_b[drop] = np.nan
        for name, values in ((f"{svc.name}-ab12", cpu_a), (f"{svc.name}-cd34", cpu_b)):
            server.add("compute.googleapis.com/instance/cpu/utilization", "ALIGN_MEAN", "REDUCE_NONE",
                       "gce_instance", {"instance_id": name, "zone": "us-central1-a"}, pts(values),
                       {"instance_name": name})
        compute[i, 0] = (cpu_a + cpu_b) / 2
        ok, bad = rng.uniform(1, 500, T), rng.uniform(0, 5, T)
        drop = rng.random(T) < gap
        ok[drop] = bad[drop] = np.nan
        backend = {"backend_name": svc.name, "backend_target_name": f"{spec.name}-backend",
                   "url_map_name": f"{spec.name}-urlmap"}
        for cls, values in (("200", ok), ("500", bad)):
            server.add(LB + "request_count", "ALIGN_RATE", "REDUCE_SUM", "https_lb_rule", backend,
                       pts(values), {"response_code_class": cls})
        req_total[i], err_total[i] = ok + bad, bad
        compute[i, 4], compute[i, 5] = bad / (ok + bad), ok + bad
        for j, pct in ((1, 50), (2, 95), (3, 99)):
            lat = gappy(rng.uniform(5, 400, T) * pct / 50)
            server.add(LB + "backend_latencies", "ALIGN_DELTA", f"REDUCE_PERCENTILE_{pct:02d}",
                       "https_lb_rule", backend, pts(lat))
            compute[i, j] = lat
        tot_p99[i] = gappy(rng.uniform(50, 900, T))
        server.add(LB + "total_latencies", "ALIGN_DELTA", "REDUCE_PERCENTILE_99", "https_lb_rule",
                   backend, pts(tot_p99[i]))
        sent = gappy(rng.uniform(1e5, 1e7, T))
        server.add("compute.googleapis.com/instance/network/sent_bytes_count", "ALIGN_RATE", "REDUCE_NONE",
                   "gce_instance", {"instance_id": "1", "zone": "us-central1-b"}, pts(sent),
                   {"instance_name": f"{svc.name}-ab12"})
        sents[i] = sent * 3600 / GIB
    # A VM of another deployment: must not leak into this one's rows.
    server.add("compute.googleapis.com/instance/cpu/utilization", "ALIGN_MEAN", "REDUCE_NONE", "gce_instance",
               {"instance_id": "9"}, pts(np.full(T, 0.99)), {"instance_name": "other-app-zz99"})
    def nansum(rows: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(rows).all(axis=0), np.nan, np.nansum(rows, axis=0))

    total = nansum(req_total)
    errors = np.nansum(err_total, axis=0)
    network = np.stack([
        total,
        np.where(np.isnan(tot_p99).all(axis=0), np.nan, np.nanmax(np.nan_to_num(tot_p99, nan=-1), axis=0)),
        np.where(np.isnan(total), np.nan, np.where(total > 0, errors / np.where(total > 0, total, 1), 0.0)),
        nansum(sents),
    ])[None]

    database = np.full((len(spec.databases), 4, T), np.nan)
    for i, db in enumerate(spec.databases):
        for j, metric in enumerate(("cpu/utilization", "memory/utilization", "disk/utilization",
                                    "network/connections")):
            values = gappy(rng.uniform(0, 1, T) * (300 if j == 3 else 1))
            server.add(f"cloudsql.googleapis.com/database/{metric}", "ALIGN_MEAN", "REDUCE_NONE",
                       "cloudsql_database", {"database_id": f"{spec.project}:{db.name}"}, pts(values))
            server.add(f"cloudsql.googleapis.com/database/{metric}", "ALIGN_MEAN", "REDUCE_NONE",
                       "cloudsql_database", {"database_id": f"{spec.project}:{db.name}-replica-0"},
                       pts(np.full(T, 0.5)))
            database[i, j] = values

    storage = np.full((len(spec.buckets), 4, T), np.nan)
    sources = (("storage/object_count", "ALIGN_MEAN", 1e6, 1.0),
               ("storage/total_bytes", "ALIGN_MEAN", 1e12, 1 / GIB),
               ("network/sent_bytes_count", "ALIGN_RATE", 1e6, 3600 / GIB),
               ("api/request_count", "ALIGN_RATE", 50, 1.0))
    for i, b in enumerate(spec.buckets):
        for j, (metric, aligner, scale, factor) in enumerate(sources):
            values = gappy(rng.uniform(0, scale, T))
            server.add(f"storage.googleapis.com/{metric}", aligner, "REDUCE_SUM", "gcs_bucket",
                       {"bucket_name": b.name, "location": "us-central1"}, pts(values))
            storage[i, j] = values * factor
    return {"compute": compute, "network": network, "database": database, "storage": storage}
