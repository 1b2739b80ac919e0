"""The read interface shared by the simulator and a real GCP project.

The plan pipeline observes a deployment through this protocol, so the same
code path works with `--observe sim` (an `envs` environment) and
`--observe gcp` (`gcp.GcpBackend`). Telemetry follows `gcp.telemetry`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from gcp.spec import DeploymentSpec
from gcp.telemetry import AgentDomain


@runtime_checkable
class DeploymentBackend(Protocol):
    def deployment_spec(self) -> DeploymentSpec:
        """What is deployed now, as a spec."""
        ...

    def telemetry(self) -> dict[AgentDomain, np.ndarray]:
        """Raw metrics per agent domain: an array (n_resources, n_metrics) in
        `gcp.telemetry.METRICS[domain]` order and resource order of the spec
        (services, the deployment's network, databases, buckets); NaN where a
        point is missing."""
        ...
