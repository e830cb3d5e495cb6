"""The real worker app as the worker-process tests run it: their own broker URL (given as REDIS_URL) and key
prefix, a short visibility timeout (so a killed worker's task comes back in seconds), and one extra task that
holds until the test releases it."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import workers.tasks  # noqa: F401 - the worker's tasks, on its app
from workers.app import app

HOLD_TASK = "pq.test.hold"

app.conf.broker_transport_options = {
    **app.conf.broker_transport_options,
    "visibility_timeout": float(os.environ.get("PQ_TEST_VISIBILITY_TIMEOUT", "3600")),
    "global_keyprefix": os.environ["PQ_TEST_KEY_PREFIX"],
    # Sweep for unacknowledged messages every second instead of every 100.
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}


@app.task(name=HOLD_TASK, shared=False)
def hold(folder: str) -> None:
    """Note each delivery (`started-<pid>-<n>`), wait for `release` (at most a minute), note `done-<pid>`."""
    markers = Path(folder)
    (markers / f"started-{os.getpid()}-{uuid.uuid4().hex[:8]}").touch()
    deadline = time.monotonic() + 60
    while not (markers / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    (markers / f"done-{os.getpid()}").touch()
