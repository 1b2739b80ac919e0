"""Errors of the terraform layer; all are MarlformErrors, so the CLI prints them without a traceback."""

from __future__ import annotations

from gcp.errors import Issue, MarlformError


class TerraformInputError(MarlformError):
    """Input that must not reach Terraform: hostile names, malformed or unsupported plan JSON."""


class SchemaError(MarlformError):
    """A rendered configuration that breaks the provider schema facts; each issue names
    the resource address and the attribute path."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        lines = "\n".join(f"  - {issue}" for issue in issues)
        super().__init__(f"rendered configuration breaks the provider schema ({len(issues)}):\n{lines}")


class TerraformRunError(MarlformError):
    """A Terraform command failed, timed out, or could not start; the message carries the
    command and the error lines from Terraform's stderr."""


class TerraformUnavailable(TerraformRunError):
    """The terraform binary or a provider is missing: callers fall back to the offline preview."""
