"""Local servers for the GCP layer: Compute/SQL REST, Monitoring gRPC, and the GCS emulator.

Everything listens on 127.0.0.1 only, uses anonymous credentials, and is
driven through the real google-cloud-* client libraries.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from gcpfakes.compute_server import ComputeServer
from gcpfakes.faults import Faults
from gcpfakes.monitoring_server import MonitoringServer
from gcpfakes.project import populate_compute, populate_storage
from gcpfakes.storage_proxy import StorageProxy

from gcp import auth
from gcp.clients import Endpoints, GcpSession, Retrier, RetryPolicy
from gcp.spec import DeploymentSpec, load_spec

#: Small waits so fault-injection tests stay fast; the deadline still bounds every call.
FAST = RetryPolicy(initial_delay_s=0.02, max_delay_s=0.2, deadline_s=8.0, attempt_timeout_s=0.4,
                   max_attempts=10, max_retry_after_s=2.0)


@dataclass
class Cloud:
    spec: DeploymentSpec
    faults: Faults
    compute: ComputeServer
    monitoring: MonitoringServer
    storage: StorageProxy

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints(compute=self.compute.url, monitoring=self.monitoring.endpoint,
                         storage=self.storage.url, sql=self.compute.url)

    def session(self, policy: RetryPolicy = FAST, seed: int = 7) -> GcpSession:
        return GcpSession(self.spec.project, auth.anonymous(self.spec.project), self.endpoints,
                          Retrier(policy, seed=seed), region=self.spec.region)

    def calls(self) -> list[str]:
        return list(self.faults.calls)


@pytest.fixture(scope="session")
def web_spec(example_path: Callable[[str], Path]) -> DeploymentSpec:
    return load_spec(example_path("web-app"))


@pytest.fixture
def cloud(web_spec: DeploymentSpec, gcs_emulator) -> Iterator[Cloud]:
    """A fresh fault-free project matching the web-app example; tests change `faults` or state."""
    faults = Faults(retry_after="0.2")
    gcs_emulator.wipe()
    upstream = f"http://127.0.0.1:{gcs_emulator._api._httpd.server_address[1]}"
    compute = ComputeServer(web_spec.project, faults).start()
    monitoring = MonitoringServer(web_spec.project, faults).start()
    storage = StorageProxy(upstream, faults).start()
    populate_compute(compute, web_spec)
    populate_storage(upstream, web_spec)
    try:
        yield Cloud(web_spec, faults, compute, monitoring, storage)
    finally:
        storage.stop()
        monitoring.stop()
        compute.stop()
