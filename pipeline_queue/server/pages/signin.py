"""Signing in with an API token (`pipeline-queue token create NAME`) and out again.

The token is checked as `/api` checks it and then forgotten: the session cookie names the token, never holds it.
Signing in or out starts a new session with a new CSRF secret. After sign-in the browser goes where it was going,
but only to a path of this site (`next` is never a URL of another).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pipeline_queue.server.pages.render import form_of, page, page_session, replace_session, services_of
from pipeline_queue.server.pages.session import anonymous, signed_in
from pipeline_queue.store.columns import utcnow
from pipeline_queue.store.tokens import TokenRecord, authenticate

HOME = "/builds"


def sign_in_form(request: Request) -> Response:
    """The form; a person already signed in goes straight on."""
    target = local_path(request.query_params.get("next", ""))
    if page_session(request).signed_in:
        return RedirectResponse(target, status_code=303)
    return page(request, "sign_in.html", target=target, problem="")


async def sign_in(request: Request) -> Response:
    form = await form_of(request)
    target = local_path(form.get("next", ""))
    record = await run_in_threadpool(_authenticated, request, form.get("token", "").strip())
    if record is None:
        return page(request, "sign_in.html", status=401, target=target,
                    problem="That token is not known (it may have been revoked). Make one with "
                            "`pipeline-queue token create NAME` and paste what it prints.")
    replace_session(request, signed_in(record, now=utcnow()))
    return RedirectResponse(target, status_code=303)


def sign_out(request: Request) -> Response:
    replace_session(request, anonymous(now=utcnow()))
    return RedirectResponse("/sign-in", status_code=303)


def local_path(wanted: str) -> str:
    """`wanted` when it is a path of this site, else the builds list: never `//host`, `/\\host` or a URL."""
    if not wanted.startswith("/") or wanted.startswith(("//", "/\\")) or any(c in wanted for c in "\r\n\t\\"):
        return HOME
    return wanted


def _authenticated(request: Request, token: str) -> TokenRecord | None:
    if not token or len(token) > 200:
        return None
    with services_of(request).sessions.begin() as session:
        return authenticate(session, token)
