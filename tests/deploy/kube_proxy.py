"""A recording proxy in front of the development cluster, one per component, as each would have its own
ServiceAccount: it writes down every request (method and target) it forwards, can hold one back until released,
and streams both directions untouched otherwise, so watches and log streams work through it."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import yaml

Matcher = Callable[[str, str], bool]
"""(method, target) -> whether to hold that request."""


class RecordingProxy:
    """`with RecordingProxy(server) as proxy:` then give a component `proxy.kubeconfig(...)`."""

    def __init__(self, upstream: str) -> None:
        address = urlsplit(upstream)
        self._upstream = (address.hostname or "127.0.0.1", address.port or 80)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.requests: list[tuple[str, str]] = []
        self._hold: Matcher | None = None
        self.held = threading.Event()
        """Set once a request matching `hold` arrived (it waits for `release`)."""
        self.held_body = b""
        """The body of the request held back."""
        self._released = threading.Event()

    def __enter__(self) -> RecordingProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.release()
        self._listener.close()

    def kubeconfig(self, original: Path, target: Path) -> Path:
        """A copy of the cluster's kubeconfig whose server is this proxy."""
        config = yaml.safe_load(original.read_text())
        config["clusters"][0]["cluster"]["server"] = self.url
        target.write_text(yaml.safe_dump(config))
        return target

    def hold(self, matcher: Matcher) -> None:
        """Hold back the next request `matcher` accepts until `release()`."""
        self.held.clear()
        self._released.clear()
        self._hold = matcher

    def release(self) -> None:
        self._hold = None
        self._released.set()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self._upstream, timeout=30)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
        reader = client.makefile("rb")
        try:
            while self._forward_one(reader, upstream):
                pass
        except OSError:
            pass
        finally:
            _close(upstream)
            _close(client)

    def _forward_one(self, reader: BinaryIO, upstream: socket.socket) -> bool:
        """Read one request from the client, note it and send it on (Host rewritten); False at the end."""
        lines = []
        while True:
            line = reader.readline()
            if not line:
                return False
            if line in (b"\r\n", b"\n"):
                break
            lines.append(line)
        method, target, _ = lines[0].decode("latin-1").split(" ", 2)
        headers = [b"Host: %s:%d\r\n" % (self._upstream[0].encode(), self._upstream[1])
                   if line.lower().startswith(b"host:") else line for line in lines[1:]]
        length = next((int(line.split(b":", 1)[1]) for line in lines[1:]
                       if line.lower().startswith(b"content-length:")), 0)
        body = reader.read(length) if length else b""
        self.requests.append((method, target))
        hold = self._hold
        if hold is not None and hold(method, target):
            self._hold = None
            self.held_body = body
            self.held.set()
            self._released.wait(timeout=120)
        upstream.sendall(lines[0] + b"".join(headers) + b"\r\n" + body)
        return True


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _close(sink)


def _close(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    connection.close()
