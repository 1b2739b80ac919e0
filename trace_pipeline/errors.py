"""Typed errors of the trace pipeline; the CLI prints them as one clean message (exit 2)."""

from __future__ import annotations

from gcp.errors import MarlformError


class TraceError(MarlformError):
    """Base for everything the trace pipeline refuses to do."""


class ConfigError(TraceError):
    """A workload or pipeline option that cannot work (unknown scenario, steps <= 0, NaN, ...)."""


class MalformedInputError(TraceError):
    """Input rows that cannot be parsed, past the allowed threshold; names file and line."""

    def __init__(self, message: str, problems: list[dict] | None = None):
        self.problems = problems or []
        super().__init__(message)


class FormatMismatchError(MalformedInputError):
    """A file whose format is not the one it was given as (e.g. 2019 JSON lines given as 2011)."""


class SizeCapError(TraceError):
    """A download that would pass (or did pass) the size cap."""


class ChecksumError(TraceError):
    """A downloaded object whose crc32c/md5 does not match the bucket's metadata."""


class FetchError(TraceError):
    """An object or bucket that cannot be listed or read."""
