"""What a worker process opens once and keeps: store sessions and the Kubernetes client.

They are made after the fork (on `worker_process_init`), never inherited from the parent: a
database connection or an HTTP pool shared across a fork would interleave two processes' bytes.
"""

from __future__ import annotations

import os
from typing import Any

from celery.signals import worker_process_init, worker_process_shutdown
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pipeline_queue import store
from pipeline_queue.settings import Settings


class WorkerResources:
    """One process's database engine and Kubernetes client, each made the first time it is needed."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pid = os.getpid()
        self._engine: Engine | None = None
        self._kube: Any = None

    def engine(self) -> Engine:
        if self._engine is None:
            url = store.database_url(data_dir=self.settings.paths.data_dir, url=self.settings.store.database_url)
            self._engine = store.create_engine(url)
        return self._engine

    def sessions(self) -> sessionmaker[Session]:
        return store.session_factory(self.engine())

    def read_sessions(self) -> sessionmaker[Session]:
        return store.session_factory(self.engine(), read_only=True)

    def kube(self) -> Any:
        if self._kube is None:
            # Imported here so that the workers package imports without the Kubernetes layer.
            from pipeline_queue.kube import Kube, make_api_client

            self._kube = Kube(make_api_client(self.settings.paths.kubeconfig))
        return self._kube

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        close = getattr(self._kube, "close", None)
        if callable(close):
            close()
        self._kube = None


_PER_PROCESS: dict[int, WorkerResources] = {}
"""pid -> that process's resources; a forked child finds no entry of its own and makes one."""


def resources_for(settings: Settings) -> WorkerResources:
    """This process's resources, made on first use if `worker_process_init` did not make them."""
    resources = _PER_PROCESS.get(os.getpid())
    if resources is None:
        resources = _PER_PROCESS[os.getpid()] = WorkerResources(settings)
    return resources


def connect_signals(settings: Settings) -> None:
    """Make a fresh set of resources in each pool process right after its fork; close them at its end."""

    def after_fork(**_: Any) -> None:
        # Forget (without closing: the parent still uses them) whatever the fork copied.
        _PER_PROCESS.clear()
        resources_for(settings).engine()

    def on_shutdown(**_: Any) -> None:
        resources = _PER_PROCESS.pop(os.getpid(), None)
        if resources is not None:
            resources.close()

    worker_process_init.connect(after_fork, weak=False)
    worker_process_shutdown.connect(on_shutdown, weak=False)
