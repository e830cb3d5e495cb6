"""Sending `advance`: the one way the CLI (`run`, `build cancel`), the pod watcher and the tasks ask for a stage
to be looked at. Tasks are sent by name, so a sender needs the app's routing, not its tasks."""

from __future__ import annotations

from collections.abc import Iterable

from celery import Celery

from workers.routing import ADVANCE_TASK


def enqueue_advance(app: Celery, stage_ids: Iterable[int], *, countdown: float | None = None) -> int:
    """Queue one `advance` per stage over a single broker connection; how many were sent."""
    sent = 0
    with app.producer_or_acquire() as producer:
        for stage_id in stage_ids:
            app.send_task(ADVANCE_TASK, args=(int(stage_id),), countdown=countdown, producer=producer)
            sent += 1
    return sent
