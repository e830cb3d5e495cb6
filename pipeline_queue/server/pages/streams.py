"""Server-sent events that keep a page live: the builds list's rows, a build's summary and its steps' logs.

Each stream reads the store every `TICK_SECONDS` and sends only what changed. It ends after `STREAM_SECONDS` (so
that `serve` never waits long for it to stop), and the browser's EventSource comes back on its own with the id of
the last event it got: that id says what the page shows (a digest of the HTML it was sent, how many lines of each
log), so nothing is sent twice or lost. The HTML does not depend on the clock (pages.js writes `5 min ago` and
running durations), so a page is sent new HTML only when what it shows has changed.
A build's stream ends for good with an `end` event once the build and every log are final.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from pipeline_queue.server.pages.builds import final, read_builds, rows_html, summary_html
from pipeline_queue.server.pages.logs import LogCursor, StreamState, digest
from pipeline_queue.server.pages.render import page_session, services_of
from pipeline_queue.store import get_build, get_log
from pipeline_queue.store.records import BuildDetail, LogRecord

TICK_SECONDS = 0.5
"""How often a stream reads the store (the workers write a running step's log on every pass)."""

STREAM_SECONDS = 15.0
"""How long one stream lasts before the browser reconnects; below `serve`'s 20 s of grace on SIGTERM."""

RETRY_MILLISECONDS = 1000
"""How soon the browser reconnects after a stream ends."""


def event(name: str, data: Any, *, event_id: str = "") -> str:
    """One server-sent event; JSON data holds no newline, so it is a single `data:` line."""
    lines = [f"event: {name}", *([f"id: {event_id}"] if event_id else []), f"data: {json.dumps(data)}"]
    return "\n".join(lines) + "\n\n"


def _response(events: AsyncIterator[str]) -> Response:
    return StreamingResponse(events, media_type="text/event-stream", headers={"x-accel-buffering": "no"})


def builds_stream(request: Request) -> Response:
    """The builds list's rows, sent again whenever they change (a new build, a status, a duration that ended)."""
    sent = request.headers.get("last-event-id") or request.query_params.get("since", "")

    async def events() -> AsyncIterator[str]:
        nonlocal sent
        yield f"retry: {RETRY_MILLISECONDS}\n\n"
        deadline = time.monotonic() + STREAM_SECONDS
        while time.monotonic() < deadline:
            rows = await run_in_threadpool(lambda: rows_html(request, read_builds(request)))
            if digest(rows) != sent:
                sent = digest(rows)
                yield event("replace", {"target": "build-rows", "html": rows}, event_id=sent)
            await anyio.sleep(TICK_SECONDS)

    return _response(events())


def build_stream(request: Request) -> Response:
    """Build N's summary whenever it changes, and `log` events with each step's new lines and status."""
    build_id = request.path_params["build_id"]
    sessions, session = services_of(request).sessions, page_session(request)
    state = StreamState.parse(request.headers.get("last-event-id") or request.query_params.get("since", ""))

    async def events() -> AsyncIterator[str]:
        yield f"retry: {RETRY_MILLISECONDS}\n\n"
        deadline = time.monotonic() + STREAM_SECONDS
        while time.monotonic() < deadline:
            read = await run_in_threadpool(_read, sessions, build_id, state.cursors)
            if read is None:
                yield event("end", {"reason": f"build {build_id} does not exist"})
                return
            detail, logs = read
            summary = await run_in_threadpool(summary_html, detail, session)
            if digest(summary) != state.summary:
                state.summary = digest(summary)
                yield event("replace", {"target": "build-summary", "html": summary}, event_id=state.format())
            for change in _log_changes(detail, logs, state.cursors):
                yield event("log", change, event_id=state.format())
            if detail.build.status.terminal and all(cursor.done for cursor in state.cursors.values()):
                yield event("end", {"status": detail.build.status.value}, event_id=state.format())
                return
            await anyio.sleep(TICK_SECONDS)

    return _response(events())


def _read(sessions: sessionmaker[Session], build_id: int,
          cursors: dict[int, LogCursor]) -> tuple[BuildDetail, dict[int, LogRecord | None]] | None:
    """The build, and the logs of the steps whose log may still have something to send."""
    with sessions.begin() as session:
        detail = get_build(session, build_id)
        if detail is None:
            return None
        steps = [step.id for stage in detail.stages for step in stage.steps]
        logs = {step: get_log(session, step) for step in steps if not (step in cursors and cursors[step].done)}
    return detail, logs


def _log_changes(detail: BuildDetail, logs: dict[int, LogRecord | None],
                 cursors: dict[int, LogCursor]) -> list[dict[str, Any]]:
    changes = []
    for stage in detail.stages:
        for step in stage.steps:
            if step.id not in logs:
                continue
            cursor = cursors.setdefault(step.id, LogCursor())
            change = cursor.advance(logs[step.id], status=step.status.value, final=final(stage, step.status))
            if change is not None:
                changes.append({"step": step.id, **change})
    return changes
