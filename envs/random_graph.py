"""Random service graphs, for testing that policies generalise beyond the three examples.

Each call builds a valid DeploymentSpec (checked by `DeploymentSpec.from_data`):
a load-balanced entry tier, a random DAG of services below it (edges only go
"down" the tiers, so there is no cycle), databases and buckets as leaves, and a
CPU quota with headroom for scaling.
"""

from __future__ import annotations

import numpy as np

from gcp.catalog import load_catalog
from gcp.spec import DeploymentSpec

_MACHINES = ("e2-standard-2", "e2-standard-4", "n2-standard-2", "n2-standard-4", "n2-highcpu-4", "c2-standard-4")
_TIERS = ("db-custom-1-3840", "db-custom-2-7680", "db-custom-4-15360")


def random_spec(seed: int, n_services: int | None = None, n_databases: int | None = None,
                n_buckets: int | None = None) -> DeploymentSpec:
    rng = np.random.default_rng(seed)
    s = int(n_services or rng.integers(2, 7))
    d = int(n_databases if n_databases is not None else rng.integers(1, 3))
    b = int(n_buckets if n_buckets is not None else rng.integers(1, 3))
    catalog = load_catalog()
    services, deps = [], []
    slo = 200.0
    for i in range(s):
        target = int(rng.integers(1, 4))
        services.append({
            "name": f"svc-{i}", "machine_type": str(rng.choice(_MACHINES)),
            "replicas": {"min": 1, "target": target, "max": target + int(rng.integers(2, 8))},
            "spot_fraction": float(rng.choice([0.0, 0.0, 0.25, 0.5])),
            "cpu_ms_per_request": float(rng.uniform(2, 40)), "slo_p99_ms": slo * (1 + i),
        })
    for i in range(1, s):  # every service below the entry has at least one caller above it
        for caller in {int(rng.integers(0, i)), *rng.choice(i, size=min(i, 2), replace=False).tolist()}:
            deps.append({"source": f"svc-{caller}", "target": f"svc-{i}"})
    dbs = [{"name": f"db-{j}", "tier": str(rng.choice(_TIERS)),
            "availability_type": str(rng.choice(["ZONAL", "REGIONAL"])), "disk_size_gb": 50}
           for j in range(d)]
    buckets = [{"name": f"rnd-{seed}-bucket-{j}", "size_gib": float(rng.uniform(10, 5000)),
                "read_gib_month": float(rng.uniform(0, 2000)), "class_b_ops_month": float(rng.uniform(0, 1e6))}
               for j in range(b)]
    for res in [x["name"] for x in dbs] + [x["name"] for x in buckets]:
        deps.append({"source": f"svc-{int(rng.integers(0, s))}", "target": res})
    vcpus = sum(catalog.machine_type(x["machine_type"]).vcpu * x["replicas"]["max"] for x in services)
    data = {
        "name": f"random-{seed}", "project": f"random-graph-{seed % 100000:05d}", "region": "us-central1",
        "budget_monthly_usd": 5000, "quotas": {"CPUS": int(vcpus)},
        "network": {"vpc_name": "rnd-vpc", "subnets": [{"name": "rnd-subnet", "cidr": "10.0.0.0/20"}],
                    "load_balancer": {"enabled": True, "backends": ["svc-0"], "max_rate_per_instance": 150},
                    "egress_gib_month": float(rng.uniform(0, 3000))},
        "services": services, "databases": dbs, "buckets": buckets, "dependencies": deps,
    }
    return DeploymentSpec.from_data(data, source=f"random graph {seed}")
