"""A threaded local HTTP server base that speaks Google's REST error conventions and injects faults."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from gcpfakes.faults import FAULT_RESPONSES, Faults, google_error


class Handled(Exception):
    """Raised by a route to answer with an HTTP error."""

    def __init__(self, status: int, message: str, reason: str):
        self.status, self.message, self.reason = status, message, reason


class FaultyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LocalServer

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, verb: str) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        method, route = self.server.resolve(verb, url.path)
        faults = self.server.faults
        kind = faults.draw(method)
        if method in faults.deny:
            status, message = faults.deny[method]
            reason = "forbidden" if status == 403 else "notFound"
            return self._json(status, google_error(status, message, reason))
        mutating = method in self.server.mutating
        if kind in FAULT_RESPONSES:
            status, message, reason = FAULT_RESPONSES[kind]
            headers = {"Retry-After": faults.retry_after} if status == 429 else {}
            return self._json(status, google_error(status, message, reason), headers)
        if kind == "reset" and not mutating:
            return self._reset()
        if kind == "slow" and not mutating:
            time.sleep(faults.slow_s)
        try:
            status, payload = self.server.dispatch(route, verb, url.path, query, body)
        except Handled as exc:
            status, payload = exc.status, google_error(exc.status, exc.message, exc.reason)
        if kind == "reset":  # mutating: applied, then the reply is lost
            return self._reset()
        if kind == "slow":  # mutating: applied, reply arrives after the client gave up
            time.sleep(faults.slow_s)
        self._json(status, payload)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _reset(self) -> None:
        """Abort the connection with a TCP RST, as a dropped load balancer connection does."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


class LocalServer(ThreadingHTTPServer):
    """Subclasses provide `routes`: [(verb, compiled regex, method id, handler name)]."""

    daemon_threads = True
    routes: ClassVar[list[tuple[str, Any, str, str]]] = []
    mutating: frozenset[str] = frozenset()

    def __init__(self, faults: Faults | None = None):
        super().__init__(("127.0.0.1", 0), FaultyHandler)
        self.faults = faults or Faults()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def resolve(self, verb: str, path: str) -> tuple[str, Any]:
        for route_verb, pattern, method, handler in self.routes:
            match = pattern.fullmatch(path)
            if route_verb == verb and match:
                return method, (handler, match.groupdict())
        return f"unknown {verb} {path}", None

    def dispatch(self, route: Any, verb: str, path: str, query: dict, body: bytes) -> tuple[int, Any]:
        if route is None:
            raise Handled(404, f"The requested URL {path} was not found on this server.", "notFound")
        handler, params = route
        return 200, getattr(self, handler)(query=query, body=body, **params)
