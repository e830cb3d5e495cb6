"""Who may talk to the API server: a Host header naming it on loopback, and the bearer token of its kubeconfig.

The Host check is the defence against DNS rebinding: a page on evil.example whose name was made to resolve to
127.0.0.1 still sends `Host: evil.example:PORT`, so it gets a 403 before anything is read. The token is the one
`DevCluster` writes into the kubeconfig; a request without it gets the real server's 401. Only the health
endpoints are open without one, as kube-apiserver leaves /healthz, /livez and /readyz to anonymous users.
"""

from __future__ import annotations

import hmac
from urllib.parse import unquote, urlsplit

from .errors import ApiError, bad_request, host_not_allowed, unauthorized

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
OPEN_PATHS = frozenset({"healthz", "livez", "readyz"})
"""Paths answered without a token (kube-apiserver's system:public-info-viewer grants the same to anonymous)."""
_HTTP_PORT = 80


def allowed_hosts(port: int) -> list[str]:
    """The Host values this server answers: each loopback name with its port (bare too, on port 80)."""
    hosts = [f"{name}:{port}" for name in LOOPBACK_HOSTS]
    return hosts + list(LOOPBACK_HOSTS) if port == _HTTP_PORT else hosts


def check_host(values: list[str], *, port: int) -> None:
    """400 without exactly one Host header (as Go's server answers), 403 for a host that is not this server."""
    if len(values) != 1:
        raise bad_request("missing required Host header" if not values else "too many Host headers")
    allowed = allowed_hosts(port)
    if values[0].strip().lower() not in allowed:
        raise host_not_allowed(values[0], allowed=allowed)


def is_open(target: str) -> bool:
    """Whether a request target (path and query) is a health endpoint, answered without a token."""
    return unquote(urlsplit(target).path).strip("/") in OPEN_PATHS


def check_token(authorization: str | None, *, token: str) -> None:
    """401 unless the Authorization header is `Bearer <token>` (the scheme in any case, as the real server reads it)."""
    scheme, _, given = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise unauthorized()


def challenge(error: ApiError) -> dict[str, str]:
    """The headers an error reply carries: a 401 names the scheme the client should use (RFC 9110)."""
    return {"WWW-Authenticate": 'Bearer realm="pipeline-queue-devcluster"'} if error.code == 401 else {}
