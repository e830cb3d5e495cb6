"""The client of a Drone registry extension (`PQ_REGISTRY_PLUGIN_ENDPOINT`): one signed POST per stage, with a
timeout, a few retries on what may pass (no connection, a 5xx, a 429), and a clear error once they are spent.

Standard-library HTTP only. Redirects are not followed (Drone's client does not either: a signed request goes
where it was addressed or nowhere). No answer is kept: each stage asks again.
"""

from __future__ import annotations

import http.client
import logging
import time
from collections.abc import Callable
from email.utils import formatdate
from urllib.parse import urlsplit

from pipeline_queue.errors import CredentialPluginError
from pipeline_queue.registry.dockerconfig import DockerConfig
from pipeline_queue.registry.extension import SOURCE, ExtensionRequest, parse_registries, signed_headers

log = logging.getLogger(__name__)

ANSWER_LIMIT = 1024 * 1024
"""Bytes read of an answer at most: a list of registry credentials is a few KiB."""
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


class RegistryExtension:
    """A Drone registry extension at `endpoint`, signed with `secret`."""

    def __init__(self, endpoint: str, secret: str, *, timeout: float = 5.0, attempts: int = 3, backoff: float = 0.2,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        """`timeout` is per attempt (connecting and reading); between attempts it waits `backoff`, then twice that."""
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CredentialPluginError(f"{SOURCE}: {endpoint!r} is not an http(s) URL")
        self.endpoint, self._secret = endpoint, secret
        self._parts, self.timeout, self.attempts, self.backoff, self._sleep = parts, timeout, attempts, backoff, sleep

    def __repr__(self) -> str:
        return f"RegistryExtension({self.endpoint!r})"

    def registries(self, request: ExtensionRequest) -> DockerConfig:
        """The extension's credentials for the stage `request` describes; CredentialPluginError when it cannot
        be had (it names the endpoint and why, never a credential)."""
        body = request.body()
        problem = ""
        for attempt in range(self.attempts):
            if attempt:
                self._sleep(self.backoff * 2 ** (attempt - 1))
            try:
                status, reason, data = self._post(body)
            except (OSError, http.client.HTTPException) as error:
                problem = f"is unreachable ({_describe(error)})"
                continue
            if status in _RETRIED_STATUSES:
                problem = f"answered {status} {reason}"
                continue
            if status == 204:
                return DockerConfig(source=SOURCE, auths=())
            if status > 299:
                # The body is not shown: whatever the plugin put there is not ours to repeat.
                raise CredentialPluginError(f"{SOURCE} ({self.endpoint}) refused the request: {status} {reason}")
            return parse_registries(data, endpoint=self.endpoint)
        log.warning("%s (%s) %s after %d attempts", SOURCE, self.endpoint, problem, self.attempts)
        raise CredentialPluginError(f"{SOURCE} ({self.endpoint}) {problem}, {self.attempts} attempts")

    def _post(self, body: bytes) -> tuple[int, str, bytes]:
        parts = self._parts
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = kind(parts.hostname or "", parts.port, timeout=self.timeout)
        headers = signed_headers(body, secret=self._secret, date=formatdate(usegmt=True))
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.reason, response.read(ANSWER_LIMIT + 1)[:ANSWER_LIMIT]
        finally:
            connection.close()


def _describe(error: BaseException) -> str:
    """A network error as people read it, without its repr's noise."""
    if isinstance(error, TimeoutError):
        return "timed out"
    return getattr(error, "strerror", None) or type(error).__name__
