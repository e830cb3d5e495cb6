"""The pages' session: a cookie the server signs (HMAC-SHA256), saying which API token a person signed in with.

The cookie carries no token. It names the token and when that token was made, so that revoking the token (or making
a new one of the same name) ends every session made with it; whether it may change things; the session's CSRF secret;
and when the session began, so that it ends after `LIFETIME`. Its key is derived from the vault's sealing key: every
`serve` process of a deployment accepts the others' cookies, and a key rotation signs everybody out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta

from pipeline_queue.store.tokens import TokenRecord

COOKIE = "pq_session"
LIFETIME = timedelta(hours=12)
"""A session ends this long after sign-in, whatever happens in between."""

_LABEL = b"pipeline-queue pages session cookie v1"
_MAX_COOKIE = 4096


@dataclass(frozen=True)
class PageSession:
    """Who is looking and the secret (`csrf`) every form of theirs must send back. `token` is the name of the API
    token signed in with ("" before sign-in) and `token_created` its creation time in ISO form, which tells it apart
    from a later token of the same name; `issued` is when the session began, in Unix seconds."""

    csrf: str = field(repr=False)
    token: str = ""
    token_created: str = ""
    read_only: bool = True
    issued: float = 0.0

    @property
    def signed_in(self) -> bool:
        return bool(self.token)

    def same_token(self, record: TokenRecord) -> bool:
        """Whether `record` is the token this session was made with (not revoked, not made again)."""
        return record.name == self.token and record.created.isoformat() == self.token_created


def anonymous(*, now: datetime) -> PageSession:
    """A session before sign-in: only its CSRF secret, which the sign-in form sends back."""
    return PageSession(csrf=secrets.token_urlsafe(32), issued=now.timestamp())


def signed_in(record: TokenRecord, *, now: datetime) -> PageSession:
    """A fresh session for `record`, with a new CSRF secret (a secret known before sign-in is worth nothing after)."""
    return replace(anonymous(now=now), token=record.name, token_created=record.created.isoformat(),
                   read_only=record.read_only)


def session_key(sealing_key: bytes) -> bytes:
    """The cookie's signing key: a labelled HMAC of the vault's key, so the vault's key itself never signs cookies."""
    return hmac.new(sealing_key, _LABEL, hashlib.sha256).digest()


def seal(session: PageSession, key: bytes) -> str:
    """The cookie value: the session as base64url JSON, a dot, and its signature."""
    payload = _b64(json.dumps(asdict(session), separators=(",", ":")).encode())
    return f"{payload}.{_b64(_signature(payload, key))}"


def unseal(cookie: str | None, key: bytes, *, now: datetime) -> PageSession | None:
    """The session of a cookie this server signed and that has not expired; None for anything else."""
    if not cookie or len(cookie) > _MAX_COOKIE or cookie.count(".") != 1:
        return None
    payload, signature = cookie.split(".")
    try:
        if not hmac.compare_digest(_unb64(signature), _signature(payload, key)):
            return None
        session = PageSession(**json.loads(_unb64(payload)))
    except (binascii.Error, ValueError, TypeError):
        return None
    if not 0 <= now.timestamp() - session.issued <= LIFETIME.total_seconds():
        return None
    return session


def _signature(payload: str, key: bytes) -> bytes:
    return hmac.new(key, payload.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
