"""Stages to look at again later, as one sorted set in Redis instead of delayed Celery messages.

A stage whose timeout may strike asks for another look in so many seconds. Sent as a countdown, each such
`advance` waits unacknowledged in a worker's memory, and every pod event of a running stage adds one more; here a
stage has one entry, the latest decision's, and every worker's main process (`pump`, a thread started when the
worker is ready) sends `advance` for those due, every second. Taking is atomic, so any number of workers may pump.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from pipeline_queue import keys
from pipeline_queue.broker import RedisClient

log = logging.getLogger(__name__)
INTERVAL = 1.0
"""Seconds between two takes: how late after its due time a timeout may be noticed."""
BATCH = 1000
"""Stages taken at most per call: a backlog drains over a few seconds instead of one huge message burst."""


def schedule(redis: RedisClient, stage_id: int, *, after: float, prefix: str = keys.DEFAULT_PREFIX,
             now: float | None = None) -> None:
    """Look at `stage_id` again `after` seconds from now (replacing any earlier request for it)."""
    due = (time.time() if now is None else now) + max(after, 0.0)
    redis.zadd(keys.RECHECKS.format(prefix=prefix), {str(stage_id): due})


def forget(redis: RedisClient, stage_id: int, *, prefix: str = keys.DEFAULT_PREFIX) -> None:
    """A finished stage needs no further look."""
    redis.zrem(keys.RECHECKS.format(prefix=prefix), str(stage_id))


_TAKE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due
"""
"""Read and remove the due members in one step on the server: two callers never both take one."""


def take_due(redis: RedisClient, *, prefix: str = keys.DEFAULT_PREFIX, now: float | None = None) -> list[int]:
    """The stages due by now (at most BATCH, earliest first), removed from the set."""
    moment = time.time() if now is None else now
    found = redis.eval(_TAKE, 1, keys.RECHECKS.format(prefix=prefix), repr(moment), BATCH)
    return [int(member) for member in found]


def pump(redis: Callable[[], RedisClient], send: Callable[[Sequence[int]], object], *, prefix: str,
         stopping: threading.Event, interval: float = INTERVAL) -> None:
    """Every `interval` seconds until `stopping`: send `advance` for the stages due. A Redis or broker failure is
    logged and tried again next time (the resync sends every unfinished stage within a minute anyway)."""
    while not stopping.wait(interval):
        try:
            due = take_due(redis(), prefix=prefix)
            if due:
                send(due)
        except Exception:  # the next turn tries again; a dead pump would leave timeouts to the resync
            log.exception("sending the stages due for another look failed")
