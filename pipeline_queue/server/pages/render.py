"""Templates to HTML: one Jinja2 environment, autoescaping everything, and the helpers every page view uses.

Autoescape is on for every template and undefined names fail loudly; the only HTML a view hands in is the log
renderer's (`ansi`, escaped there) and is marked as such with `Markup`. Errors become pages of their own
(`error_page`), saying what to do next.
"""

from __future__ import annotations

from datetime import UTC
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from pipeline_queue.images import try_parse_image
from pipeline_queue.server.pages import clock
from pipeline_queue.server.pages.session import PageSession
from pipeline_queue.server.services import Services

HERE = Path(__file__).resolve().parent
TEMPLATES, STATIC = HERE / "templates", HERE / "static"

MAX_FORM_BYTES = 256 * 1024
"""The largest form a page takes: a secret value (64 KiB) percent-encoded, with room to spare."""


def _familiar(image: str) -> str:
    ref = try_parse_image(image)
    return ref.familiar if ref is not None else image


def _environment() -> Environment:
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(("html",)),
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    environment.filters.update(iso=lambda when: when.isoformat() if when else "",
                               utc=lambda when: when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if when else "",
                               took=lambda started, finished: clock.span(finished - started), familiar=_familiar)
    return environment


_ENVIRONMENT = _environment()


def html(template: str, **context: Any) -> str:
    """The template rendered with `context` (a fragment, or a whole page with `page`'s context)."""
    return _ENVIRONMENT.get_template(template).render(**context)


def page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A whole page: the template with the session (for the header and every form's CSRF field)."""
    return HTMLResponse(html(template, session=page_session(request), path=request.url.path, **context),
                        status_code=status)


def error_page(request: Request, status: int, message: str, *, hint: str = "") -> HTMLResponse:
    """An error as a page: what went wrong and, when known, what to do about it."""
    session = request.scope.get("state", {}).get("page_session")
    title = HTTPStatus(status).phrase
    return HTMLResponse(html("error.html", session=session, path=request.url.path, status=status, title=title,
                             message=message, hint=hint), status_code=status)


def page_session(request: Request) -> PageSession:
    """The session `guard.PagesGuard` read (or made) for this request."""
    session: PageSession = request.scope["state"]["page_session"]
    return session


def replace_session(request: Request, session: PageSession) -> None:
    """Send `session` as the new cookie with this response (sign-in, sign-out)."""
    request.scope["state"]["new_page_session"] = session


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def form_of(request: Request) -> dict[str, str]:
    """The fields of a posted form (`application/x-www-form-urlencoded`; the guard checked its size and CSRF)."""
    fields = parse_qs((await request.body()).decode("utf-8", errors="replace"), keep_blank_values=True,
                      max_num_fields=50)
    return {name: values[0] for name, values in fields.items()}


def safe_lines(lines: list[str]) -> list[Markup]:
    """Log lines the ANSI renderer made (escaped there): shown as the HTML they are."""
    return [Markup(line) for line in lines]  # noqa: S704 - `ansi.render` escapes every character of the log

