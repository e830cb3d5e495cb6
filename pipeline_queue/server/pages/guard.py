"""What stands in front of every page: the security headers, the signed session, sign-in and CSRF.

An ASGI layer on each page route (as `server.auth` is on the API's), so that no view can forget a check:
- every answer carries a strict Content-Security-Policy (scripts and styles from `/static` only, nothing inline,
  no framing) and its companions;
- a request without a session signed in with a still-valid API token is sent to `/sign-in` (a GET) or refused;
- a request that changes anything (any method but GET and HEAD) must be a form whose `csrf` field is the
  session's secret, from a page of this origin; its body is read here (at most `MAX_FORM_BYTES`) and handed on.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from urllib.parse import parse_qs, quote

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline_queue.errors import PipelineQueueError
from pipeline_queue.server.pages.render import MAX_FORM_BYTES, error_page
from pipeline_queue.server.pages.session import COOKIE, LIFETIME, PageSession, anonymous, seal, session_key, unseal
from pipeline_queue.server.services import Services
from pipeline_queue.store.columns import utcnow
from pipeline_queue.store.tokens import list_tokens
from pipeline_queue.vault import load_key_ring

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD"})

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "connect-src 'self'",
    "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'",
))
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}


class SecurityHeaders:
    """Adds `SECURITY_HEADERS` to every answer of `app` (the static files get them too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Revalidated on every page load (by ETag): a new release's script is never mixed with an old page.
        await self.app(scope, receive, _headed(send, lambda headers: None, cache="no-cache"))


class PagesGuard:
    """Lets a request through to `app` with its session in `scope["state"]["page_session"]`; `public` routes (the
    sign-in form) need no sign-in, but their forms still need the CSRF secret."""

    def __init__(self, app: ASGIApp, *, public: bool = False) -> None:
        self.app = app
        self.public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        state = scope.setdefault("state", {})
        try:
            session, fresh = await _session(request)
        except (PipelineQueueError, SQLAlchemyError) as error:
            state["page_session"] = anonymous(now=utcnow())
            await _headed_response(error_page(request, 503, _unavailable(error)), scope, receive, send)
            return
        state["page_session"] = session
        refusal = await self._refusal(request, session)
        if isinstance(refusal, Response):
            await _headed_response(refusal, scope, receive, send, cookie=session if fresh else None)
            return
        if refusal is not None:
            receive = refusal

        def cookie(headers: MutableHeaders) -> None:
            new = state.get("new_page_session") or (session if fresh else None)
            if new is not None:
                headers.append("set-cookie", _cookie(new, request))

        await self.app(scope, receive, _headed(send, cookie))

    async def _refusal(self, request: Request, session: PageSession) -> Response | Receive | None:
        """A response refusing the request; or, for a form that passed, the `receive` that hands its body on."""
        if not session.signed_in and not self.public:
            if request.method in SAFE_METHODS:
                wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/sign-in?next={quote(wanted, safe='/')}", status_code=303)
            return error_page(request, 401, "you are not signed in (or your session ended)",
                              hint="sign in again with an API token, then repeat what you did")
        if request.method in SAFE_METHODS:
            return None
        return await _checked_form(request, session)


async def _checked_form(request: Request, session: PageSession) -> Response | Receive:
    if not _same_origin(request):
        return error_page(request, 403, "this form was sent from another site", hint="use the form on this site")
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return error_page(request, 415, "pages take only forms sent by their own buttons")
    body = await _body(request)
    if body is None:
        return error_page(request, 413, f"the form is larger than {MAX_FORM_BYTES // 1024} KiB")
    try:
        sent = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=50).get("csrf", [""])[0]
    except ValueError:  # more fields than any page's form has
        return error_page(request, 400, "the form has more fields than any form of these pages")
    if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        return error_page(request, 403, "the form is out of date (its CSRF token does not match your session)",
                          hint="reload the page and send the form again")
    return _replay(body)


async def _session(request: Request) -> tuple[PageSession, bool]:
    """The request's session, and whether it is new (no valid cookie came, or its token is no longer valid)."""
    now = utcnow()
    services: Services = request.app.state.services
    session = unseal(request.cookies.get(COOKIE), await _key(request), now=now)
    if session is not None and session.signed_in:
        valid = await run_in_threadpool(_token_valid, services.sessions, session)
        session = session if valid else None
    return (session, False) if session is not None else (anonymous(now=now), True)


async def _key(request: Request) -> bytes:
    """The cookie key of this app, derived once from the vault's key (made as `secret add` makes it)."""
    state = request.app.state
    key: bytes | None = getattr(state, "pages_cookie_key", None)
    if key is None:
        settings = request.app.state.services.settings
        source = await run_in_threadpool(lambda: load_key_ring(settings.vault, data_dir=settings.paths.data_dir,
                                                               create=True))
        key = session_key(source.ring.primary)
        state.pages_cookie_key = key
    return key


def _token_valid(sessions: sessionmaker[Session], session: PageSession) -> bool:
    with sessions.begin() as db:
        return any(session.same_token(record) for record in list_tokens(db))


def _same_origin(request: Request) -> bool:
    """Whether the browser says the form came from this site (a browser that says nothing is let through: the CSRF
    secret still has to match)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


async def _body(request: Request) -> bytes | None:
    """The body, or None once it grows past `MAX_FORM_BYTES` (the rest is not read)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    return bytes(body)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _cookie(session: PageSession, request: Request) -> str:
    secure = "; Secure" if request.url.scheme == "https" else ""
    max_age = int(LIFETIME.total_seconds())
    value = seal(session, request.app.state.pages_cookie_key)
    return f"{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"


def _headed(send: Send, more: Callable[[MutableHeaders], None], *, cache: str = "no-store") -> Send:
    """`send` with the security headers (and whatever `more` adds) on the response's start; pages are never
    cached (they hold a CSRF secret, sometimes a webhook secret, and go stale)."""
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in SECURITY_HEADERS.items():
                headers.setdefault(name, value)
            headers.setdefault("cache-control", cache)
            more(headers)
        await send(message)

    return sending


async def _headed_response(response: Response, scope: Scope, receive: Receive, send: Send, *,
                           cookie: PageSession | None = None) -> None:
    request = Request(scope)

    def add_cookie(headers: MutableHeaders) -> None:
        if cookie is not None:
            headers.append("set-cookie", _cookie(cookie, request))

    await response(scope, receive, _headed(send, add_cookie))


def _unavailable(error: Exception) -> str:
    if isinstance(error, PipelineQueueError):
        return error.message
    log.warning("pages cannot read the database: %s", type(error).__name__)
    return f"the database does not answer ({type(error).__name__}): try again in a moment"

