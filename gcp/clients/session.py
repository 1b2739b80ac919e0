"""One place that holds the project, credentials, endpoints and retry policy.

Clients are built lazily and share a `Retrier`, so a whole observe or validate
run has one retry budget policy and one set of counters. Endpoints can point
at local servers (tests, emulators) via `Endpoints.from_env` or the CLI's
`--endpoint NAME=URL`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

from gcp.clients.retry import Retrier, RetryPolicy
from gcp.errors import MarlformError

if TYPE_CHECKING:
    from gcp.auth import Auth
    from gcp.clients.compute import ComputeClient
    from gcp.clients.monitoring import MonitoringClient
    from gcp.clients.sql import SqlAdminClient
    from gcp.clients.storage import StorageClient

ENV_PREFIX = "MARLFORM_GCP_ENDPOINT_"
SERVICES = ("compute", "monitoring", "storage", "sql")


@dataclass(frozen=True)
class Endpoints:
    """Base URLs; None means Google's production endpoint.

    compute/storage/sql take `http(s)://host:port`; monitoring takes `host:port`
    (TLS) or `http://host:port` (plaintext gRPC, for local servers).
    """

    compute: str | None = None
    monitoring: str | None = None
    storage: str | None = None
    sql: str | None = None

    @property
    def local(self) -> bool:
        return any(v is not None for v in (self.compute, self.monitoring, self.storage, self.sql))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Endpoints:
        env = os.environ if environ is None else environ
        return cls(**{s: env.get(ENV_PREFIX + s.upper()) or None for s in SERVICES})

    def with_overrides(self, pairs: list[str]) -> Endpoints:
        """Apply `NAME=URL` pairs (the CLI's --endpoint)."""
        updates: dict[str, str] = {}
        for pair in pairs:
            name, sep, url = pair.partition("=")
            if not sep or name not in SERVICES or not url:
                raise MarlformError(
                    f"--endpoint {pair!r}: expected NAME=URL with NAME one of {', '.join(SERVICES)}"
                )
            updates[name] = url
        return replace(self, **updates)


class GcpSession:
    def __init__(
        self,
        project: str,
        auth: Auth,
        endpoints: Endpoints | None = None,
        retrier: Retrier | None = None,
        region: str = "us-central1",
    ):
        self.project = project
        self.auth = auth
        self.endpoints = endpoints or Endpoints()
        self.retrier = retrier or Retrier(RetryPolicy())
        self.region = region

    def __repr__(self) -> str:
        return f"GcpSession(project={self.project!r}, auth={self.auth!r})"

    @cached_property
    def compute(self) -> ComputeClient:
        from gcp.clients.compute import ComputeClient

        return ComputeClient(self)

    @cached_property
    def monitoring(self) -> MonitoringClient:
        from gcp.clients.monitoring import MonitoringClient

        return MonitoringClient(self)

    @cached_property
    def storage(self) -> StorageClient:
        from gcp.clients.storage import StorageClient

        return StorageClient(self)

    @cached_property
    def sql(self) -> SqlAdminClient:
        from gcp.clients.sql import SqlAdminClient

        return SqlAdminClient(self)


def open_session(
    project: str | None,
    key_file: str | None = None,
    endpoints: Endpoints | None = None,
    policy: RetryPolicy | None = None,
    region: str = "us-central1",
) -> GcpSession:
    """A session for the CLI and the pipeline: local endpoints use anonymous credentials
    (unless a key file is given), Google's endpoints need ADC or a key file."""
    from gcp import auth

    endpoints = endpoints or Endpoints.from_env()
    if endpoints.local and key_file is None:
        credentials = auth.anonymous(project)
    else:
        credentials = auth.load(key_file)
    project = project or credentials.project
    if not project:
        raise MarlformError("no project: pass --project (the credentials do not name one)")
    return GcpSession(project, credentials, endpoints, Retrier(policy), region=region)
