"""The tasks, defined on `workers.app.app` and kept thin: decode the arguments, call one service function, send
what it asks for, return.

`pq.advance(stage_id)` reconciles one stage (pipeline_queue.reconcile), puts the stage in the recheck set when it
wants another look later (`workers.rechecks`; each worker sends those due) and, once the stage is finished,
sends the stages that waited on it; `pq.resync()` sends
`advance` for every unfinished stage; `pq.cache.sweep()` sweeps every node's `status.images` into the index.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import asdict
from typing import Any

from celery import Task

from pipeline_queue import store
from pipeline_queue.broker import RedisError
from pipeline_queue.cache.index import sweep_cluster
from pipeline_queue.producer.dependencies import may_start, release_waiting
from pipeline_queue.reconcile.service import advance_stage
from workers import rechecks
from workers.app import app
from workers.enqueue import enqueue_advance
from workers.resources import connect_signals, resources_for
from workers.routing import ADVANCE_TASK, CACHE_SWEEP_TASK, RESYNC_TASK

MAX_COUNTDOWN = 300.0
"""The longest an `advance` is put off: far below the visibility timeout, so a delayed message is never
delivered twice; a stage that wants a later look is seen by the resync anyway."""

connect_signals(app)
# `shared=False` below: Celery otherwise adds every task to each app made later, and a sender app (the CLI's,
# a test's) would then run these tasks itself.


def bounded_countdown(retry_after: float) -> float:
    """`retry_after` seconds clamped to [0, MAX_COUNTDOWN]."""
    return min(max(float(retry_after), 0.0), MAX_COUNTDOWN)


@app.task(name=ADVANCE_TASK, bind=True, shared=False)
def advance(task: Task, stage_id: int) -> None:
    """Reconcile the stage once; when it asks for another look, send this task again with a countdown."""
    resources = resources_for(task.app)
    sessions = resources.sessions()
    # A stage that waits on other pipelines is sent again when the last of them finishes.
    if not may_start(sessions, int(stage_id)):
        return
    result = advance_stage(int(stage_id), sessions=sessions, kube=resources.kube(), settings=task.app.settings,
                           cache=resources.cache_guard(), seen=resources.seen_pods(),
                           plugins=resources.credential_plugins())
    if not result.finished and result.retry_after is not None:
        _look_again(task, int(stage_id), after=result.retry_after)
    if result.finished:
        with suppress(RedisError):
            rechecks.forget(resources.redis(), int(stage_id), prefix=resources.prefix)
        enqueue_advance(task.app, release_waiting(sessions, int(stage_id)))


def _look_again(task: Task, stage_id: int, *, after: float) -> None:
    """One entry in the recheck set; a countdown message only while Redis does not take it."""
    resources = resources_for(task.app)
    try:
        rechecks.schedule(resources.redis(), stage_id, after=after, prefix=resources.prefix)
    except RedisError:
        enqueue_advance(task.app, [stage_id], countdown=bounded_countdown(after))


@app.task(name=RESYNC_TASK, bind=True, shared=False)
def resync(task: Task) -> int:
    """Send `advance` for every pending or running stage; returns how many."""
    with resources_for(task.app).read_sessions().begin() as session:
        stages = store.active_stages(session)
    return enqueue_advance(task.app, (stage.id for stage in stages))


@app.task(name=CACHE_SWEEP_TASK, bind=True, shared=False)
def sweep(task: Task) -> dict[str, Any] | None:
    """Sweep every node's image list into the index; the sweep's figures, or None when another sweep was running."""
    resources = resources_for(task.app)
    stats = sweep_cluster(resources.kube(), redis=resources.redis(), prefix=resources.prefix)
    return asdict(stats) if stats is not None else None
