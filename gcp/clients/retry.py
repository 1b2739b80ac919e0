"""Retries with exponential backoff and full jitter, within a bounded total time.

Every API call goes through `Retrier.call`, so one policy decides how marlform
behaves under 429s, 5xx errors, timeouts and resets: it retries those,
honouring the server's Retry-After, and stops when the next wait would pass
the deadline. Permanent errors (403, 404, 400) fail on the first attempt with
a typed exception. Mutating calls are safe to retry only because callers pass
the same request id on every attempt (see `gcp.clients.compute`).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from gcp.clients import errors
from gcp.clients.methods import method as lookup_method

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying. Tests shrink these numbers; production keeps the defaults."""

    initial_delay_s: float = 0.5
    multiplier: float = 2.0
    max_delay_s: float = 20.0
    #: Bound on the whole call including every retry; no wait starts that would end past it.
    deadline_s: float = 120.0
    #: Per-attempt timeout handed to the client library.
    attempt_timeout_s: float = 30.0
    max_attempts: int = 12
    #: Longest Retry-After we accept; longer ones fail now instead of stalling the pipeline.
    max_retry_after_s: float = 60.0


@dataclass
class CallStats:
    calls: int = 0
    attempts: int = 0
    retries: int = 0
    waited_s: float = 0.0
    by_kind: dict[str, int] = field(default_factory=dict)


class Retrier:
    """Runs API calls under a `RetryPolicy`; keeps counts for diagnostics and benchmarks."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        seed: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.policy = policy or RetryPolicy()
        self._rng = random.Random(seed)
        self._sleep = sleep
        self._clock = clock
        self.stats = CallStats()

    def call(self, method_id: str, fn: Callable[[float], T], resource: str = "") -> T:
        """Run `fn(timeout_s)` for API method `method_id` until it succeeds or must give up.

        `fn` receives the per-attempt timeout, capped by the time left before the deadline.
        """
        api = lookup_method(method_id)
        policy = self.policy
        start = self._clock()
        self.stats.calls += 1
        attempt = 0
        while True:
            attempt += 1
            self.stats.attempts += 1
            left = policy.deadline_s - (self._clock() - start)
            try:
                return fn(max(0.05, min(policy.attempt_timeout_s, left)))
            except Exception as exc:
                info = errors.classify(exc)
                if info.kind == "other":
                    raise  # not an API failure (or already typed): a bug to see as it is
                self.stats.by_kind[info.kind] = self.stats.by_kind.get(info.kind, 0) + 1
                if info.kind not in ("transient", "rate_limited"):
                    raise _permanent(info, api.id, api.permission, resource) from exc
                delay = self._backoff(attempt, info.retry_after_s)
                elapsed = self._clock() - start
                too_long = info.retry_after_s is not None and (
                    info.retry_after_s > policy.max_retry_after_s
                )
                if attempt >= policy.max_attempts or too_long or elapsed + delay > policy.deadline_s:
                    raise _exhausted(info, api.id, resource, attempt, elapsed) from exc
                log.info(
                    "%s: %s (%s); retry %d in %.2fs", api.id, info.kind, info.status, attempt, delay
                )
                self.stats.retries += 1
                self.stats.waited_s += delay
                self._sleep(delay)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Full jitter (AWS architecture blog, 'Exponential Backoff and Jitter'), floored by Retry-After."""
        p = self.policy
        cap = min(p.max_delay_s, p.initial_delay_s * p.multiplier ** (attempt - 1))
        delay = self._rng.uniform(0.0, cap)
        return max(delay, retry_after) if retry_after is not None else delay


def _permanent(
    info: errors.Classified, method_id: str, permission: str, resource: str
) -> errors.GcpApiError:
    where = f" on {resource}" if resource else ""
    if info.kind == "permission":
        return errors.PermissionDenied(
            f"permission denied for {method_id}{where}: the caller needs IAM permission "
            f"'{permission}' (grant the role from `marlform gcp iam-role`). Server said: {info.message}",
            method_id,
            resource,
            permission,
        )
    if info.kind == "not_found":
        return errors.NotFound(
            f"not found: {resource or 'the resource'} ({method_id}). Server said: {info.message}",
            method_id,
            resource,
        )
    if info.kind == "quota":
        return errors.QuotaExceeded(
            f"quota exceeded for {method_id}{where}: {info.message}", method_id, resource
        )
    if info.kind == "invalid":
        return errors.InvalidRequest(
            f"{method_id}{where} was rejected ({info.status}): {info.message}", method_id, resource
        )
    return errors.GcpApiError(f"{method_id}{where} failed: {info.message}", method_id, resource)


def _exhausted(
    info: errors.Classified, method_id: str, resource: str, attempts: int, elapsed: float
) -> errors.GcpApiError:
    where = f" on {resource}" if resource else ""
    detail = f"gave up on {method_id}{where} after {attempts} attempt(s) in {elapsed:.1f}s"
    if info.kind == "rate_limited":
        return errors.QuotaExceeded(
            f"rate limit: {detail}; last error: {info.message}", method_id, resource
        )
    return errors.Transient(f"{detail}; last error: {info.message}", method_id, resource)
