"""Errors of the pipeline and rollout, each with its own exit code for scripts.

Exit codes (also in docs/rollout.md):
  0 success / plan with no changes   2 bad input or config
  3 plan with changes                 4 plan denied by safety policy
  5 refused (unapproved, tampered, stale, unauthorised, paused, rate-limited, wrong stage)
  6 deployment locked by another run  7 applied, validation failed, rolled back
"""

from __future__ import annotations

from gcp.errors import Issue, MarlformError

EXIT_NO_CHANGES = 0
EXIT_CHANGES = 3
EXIT_DENIED = 4


class ConfigError(MarlformError):
    """A deployment config file that breaks its schema."""

    def __init__(self, issues: list[Issue], source: str):
        self.issues = issues
        lines = "\n".join(f"  - {issue}" for issue in issues)
        super().__init__(f"{source}: invalid marlform config ({len(issues)} problem(s)):\n{lines}")


class NotFoundError(MarlformError):
    """A plan, deployment or promotion id that the store does not know."""


class RefusedError(MarlformError):
    """The action is understood but not allowed now; the message says what would allow it."""

    exit_code = 5


class LockedError(MarlformError):
    exit_code = 6


class RolledBackError(MarlformError):
    """The apply happened, validation failed, and the previous spec was restored."""

    exit_code = 7

    def __init__(self, message: str, result: dict):
        super().__init__(message)
        self.result = result
