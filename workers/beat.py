"""The periodic schedule beat sends: a resync every minute catches whatever the pod watcher missed."""

from __future__ import annotations

from typing import Any

from workers.routing import RESYNC_TASK

RESYNC_INTERVAL = 60.0
"""Seconds between two resyncs: the longest a stage waits when both its pod events and its advance were lost."""


def beat_schedule() -> dict[str, dict[str, Any]]:
    """Celery's `beat_schedule`."""
    return {
        "resync": {
            "task": RESYNC_TASK,
            "schedule": RESYNC_INTERVAL,
            # A resync still queued when the next one is sent is worthless: let it expire, not pile up.
            "options": {"expires": RESYNC_INTERVAL},
        },
    }
