"""Kubernetes RBAC, written from its specification for the tests: which request a ServiceAccount may make, given
the Roles and bindings of a rendered manifest set. An oracle apart from the product: it shares no code with it.

`request_attributes` follows the API server's request-info rules (resource or not, verb from method, collection
or named object, `watch=true`); `Authorizer.allows` follows RBAC's rule matching (verbs, API groups, resources with
their subresource, resource names, non-resource URLs), plus the grants every cluster gives by default.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

TRUE = ("1", "t", "T", "true", "TRUE", "True")
"""The spellings Go's strconv.ParseBool reads as true (`watch=True` is what the Python client sends)."""

PUBLIC_PATHS = ("/healthz", "/livez", "/readyz", "/version", "/version/")
"""Granted to everyone by the default ClusterRole system:public-info-viewer."""
DISCOVERY_PATHS = ("/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*")
"""Granted to every authenticated user by the default ClusterRole system:discovery."""


@dataclass(frozen=True)
class Attributes:
    """What RBAC decides on: for a resource request its verb, `group/resource[/subresource]` (group "" for the
    core API), namespace and name; for any other request its verb and path."""

    verb: str
    path: str
    target: tuple[str, str, str, str] | None = None
    """(group, resource or resource/subresource, namespace, name), None for a non-resource request."""

    @property
    def is_resource(self) -> bool:
        return self.target is not None

    def shown(self) -> str:
        if self.target is None:
            return f"{self.verb} {self.path}"
        _, resource, namespace, _ = self.target
        return f"{self.verb} {resource}" + (f" in {namespace}" if namespace else " (cluster-wide)")


def request_attributes(method: str, target: str) -> Attributes:
    """The RBAC attributes of one HTTP request to the API server."""
    url = urlsplit(target)
    parts = [part for part in url.path.split("/") if part]
    query = parse_qs(url.query)
    if parts[:2] == ["api", "v1"]:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:
        rest = []
    if not rest:
        return Attributes(verb=method.lower(), path=url.path)
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 2:
        namespace, rest = rest[1], rest[2:]
    name = (rest[1:2] or [""])[0]
    resource = "/".join([rest[0], *rest[2:3]])  # a subresource is named after its resource: pods/log
    watching = any(value in TRUE for value in query.get("watch", []))
    verb = _verb(method, named=bool(name), watching=watching)
    return Attributes(verb=verb, path=url.path, target=(group, resource, namespace, name))


def _verb(method: str, *, named: bool, watching: bool) -> str:
    if method in ("GET", "HEAD"):
        return "watch" if watching else ("get" if named else "list")
    if method == "DELETE":
        return "delete" if named else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())


@dataclass(frozen=True)
class Rule:
    """One PolicyRule, and where it applies: `namespace` for a Role's (or a RoleBinding's ClusterRole's) rule,
    "" for a ClusterRoleBinding's, which applies in every namespace and to cluster-scoped requests."""

    verbs: frozenset[str]
    groups: frozenset[str]
    resources: frozenset[str]
    names: frozenset[str]
    urls: frozenset[str]
    namespace: str

    def matches(self, request: Attributes) -> bool:
        if "*" not in self.verbs and request.verb not in self.verbs:
            return False
        if request.target is None:
            return not self.namespace and any(_url_matches(url, request.path) for url in self.urls)
        group, resource, namespace, name = request.target
        if self.namespace and namespace != self.namespace:
            return False
        return ((group in self.groups or "*" in self.groups)
                and (resource in self.resources or "*" in self.resources)
                and (not self.names or name in self.names))


def _url_matches(pattern: str, path: str) -> bool:
    return pattern == "*" or pattern == path or (pattern.endswith("*") and path.startswith(pattern[:-1]))


class Authorizer:
    """The RBAC grants of a set of manifests, asked per ServiceAccount."""

    def __init__(self, objects: Iterable[dict[str, Any]]) -> None:
        self.objects = list(objects)
        self._roles = {(obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]): obj
                       for obj in self.objects if obj["kind"] in ("Role", "ClusterRole")}

    def rules_for(self, account: str, namespace: str) -> list[Rule]:
        """Every rule bound to ServiceAccount `namespace/account`."""
        rules: list[Rule] = []
        for binding in self.objects:
            if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding") or not _binds(binding, account, namespace):
                continue
            where = binding["metadata"].get("namespace", "") if binding["kind"] == "RoleBinding" else ""
            ref = binding["roleRef"]
            role = self._roles[(ref["kind"], where if ref["kind"] == "Role" else "", ref["name"])]
            rules.extend(_rule(rule, namespace=where) for rule in role.get("rules") or [])
        return rules

    def allows(self, account: str, namespace: str, request: Attributes) -> bool:
        if not request.is_resource and (request.path in PUBLIC_PATHS
                                        or any(_url_matches(url, request.path) for url in DISCOVERY_PATHS)):
            return True
        return any(rule.matches(request) for rule in self.rules_for(account, namespace))


def _binds(binding: dict[str, Any], account: str, namespace: str) -> bool:
    return any(subject.get("kind") == "ServiceAccount" and subject.get("name") == account
               and subject.get("namespace") == namespace for subject in binding.get("subjects") or [])


def _rule(rule: dict[str, Any], *, namespace: str) -> Rule:
    return Rule(verbs=frozenset(rule.get("verbs") or ()), groups=frozenset(rule.get("apiGroups") or ()),
                resources=frozenset(rule.get("resources") or ()), names=frozenset(rule.get("resourceNames") or ()),
                urls=frozenset(rule.get("nonResourceURLs") or ()), namespace=namespace)


def grants(rules: Iterable[Rule]) -> set[tuple[str, str, str]]:
    """Each (namespace or "", resource, verb) the rules grant, one per verb: the shape the code's calls are
    compared with."""
    return {(rule.namespace, resource, verb) for rule in rules for resource in rule.resources for verb in rule.verbs}
