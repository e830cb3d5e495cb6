"""The HTTP/1.1 server of the development cluster: JSON in and out, chunked streams for watch and logs.

Every request passes the edge first (`access`: a loopback Host, then the bearer token), then its body is read
within the limit (`body`); an answer given before the body was read closes the connection, which can carry no
further request.
"""

from __future__ import annotations

import contextlib
import json
import logging
import select
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .access import challenge, check_host, check_token, is_open
from .body import framing, read_body
from .dispatch import Dispatcher, Streamer
from .errors import ApiError
from .handlers import Reply
from .routes import Request, parse_query, route
from .store import Store
from .tls import ServingCertificate, accept, issue, server_context

log = logging.getLogger(__name__)
_IDLE_TIMEOUT = 120.0
_CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError)
"""How a client hanging up mid-reply shows, in plain HTTP and in TLS."""
_LINGER = 0.5
"""Seconds a connection stays half-closed after a reply sent before its body was read (Go's rstAvoidanceDelay)."""


def _internal(error: Exception) -> Reply:
    message = f"Internal error occurred: {type(error).__name__}"
    return Reply(500, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": message, "reason": "InternalError", "code": 500})


class _ClientGoneError(Exception):
    """The client stalled past the idle timeout or hung up while sending its body."""


class _ChunkedOutput:
    """The body of a streamed response, written as HTTP/1.1 chunks."""

    def __init__(self, handler: _Handler, stopping: threading.Event) -> None:
        self._handler = handler
        self.stopping = stopping

    def write(self, data: bytes) -> None:
        self._handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self._handler.wfile.flush()

    def alive(self) -> bool:
        """False once the client closed its end (a readable socket with nothing to read)."""
        connection = self._handler.connection
        try:
            readable, _, _ = select.select([connection], [], [], 0)
            if not readable:
                return True
            if isinstance(connection, ssl.SSLSocket):
                return _tls_alive(connection)
            return connection.recv(1, socket.MSG_PEEK) != b""
        except (OSError, ValueError):
            return False


def _tls_alive(connection: ssl.SSLSocket) -> bool:
    """A readable TLS connection is closed when a read gets nothing (close_notify or EOF). TLS cannot peek, so a
    byte read here is lost; mid-stream a client sends nothing (Go never pipelines), so nothing is."""
    timeout = connection.gettimeout()
    connection.setblocking(False)
    try:
        return connection.recv(1) != b""
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
        return True  # a TLS record with no data for the application (a key update, a ticket)
    finally:
        connection.settimeout(timeout)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pipeline-queue-devcluster"
    timeout = _IDLE_TIMEOUT
    # One buffered write per response and no Nagle: otherwise keep-alive requests stall on delayed ACKs.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    server: _HttpServer
    _expects_continue = False
    _body_unread = False

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        self.server.track(self.connection, add=False)
        super().finish()
        if self._body_unread:
            self._linger()

    def parse_request(self) -> bool:
        self._expects_continue = False
        return super().parse_request()

    def handle_expect_100(self) -> bool:
        """Send `100 Continue` only once the headers passed the edge, so a refused body is never sent at all."""
        self._expects_continue = True
        return True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET  # noqa: N815

    def _request(self) -> Request:
        """The request once it passed the edge (Host, then token) with its body read within the limit."""
        check_host(self.headers.get_all("Host") or [], port=self.server.port)
        if not is_open(self.path):
            check_token(self.headers.get("Authorization"), token=self.server.token)
        length = framing(self.headers)
        if self._expects_continue and length:
            self.send_response_only(100)
            self.end_headers()
            self.wfile.flush()
        try:
            body = read_body(self.rfile, length)
        except (TimeoutError, ConnectionError) as error:
            raise _ClientGoneError from error
        self._body_unread = False
        return Request(self.command, route(self.path), parse_query(self.path), self.headers.get("Content-Type") or "",
                       body, accept=self.headers.get("Accept") or "")

    def _serve(self) -> None:
        announced = (self.headers.get("Content-Length") or "0").strip()
        self._body_unread = bool(self.headers.get("Transfer-Encoding")) or announced != "0"
        try:
            result: Reply | Streamer = self.server.dispatcher.dispatch(self._request())
        except _ClientGoneError:
            self.close_connection = True
            self._body_unread = False  # nobody is left to read a reply
            return
        except ApiError as error:
            result = Reply(error.code, error.status(), headers=challenge(error))
        except Exception as error:
            log.exception("devcluster: %s %s failed", self.command, self.path)
            result = _internal(error)
        if isinstance(result, Reply):
            self._reply(result)
        else:
            self._stream(result)

    def _reply(self, reply: Reply) -> None:
        body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        self.send_response(reply.code)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(body)))
        for warning in reply.warnings:
            self.send_header("Warning", "299 - " + json.dumps(warning))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if self._body_unread:
            self.send_header("Connection", "close")  # what is left of the body would be read as the next request
        self.end_headers()
        self.wfile.write(body)

    def _linger(self) -> None:
        """Half-close and wait a moment before the close: closing with unread bytes resets the connection, and a
        reset arriving first can make the client drop the reply it has not read yet."""
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_WR)
        self.server.stopping.wait(_LINGER)

    def _stream(self, streamer: Streamer) -> None:
        self.send_response(200)
        self.send_header("Content-Type", streamer.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()  # a watch may stay quiet for long; its client waits for the headers to begin
        self.server.streams.add(streamer)
        try:
            streamer.run(_ChunkedOutput(self, self.server.stopping))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True  # the client went away mid-stream
        finally:
            self.server.streams.discard(streamer)
            streamer.close()


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], *, token: str, tls: ssl.SSLContext) -> None:
        super().__init__(address, _Handler)
        self.token = token
        self.tls = tls
        self.port = int(self.server_address[1])
        self.dispatcher: Dispatcher = None  # type: ignore[assignment]
        self.stopping = threading.Event()
        self.streams: set[Streamer] = set()
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    def track(self, connection: socket.socket, *, add: bool) -> None:
        with self._lock:
            (self._connections.add if add else self._connections.discard)(connection)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Serve one connection (in its own thread) in TLS or plain HTTP, whichever the client speaks."""
        connection = accept(request, self.tls, timeout=_IDLE_TIMEOUT)
        if connection is None:
            return
        try:
            super().finish_request(connection, client_address)
        finally:
            if connection is not request:
                connection.close()  # socketserver closes only the socket it accepted, detached by the TLS wrap

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-reply is normal (watch stops, timeouts), and so is a connection cut while
        the server stops; anything else is printed."""
        if isinstance(sys.exc_info()[1], _CLIENT_GONE) or self.stopping.is_set():
            return
        super().handle_error(request, client_address)

    def drop_connections(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class ApiServer:
    """Serves a Store over the Kubernetes REST API on 127.0.0.1 (`port=0`: any free port) to holders of `token`."""

    def __init__(self, store: Store, *, data_dir: Path, token: str, host: str = "127.0.0.1", port: int = 0,
                 bookmark_interval: float = 10.0, certificate: ServingCertificate | None = None) -> None:
        if not token:
            raise ValueError("the API server needs a bearer token to require")
        self.certificate = certificate or issue()
        self._http = _HttpServer((host, port), token=token, tls=server_context(self.certificate))
        host, port = self._http.server_address[:2]  # type: ignore[misc]
        self.host, self.port = str(host), int(port)
        self._http.dispatcher = Dispatcher(store, data_dir=data_dir, address=f"{self.host}:{self.port}",
                                           bookmark_interval=bookmark_interval)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The address clients are given (the kubeconfig's); plain `http://` on the same port is served too."""
        return f"https://{self.host}:{self.port}"

    def start(self) -> ApiServer:
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="devcluster-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, end every watch and log stream, close every connection."""
        self._http.stopping.set()
        if self._thread is not None:
            self._http.shutdown()
            self._thread.join()
        for streamer in list(self._http.streams):
            streamer.close()
        self._http.drop_connections()
        self._http.server_close()
