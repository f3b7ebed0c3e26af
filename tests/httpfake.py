"""A local HTTP server for tests of clients of HTTP APIs (Prometheus, MLflow, webhooks).

Routes map (method, path) to a handler taking the parsed request and returning (status, JSON body).
Every request is recorded, so tests can assert what the client sent (and that secrets went in headers).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, list[str]]:
        """Query-string and x-www-form-urlencoded body parameters together."""
        merged = {k: list(v) for k, v in self.query.items()}
        if self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            for key, values in parse_qs(self.body.decode()).items():
                merged.setdefault(key, []).extend(values)
        return merged


Handler = Callable[[Request], tuple[int, Any]]


@dataclass
class FakeServer:
    """The running server: its base URL and the requests it has seen."""

    url: str
    requests: list[Request] = field(default_factory=list)


@contextmanager
def serve(routes: dict[tuple[str, str], Handler]) -> Iterator[FakeServer]:
    """Run a server on 127.0.0.1 (a free port) for the duration of the block."""
    seen: list[Request] = []

    class _Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                self.command,
                parts.path,
                parse_qs(parts.query),
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length) if length else b"",
            )
            seen.append(request)
            handler = routes.get((self.command, parts.path))
            status, body = handler(request) if handler else (404, {"error": f"no route {self.command} {parts.path}"})
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield FakeServer(f"http://127.0.0.1:{server.server_address[1]}", seen)
    finally:
        server.shutdown()
        server.server_close()
