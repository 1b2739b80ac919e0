"""Typed errors for Google Cloud API calls, and the one place that classifies raw errors.

Callers should never need to know whether an error came from a REST or a gRPC
transport, or from which client library: they catch one of four exceptions,
each with a message that says what to do. Permission errors name the IAM
permission the failed method needs (from `gcp.clients.methods`), because the
server's own message often does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gcp.errors import MarlformError

Kind = Literal["transient", "rate_limited", "not_found", "permission", "quota", "invalid", "unknown", "other"]


class GcpApiError(MarlformError):
    """A Google Cloud API call failed; `method` is the API method id (e.g. `compute.firewalls.list`)."""

    def __init__(self, message: str, method: str = "", resource: str = ""):
        self.method = method
        self.resource = resource
        super().__init__(message)


class NotFound(GcpApiError):
    """The resource (or project) does not exist; retrying cannot help."""


class PermissionDenied(GcpApiError):
    """The caller lacks `permission`; grant it (see `marlform gcp iam-role`)."""

    def __init__(self, message: str, method: str = "", resource: str = "", permission: str = ""):
        self.permission = permission
        super().__init__(message, method, resource)


class QuotaExceeded(GcpApiError):
    """A quota (rate or resource) is exhausted and did not recover within the retry budget."""


class Transient(GcpApiError):
    """A retryable failure (5xx, timeout, reset) that outlasted the retry budget."""


class InvalidRequest(GcpApiError):
    """The server rejected the request as malformed (400): a bug or a bad input, never retried."""


class CredentialsError(MarlformError):
    """No usable credentials: neither Application Default Credentials nor a key file."""


@dataclass(frozen=True)
class Classified:
    kind: Kind
    status: int | None
    message: str
    retry_after_s: float | None
    reason: str = ""


def classify(exc: BaseException) -> Classified:
    """Sort any client-library or transport exception into a `Kind`.

    Handles google.api_core exceptions (raised by the compute, monitoring and
    storage libraries and by our Cloud SQL client), requests/urllib3 transport
    failures and gRPC RpcErrors that escaped api_core.
    """
    import requests
    from google.api_core import exceptions as gexc

    if isinstance(exc, GcpApiError):
        return Classified("other", None, str(exc), None)
    if isinstance(exc, requests.exceptions.RequestException | ConnectionError | TimeoutError):
        return Classified("transient", None, f"{type(exc).__name__}: {exc}", None)
    if isinstance(exc, gexc.GoogleAPICallError | gexc.RetryError):
        status = getattr(exc, "code", None)
        status = int(status) if isinstance(status, int) else _http_status(exc)
        message = getattr(exc, "message", None) or str(exc)
        reason = _reason(exc)
        retry_after = _retry_after(exc)
        quota_words = ("quota", "rateLimitExceeded", "userRateLimitExceeded", "QUOTA_EXCEEDED")
        if isinstance(exc, gexc.TooManyRequests | gexc.ResourceExhausted):
            return Classified("rate_limited", status, message, retry_after, reason)
        if isinstance(exc, gexc.Forbidden | gexc.PermissionDenied):
            if any(w.lower() in (reason + message).lower() for w in quota_words):
                kind: Kind = "rate_limited" if "rate" in (reason + message).lower() else "quota"
                return Classified(kind, status, message, retry_after, reason)
            return Classified("permission", status, message, None, reason)
        if isinstance(exc, gexc.Unauthorized | gexc.Unauthenticated):
            return Classified("permission", status, message, None, reason)
        if isinstance(exc, gexc.NotFound):
            return Classified("not_found", status, message, None, reason)
        if isinstance(
            exc,
            gexc.ServerError | gexc.ServiceUnavailable | gexc.DeadlineExceeded | gexc.Aborted
            | gexc.RetryError,
        ):
            return Classified("transient", status, message, retry_after, reason)
        if isinstance(exc, gexc.ClientError):
            return Classified("invalid", status, message, None, reason)
        return Classified("unknown", status, message, None, reason)
    return Classified("other", None, f"{type(exc).__name__}: {exc}", None)


def _http_status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _reason(exc: BaseException) -> str:
    """The machine-readable reason (ErrorInfo.reason or the JSON `errors[].reason`), if any."""
    reason = getattr(exc, "reason", None)
    if reason:
        return str(reason)
    for item in getattr(exc, "errors", None) or []:
        if isinstance(item, dict) and item.get("reason"):
            return str(item["reason"])
    return ""


def _retry_after(exc: BaseException) -> float | None:
    """Retry-After (seconds) from an HTTP response, or RetryInfo from gRPC error details."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is not None:
        value = headers.get("Retry-After")
        if value is not None:
            try:
                return max(0.0, float(value))
            except ValueError:
                return None  # an HTTP date: rare from Google APIs; fall back to backoff
    for detail in getattr(exc, "details", None) or []:
        delay = getattr(detail, "retry_delay", None)
        if delay is not None and hasattr(delay, "seconds"):
            return delay.seconds + delay.nanos / 1e9
    return None
