"""The Celery app. `make_app(settings)` configures one; `app` below, configured from the environment, is the one
whose tasks a worker runs (`celery -A workers.app worker`): the one place the environment is read at import.

Every message is JSON. Tasks are acknowledged after they ran (`task_acks_late`), and a worker that
dies mid-task gives its message back (`task_reject_on_worker_lost`), so a SIGKILL loses nothing:
`advance` is idempotent and simply runs again. No result backend: nobody waits on a task's result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from celery import Celery

from pipeline_queue.broker import redis_url_for
from pipeline_queue.settings import Settings
from pipeline_queue.vocabulary import DEFAULT_QUEUE
from workers import routing
from workers.beat import beat_schedule

TASK_MODULES = ("workers.tasks",)
"""Where the tasks are defined; a worker imports them at start (so this module imports no task)."""

VISIBILITY_TIMEOUT = 3600
"""Seconds Redis waits for an acknowledgement before it hands a message to another worker.

It must exceed the longest task *and* the longest countdown a task is sent with (a message waiting
for its ETA sits unacknowledged in a worker), or Redis would deliver it twice. Tasks here take
seconds and countdowns are capped at `workers.tasks.MAX_COUNTDOWN`; a worker that died is covered
sooner by the resync (every minute) than by this timeout.
"""

PREFETCH_MULTIPLIER = 1
"""Each worker process reserves one message at a time, so a slow `advance` never hides others in its buffer."""


def celery_config(settings: Settings, *, broker_url: str) -> dict[str, Any]:
    """The whole Celery configuration, as plain values (tests read it back from `app.conf`)."""
    return {
        "broker_url": broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {"visibility_timeout": VISIBILITY_TIMEOUT},
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "event_serializer": "json",
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": PREFETCH_MULTIPLIER,
        "task_ignore_result": True,
        "result_backend": None,
        "task_queues": routing.queues(settings),
        "task_default_queue": DEFAULT_QUEUE,
        "task_routes": routing.routes(settings),
        "beat_schedule": beat_schedule(),
        # Task events let Flower and `celery events` follow each task (Flower can also turn them on).
        "worker_send_task_events": True,
        "timezone": "UTC",
        "enable_utc": True,
    }


class QueueApp(Celery):
    """A Celery app that carries the settings it was built from, for its tasks to read."""

    def __init__(self, settings: Settings, **options: Any) -> None:
        super().__init__("pipeline_queue", **options)
        self.settings = settings


def make_app(
    settings: Settings,
    *,
    broker_url: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    include: Sequence[str] = (),
) -> QueueApp:
    """An app on `broker_url` (default: `REDIS_URL`, else the embedded Redis of the data directory, found or
    started only when the configuration is first needed); `overrides` replaces config keys (dict values are
    merged). Without `include` it has no tasks: it sends them by name (`workers.enqueue`)."""
    app = QueueApp(settings, include=list(include))
    app.add_defaults(_config_promise(settings, broker_url=broker_url, overrides=overrides or {}))
    return app


def _config_promise(
    settings: Settings, *, broker_url: str | None, overrides: Mapping[str, Any]
) -> Callable[[], dict[str, Any]]:
    def load() -> dict[str, Any]:
        url = broker_url or redis_url_for(settings, data_dir=settings.paths.data_dir)
        return _merged(celery_config(settings, broker_url=url), overrides)

    return load


def _merged(config: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(config)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


app = make_app(Settings.from_env(), include=TASK_MODULES)
"""The worker's app; its tasks are defined in `workers.tasks`."""
