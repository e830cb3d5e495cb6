"""URL paths of the core API mapped to a resource, namespace, name and subresource."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from .errors import bad_request, page_not_found
from .resources import RESOURCES, Resource

DISCOVERY = {"": "root", "api": "api", "apis": "apis", "api/v1": "resources", "version": "version",
             "healthz": "health", "livez": "health", "readyz": "health", "openapi/v2": "openapi-v2",
             "openapi/v3": "openapi-v3", "openapi/v3/api/v1": "openapi-v3-api-v1"}


@dataclass(frozen=True)
class Route:
    """Where a request goes: a discovery document, or a resource path."""

    discovery: str = ""
    resource: Resource | None = None
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    legacy_watch: bool = False

    @property
    def collection(self) -> bool:
        return self.resource is not None and self.name is None


@dataclass(frozen=True)
class Request:
    """One parsed HTTP request."""

    method: str
    route: Route
    query: dict[str, str]
    content_type: str
    body: bytes
    accept: str = ""

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("true", "1")

    def number(self, name: str) -> int | None:
        text = self.query.get(name)
        if text in (None, ""):
            return None
        try:
            return int(text)
        except ValueError:
            raise bad_request(f"{name}: invalid value {text!r}: must be an integer") from None


def parse_query(target: str) -> dict[str, str]:
    """Query parameters; a repeated one counts once, by its first value, as Go's url.Values.Get reads it."""
    return {k: v[0] for k, v in parse_qs(urlsplit(target).query, keep_blank_values=True).items()}


def _resource_route(parts: list[str], *, legacy_watch: bool) -> Route:
    if len(parts) >= 3 and parts[0] == "namespaces" and parts[2] in RESOURCES and RESOURCES[parts[2]].namespaced:
        namespace, rest = parts[1], parts[2:]
    else:
        namespace, rest = None, parts
    info = RESOURCES.get(rest[0]) if rest else None
    if info is None or len(rest) > 3 or (info.namespaced and namespace is None and len(rest) > 1):
        raise page_not_found()
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    if subresource is not None and subresource not in info.subresources:
        raise page_not_found()
    return Route(resource=info, namespace=namespace, name=name, subresource=subresource, legacy_watch=legacy_watch)


def route(target: str) -> Route:
    """The route of a request target (path and query); ApiError 404 for paths this server does not serve."""
    path = unquote(urlsplit(target).path).strip("/")
    if path in DISCOVERY:
        return Route(discovery=DISCOVERY[path])
    parts = path.split("/")
    if parts[:2] != ["api", "v1"] or len(parts) < 3:
        raise page_not_found()
    rest = parts[2:]
    legacy_watch = rest[0] == "watch"
    return _resource_route(rest[1:] if legacy_watch else rest, legacy_watch=legacy_watch)
