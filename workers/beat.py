"""The periodic schedule beat sends: a resync every minute catches whatever the pod watcher missed, and a
node-cache sweep every 30 seconds backs up the node watch."""

from __future__ import annotations

from typing import Any

from workers.routing import CACHE_SWEEP_TASK, RESYNC_TASK

RESYNC_INTERVAL = 60.0
"""Seconds between two resyncs: the longest a stage waits when both its pod events and its advance were lost."""

CACHE_SWEEP_INTERVAL = 30.0
"""Seconds between two node-cache sweeps: how stale the index of cached images may be."""


def beat_schedule() -> dict[str, dict[str, Any]]:
    """Celery's `beat_schedule`."""
    return {
        "resync": {
            "task": RESYNC_TASK,
            "schedule": RESYNC_INTERVAL,
            # A resync still queued when the next one is sent is worthless: let it expire, not pile up.
            "options": {"expires": RESYNC_INTERVAL},
        },
        "cache-sweep": {
            "task": CACHE_SWEEP_TASK,
            "schedule": CACHE_SWEEP_INTERVAL,
            # Sweeps do not queue up behind a slow one: a late sweep is replaced by the next.
            "options": {"expires": CACHE_SWEEP_INTERVAL},
        },
    }
