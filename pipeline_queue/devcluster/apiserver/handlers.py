"""The verbs of the REST API (create, get, list, watch, update, patch, delete, deletecollection) over the store."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from . import apply, patch, protobuf, schema
from .deletion import check_propagation
from .errors import ApiError, bad_request, conflict, method_not_supported, unsupported_media_type
from .metadata import now
from .resources import Resource
from .routes import Request
from .store import Store

_PATCH_ATTEMPTS = 5
JSON = "application/json"
"""The one media type create, update, binding and DeleteOptions bodies are read in (none given means JSON)."""


@dataclass
class Reply:
    """A complete response: status code, a JSON body (or text), and warnings for the Warning header."""

    code: int
    body: Any
    content_type: str = "application/json"
    warnings: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


def _json_body(request: Request, *, kind: str = "") -> Any:
    """The body as JSON, decoded from protobuf where kubectl's typed clients send it for `kind`; 415 for a media
    type this server does not read (YAML, text, protobuf of other kinds), 400 for a malformed body."""
    media = request.content_type.split(";")[0].strip().lower()
    if media == protobuf.MEDIA_TYPE and protobuf.decodable(kind):
        return protobuf.decode(request.body)
    if media not in ("", JSON):
        raise unsupported_media_type([JSON] + ([protobuf.MEDIA_TYPE] if protobuf.decodable(kind) else []))
    try:
        return json.loads(request.body or b"{}")
    except (ValueError, RecursionError) as error:
        raise bad_request(f"error decoding request body: {type(error).__name__}: {error}") from error


def _info(request: Request) -> Resource:
    assert request.route.resource is not None
    return request.route.resource


def _list_body(info: Resource, page: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": page.resource_version}
    if page.continue_token:
        meta["continue"] = page.continue_token
    if page.remaining is not None:
        meta["remainingItemCount"] = page.remaining
    return {"kind": info.list_kind, "apiVersion": "v1", "metadata": meta, "items": page.items}


def _check_target(request: Request, obj: dict[str, Any]) -> None:
    """The object in a PUT names the object of the URL, as the real server insists."""
    meta = obj.setdefault("metadata", {})
    if meta.get("name") != request.route.name:
        raise bad_request(f"the name of the object ({meta.get('name', '')}) does not match the name on the "
                          f"URL ({request.route.name})")
    if _info(request).namespaced:
        if meta.get("namespace", request.route.namespace) != request.route.namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the "
                              "request")
        meta["namespace"] = request.route.namespace


def _refuse_dry_run(request: Request) -> None:
    if request.query.get("dryRun"):
        raise bad_request("dryRun is not supported by the development cluster")


class _RacedError(Exception):
    """Another write landed between reading an object and writing it back patched."""

    def __init__(self, conflict: ApiError) -> None:
        super().__init__(conflict.message)
        self.conflict = conflict


class Verbs:
    """Create, read, update and delete over HTTP, with the real server's validation in front of the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, request: Request) -> Reply:
        _refuse_dry_run(request)
        info = _info(request)
        obj, warnings = schema.conform(info.kind, _json_body(request, kind=info.kind),
                                       field_validation=request.query.get("fieldValidation", ""))
        meta = obj.setdefault("metadata", {})
        if info.namespaced:
            if meta.get("namespace", request.route.namespace) != request.route.namespace:
                raise bad_request("the namespace of the provided object does not match the namespace sent "
                                  "on the request")
            meta["namespace"] = request.route.namespace
        return Reply(201, self.store.create(info.name, obj), warnings=warnings)

    def get(self, request: Request) -> Reply:
        info = _info(request)
        return Reply(200, self.store.get(info.name, request.route.namespace, request.route.name or ""))

    def list(self, request: Request) -> Reply:
        info, query = _info(request), request.query
        page = self.store.list_page(info.name, request.route.namespace, label_selector=query.get("labelSelector", ""),
                                    field_selector=query.get("fieldSelector", ""),
                                    limit=request.number("limit") or 0, continue_token=query.get("continue", ""))
        return Reply(200, _list_body(info, page))

    def update(self, request: Request) -> Reply:
        _refuse_dry_run(request)
        info = _info(request)
        obj, warnings = schema.conform(info.kind, _json_body(request, kind=info.kind),
                                       field_validation=request.query.get("fieldValidation", ""))
        _check_target(request, obj)
        return Reply(200, self.store.replace(info.name, obj, subresource=request.route.subresource),
                     warnings=warnings)

    def patch(self, request: Request) -> Reply:
        """Apply a patch to the latest object; a write that slips in between is retried, as the real server does."""
        _refuse_dry_run(request)
        for _ in range(_PATCH_ATTEMPTS - 1):
            try:
                return self._patch_once(request)
            except _RacedError:
                continue
        try:
            return self._patch_once(request)
        except _RacedError as raced:
            raise raced.conflict from None

    def _patch_once(self, request: Request) -> Reply:
        info, route = _info(request), request.route
        if request.content_type.split(";")[0].strip().lower() == apply.MEDIA_TYPE:
            return self._apply(request)
        current = self.store.get(info.name, route.namespace, route.name or "")
        patched = patch.apply(request.content_type, info.kind, target=current, body=request.body)
        return self._write_patched(request, current, patched)

    def _apply(self, request: Request) -> Reply:
        """Server-side apply: the object as the manager's configuration makes it, created when missing."""
        info, route, query = _info(request), request.route, request.query
        config = apply.parse(request.body)
        schema.check_kind(info.kind, config)
        warnings = schema.prune_unknown(info.kind, config, field_validation=query.get("fieldValidation", ""))
        try:
            current: dict[str, Any] | None = self.store.get(info.name, route.namespace, route.name or "")
        except ApiError as error:
            if error.code != 404:
                raise
            current = None
        applied = apply.apply(current, config, kind=info.kind, manager=query.get("fieldManager", ""),
                              force=request.flag("force"))
        if current is not None:
            reply = self._write_patched(request, current, applied)
            reply.warnings += [f'unknown field "{u}"' for u in warnings]
            return reply
        obj, _ = schema.conform(info.kind, applied)
        _check_target(request, obj)
        return Reply(201, self.store.create(info.name, obj), warnings=[f'unknown field "{u}"' for u in warnings])

    def _write_patched(self, request: Request, current: dict[str, Any], patched: dict[str, Any]) -> Reply:
        info, route = _info(request), request.route
        obj, warnings = schema.conform(info.kind, patched, field_validation=request.query.get("fieldValidation", ""))
        _check_target(request, obj)
        try:
            return Reply(200, self.store.replace(info.name, obj, subresource=route.subresource), warnings=warnings)
        except ApiError as error:
            # Only a resourceVersion the patch itself names may end in a Conflict for the client.
            own_version = obj["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]
            if error.code == 409 and error.reason == "Conflict" and not own_version:
                raise _RacedError(error) from error
            raise

    def delete(self, request: Request) -> Reply:
        _refuse_dry_run(request)
        info, route = _info(request), request.route
        options = _delete_options(request)
        obj = self.store.delete(info.name, route.namespace, route.name or "", **options)
        return Reply(200, _deleted_reply(info, obj))

    def delete_collection(self, request: Request) -> Reply:
        _refuse_dry_run(request)
        info, route = _info(request), request.route
        if info.name == "namespaces":
            raise method_not_supported()
        options = _delete_options(request)
        items, _ = self.store.list(info.name, route.namespace, label_selector=request.query.get("labelSelector", ""),
                                   field_selector=request.query.get("fieldSelector", ""))
        deleted = []
        for item in items:
            meta = item["metadata"]
            try:
                deleted.append(self.store.delete(info.name, meta.get("namespace"), meta["name"], **options))
            except ApiError as error:
                if error.code != 404:  # gone meanwhile: the collection is deleted all the same
                    raise
        return Reply(200, {"kind": info.list_kind, "apiVersion": "v1",
                           "metadata": {"resourceVersion": self.store.resource_version}, "items": deleted})

    def bind(self, request: Request) -> Reply:
        """POST pods/NAME/binding: what a scheduler does to place a pod on a node."""
        route, binding = request.route, _json_body(request)
        target = (binding.get("target") or {}) if isinstance(binding, dict) else {}
        if not target.get("name"):
            raise bad_request("a Binding needs target.name, the node to bind to")

        def assign(pod: dict[str, Any]) -> None:
            if pod["spec"].get("nodeName"):
                raise conflict("pods/binding", route.name or "", why=f'pod {route.name} is already assigned to node '
                                                                    f'"{pod["spec"]["nodeName"]}"')
            pod["spec"]["nodeName"] = target["name"]
            conditions = pod.setdefault("status", {}).setdefault("conditions", [])
            conditions[:] = [c for c in conditions if c.get("type") != "PodScheduled"]
            conditions.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                               "lastTransitionTime": now()})

        self.store.mutate("pods", route.namespace, route.name or "", assign)
        return Reply(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})


def _deleted_reply(info: Resource, obj: dict[str, Any]) -> dict[str, Any]:
    """The deleted object, or for most resources a Success Status once it is really gone."""
    meta = obj["metadata"]
    if info.returns_deleted_object or meta.get("deletionTimestamp"):
        return obj
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": meta["name"], "kind": info.name, "uid": meta.get("uid", "")}}


def _delete_options(request: Request) -> dict[str, Any]:
    """DeleteOptions from the body when there is one, else from the query, as the real server reads them."""
    body = _json_body(request, kind="DeleteOptions") if request.body.strip() else None
    if body is not None and not isinstance(body, dict):
        raise bad_request("DeleteOptions must be a JSON object")
    source: dict[str, Any] = body if body is not None else {
        "gracePeriodSeconds": request.number("gracePeriodSeconds"),
        "propagationPolicy": request.query.get("propagationPolicy"),
        "orphanDependents": request.flag("orphanDependents") if "orphanDependents" in request.query else None,
    }
    propagation = source.get("propagationPolicy") or None
    orphan = source.get("orphanDependents")
    if orphan is not None and propagation is not None:
        raise bad_request("orphanDependents and deletionPropagation cannot be both set")
    if orphan is not None:
        propagation = "Orphan" if orphan else "Background"
    propagation = propagation or "Background"
    check_propagation(propagation)
    grace = source.get("gracePeriodSeconds")
    if grace is not None and not isinstance(grace, int):
        raise bad_request("gracePeriodSeconds must be an integer")
    preconditions = {k: v for k, v in (source.get("preconditions") or {}).items() if v}
    return {"grace_period_seconds": grace, "propagation": propagation, "preconditions": preconditions}

