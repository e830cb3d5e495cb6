"""`/api`: builds, their logs, repositories and the cache report as JSON, behind bearer tokens (`server.auth`).

Every document is the one the command line's `--json` prints (`store.documents`), so a script can move between the
two. Routes are sync functions (Starlette runs them in its threadpool: the store blocks); only a followed log is
async, polling the store while the step runs. Every answer is JSON, errors too: `{"error": "..."}`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import NoReturn

import anyio
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route

from pipeline_queue.cache.rules import digest_of
from pipeline_queue.errors import PipelineQueueError, SpecError, StoreError, UsageError
from pipeline_queue.producer.cancel import approve_build, cancel_build
from pipeline_queue.producer.restart import restart_build
from pipeline_queue.server.auth import BearerAuth, token_of
from pipeline_queue.server.services import Services
from pipeline_queue.store import get_build, get_log, get_repository, get_stage, list_builds, list_repositories
from pipeline_queue.store.documents import (
    build_row,
    detail_document,
    finding_places,
    log_document,
    report_document,
    repository_row,
)
from pipeline_queue.store.findings import list_findings
from pipeline_queue.store.records import BuildDetail
from pipeline_queue.vocabulary import Status

log = logging.getLogger(__name__)

PAGE_DEFAULT, PAGE_MAX = 25, 100
"""Builds per page of `GET /api/builds` unless `limit` says otherwise (1 to 100)."""

FOLLOW_POLL_SECONDS = 0.5
"""How often a followed log reads the store again (the workers write a running step's log on every pass)."""

FOLLOW_GRACE_SECONDS = 60
"""A followed log ends at the latest this long after its longest stage timeout, finished or not."""


def routes() -> list[BaseRoute]:
    api = [
        Route("/builds", builds, methods=["GET"]),
        Route("/builds/{build_id:int}", build, methods=["GET"]),
        Route("/builds/{build_id:int}/logs", build_logs, methods=["GET"]),
        Route("/builds/{build_id:int}/logs/{stage}/{step}", step_log, methods=["GET"]),
        Route("/builds/{build_id:int}/cancel", cancel, methods=["POST"]),
        Route("/builds/{build_id:int}/approve", approve, methods=["POST"]),
        Route("/builds/{build_id:int}/restart", restart, methods=["POST"]),
        Route("/repos", repos, methods=["GET"]),
        Route("/repos/{owner}/{name}", repo, methods=["GET"]),
        Route("/cache", cache, methods=["GET"]),
    ]
    # Outermost first: the token is checked before anything (an unknown path without a token is a 401, not a 404).
    errors = {HTTPException: _http_error, PipelineQueueError: _domain_error, SQLAlchemyError: _database_error}
    middleware = [Middleware(BearerAuth), Middleware(ExceptionMiddleware, handlers=errors)]
    return [Mount("/api", routes=api, middleware=middleware)]


# -- builds ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageQuery:
    """`GET /api/builds`'s parameters, checked."""

    limit: int = PAGE_DEFAULT
    repo: str | None = None
    status: Status | None = None
    before: int | None = None
    """The `cursor`: the last build id of the page before."""

    @classmethod
    def parse(cls, params: QueryParams) -> PageQuery:
        status = params.get("status") or None
        if status is not None and status not in {member.value for member in Status}:
            _bad("status", f"unknown status {status!r} (one of {', '.join(member.value for member in Status)})")
        return cls(limit=_limit(params), repo=params.get("repo") or None,
                   status=Status(status) if status else None, before=_cursor(params))


def builds(request: Request) -> JSONResponse:
    """A page of builds, newest first; `next` is the cursor of the page after, null on the last page."""
    query = PageQuery.parse(request.query_params)
    with _services(request).sessions.begin() as session:
        page = list_builds(session, limit=query.limit + 1, repo=query.repo, status=query.status,
                           before=query.before)
    more = len(page) > query.limit
    page = page[: query.limit]
    return JSONResponse({"builds": [build_row(record) for record in page],
                         "next": str(page[-1].id) if more else None})


def build(request: Request) -> JSONResponse:
    """The build as `build show N --json` prints it."""
    services = _services(request)
    return JSONResponse(detail_document(_detail(services.sessions, request.path_params["build_id"])))


def cancel(request: Request) -> JSONResponse:
    """Cancel the build (a finished one is left alone); answers its document."""
    services, build_id = _services(request), request.path_params["build_id"]
    cancel_build(build_id, sessions=services.sessions, send=services.send)
    return JSONResponse(detail_document(_detail(services.sessions, build_id)))


def approve(request: Request) -> JSONResponse:
    """Let a blocked build run (any other is left alone); answers its document."""
    services, build_id = _services(request), request.path_params["build_id"]
    approve_build(build_id, sessions=services.sessions, send=services.send)
    return JSONResponse(detail_document(_detail(services.sessions, build_id)))


def restart(request: Request) -> JSONResponse:
    """Run the build again as a new one, started by the token's name: 201 with the new build and its document."""
    services, build_id = _services(request), request.path_params["build_id"]
    submitted = restart_build(build_id, settings=services.settings, sessions=services.sessions, send=services.send,
                              trigger=token_of(request).name)
    document = detail_document(_detail(services.sessions, submitted.build_id))
    return JSONResponse({"build": submitted.build_id, "number": submitted.number, **document}, status_code=201,
                        headers={"Location": f"/api/builds/{submitted.build_id}"})


# -- logs ------------------------------------------------------------------------------------------------------------


def build_logs(request: Request) -> Response:
    """Every step's output, in stage and step order; with `follow=true`, text that grows until the build ends."""
    services = _services(request)
    detail = _detail(services.sessions, request.path_params["build_id"])
    places = [(stage.id, step.id, f"{stage.name}/{step.name}") for stage in detail.stages for step in stage.steps]
    if _follow(request.query_params):
        return _stream(services.sessions, places, deadline=_deadline(detail), labelled=True)
    with services.sessions.begin() as session:
        logs = [log_document(stage, step, get_log(session, step.id)) for stage in detail.stages
                for step in stage.steps]
    return JSONResponse({"build": detail.build.id, "logs": logs})


def step_log(request: Request) -> Response:
    """One step's output as text, streamed while the step runs (a finished step's at once); `follow=false`: the log
    as it is now, as a JSON document."""
    services, params = _services(request), request.path_params
    detail = _detail(services.sessions, params["build_id"])
    found = [(stage, step) for stage in detail.stages if stage.name == params["stage"]
             for step in stage.steps if step.name == params["step"]]
    if not found:
        raise HTTPException(404, f"build {detail.build.id} has no step {params['stage']}/{params['step']}")
    stage, step = found[0]
    if _follow(request.query_params, default="true"):
        return _stream(services.sessions, [(stage.id, step.id, "")], deadline=_deadline(detail), labelled=False)
    with services.sessions.begin() as session:
        return JSONResponse(log_document(stage, step, get_log(session, step.id)))


def _stream(sessions: sessionmaker[Session], places: list[tuple[int, int, str]], *, deadline: float,
            labelled: bool) -> StreamingResponse:
    async def chunks() -> AsyncIterator[str]:
        line_ended = True
        for stage_id, step_id, label in places:
            if labelled:
                yield ("" if line_ended else "\n") + f"==> {label} <==\n"
            async for chunk in _followed(sessions, stage_id, step_id, deadline=deadline):
                line_ended = chunk.endswith("\n")
                yield chunk

    return StreamingResponse(chunks(), media_type="text/plain; charset=utf-8")


async def _followed(sessions: sessionmaker[Session], stage_id: int, step_id: int, *,
                    deadline: float) -> AsyncIterator[str]:
    """What the step's log gains, read every FOLLOW_POLL_SECONDS, until the step (or its stage) has finished."""
    sent = 0  # the workers rewrite a log whole on every pass, but a pod's log only grows: send what is new
    while True:
        text, finished = await run_in_threadpool(_log_now, sessions, stage_id, step_id)
        if len(text) > sent:
            yield text[sent:]
            sent = len(text)
        if finished or time.monotonic() > deadline:
            return
        await anyio.sleep(FOLLOW_POLL_SECONDS)


def _log_now(sessions: sessionmaker[Session], stage_id: int, step_id: int) -> tuple[str, bool]:
    """The step's log so far, and whether it is final (its step or stage finished, or gone)."""
    with sessions.begin() as session:
        stage = get_stage(session, stage_id)
        record = get_log(session, step_id)
    steps = {step.id: step for step in stage.steps} if stage else {}
    finished = stage is None or stage.status.terminal or step_id not in steps or steps[step_id].status.terminal
    return (record.text if record else ""), finished


def _deadline(detail: BuildDetail) -> float:
    longest = max((stage.timeout_seconds for stage in detail.stages), default=0)
    return time.monotonic() + longest + FOLLOW_GRACE_SECONDS


def _follow(params: QueryParams, *, default: str = "false") -> bool:
    value = params.get("follow", default).lower()
    if value not in ("true", "false", "1", "0"):
        _bad("follow", f"expected true or false, got {value!r}")
    return value in ("true", "1")


# -- repositories and the cache --------------------------------------------------------------------------------------


def repos(request: Request) -> JSONResponse:
    """Registered repositories as `repo list --json` shows them (`all=true`: also those only builds created)."""
    everything = request.query_params.get("all", "false").lower() in ("true", "1")
    with _services(request).sessions.begin() as session:
        records = list_repositories(session, include_unregistered=everything)
    return JSONResponse([repository_row(record) for record in records])


def repo(request: Request) -> JSONResponse:
    """One repository as `repo list --json` shows it (never its webhook secret)."""
    slug = f"{request.path_params['owner']}/{request.path_params['name']}"
    with _services(request).sessions.begin() as session:
        record = get_repository(session, slug)
    if record is None:
        raise HTTPException(404, f"repository {slug} does not exist")
    return JSONResponse(repository_row(record))


def cache(request: Request) -> JSONResponse:
    """What `pipeline-queue cache report --json` shows: the node cache index and the cache guard's findings."""
    services = _services(request)
    with services.sessions.begin() as session:
        findings = list(list_findings(session))
        places = finding_places(session, findings, digest_of=digest_of)
    return JSONResponse(report_document(_indexed_nodes(services.broker_url), findings, places=places))


def _indexed_nodes(redis_url: str) -> dict[str, list[str]]:
    """Every node of the index with the names of the images it holds; empty without a Redis to ask."""
    if not redis_url:
        return {}
    from pipeline_queue.broker import RedisError, redis_client
    from pipeline_queue.cache.index import all_nodes, images_on

    client = redis_client(redis_url)
    try:
        return {node: [image.name for image in images_on(client, node)] for node in all_nodes(client)}
    except RedisError as error:
        raise HTTPException(503, f"cannot read the node cache index from Redis: {type(error).__name__}") from None
    finally:
        client.close()


# -- helpers ---------------------------------------------------------------------------------------------------------


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _detail(sessions: sessionmaker[Session], build_id: int) -> BuildDetail:
    with sessions.begin() as session:
        detail = get_build(session, build_id)
    if detail is None:
        raise HTTPException(404, f"build {build_id} does not exist")
    return detail


def _limit(params: QueryParams) -> int:
    value = _whole(params.get("limit", ""))
    if value is None:
        return PAGE_DEFAULT
    if not 1 <= value <= PAGE_MAX:
        _bad("limit", f"expected a whole number from 1 to {PAGE_MAX}, got {params['limit']!r}")
    return value


def _cursor(params: QueryParams) -> int | None:
    value = _whole(params.get("cursor", ""))
    if value is not None and value < 1:
        _bad("cursor", f"expected the `next` of the page before (a build id), got {params['cursor']!r}")
    return value


def _whole(text: str) -> int | None:
    """None for no value; 0 for one that is not a whole number (every caller refuses 0)."""
    if not text:
        return None
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else 0


def _bad(parameter: str, message: str) -> NoReturn:
    raise HTTPException(400, f"{parameter}: {message}")


async def _http_error(request: Request, error: Exception) -> Response:
    """Ours carry their message; Starlette's own (no route, wrong method) only the status's phrase: say more."""
    assert isinstance(error, HTTPException)
    detail = error.detail
    if error.status_code == 404 and detail == HTTPStatus.NOT_FOUND.phrase:
        detail = "no such API route"
    elif error.status_code == 405 and detail == HTTPStatus.METHOD_NOT_ALLOWED.phrase:
        allowed = sorted(method.strip() for method in (error.headers or {}).get("Allow", "").split(","))
        detail = f"method {request.method} is not allowed here (allowed: {', '.join(allowed)})"
    return JSONResponse({"error": detail}, status_code=error.status_code, headers=error.headers)


async def _domain_error(request: Request, error: Exception) -> Response:
    """Our errors say what went wrong and never hold a secret: shown as they are, with the status that fits."""
    assert isinstance(error, PipelineQueueError)
    return JSONResponse({"error": error.message}, status_code=_status_of(error, method=request.method))


async def _database_error(request: Request, error: Exception) -> Response:
    log.warning("API request failed on the database: %s", type(error).__name__)
    return JSONResponse({"error": f"the database failed ({type(error).__name__}): try again"}, status_code=503)


def _status_of(error: PipelineQueueError, *, method: str) -> int:
    if isinstance(error, StoreError):
        return 404 if "does not exist" in error.message else 503
    if isinstance(error, UsageError):
        return 400 if method in ("GET", "HEAD") else 409  # a POST was well formed: the build's state refuses it
    if isinstance(error, SpecError):
        return 409  # a restart of a file that no longer passes (the repository's trust changed)
    log.error("API request failed: %s: %s", type(error).__name__, error.message)
    return 500
