"""Whether a delivery comes from the host that knows the repository's webhook secret, in constant time.

GitHub signs the raw body with HMAC-SHA256 (`X-Hub-Signature-256: sha256=<hex>`), Gitea and Forgejo send the bare
hex digest (`X-Gitea-Signature`, `X-Forgejo-Signature`), GitLab sends the secret itself (`X-Gitlab-Token`).
Anything missing or malformed is False, never an exception: the caller answers 401 either way.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

from pipeline_queue.hooks.headers import normalise
from pipeline_queue.hooks.model import Provider

_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")
_GITHUB_PREFIX = "sha256="
_GITEA_HEADERS = ("x-gitea-signature", "x-forgejo-signature")


def _digest_matches(given: str, body: bytes, secret: str) -> bool:
    # bytes.fromhex would accept spaces between the pairs: the shape is checked first.
    if not _HEX_DIGEST.fullmatch(given):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, bytes.fromhex(given))


def _github(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    # The SHA-1 X-Hub-Signature GitHub still sends beside it is not accepted.
    signature = headers.get("x-hub-signature-256", "")
    return signature.startswith(_GITHUB_PREFIX) and _digest_matches(signature[len(_GITHUB_PREFIX):], body, secret)


def _gitea(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    # Forgejo sends both headers with the same digest: every one present must match.
    signatures = [headers[name] for name in _GITEA_HEADERS if name in headers]
    return bool(signatures) and all(_digest_matches(signature, body, secret) for signature in signatures)


def _gitlab(headers: Mapping[str, str], secret: str) -> bool:
    token = headers.get("x-gitlab-token")
    return token is not None and hmac.compare_digest(token.encode(), secret.encode())


def verify(provider: str, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    """Whether `body` (the raw bytes received) is signed with `secret` the way `provider` signs; False for no secret."""
    if not secret:
        return False
    normal = normalise(headers)
    if provider == Provider.GITHUB:
        return _github(normal, body, secret)
    if provider == Provider.GITEA:
        return _gitea(normal, body, secret)
    if provider == Provider.GITLAB:
        return _gitlab(normal, secret)
    return False
