"""A thin Cloud Storage client over google-cloud-storage: bucket metadata for inventory.

`buckets.list` returns full bucket metadata (class, location, versioning,
lifecycle), so one paginated call covers all buckets instead of a `get` per
bucket. The library's own retry is switched off; ours applies per page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gcp.clients.session import GcpSession


class StorageClient:
    def __init__(self, session: GcpSession):
        self._session = session
        self._api: Any = None

    def _client(self) -> Any:
        if self._api is None:
            from google.cloud import storage

            endpoint = self._session.endpoints.storage
            self._api = storage.Client(
                project=self._session.project,
                credentials=self._session.auth.credentials,
                client_options={"api_endpoint": endpoint} if endpoint else None,
            )
        return self._api

    def buckets(self, page_size: int = 200) -> list[Any]:
        api = self._client()
        resource = f"projects/{self._session.project}"
        out: list[Any] = []
        token: str | None = None
        while True:

            def page(timeout: float, tok: str | None = token) -> tuple[list[Any], str | None]:
                iterator = api.list_buckets(
                    max_results=None, page_size=page_size, page_token=tok, retry=None,
                    timeout=timeout, projection="full",
                )
                items = list(next(iterator.pages))
                return items, iterator.next_page_token

            items, token = self._session.retrier.call("storage.buckets.list", page, resource)
            out.extend(items)
            if not token:
                return out
