"""Bearer tokens of the HTTP API: made, listed, revoked and checked here; only their SHA-256 digests are stored.

A token is shown once, when it is made; what the database holds cannot be sent back as a token, so a copy of the
database grants nothing. Records handed out carry no digest.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from pipeline_queue.errors import UsageError
from pipeline_queue.store.columns import utcnow
from pipeline_queue.store.models import ApiToken
from pipeline_queue.store.statements import insert_or_ignore, update_rows

PREFIX = "pq_"
"""Every token starts so: a secret scanner (or a person) can tell one in a log or a commit."""

LAST_USED_EVERY = timedelta(minutes=1)
"""`last_used` is written at most this often per token, so that reading the API is not a write per request."""

_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}", re.ASCII)


@dataclass(frozen=True)
class TokenRecord:
    """What may be shown of a token: there is no field that could hold the token or its digest."""

    name: str
    read_only: bool
    """May read the API, not cancel, approve or restart builds."""
    created: datetime
    last_used: datetime | None


def validate_token_name(name: str) -> str:
    """`name` when it is 1 to 100 letters, digits, `.`, `_` or `-`; else a UsageError."""
    if not _NAME.fullmatch(name):
        raise UsageError(f"token name {name!r}: use 1 to 100 letters, digits, '.', '_' or '-'")
    return name


def create_token(session: Session, name: str, *, read_only: bool = False) -> str:
    """A new token named `name`, to be shown this once; UsageError if a token has that name already."""
    token = PREFIX + secrets.token_urlsafe(32)
    values = {"name": validate_token_name(name), "digest": _digest(token), "read_only": read_only,
              "created": utcnow()}
    if not insert_or_ignore(session, ApiToken, conflict=["name"], values=values):
        raise UsageError(f"a token named {name!r} exists already (revoke it first, or choose another name)")
    return token


def list_tokens(session: Session) -> list[TokenRecord]:
    """Every token, by name."""
    rows = session.execute(sa.select(ApiToken).order_by(ApiToken.name).execution_options(populate_existing=True))
    return [_record(row) for row in rows.scalars()]


def revoke_token(session: Session, name: str) -> bool:
    """Delete the token named `name`; False when there is none. Requests carrying it fail from then on."""
    result = session.execute(sa.delete(ApiToken).where(ApiToken.name == name))
    return cast(CursorResult[Any], result).rowcount == 1


def authenticate(session: Session, token: str) -> TokenRecord | None:
    """The token's record when `token` is one, else None; its `last_used` moves on at most once a minute."""
    digest = _digest(token)
    query = sa.select(ApiToken).where(ApiToken.digest == digest).execution_options(populate_existing=True)
    row = session.execute(query).scalar_one_or_none()
    if row is None or not hmac.compare_digest(row.digest, digest):
        return None
    now = utcnow()
    # One conditional UPDATE: of two requests in the same minute, at most one writes.
    update_rows(session, sa.update(ApiToken)
                .where(ApiToken.id == row.id,
                       sa.or_(ApiToken.last_used.is_(None), ApiToken.last_used <= now - LAST_USED_EVERY))
                .values(last_used=now))
    session.refresh(row)
    return _record(row)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _record(row: ApiToken) -> TokenRecord:
    return TokenRecord(name=row.name, read_only=row.read_only, created=row.created, last_used=row.last_used)
