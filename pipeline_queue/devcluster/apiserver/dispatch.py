"""Which verb a request is: method and route mapped to a handler, as the real server's REST installer does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from . import discovery, gnostic, openapi, tables
from .errors import method_not_supported, not_supported, page_not_found
from .handlers import Reply, Verbs
from .logs import read_logs
from .resources import STREAMING
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
        if route.subresource in STREAMING:
            assert route.resource is not None
            self.verbs.get(request)  # a missing object is a 404 first, as on a real cluster
            raise not_supported(route.resource.name, route.subresource, instead=STREAMING[route.subresource])
        return self._object(request)

    def _only(self, request: Request, *, method: str, run: Callable[[], Reply | Streamer]) -> Reply | Streamer:
        if request.method != method:
            raise method_not_supported()
        return run()

    def _collection(self, request: Request) -> Reply | Streamer:
        route, method = request.route, request.method
        if method == "GET":
            watching = request.flag("watch") or route.legacy_watch
            rendering = tables.negotiate(request.accept, collection=not watching)
            if watching:
                return open_watch(self.store, request, bookmark_interval=self.bookmark_interval, rendering=rendering)
            return _rendered(request, self.verbs.list(request), rendering)
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
            rendering = tables.negotiate(request.accept, collection=False)
            return _rendered(request, self.verbs.get(request), rendering)
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
        if name.startswith("openapi"):
            return _openapi(name, request)
        return Reply(200, documents[name]())


def _rendered(request: Request, reply: Reply, rendering: tables.Rendering) -> Reply:
    """A read in the form its Accept header asked for (a Table for kubectl get)."""
    assert request.route.resource is not None
    reply.body = tables.render(request.route.resource, reply.body, rendering,
                               include=request.query.get("includeObject", ""))
    return reply


def _openapi(name: str, request: Request) -> Reply:
    """The OpenAPI documents (JSON; v2 also as the protobuf client-go asks for)."""
    if name == "openapi-v3":
        return Reply(200, openapi.v3_root())
    if name == "openapi-v3-api-v1":
        return Reply(200, openapi.v3_document(), headers={"Cache-Control": "public, immutable"}
                     if request.query.get("hash") == openapi.v3_hash() else {})
    accept = request.accept.lower()
    if gnostic.MEDIA_TYPE in accept or gnostic.REPLY_TYPE in accept:
        return Reply(200, gnostic.v2_protobuf(), content_type=gnostic.REPLY_TYPE)
    tables.negotiate(request.accept, collection=False)  # 406 unless JSON is acceptable
    return Reply(200, openapi.v2_document())
