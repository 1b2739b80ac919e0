"""Thin Google Cloud clients (compute, monitoring, storage, Cloud SQL) on one retry layer."""

from gcp.clients.errors import (
    CredentialsError,
    GcpApiError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    Transient,
)
from gcp.clients.retry import Retrier, RetryPolicy
from gcp.clients.session import Endpoints, GcpSession

__all__ = [
    "CredentialsError",
    "Endpoints",
    "GcpApiError",
    "GcpSession",
    "InvalidRequest",
    "NotFound",
    "PermissionDenied",
    "QuotaExceeded",
    "Retrier",
    "RetryPolicy",
    "Transient",
]
