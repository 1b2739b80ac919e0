"""A fault-injecting reverse proxy in front of gcp-storage-emulator.

The emulator speaks the Cloud Storage JSON API but never fails; this proxy
adds the seeded faults and records method ids, so storage sees the same
weather as compute and monitoring.
"""

from __future__ import annotations

import http.client
import re
from typing import Any, ClassVar

from gcpfakes.http_base import LocalServer

ROUTES = [
    ("GET", re.compile(r"/storage/v1/b"), "storage.buckets.list"),
    ("GET", re.compile(r"/storage/v1/b/[^/]+"), "storage.buckets.get"),
]


class StorageProxy(LocalServer):
    routes: ClassVar = [(verb, pattern, method, "forward") for verb, pattern, method in ROUTES]

    def __init__(self, upstream: str, faults: Any = None):
        super().__init__(faults)
        self.upstream = upstream.removeprefix("http://")

    def dispatch(self, route: Any, verb: str, path: str, query: dict, body: bytes) -> tuple[int, Any]:
        import json
        from urllib.parse import urlencode

        conn = http.client.HTTPConnection(self.upstream, timeout=10)
        target = path + ("?" + urlencode(query) if query else "")
        conn.request(verb, target, body=body or None, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response.status, json.loads(data) if data else {}
