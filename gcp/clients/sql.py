"""Cloud SQL Admin (v1) `instances.list` over google.auth's AuthorizedSession.

Cloud SQL is in none of the three client libraries marlform uses (compute,
monitoring, storage), so this small REST client reads instances directly, on
the same retry layer and with the same typed errors: HTTP errors are turned
into google.api_core exceptions exactly as the generated clients do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gcp.clients.session import GcpSession

DEFAULT_ENDPOINT = "https://sqladmin.googleapis.com"


class SqlAdminClient:
    def __init__(self, session: GcpSession):
        self._session = session
        self._http: Any = None

    def _authorized(self) -> Any:
        if self._http is None:
            from google.auth.transport.requests import AuthorizedSession

            self._http = AuthorizedSession(self._session.auth.credentials)
        return self._http

    def instances(self) -> list[dict[str, Any]]:
        """Every Cloud SQL instance of the project, as the API's JSON (DatabaseInstance)."""
        from google.api_core import exceptions as gexc

        base = (self._session.endpoints.sql or DEFAULT_ENDPOINT).rstrip("/")
        project = self._session.project
        url = f"{base}/v1/projects/{project}/instances"
        http = self._authorized()
        out: list[dict[str, Any]] = []
        token = ""
        while True:

            def page(timeout: float, tok: str = token) -> dict[str, Any]:
                response = http.get(url, params={"pageToken": tok} if tok else None, timeout=timeout)
                if response.status_code >= 400:
                    raise gexc.from_http_response(response)
                return response.json()

            body = self._session.retrier.call("sql.instances.list", page, f"projects/{project}")
            out.extend(body.get("items", []))
            token = body.get("nextPageToken", "")
            if not token:
                return out
