"""Which verb a request is: method and route mapped to a handler, as the real server's REST installer does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from . import discovery
from .errors import method_not_supported, page_not_found
from .handlers import Reply, Verbs
from .logs import read_logs
from .routes import Request
from .store import Store
from .watchhttp import Output, open_watch


class Streamer(Protocol):
    """A response sent in chunks (watch, log follow)."""

    content_type: str

    def run(self, out: Output) -> None: ...

    def close(self) -> None: ...


class Dispatcher:
    """Turns a parsed request into a reply or a stream."""

    def __init__(self, store: Store, *, data_dir: Path, address: str, bookmark_interval: float) -> None:
        self.store = store
        self.verbs = Verbs(store)
        self.data_dir = data_dir
        self.address = address
        self.bookmark_interval = bookmark_interval

    def dispatch(self, request: Request) -> Reply | Streamer:
        route = request.route
        if route.discovery:
            return self._discovery(request)
        if route.collection:
            return self._collection(request)
        if route.subresource == "log":
            return self._only(request, method="GET", run=lambda: read_logs(self.store, request, data_dir=self.data_dir))
        if route.subresource == "binding":
            return self._only(request, method="POST", run=lambda: self.verbs.bind(request))
        return self._object(request)

    def _only(self, request: Request, *, method: str, run: Callable[[], Reply | Streamer]) -> Reply | Streamer:
        if request.method != method:
            raise method_not_supported()
        return run()

    def _collection(self, request: Request) -> Reply | Streamer:
        route, method = request.route, request.method
        if method == "GET":
            if request.flag("watch") or route.legacy_watch:
                return open_watch(self.store, request, bookmark_interval=self.bookmark_interval)
            return self.verbs.list(request)
        assert route.resource is not None
        if route.resource.namespaced and route.namespace is None:
            raise page_not_found()  # only list and watch span every namespace
        if method == "POST":
            return self.verbs.create(request)
        if method == "DELETE":
            return self.verbs.delete_collection(request)
        raise method_not_supported()

    def _object(self, request: Request) -> Reply:
        method, sub = request.method, request.route.subresource
        if method == "GET" and sub != "finalize":
            return self.verbs.get(request)
        if method == "PUT":
            return self.verbs.update(request)
        if method == "PATCH" and sub != "finalize":
            return self.verbs.patch(request)
        if method == "DELETE" and sub is None:
            return self.verbs.delete(request)
        raise method_not_supported()

    def _discovery(self, request: Request) -> Reply:
        if request.method != "GET":
            raise method_not_supported()
        documents = {
            "root": discovery.root_paths,
            "api": lambda: discovery.api_versions(self.address),
            "apis": discovery.api_groups,
            "resources": discovery.resource_list,
            "version": discovery.version,
        }
        name = request.route.discovery
        if name == "health":
            return Reply(200, b"ok", content_type="text/plain")
        return Reply(200, documents[name]())
