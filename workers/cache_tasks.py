"""The node-cache task, kept thin: `pq.cache.sweep` lists every node and sweeps its `status.images` into Redis;
and the cache guard each worker process hands to `advance`.

Beat sends it every `workers.beat.CACHE_SWEEP_INTERVAL` seconds; it runs on the `cache` queue (workers.routing).
The index lives in the broker's Redis, under the broker's key prefix (if any) followed by `keys.DEFAULT_PREFIX`.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from pipeline_queue import keys
from pipeline_queue.cache.index import NodeLister, sweep_cluster
from pipeline_queue.cache.service import CacheGuard
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


def redis_client(url: str, **options: Any) -> redis.Redis:
    """A redis-py client for a broker URL, kombu's `redis+socket://` spelling included; `options` go to redis-py."""
    if url.startswith(_KOMBU_SOCKET):
        url = "unix://" + url.removeprefix(_KOMBU_SOCKET)
    return redis.Redis.from_url(url, **options)


_GUARDS: dict[int, CacheGuard] = {}
"""pid -> that process's cache guard: its Redis connection pool is never shared across a fork."""


def cache_prefix(app: QueueApp) -> str:
    """Where the app's cache keys start: after the broker's own key prefix, so each queue keeps its own index."""
    options = app.conf.broker_transport_options or {}
    return f"{options.get('global_keyprefix') or ''}{keys.DEFAULT_PREFIX}"


def guard_for(app: QueueApp) -> CacheGuard:
    """This process's cache guard: the app's `PQ_CACHE_GUARD` settings and the broker's Redis."""
    guard = _GUARDS.get(os.getpid())
    if guard is None:
        # Short timeouts, one retry: an unreachable index must cost a step seconds at most, not minutes.
        client = redis_client(str(app.conf.broker_url), socket_connect_timeout=2, socket_timeout=2,
                              retry=Retry(NoBackoff(), 1))
        guard = _GUARDS[os.getpid()] = CacheGuard(app.settings.cache, redis=client, prefix=cache_prefix(app))
    return guard


def register_cache_tasks(app: QueueApp) -> None:
    """Define `pq.cache.sweep` on `app`."""

    @app.task(name=CACHE_SWEEP_TASK, shared=False)
    def sweep() -> dict[str, Any] | None:
        """Sweep every node's image list into the index; returns the sweep's figures."""
        client = redis_client(str(app.conf.broker_url))
        try:
            return sweep_nodes(resources_for(app.settings).kube(), redis=client, prefix=cache_prefix(app))
        finally:
            client.close()
