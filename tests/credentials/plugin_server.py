"""A Drone registry extension for the tests: an HTTP server thread that checks every request's signature as
drone-go's registry handler does (httpsignatures-go's rules, written here from the draft and that library, not with
the product's signer) and answers with the registries it is given.

A request whose signature or digest does not verify gets drone-go's `400 Invalid Signature`, and no credential.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_SIGNATURE_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class PluginServer:
    """Answers `registries` (by repository slug, else `default`) to requests signed with `secret`."""

    secret: str
    registries: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    default: list[dict[str, str]] = field(default_factory=list)
    failures: int = 0
    """Answer `503` to this many verified requests first (a plugin that is briefly down)."""
    requests: list[dict[str, Any]] = field(default_factory=list)
    """The JSON body of every request that verified, in order."""
    headers: list[dict[str, str]] = field(default_factory=list)
    refused: int = 0
    """Requests refused for their signature."""

    def __post_init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="registry-plugin", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/registry"

    def __enter__(self) -> PluginServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def verified(self, headers: dict[str, str], body: bytes) -> bool:
        """httpsignatures-go's IsValid plus the Digest check its handler leaves out: the signed headers must include
        `date`, the HMAC-SHA256 of their signing string must match, and the digest must be the body's."""
        params = dict(_SIGNATURE_PARAM.findall(headers.get("signature", "")))
        names = params.get("headers", "").lower().split(" ")
        if params.get("algorithm") != "hmac-sha256" or not params.get("keyId") or "date" not in names:
            return False
        if any(name not in headers for name in names):
            return False
        signing = "\n".join(f"{name}: {headers[name]}" for name in names).encode()
        expected = base64.b64encode(hmac.new(self.secret.encode(), signing, hashlib.sha256).digest()).decode()
        digest = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
        parsedate_to_datetime(headers["date"])  # an unreadable date raises: the request is refused
        return hmac.compare_digest(expected, params.get("signature", "")) and headers.get("digest") == digest

    def answer(self, body: bytes) -> tuple[int, bytes]:
        request = json.loads(body)
        self.requests.append(request)
        if self.failures > 0:
            self.failures -= 1
            return 503, b"busy"
        slug = request.get("repo", {}).get("slug", "")
        return 200, json.dumps(self.registries.get(slug, self.default)).encode()


def _handler(server: PluginServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                valid = server.verified(headers, body)
            except (TypeError, ValueError):
                valid = False
            if not valid:
                server.refused += 1
                status, answer = 400, b"Invalid Signature"
            else:
                server.headers.append(headers)
                status, answer = server.answer(body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_: Any) -> None:
            pass  # quiet: the tests read `requests` instead

    return Handler
