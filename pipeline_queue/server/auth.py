"""Bearer tokens for `/api`: an ASGI layer in front of the API's routes, so that no route can forget to check.

Without a known token a request gets 401 (`WWW-Authenticate: Bearer`), whatever its path; a read-only token may only
read (GET, HEAD), anything else gets 403. No answer ever repeats the token it was sent.
"""

from __future__ import annotations

import logging
import re

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline_queue.server.services import Services
from pipeline_queue.store.tokens import TokenRecord, authenticate

log = logging.getLogger(__name__)

READING = frozenset({"GET", "HEAD"})
"""The methods a read-only token may use."""

REALM = 'Bearer realm="pipeline-queue"'

_MISSING = ("this API needs the header `Authorization: Bearer <token>` "
            "(`pipeline-queue token create NAME` makes a token)")

# RFC 6750's b64token, after the scheme (which is case-insensitive, RFC 7235).
_BEARER = re.compile(r"bearer +([A-Za-z0-9._~+/-]+=*)", re.ASCII | re.IGNORECASE)


class BearerAuth:
    """Lets a request through to `app` only with a known token, recorded for the routes in `request.state.token`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = bearer_token(Headers(scope=scope).get("authorization"))
        if token is None:
            await _refused(401, _MISSING, challenge=REALM)(scope, receive, send)
            return
        services: Services = scope["app"].state.services
        try:
            record = await run_in_threadpool(_known, services.sessions, token)
        except SQLAlchemyError as error:
            log.warning("cannot check an API token: %s", type(error).__name__)
            await _refused(503, "the database does not answer: try again")(scope, receive, send)
            return
        refusal = _check(record, method=scope["method"])
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        scope.setdefault("state", {})["token"] = record
        await self.app(scope, receive, send)


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None when there is none or it is malformed."""
    match = _BEARER.fullmatch((header or "").strip())
    return match.group(1) if match else None


def token_of(request: Request) -> TokenRecord:
    """The token the request was let in with (set by `BearerAuth`)."""
    record: TokenRecord = request.state.token
    return record


def _known(sessions: sessionmaker[Session], token: str) -> TokenRecord | None:
    with sessions.begin() as session:
        return authenticate(session, token)


def _check(record: TokenRecord | None, *, method: str) -> JSONResponse | None:
    """The refusal for this token and method, or None to let the request through."""
    if record is None:
        return _refused(401, "the token is not known (it may have been revoked)",
                        challenge=f'{REALM}, error="invalid_token"')
    if record.read_only and method not in READING:
        return _refused(403, f"token {record.name!r} is read-only: it may not cancel, approve or restart builds")
    return None


def _refused(status: int, message: str, *, challenge: str = "") -> JSONResponse:
    headers = {"WWW-Authenticate": challenge} if challenge else None
    return JSONResponse({"error": message}, status_code=status, headers=headers)
