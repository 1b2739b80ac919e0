"""Errors the simulator raises at construction, before an episode can go wrong mid-way."""

from __future__ import annotations

from gcp.errors import MarlformError


class EnvConfigError(MarlformError):
    """A scenario, spec, workload or simulator option that cannot work; the message names it."""
