"""Credentials: Application Default Credentials or a service-account key file.

Secrets never reach a log or an error message: we only ever describe
credentials by their kind and service-account email, and `Auth.__repr__`
shows no more than that. Local test servers use anonymous credentials, so
tests never need a real key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gcp.clients.errors import CredentialsError

#: Enough for every method in `gcp.clients.methods`; IAM roles do the real limiting.
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)


@dataclass(frozen=True)
class Auth:
    credentials: Any
    #: A safe description: the kind and the principal, never key material or tokens.
    principal: str
    project: str | None

    def __repr__(self) -> str:
        return f"Auth(principal={self.principal!r}, project={self.project!r})"


def anonymous(project: str | None = None) -> Auth:
    from google.auth.credentials import AnonymousCredentials

    return Auth(AnonymousCredentials(), "anonymous (local endpoints)", project)


def load(key_file: str | Path | None = None) -> Auth:
    """Credentials from `key_file` when given, else ADC; a clear CredentialsError when neither works."""
    if key_file is not None:
        return _from_key_file(Path(key_file))
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        credentials, project = google.auth.default(scopes=list(SCOPES))
    except DefaultCredentialsError:
        raise CredentialsError(
            "no Google Cloud credentials found: run `gcloud auth application-default login`, "
            "set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, or pass "
            "--key-file (for local test servers pass --endpoint instead)"
        ) from None
    return Auth(credentials, _describe(credentials), project)


def _from_key_file(path: Path) -> Auth:
    from google.oauth2 import service_account

    try:
        credentials = service_account.Credentials.from_service_account_file(
            str(path), scopes=list(SCOPES)
        )
    except FileNotFoundError:
        raise CredentialsError(f"service-account key file {path} does not exist") from None
    except (ValueError, KeyError) as exc:
        # The message of these errors names missing fields, never their values.
        raise CredentialsError(
            f"{path} is not a valid service-account key file ({type(exc).__name__}: "
            f"{_field_only(exc)})"
        ) from None
    return Auth(credentials, _describe(credentials), credentials.project_id)


def _field_only(exc: Exception) -> str:
    """The error's message only when short and free of key material."""
    text = str(exc)
    if "PRIVATE KEY" in text or len(text) > 200:
        return "malformed key data"
    return text


def _describe(credentials: Any) -> str:
    email = getattr(credentials, "service_account_email", None)
    kind = type(credentials).__module__.split(".")[-1] + "." + type(credentials).__name__
    return f"{kind} ({email})" if email and email != "default" else kind
