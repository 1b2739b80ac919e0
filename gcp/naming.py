"""GCP's naming rules, as checks that return a reason or None.

These names end up inside Terraform JSON, resource addresses and API URLs, so
the strict patterns here are also what keeps injection out of every later layer.
"""

from __future__ import annotations

import ipaddress
import re

# RFC 1035 label, as Compute Engine requires: a lowercase letter, then up to 62
# lowercase letters, digits or hyphens, not ending with a hyphen.
_RFC1035 = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_PROJECT_ID = re.compile(r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")
_BUCKET_PART = re.compile(r"^[a-z0-9][-a-z0-9_]*[a-z0-9]$|^[a-z0-9]$")
_LABEL_KEY = re.compile(r"^[a-z][-a-z0-9_]{0,62}$")
_LABEL_VALUE = re.compile(r"^[-a-z0-9_]{0,63}$")

#: Longest resource name we accept: GCP allows 63, and renderers append suffixes
#: such as `-spot-tpl-` to service names, so services stay shorter.
SERVICE_NAME_MAX = 40


def rfc1035(name: str, max_len: int = 63) -> str | None:
    if not isinstance(name, str) or not name:
        return "must be a non-empty string"
    if len(name) > max_len:
        return f"is {len(name)} characters; at most {max_len} are allowed"
    if not _RFC1035.match(name):
        return (
            "must start with a lowercase letter and contain only lowercase letters, "
            "digits and hyphens, not ending with a hyphen (RFC 1035)"
        )
    return None


def project_id(name: str) -> str | None:
    if not _PROJECT_ID.match(name or ""):
        return (
            "project IDs are 6-30 characters: a lowercase letter first, then lowercase "
            "letters, digits or hyphens, not ending with a hyphen"
        )
    return None


def bucket_name(name: str) -> str | None:
    """Cloud Storage bucket naming rules (cloud.google.com/storage/docs/buckets#naming)."""
    if not isinstance(name, str) or not 3 <= len(name) <= 222:
        return "bucket names are 3-63 characters (up to 222 when dotted)"
    if "." not in name and len(name) > 63:
        return "bucket names without dots are at most 63 characters"
    if name.startswith("goog") or "google" in name or "g00gle" in name:
        return "bucket names may not start with 'goog' or contain 'google'"
    try:
        ipaddress.ip_address(name)
        return "bucket names may not be IP addresses"
    except ValueError:
        pass
    for part in name.split("."):
        if len(part) > 63:
            return "each dot-separated part of a bucket name is at most 63 characters"
        if not _BUCKET_PART.match(part):
            return (
                "bucket names use lowercase letters, digits, hyphens, underscores and dots, "
                "and start and end with a letter or digit"
            )
    return None


def sql_instance_name(name: str, project: str) -> str | None:
    """Cloud SQL instance IDs: RFC 1035 style, and project ID + ':' + name at most 98 characters."""
    reason = rfc1035(name, max_len=98)
    if reason:
        return reason
    if len(project) + 1 + len(name) > 98:
        return "project ID plus instance name must be at most 98 characters"
    return None


def label(key: str, value: str) -> str | None:
    if not _LABEL_KEY.match(key or ""):
        return f"label key {key!r} must be 1-63 lowercase letters, digits, '_' or '-', starting with a letter"
    if not isinstance(value, str) or not _LABEL_VALUE.match(value):
        return f"label value {value!r} must be 0-63 lowercase letters, digits, '_' or '-'"
    return None
