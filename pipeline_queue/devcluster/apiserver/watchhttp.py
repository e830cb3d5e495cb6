"""Watch over HTTP: one JSON event per line in a chunked response, with bookmarks and timeouts."""

from __future__ import annotations

import json
import secrets
import threading
import time
from typing import Any, Protocol

from . import tables
from .errors import ApiError
from .resources import Resource
from .routes import Request
from .store import Store
from .watchcache import WatchEvent, WatchStream

# Without timeoutSeconds the real server ends a watch after 30 to 60 minutes, spread to avoid herds.
_MIN_TIMEOUT = 1800.0
_POLL = 0.25


class Output(Protocol):
    """The open response a streamer writes to."""

    stopping: threading.Event

    def write(self, data: bytes) -> None: ...

    def alive(self) -> bool: ...


def _line(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode() + b"\n"


class WatchResponse:
    """A watch stream sent as JSON lines until the timeout, the client leaving or the server stopping."""

    content_type = "application/json"

    def __init__(self, store: Store, info: Resource, *, stream: WatchStream | None, error: ApiError | None,
                 timeout: float, bookmarks: bool, bookmark_interval: float,
                 rendering: tables.Rendering | None = None, include: str = "") -> None:
        self.store, self.info, self.stream, self.error = store, info, stream, error
        self.timeout, self.bookmarks, self.interval = timeout, bookmarks, bookmark_interval
        self.rendering, self.include = rendering or tables.Rendering(), include
        self._headers_sent = False

    def _encode(self, event: WatchEvent) -> bytes:
        """The event as sent: its object rendered as asked (a one-row Table for kubectl get -w)."""
        if not self.rendering.as_kind or event.type not in ("ADDED", "MODIFIED", "DELETED"):
            return _line(event.to_json())
        obj = event.object
        if self.rendering.as_kind == "Table":
            meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
            body = tables.table(self.info, [obj], metadata=meta, rendering=self.rendering, include=self.include,
                                headers=not self._headers_sent)
            self._headers_sent = True
        else:
            body = tables.render(self.info, obj, self.rendering)
        return _line({"type": event.type, "object": body})

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()

    def run(self, out: Output) -> None:
        if self.error is not None or self.stream is None:
            # A too-old resourceVersion is not an HTTP error: the stream opens and carries one ERROR event.
            out.write(_line({"type": "ERROR", "object": self.error.status() if self.error else {}}))
            return
        try:
            self._pump(self.stream, out)
        finally:
            self.stream.close()

    def _pump(self, stream: WatchStream, out: Output) -> None:
        deadline = time.monotonic() + self.timeout
        next_bookmark = time.monotonic() + self.interval
        while not out.stopping.is_set() and not stream.closed:
            now = time.monotonic()
            if now >= deadline:
                # A last bookmark lets the client resume exactly where this stream ended.
                if self.bookmarks:
                    self._bookmark(stream, out)
                return
            event = stream.next(timeout=min(_POLL, deadline - now))
            if event is not None:
                out.write(self._encode(event))
                continue
            if not out.alive():
                return
            if self.bookmarks and now >= next_bookmark:
                self._bookmark(stream, out)
                next_bookmark = now + self.interval

    def _bookmark(self, stream: WatchStream, out: Output) -> None:
        version = self.store.bookmark_version(stream)
        if version is None:
            return
        body = {"kind": self.info.kind, "apiVersion": "v1", "metadata": {"resourceVersion": version}}
        out.write(_line(WatchEvent("BOOKMARK", body).to_json()))


def open_watch(store: Store, request: Request, *, bookmark_interval: float,
               rendering: tables.Rendering | None = None) -> WatchResponse:
    """Open the watch a request asks for; a bad selector or version is an ordinary 400 before streaming."""
    info, query = request.route.resource, request.query
    assert info is not None
    timeout = request.number("timeoutSeconds")
    if timeout is None or timeout <= 0:
        timeout = _MIN_TIMEOUT + secrets.randbelow(int(_MIN_TIMEOUT))
    try:
        stream = store.watch(info.name, request.route.namespace, resource_version=query.get("resourceVersion", ""),
                             label_selector=query.get("labelSelector", ""),
                             field_selector=query.get("fieldSelector", ""))
        error = None
    except ApiError as failure:
        if failure.code != 410:
            raise
        stream, error = None, failure
    return WatchResponse(store, info, stream=stream, error=error, timeout=float(timeout),
                         bookmarks=request.flag("allowWatchBookmarks"), bookmark_interval=bookmark_interval,
                         rendering=rendering, include=query.get("includeObject", ""))
