"""Discovery documents: /api, /api/v1, /apis, /version and the health endpoints."""

from __future__ import annotations

import platform
from typing import Any

from .resources import RESOURCES, VERBS, Resource

SERVER_VERSION = {"major": "1", "minor": "37"}
_SUBRESOURCE_VERBS = {"status": ["get", "patch", "update"], "log": ["get"], "binding": ["create"],
                      "finalize": ["update"], "exec": ["create", "get"], "attach": ["create", "get"],
                      "portforward": ["create", "get"], "proxy": ["create", "delete", "get", "patch", "update"]}
_SUBRESOURCE_KINDS = {"binding": "Binding", "exec": "PodExecOptions", "attach": "PodAttachOptions",
                      "portforward": "PodPortForwardOptions"}


def _entry(info: Resource) -> dict[str, Any]:
    verbs = [v for v in VERBS if not (info.name == "namespaces" and v == "deletecollection")]
    entry = {"name": info.name, "singularName": info.singular, "namespaced": info.namespaced, "kind": info.kind,
             "verbs": verbs}
    if info.short_names:
        entry["shortNames"] = list(info.short_names)
    if info.categories:
        entry["categories"] = list(info.categories)
    return entry


def _subresource(info: Resource, sub: str) -> dict[str, Any]:
    kind = _SUBRESOURCE_KINDS.get(sub, f"{info.kind}ProxyOptions" if sub == "proxy" else info.kind)
    return {"name": f"{info.name}/{sub}", "singularName": "", "namespaced": info.namespaced, "kind": kind,
            "verbs": _SUBRESOURCE_VERBS[sub]}


def resource_list() -> dict[str, Any]:
    resources = []
    for info in RESOURCES.values():
        resources.append(_entry(info))
        resources += [_subresource(info, sub) for sub in info.subresources]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1", "resources": resources}


def api_versions(address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}]}


def api_groups() -> dict[str, Any]:
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}


def version() -> dict[str, Any]:
    return {**SERVER_VERSION, "gitVersion": "v1.37.0-pipeline-queue-dev", "gitCommit": "unknown",
            "gitTreeState": "clean", "buildDate": "1970-01-01T00:00:00Z",
            "goVersion": f"python{platform.python_version()}", "compiler": "cpython",
            "platform": f"{platform.system().lower()}/{platform.machine()}"}


def root_paths() -> dict[str, Any]:
    return {"paths": ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/version"]}
