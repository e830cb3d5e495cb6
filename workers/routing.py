"""Named queues and which task goes to which, so that each kind of work gets its own pool of workers.

`control` carries `advance` (many, short, latency-sensitive); `default` carries housekeeping such
as `resync`; `cache` is reserved for the node-cache sweep, whose slow API reads must never hold up
the control work.
"""

from __future__ import annotations

from kombu import Queue

from pipeline_queue.settings import Settings
from pipeline_queue.vocabulary import CACHE_QUEUE, DEFAULT_QUEUE

ADVANCE_TASK = "pq.advance"
RESYNC_TASK = "pq.resync"
CACHE_SWEEP_TASK = "pq.cache.sweep"
CACHE_TASKS = "pq.cache.*"
"""Glob for the node-cache tasks: they all land on the `cache` queue."""


def queue_names(settings: Settings) -> tuple[str, str, str]:
    """The three queues, control first (its name comes from the settings)."""
    return (settings.queue.advance_queue, DEFAULT_QUEUE, CACHE_QUEUE)


def queues(settings: Settings) -> tuple[Queue, ...]:
    return tuple(Queue(name, routing_key=name) for name in queue_names(settings))


def routes(settings: Settings) -> dict[str, dict[str, str]]:
    """Celery's `task_routes`: exact task names, plus a glob for the cache sweep."""
    return {
        ADVANCE_TASK: {"queue": settings.queue.advance_queue},
        RESYNC_TASK: {"queue": DEFAULT_QUEUE},
        CACHE_TASKS: {"queue": CACHE_QUEUE},
    }
