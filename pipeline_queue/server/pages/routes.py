"""The pages' routes, each behind `guard.PagesGuard` (session, sign-in, CSRF, security headers), and their errors
shown as pages; `/static` serves the stylesheet and the script."""

from __future__ import annotations

from http import HTTPStatus

from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from pipeline_queue.errors import PipelineQueueError
from pipeline_queue.server.pages import builds, cache, repos, signin, streams
from pipeline_queue.server.pages.guard import PagesGuard, SecurityHeaders
from pipeline_queue.server.pages.render import STATIC, error_page

GET, POST = ["GET"], ["POST"]


def routes() -> list[BaseRoute]:
    build = "/builds/{build_id:int}"
    pages = [  # (path, endpoint, methods), a page's routes on one line
        ("/", home, GET), ("/cache", cache.cache, GET), ("/sign-out", signin.sign_out, POST),
        ("/builds", builds.builds, GET), ("/builds/stream", streams.builds_stream, GET),
        (build, builds.build, GET), (f"{build}/stream", streams.build_stream, GET),
        (f"{build}/steps/{{step_id:int}}/log.txt", builds.raw_log, GET),
        (f"{build}/cancel", builds.cancel, POST), (f"{build}/approve", builds.approve, POST),
        (f"{build}/restart", builds.restart, POST),
        ("/repos", repos.repos, GET), ("/repos/{slug:path}", repos.repo, GET),
        ("/repos/{slug:path}", repos.change, POST),
    ]
    public = [("/sign-in", signin.sign_in_form, GET), ("/sign-in", signin.sign_in, POST)]
    return [
        *(_route(path, endpoint, methods, public=False) for path, endpoint, methods in pages),
        *(_route(path, endpoint, methods, public=True) for path, endpoint, methods in public),
        Mount("/static", app=StaticFiles(directory=STATIC), middleware=[Middleware(SecurityHeaders)]),
    ]


def home(request: Request) -> Response:
    return RedirectResponse("/builds", status_code=303)


def _route(path: str, endpoint: object, methods: list[str], *, public: bool) -> Route:
    errors = {HTTPException: _http_error, PipelineQueueError: _domain_error, SQLAlchemyError: _database_error}
    middleware = [Middleware(PagesGuard, public=public), Middleware(ExceptionMiddleware, handlers=errors)]
    return Route(path, endpoint, methods=methods, middleware=middleware)  # type: ignore[arg-type]


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    detail = error.detail if error.detail != HTTPStatus(error.status_code).phrase else "there is no such page"
    return error_page(request, error.status_code, detail)


async def _domain_error(request: Request, error: Exception) -> Response:
    """Our errors say what went wrong and never hold a secret; a refused action is a conflict with the state."""
    assert isinstance(error, PipelineQueueError)
    status = 404 if "does not exist" in error.message else 409 if request.method == "POST" else 400
    return error_page(request, status, error.message)


async def _database_error(request: Request, error: Exception) -> Response:
    return error_page(request, 503, f"the database failed ({type(error).__name__}): try again in a moment")
