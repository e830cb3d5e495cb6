"""A tiny HTTP proxy for tests: answers a chosen status to the first N requests, then forwards to the real server.

Subclasses change when to fail (`_should_fail`) or what happens between the server's answer and the
client's (`_before_reply`): the fault tests hold an answer back that way.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class FlakyProxy:
    """`with FlakyProxy(upstream, failures=2, status=500) as proxy:` then point a client at `proxy.url`."""

    def __init__(self, upstream: str, *, failures: int, status: int = 500) -> None:
        self.upstream = urlsplit(upstream)
        self.failures, self.status = failures, status
        self.requests = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FlakyProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _should_fail(self) -> bool:
        with self._lock:
            self.requests += 1
            return self.requests <= self.failures

    def _before_reply(self, method: str, path: str, body: bytes | None, client_port: int) -> None:
        """Called after the server answered and before the client gets the answer; nothing by default."""

    def _failure(self) -> tuple[int, list[tuple[str, str]], bytes]:
        payload = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                              "message": "injected by the test proxy", "code": self.status}).encode()
        return self.status, [("Content-Type", "application/json")], payload

    def _forward(self, method: str, path: str, body: bytes | None,
                 headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        upstream = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        try:
            sent = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
            upstream.request(method, path, body=body, headers=sent)
            reply = upstream.getresponse()
            data = reply.read()
            kept = [(k, v) for k, v in reply.getheaders()
                    if k.lower() not in ("transfer-encoding", "connection", "content-length")]
            return reply.status, kept, data
        finally:
            upstream.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:  # keep test output quiet
                pass

            def _any(self) -> None:  # every method is handled alike
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if proxy._should_fail():
                    status, headers, data = proxy._failure()
                else:
                    status, headers, data = proxy._forward(self.command, self.path, body, dict(self.headers.items()))
                    proxy._before_reply(self.command, self.path, body, self.client_address[1])
                with contextlib.suppress(OSError):  # the client may have been killed meanwhile
                    self.send_response(status)
                    for key, value in headers:
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            def do_GET(self) -> None:
                self._any()

            def do_POST(self) -> None:
                self._any()

            def do_DELETE(self) -> None:
                self._any()

        return Handler
