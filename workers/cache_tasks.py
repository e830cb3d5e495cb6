"""The node-cache task, kept thin: `pq.cache.sweep` lists every node and sweeps its `status.images` into Redis.

Beat sends it every `workers.beat.CACHE_SWEEP_INTERVAL` seconds; it runs on the `cache` queue (workers.routing).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import redis

from pipeline_queue import keys
from pipeline_queue.cache.index import NodeLister, sweep_cluster
from pipeline_queue.settings import Settings
from workers.beat import CACHE_SWEEP_TASK
from workers.resources import resources_for

if TYPE_CHECKING:
    from workers.app import QueueApp

_KOMBU_SOCKET = "redis+socket://"
"""How kombu spells a Unix socket URL (the embedded Redis); redis-py calls it `unix://`."""


def sweep_nodes(kube: NodeLister, *, redis: redis.Redis, prefix: str = keys.DEFAULT_PREFIX) -> dict[str, int] | None:
    """The task's body: one sweep of every node; its figures as JSON, or None when another sweep was running."""
    stats = sweep_cluster(kube, redis=redis, prefix=prefix)
    return asdict(stats) if stats is not None else None


def cache_redis(settings: Settings) -> redis.Redis:
    """A client of the Redis the queue uses (`REDIS_URL`, or the embedded one of the data directory)."""
    from pipeline_queue.broker import redis_url_for

    return redis_client(redis_url_for(settings, data_dir=settings.paths.data_dir))


def redis_client(url: str) -> redis.Redis:
    """A redis-py client for a broker URL, kombu's `redis+socket://` spelling included."""
    if url.startswith(_KOMBU_SOCKET):
        url = "unix://" + url.removeprefix(_KOMBU_SOCKET)
    return redis.Redis.from_url(url)


def register_cache_tasks(app: QueueApp) -> None:
    """Define `pq.cache.sweep` on `app`."""

    @app.task(name=CACHE_SWEEP_TASK)
    def sweep() -> dict[str, Any] | None:
        """Sweep every node's image list into the index; returns the sweep's figures."""
        client = cache_redis(app.settings)
        try:
            return sweep_nodes(resources_for(app.settings).kube(), redis=client)
        finally:
            client.close()
