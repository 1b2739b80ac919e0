"""Seeded fault injection shared by the local test servers.

A server asks `draw(method)` once per request. Faults mirror what Google APIs
really do under load: 429 with Retry-After, 500, 503, a response slower than
the client's timeout, and a connection reset. For mutating methods a reset or
a slow reply happens *after* the change was applied, which is exactly the case
that request ids exist for. `deny` makes a method fail permanently (403/404).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field

KINDS = ("429", "500", "503", "slow", "reset")


@dataclass
class Faults:
    rate: float = 0.0
    seed: int = 0
    kinds: tuple[str, ...] = KINDS
    slow_s: float = 0.6
    retry_after: str = "1"
    #: method id -> (HTTP status, message) returned on every call: permanent errors.
    deny: dict[str, tuple[int, str]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    injected: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self, method: str) -> str | None:
        with self._lock:
            self.calls.append(method)
            if self._rng.random() >= self.rate:
                return None
            kind = self._rng.choice(self.kinds)
            self.injected[kind] += 1
            return kind


def google_error(status: int, message: str, reason: str) -> dict:
    """The JSON error body Google REST APIs return."""
    names = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
             429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
    return {"error": {"code": status, "message": message, "status": names.get(status, "UNKNOWN"),
                      "errors": [{"message": message, "domain": "global", "reason": reason}]}}


FAULT_RESPONSES = {
    "429": (429, "Rate Limit Exceeded", "rateLimitExceeded"),
    "500": (500, "Internal error. Please try again or contact Google Support.", "backendError"),
    "503": (503, "The service is currently unavailable.", "backendError"),
}
