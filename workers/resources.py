"""What a worker process opens once and keeps: the database engine, the Kubernetes client, the Redis client
of the node-cache index, the cache guard that reads it, and the registry credential plugins (with their caches).

They are made after the fork (on `worker_process_init`), never inherited from the parent: a database
connection or an HTTP pool shared across a fork would interleave two processes' bytes.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown, worker_ready, worker_shutdown
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pipeline_queue import keys, metrics, store
from pipeline_queue.broker import RedisClient, redis_client
from pipeline_queue.cache.service import CacheGuard
from pipeline_queue.credentials.plugins import CredentialPlugins
from pipeline_queue.kube import Kube, make_api_client
from pipeline_queue.kube.seen import SeenPods
from pipeline_queue.settings import Settings
from workers import rechecks
from workers.enqueue import enqueue_advance


def cache_prefix(app: Celery) -> str:
    """Where the app's cache keys start: after the broker's own key prefix, so each queue keeps its own index."""
    options = app.conf.broker_transport_options or {}
    return f"{options.get('global_keyprefix') or ''}{keys.DEFAULT_PREFIX}"


class WorkerResources:
    """One process's connections, each made the first time it is needed."""

    def __init__(self, settings: Settings, *, broker_url: str, prefix: str) -> None:
        self.settings, self.broker_url, self.prefix = settings, broker_url, prefix
        self.pid = os.getpid()
        self._engine: Engine | None = None
        self._kube: Kube | None = None
        self._redis: RedisClient | None = None
        self._guard: CacheGuard | None = None
        self._plugins: CredentialPlugins | None = None

    def engine(self) -> Engine:
        if self._engine is None:
            url = store.database_url(data_dir=self.settings.paths.data_dir, url=self.settings.store.database_url)
            self._engine = store.create_engine(url)
        return self._engine

    def sessions(self) -> sessionmaker[Session]:
        return store.session_factory(self.engine())

    def read_sessions(self) -> sessionmaker[Session]:
        return store.session_factory(self.engine(), read_only=True)

    def kube(self) -> Kube:
        if self._kube is None:
            self._kube = Kube(make_api_client(self.settings.paths.kubeconfig))
        return self._kube

    def redis(self) -> RedisClient:
        """The broker's Redis, which holds the node-cache index; quick to give up, so a step never waits on it."""
        if self._redis is None:
            self._redis = redis_client(self.broker_url, quick=True)
        return self._redis

    def seen_pods(self) -> SeenPods:
        """The pod watch's view of every stage's pods, in the same Redis as the index."""
        return SeenPods(self.redis(), prefix=self.prefix)

    def cache_guard(self) -> CacheGuard:
        if self._guard is None:
            self._guard = CacheGuard(self.settings.cache, redis=self.redis(), prefix=self.prefix)
        return self._guard

    def credential_plugins(self) -> CredentialPlugins:
        """Made once per process: ECR tokens and providers' answers are kept here (never beyond the process)."""
        if self._plugins is None:
            self._plugins = CredentialPlugins.from_settings(self.settings.credentials)
        return self._plugins

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        if self._kube is not None:
            self._kube.close()
        if self._redis is not None:
            self._redis.close()
        self._engine = self._kube = self._redis = self._guard = self._plugins = None


_PER_PROCESS: dict[int, WorkerResources] = {}
"""pid -> that process's resources; a forked child finds no entry of its own and makes one."""


def resources_for(app: Any) -> WorkerResources:
    """This process's resources for `app`, made on first use if `worker_process_init` did not make them."""
    resources = _PER_PROCESS.get(os.getpid())
    if resources is None:
        resources = _PER_PROCESS[os.getpid()] = WorkerResources(
            app.settings, broker_url=str(app.conf.broker_url), prefix=cache_prefix(app))
    return resources


def connect_signals(app: Any) -> None:
    """Make a fresh set of resources in each pool process right after its fork; close them at its end."""

    def after_fork(**_: Any) -> None:
        # Forget (without closing: the parent still uses them) whatever the fork copied.
        _PER_PROCESS.clear()
        resources_for(app).engine()
        metrics.configure(str(app.conf.broker_url), prefix=cache_prefix(app))  # this process's counts add up in Redis

    def on_shutdown(**_: Any) -> None:
        resources = _PER_PROCESS.pop(os.getpid(), None)
        if resources is not None:
            resources.close()

    stopping = threading.Event()

    def on_ready(**_: Any) -> None:
        # The worker's main process sends the stages due for another look (workers.rechecks).
        resources = resources_for(app)
        threading.Thread(target=rechecks.pump, name="rechecks", daemon=True, kwargs={
            "redis": resources.redis, "send": lambda ids: enqueue_advance(app, ids), "prefix": resources.prefix,
            "stopping": stopping}).start()

    worker_process_init.connect(after_fork, weak=False)
    worker_process_shutdown.connect(on_shutdown, weak=False)
    worker_ready.connect(on_ready, weak=False)
    worker_shutdown.connect(lambda **_: stopping.set(), weak=False)
