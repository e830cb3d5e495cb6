"""The builds list, a build's page (stages, steps, findings, logs) and its buttons: cancel, approve, restart.

Views read the store in Starlette's threadpool (they are sync functions) and hand records to the templates as they
are; what a record does not say (why a pull policy, which credentials a step's plan had) comes from the stage's
stored plan. The buttons call the producer's own actions, as `/api` does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from pipeline_queue.compiler.plan import StagePlan, StepPlan
from pipeline_queue.errors import CompileError
from pipeline_queue.producer.cancel import approve_build, cancel_build
from pipeline_queue.producer.restart import restart_build
from pipeline_queue.server.api import PageQuery
from pipeline_queue.server.pages import ansi
from pipeline_queue.server.pages.logs import LogCursor, StreamState, digest, log_view
from pipeline_queue.server.pages.render import error_page, html, page, page_session, services_of
from pipeline_queue.server.pages.session import PageSession
from pipeline_queue.server.services import Services
from pipeline_queue.store import get_build, get_log, list_builds, list_repositories
from pipeline_queue.store.records import BuildDetail, BuildRecord, StageRecord
from pipeline_queue.vocabulary import Status

PAGE_SIZE = 25
"""Builds per page of the list."""


# -- the list --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildsPage:
    """One page of the list: its builds, the cursor of the page after, and the filters it was asked with."""

    builds: list[BuildRecord]
    query: PageQuery
    next: int | None


def read_builds(request: Request) -> BuildsPage:
    """The page the query asks for (`repo`, `status`, `cursor`: the API's parameters, checked the same way)."""
    query = PageQuery.parse(request.query_params)
    with services_of(request).sessions.begin() as session:
        rows = list_builds(session, limit=PAGE_SIZE + 1, repo=query.repo, status=query.status, before=query.before)
    more = len(rows) > PAGE_SIZE
    return BuildsPage(builds=rows[:PAGE_SIZE], query=query, next=rows[PAGE_SIZE - 1].id if more else None)


def rows_html(request: Request, listed: BuildsPage) -> str:
    """The rows of the list, as the page and its live stream both render them."""
    return html("_build_rows.html", builds=listed.builds, session=page_session(request))


def builds(request: Request) -> Response:
    """Builds, newest first, filtered by repository and status; the first page follows their status live."""
    listed = read_builds(request)
    with services_of(request).sessions.begin() as session:
        repos = [record.slug for record in list_repositories(session, include_unregistered=True)]
    filters = {"repo": listed.query.repo or "", "status": listed.query.status.value if listed.query.status else ""}
    query = urlencode({name: value for name, value in filters.items() if value})
    rows = rows_html(request, listed)
    stream = f"/builds/stream?{urlencode({**filters, 'since': digest(rows)})}" if listed.query.before is None else ""
    return page(request, "builds.html", rows=rows, listed=listed, repos=repos,
                statuses=[status.value for status in Status], filters=filters, query=query, stream=stream)


# -- one build -------------------------------------------------------------------------------------------------------


def plans_of(detail: BuildDetail) -> dict[int, dict[str, StepPlan]]:
    """Stage id -> step name -> the step's plan, for what the step rows do not hold (the pull reason, credentials);
    a plan written by another version reads as none."""
    plans: dict[int, dict[str, StepPlan]] = {}
    for stage in detail.stages:
        try:
            plan = StagePlan.from_json(stage.plan) if stage.plan else None
        except CompileError:
            plan = None
        plans[stage.id] = {step.name: step for step in plan.all_steps} if plan else {}
    return plans


def summary_context(detail: BuildDetail, session: PageSession) -> dict[str, Any]:
    """What `_build_summary.html` shows: the build, its stages and steps, its findings and its buttons."""
    names = {step.id: f"{stage.name}/{step.name}" for stage in detail.stages for step in stage.steps}
    return {"detail": detail, "build": detail.build, "plans": plans_of(detail), "step_names": names,
            "session": session}


def summary_html(detail: BuildDetail, session: PageSession) -> str:
    return html("_build_summary.html", **summary_context(detail, session))


def final(stage: StageRecord, status: Status) -> bool:
    """Whether a step's log can still change: not once the step, or its stage, has finished."""
    return status.terminal or stage.status.terminal


def build(request: Request) -> Response:
    """Build N: its summary (live while it runs) and each step's log, streaming while the step runs."""
    services, build_id = services_of(request), request.path_params["build_id"]
    with services.sessions.begin() as session:
        detail = _detail(get_build(session, build_id), build_id)
        logs = {step.id: log_view(get_log(session, step.id), final=final(stage, step.status))
                for stage in detail.stages for step in stage.steps}
    summary = summary_html(detail, page_session(request))
    live = not detail.build.status.terminal or any(not final(stage, step.status) for stage in detail.stages
                                                   for step in stage.steps)
    statuses = {step.id: step.status.value for stage in detail.stages for step in stage.steps}
    state = StreamState(summary=digest(summary), cursors={step: LogCursor(lines=view.next, status=statuses[step])
                                                          for step, view in logs.items()})
    stream = f"/builds/{build_id}/stream?{urlencode({'since': state.format()})}" if live else ""
    return page(request, "build.html", summary=summary, detail=detail, build=detail.build, logs=logs, stream=stream)


def raw_log(request: Request) -> Response:
    """A step's log as plain text, escape sequences removed: the whole of it, however long."""
    services, build_id, step_id = services_of(request), request.path_params["build_id"], request.path_params["step_id"]
    with services.sessions.begin() as session:
        detail = _detail(get_build(session, build_id), build_id)
        if step_id not in {step.id for stage in detail.stages for step in stage.steps}:
            raise HTTPException(404, f"build {build_id} has no step {step_id}")
        record = get_log(session, step_id)
    return PlainTextResponse(ansi.plain(record.text if record else ""))


def _detail(detail: BuildDetail | None, build_id: int) -> BuildDetail:
    if detail is None:
        raise HTTPException(404, f"build {build_id} does not exist")
    return detail


# -- buttons ---------------------------------------------------------------------------------------------------------


def cancel(request: Request) -> Response:
    """Cancel the build (the workers stop its steps); back to its page."""
    def action(services: Services, build_id: int) -> int:
        cancel_build(build_id, sessions=services.sessions, send=services.send)
        return build_id

    return _act(request, action)


def approve(request: Request) -> Response:
    """Let a blocked build run; back to its page."""
    def action(services: Services, build_id: int) -> int:
        approve_build(build_id, sessions=services.sessions, send=services.send)
        return build_id

    return _act(request, action)


def restart(request: Request) -> Response:
    """Run the build again as a new one, started by the signed-in token's name; to the new build's page."""
    trigger = page_session(request).token

    def action(services: Services, build_id: int) -> int:
        return restart_build(build_id, settings=services.settings, sessions=services.sessions, send=services.send,
                             trigger=trigger).build_id

    return _act(request, action)


def _act(request: Request, action: Callable[[Services, int], int]) -> Response:
    """`action` on the build of the path, by a token that may change things; then to the page of the build it names."""
    session = page_session(request)
    if session.read_only:
        return error_page(request, 403, f"token {session.token!r} is read-only: it may not cancel, approve or "
                          "restart builds", hint="sign in with a token made without --read-only")
    services, build_id = services_of(request), request.path_params["build_id"]
    with services.sessions.begin() as db:
        _detail(get_build(db, build_id), build_id)
    return RedirectResponse(f"/builds/{action(services, build_id)}", status_code=303)
