"""The tasks, kept thin: decode the arguments, call one service function, send what it asks for, return.

`pq.advance(stage_id)` reconciles one stage (pipeline_queue.reconcile), re-sends itself when the
stage wants another look later and, once the stage is finished, sends the stages that waited on it;
`pq.resync()` sends `advance` for every unfinished stage.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from celery import Task

from pipeline_queue import store
from workers.cache_tasks import guard_for
from workers.resources import connect_signals, resources_for
from workers.routing import ADVANCE_TASK, RESYNC_TASK

if TYPE_CHECKING:
    from workers.app import QueueApp

MAX_COUNTDOWN = 300.0
"""The longest an `advance` is put off: far below the visibility timeout, so a delayed message is never
delivered twice; a stage that wants a later look is seen by the resync anyway."""


def bounded_countdown(retry_after: float) -> float:
    """`retry_after` seconds clamped to [0, MAX_COUNTDOWN]."""
    return min(max(float(retry_after), 0.0), MAX_COUNTDOWN)


def send_advances(app: QueueApp, stage_ids: Iterable[int]) -> int:
    """Queue one `advance` per stage over a single broker connection; how many were sent."""
    task = app.tasks[ADVANCE_TASK]
    sent = 0
    with app.producer_or_acquire() as producer:
        for stage_id in stage_ids:
            task.apply_async((int(stage_id),), producer=producer)
            sent += 1
    return sent


def register_tasks(app: QueueApp) -> None:
    """Define the tasks on `app` (and the per-process resources they use).

    `shared=False`: Celery otherwise adds every task to each app created later, so a second app
    (a test's, or one with a resolved broker) would run the first app's closures and send
    advances to the first app's broker.
    """
    connect_signals(app.settings)

    @app.task(name=ADVANCE_TASK, bind=True, shared=False)
    def advance(task: Task, stage_id: int) -> None:
        """Reconcile the stage once; when it asks for another look, send this task again with a countdown."""
        # Imported here so that workers import (and tests of the app run) without the reconcile layer.
        from pipeline_queue.producer.dependencies import may_start, release_waiting
        from pipeline_queue.reconcile import advance_stage

        resources = resources_for(app.settings)
        sessions = resources.sessions()
        # A stage that waits on other pipelines is sent again when the last of them finishes.
        if not may_start(sessions, int(stage_id)):
            return
        result = advance_stage(int(stage_id), sessions=sessions, kube=resources.kube(), settings=app.settings,
                               cache=guard_for(app))
        if not result.finished and result.retry_after is not None:
            task.apply_async((int(stage_id),), countdown=bounded_countdown(result.retry_after))
        if result.finished:
            send_advances(app, release_waiting(sessions, int(stage_id)))

    @app.task(name=RESYNC_TASK, shared=False)
    def resync() -> int:
        """Send `advance` for every pending or running stage; returns how many."""
        with resources_for(app.settings).read_sessions().begin() as session:
            stages = store.active_stages(session)
        return send_advances(app, (stage.id for stage in stages))
