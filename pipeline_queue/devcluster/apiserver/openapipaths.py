"""The `paths` of the OpenAPI documents: one operation per verb and resource, as the real REST installer lists them.

kubectl reads more than the schemas here: it validates on the server only when the PATCH operation of a kind
(found by `x-kubernetes-group-version-kind`) lists the `fieldValidation` query parameter, and checks dry-run
support the same way. `dryRun` is left out: this server refuses it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .resources import RESOURCES, Resource

Ref = Callable[[str], dict[str, Any]]
"""Builds the reference to a named definition (`#/components/schemas/...` in v3, `#/definitions/...` in v2)."""
_CORE = "io.k8s.api.core.v1."
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
                "application/strategic-merge-patch+json", "application/apply-patch+yaml")
_WRITE_PARAMETERS = ("fieldManager", "fieldValidation")
_LIST_PARAMETERS = ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit",
                    "resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds", "watch")
_PARAMETER_TYPES = {"allowWatchBookmarks": "boolean", "limit": "integer", "timeoutSeconds": "integer",
                    "watch": "boolean", "sendInitialEvents": "boolean", "force": "boolean",
                    "gracePeriodSeconds": "integer", "orphanDependents": "boolean"}
_ACTIONS = {"get": "get", "list": "list", "post": "post", "put": "put", "patch": "patch", "delete": "delete",
            "deletecollection": "deletecollection"}


def _query(name: str, *, v3: bool) -> dict[str, Any]:
    kind = _PARAMETER_TYPES.get(name, "string")
    parameter: dict[str, Any] = {"name": name, "in": "query", "uniqueItems": True,
                                 "description": f"The {name} option of the request."}
    if v3:
        parameter["schema"] = {"type": kind}
    else:
        parameter["type"] = kind
    return parameter


def _path_parameter(name: str, *, v3: bool) -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": name, "in": "path", "required": True, "uniqueItems": True,
                                 "description": f"{name} of the resource"}
    if v3:
        parameter["schema"] = {"type": "string"}
    else:
        parameter["type"] = "string"
    return parameter


def _operation(info: Resource, verb: str, *, definition: str, ref: Ref, v3: bool, parameters: tuple[str, ...] = (),
               body: str = "", media_types: tuple[str, ...] = ("application/json",)) -> dict[str, Any]:
    action = "list" if verb in ("list", "listall") else verb
    kind = "" if verb != "listall" else "ForAllNamespaces"
    scoped = "Namespaced" if info.namespaced and verb != "listall" else ""
    operation: dict[str, Any] = {
        "operationId": f"{_ACTIONS.get(action, action)}CoreV1{scoped}{info.kind}{kind}",
        "tags": ["core_v1"],
        "description": f"{action} {info.kind}",
        "parameters": [_query(name, v3=v3) for name in parameters],
        "x-kubernetes-action": _ACTIONS.get(action, action),
        "x-kubernetes-group-version-kind": {"group": "", "kind": info.kind, "version": "v1"},
    }
    if v3:
        operation["responses"] = {"200": {"description": "OK", "content": {
            media: {"schema": ref(definition)} for media in ("application/json", "application/yaml")}}}
        if body:
            operation["requestBody"] = {"content": {media: {"schema": ref(body)} for media in media_types},
                                        "required": True}
    else:
        operation["responses"] = {"200": {"description": "OK", "schema": ref(definition)}}
        operation["consumes"], operation["produces"] = list(media_types), ["application/json", "application/yaml"]
        if body:
            operation["parameters"].append({"name": "body", "in": "body", "required": True, "schema": ref(body)})
    return operation


def _item_paths(info: Resource, *, ref: Ref, v3: bool) -> dict[str, Any]:
    kind = _CORE + info.kind
    patch = ("fieldManager", "fieldValidation", "force")
    return {
        "get": _operation(info, "get", definition=kind, ref=ref, v3=v3),
        "put": _operation(info, "put", definition=kind, ref=ref, v3=v3, parameters=_WRITE_PARAMETERS, body=kind),
        "patch": _operation(info, "patch", definition=kind, ref=ref, v3=v3, parameters=patch,
                            body=_META + "Patch", media_types=_PATCH_TYPES),
        "delete": _operation(info, "delete", definition=_META + "Status", ref=ref, v3=v3,
                             parameters=("gracePeriodSeconds", "propagationPolicy"), body=_META + "DeleteOptions"),
    }


def _collection_paths(info: Resource, *, ref: Ref, v3: bool) -> dict[str, Any]:
    kind, listed = _CORE + info.kind, _CORE + info.kind + "List"
    paths = {
        "get": _operation(info, "list", definition=listed, ref=ref, v3=v3, parameters=_LIST_PARAMETERS),
        "post": _operation(info, "post", definition=kind, ref=ref, v3=v3, parameters=_WRITE_PARAMETERS, body=kind),
    }
    if info.name != "namespaces":
        paths["delete"] = _operation(info, "deletecollection", definition=_META + "Status", ref=ref, v3=v3,
                                     parameters=_LIST_PARAMETERS[1:5], body=_META + "DeleteOptions")
    return paths


def _with_parameters(item: dict[str, Any], names: tuple[str, ...], *, v3: bool) -> dict[str, Any]:
    return {**item, "parameters": [_path_parameter(name, v3=v3) for name in names]}


def _status_paths(info: Resource, base: str, names: tuple[str, ...], *, ref: Ref, v3: bool) -> dict[str, Any]:
    item = _item_paths(info, ref=ref, v3=v3)
    status = {verb: {**item[verb], "operationId": item[verb]["operationId"] + "Status"}
              for verb in ("get", "put", "patch")}
    return {f"{base}/status": _with_parameters(status, names, v3=v3)}


def resource_paths(*, ref: Ref, v3: bool) -> dict[str, Any]:
    """Every path this server serves, with the operations kubectl looks for."""
    paths: dict[str, Any] = {}
    for info in RESOURCES.values():
        prefix = f"/api/v1/namespaces/{{namespace}}/{info.name}" if info.namespaced else f"/api/v1/{info.name}"
        scope = ("namespace",) if info.namespaced else ()
        paths[prefix] = _with_parameters(_collection_paths(info, ref=ref, v3=v3), scope, v3=v3)
        paths[f"{prefix}/{{name}}"] = _with_parameters(_item_paths(info, ref=ref, v3=v3), (*scope, "name"), v3=v3)
        if info.namespaced:
            everywhere = _operation(info, "listall", definition=_CORE + info.kind + "List", ref=ref, v3=v3,
                                    parameters=_LIST_PARAMETERS)
            paths[f"/api/v1/{info.name}"] = {"get": everywhere}
        if info.has_status:
            paths.update(_status_paths(info, f"{prefix}/{{name}}", (*scope, "name"), ref=ref, v3=v3))
    return paths


def served_definitions() -> list[str]:
    """The definitions the paths name, from which the documents' schemas are gathered."""
    names = [_META + "Patch", _META + "DeleteOptions", _META + "Status", _META + "WatchEvent"]
    for info in RESOURCES.values():
        names += [_CORE + info.kind, _CORE + info.kind + "List"]
    return [*names, _CORE + "Binding"]
