"""Errors that name the field path and the rule, so a user can fix a spec without reading code."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One broken rule: where (a field path such as `services[1].replicas`), which rule, and why."""

    path: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '<spec>'}: {self.message} [{self.rule}]"

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "rule": self.rule, "message": self.message}


class MarlformError(Exception):
    """Base for errors that the CLI reports as a clean message and a non-zero exit."""

    exit_code = 2


class SpecError(MarlformError):
    """A DeploymentSpec that breaks one or more rules."""

    def __init__(self, issues: list[Issue], source: str | None = None):
        self.issues = issues
        self.source = source
        where = f"{source}: " if source else ""
        lines = "\n".join(f"  - {issue}" for issue in issues)
        super().__init__(f"{where}invalid deployment spec ({len(issues)} problem(s)):\n{lines}")
