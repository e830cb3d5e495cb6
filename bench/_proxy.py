"""A counting HTTP proxy for the queue bench: forwards every request to the cluster (watch streams too) and
counts them by Kubernetes verb (GET, LIST, WATCH, POST, DELETE, ...)."""

from __future__ import annotations

import http.client
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import SplitResult, parse_qs, urlsplit

UPSTREAM_TIMEOUT = 120.0
"""Seconds the proxy waits on the cluster for a reply (watches end sooner: the clients ask for timeouts)."""


def verb_of(method: str, target: str) -> str:
    """The Kubernetes verb of a request: GET on a collection is LIST, with `watch=true` it is WATCH."""
    parts = urlsplit(target)
    if method != "GET":
        return method
    if parse_qs(parts.query).get("watch", [""])[0] in ("true", "1"):
        return "WATCH"
    segments = [segment for segment in parts.path.split("/") if segment]
    if segments[:1] == ["api"]:
        rest = segments[2:]
    elif segments[:1] == ["apis"]:
        rest = segments[3:]
    else:
        return "GET"  # /version, /openapi/...
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        rest = rest[2:]
    return "LIST" if len(rest) == 1 else "GET"


class CountingProxy:
    """`with CountingProxy(upstream) as proxy:` then point a kubeconfig at `proxy.url`; `snapshot()` gives counts."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        handler = type("Handler", (_Forwarder,), {"proxy": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> CountingProxy:
        threading.Thread(target=self._server.serve_forever, name="counting-proxy", daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def count(self, method: str, target: str) -> None:
        with self._lock:
            self.counts[verb_of(method, target)] += 1

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.counts)


class _Forwarder(BaseHTTPRequestHandler):
    """One client connection: each request is counted, then sent on over this connection's own upstream one."""

    protocol_version = "HTTP/1.1"  # keep-alive, and chunked streams pass through as streams
    proxy: CountingProxy
    upstream: http.client.HTTPConnection | None = None

    def log_message(self, *_: object) -> None:  # keep the bench output to its figures
        pass

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def do_PUT(self) -> None:
        self._forward()

    def do_PATCH(self) -> None:
        self._forward()

    def do_DELETE(self) -> None:
        self._forward()

    def _forward(self) -> None:
        self.proxy.count(self.command, self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        if self.upstream is None:
            self.upstream = _connect(self.proxy.upstream)
        try:
            self.upstream.request(self.command, self.path, body=body, headers=headers)
            self._relay(self.upstream.getresponse())
        except (OSError, http.client.HTTPException):
            self.close_connection = True  # the client left mid-stream, or the cluster did
            self.upstream.close()
            self.upstream = None

    def _relay(self, reply: http.client.HTTPResponse) -> None:
        self.send_response(reply.status)
        for key, value in reply.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        if not reply.chunked:
            data = reply.read()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        while data := reply.read1(65536):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


def _connect(upstream: SplitResult) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(upstream.hostname or "127.0.0.1", upstream.port, timeout=UPSTREAM_TIMEOUT)
