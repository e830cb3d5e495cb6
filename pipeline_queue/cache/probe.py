"""The anonymous registry probe: does an image's registry refuse its manifest to someone without credentials?

An edge module (network and Redis I/O, standard library HTTP only), used by `cache.service` when
`PQ_CACHE_PROBE_ANONYMOUS` is on. It never sends credentials and never raises for network errors.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import time
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urlencode, urlsplit

from pipeline_queue import keys
from pipeline_queue.broker import RedisClient as Redis
from pipeline_queue.broker import RedisError
from pipeline_queue.images import ImageRef

log = logging.getLogger(__name__)

DOCKER_HUB_REGISTRY = "registry-1.docker.io"
"""Where Docker Hub serves the registry API (`docker.io` and `index.docker.io` do not)."""

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)
"""What a runtime accepts; without them some registries answer a schema-1 conversion or 404 for indexes."""

_TOKEN_BODY_LIMIT = 256 * 1024  # a registry token is a few KiB; never read an unbounded body
_CHALLENGE_PARAM = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))')
_DENIED, _ALLOWED = frozenset({401, 403}), frozenset({404})
_USER_AGENT = "pipeline-queue-probe"


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: Message
    body: bytes


def manifest_target(image: ImageRef) -> tuple[str, str]:
    """The registry host and the manifest path a runtime would ask for `image`: the digest when it has
    one (that is what the kubelet pulls), else its tag, `latest` by default."""
    host = DOCKER_HUB_REGISTRY if image.is_docker_hub else image.registry
    reference = image.digest or image.tag or "latest"
    return host, f"/v2/{image.path}/manifests/{reference}"


def anonymous_denied(image: ImageRef, *, timeout: float = 3.0, scheme: str = "https") -> bool | None:
    """True when the image's registry refuses its manifest to an anonymous client (401 or 403, after
    fetching an anonymous bearer token when the registry asks for one), False when it serves it or says it
    does not exist (2xx, 404), None when the registry cannot be reached or answers anything else.

    `timeout` bounds the whole exchange (up to three requests), in seconds.
    """
    host, path = manifest_target(image)
    deadline = time.monotonic() + timeout
    try:
        first = _send("HEAD", f"{scheme}://{host}{path}", headers=_manifest_headers(), deadline=deadline)
        if first.status != 401 or not _is_bearer(first.headers):
            return _judge(first.status)
        token = _anonymous_token(first.headers, repository=image.path, deadline=deadline)
        if not isinstance(token, str):
            return token
        headers = {**_manifest_headers(), "Authorization": f"Bearer {token}"}
        return _judge(_send("HEAD", f"{scheme}://{host}{path}", headers=headers, deadline=deadline).status)
    except (OSError, http.client.HTTPException, ValueError) as error:
        log.info("anonymous probe of %s: %s did not answer (%s)", image.name, host, type(error).__name__)
        return None


def _judge(status: int) -> bool | None:
    if status in _DENIED:
        return True
    if 200 <= status < 300 or status in _ALLOWED:
        return False
    return None


def _manifest_headers() -> dict[str, str]:
    return {"Accept": ", ".join(MANIFEST_TYPES), "User-Agent": _USER_AGENT}


def _is_bearer(headers: Message) -> bool:
    return (headers.get("WWW-Authenticate") or "").strip().lower().startswith("bearer ")


def _anonymous_token(challenge: Message, *, repository: str, deadline: float) -> str | bool | None:
    """The token the challenge's realm grants an anonymous client for pulling `repository`; True when the
    realm refuses anonymous access (401/403), None when it cannot be asked or answers something else."""
    params = _challenge_params(challenge.get("WWW-Authenticate") or "")
    realm = urlsplit(params.get("realm", ""))
    if realm.scheme not in ("http", "https") or not realm.netloc:
        return None
    query = {"scope": f"repository:{repository}:pull"}
    if params.get("service"):
        query = {"service": params["service"], **query}
    joined = "&".join(part for part in (realm.query, urlencode(query)) if part)
    url = f"{realm.scheme}://{realm.netloc}{realm.path or '/'}?{joined}"
    answer = _send("GET", url, headers={"Accept": "application/json", "User-Agent": _USER_AGENT},
                   deadline=deadline, read_body=True)
    if answer.status in _DENIED:
        return True
    if answer.status != 200:
        return None
    document = json.loads(answer.body)
    token = (document.get("token") or document.get("access_token")) if isinstance(document, dict) else None
    return token if isinstance(token, str) and token else None


def _challenge_params(header: str) -> dict[str, str]:
    _, _, rest = header.strip().partition(" ")
    return {name.lower(): quoted or bare for name, quoted, bare in _CHALLENGE_PARAM.findall(rest)}


def _send(method: str, url: str, *, headers: dict[str, str], deadline: float, read_body: bool = False) -> _Answer:
    """One request within what is left of the deadline; redirects are not followed (they are an answer)."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the probe's time is up")
    parts = urlsplit(url)
    if parts.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(parts.netloc, timeout=left)
    elif parts.scheme == "http":
        connection = http.client.HTTPConnection(parts.netloc, timeout=left)
    else:
        raise ValueError(f"unsupported scheme {parts.scheme!r}")
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, target, headers=headers)
        response = connection.getresponse()
        body = response.read(_TOKEN_BODY_LIMIT) if read_body else b""
        return _Answer(status=response.status, headers=response.headers, body=body)
    finally:
        connection.close()


class AnonymousProbe:
    """`anonymous_denied` with its answers kept per repository: in Redis for every worker when there is one
    (CACHE_PROBE, for CACHE_PROBE_TTL), in this process otherwise or while Redis is unreachable."""

    def __init__(self, *, redis: Redis | None = None, prefix: str = keys.DEFAULT_PREFIX, timeout: float = 3.0,
                 scheme: str = "https") -> None:
        self.redis, self.prefix, self.timeout, self.scheme = redis, prefix, timeout, scheme
        self._local: dict[str, tuple[float, bool | None]] = {}

    def denied(self, image: ImageRef) -> bool | None:
        """The probe's answer for the image's repository, asked at most once per TTL."""
        found, answer = self._cached(image.name)
        if found:
            return answer
        answer = anonymous_denied(image, timeout=self.timeout, scheme=self.scheme)
        self._keep(image.name, answer)
        return answer

    def _cached(self, name: str) -> tuple[bool, bool | None]:
        if self.redis is not None:
            try:
                value = self.redis.get(keys.CACHE_PROBE.format(prefix=self.prefix, name=name))
            except RedisError:
                value = None  # this process's own answers still count
            text = value.decode() if isinstance(value, bytes) else value
            if text in _ANSWERS:
                return True, _ANSWERS[text]
        expires, answer = self._local.get(name, (0.0, None))
        return (True, answer) if expires > time.monotonic() else (False, None)

    def _keep(self, name: str, answer: bool | None) -> None:
        # An unanswered probe is kept briefly, so a registry that is down costs one timeout a minute, not one a step.
        ttl = keys.CACHE_PROBE_TTL if answer is not None else keys.CACHE_PROBE_UNKNOWN_TTL
        self._local[name] = (time.monotonic() + ttl, answer)
        if self.redis is None:
            return
        try:
            self.redis.set(keys.CACHE_PROBE.format(prefix=self.prefix, name=name), _VALUES[answer], ex=ttl)
        except RedisError as error:
            log.info("anonymous probe: could not share the answer for %s (%s)", name, type(error).__name__)


_VALUES: dict[bool | None, str] = {True: "denied", False: "served", None: "unknown"}
_ANSWERS: dict[str, bool | None] = {value: answer for answer, value in _VALUES.items()}
