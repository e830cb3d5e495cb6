"""What the HTTP routes use: the settings, the database, the broker and the cluster, made once per process."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from pipeline_queue.errors import UsageError
from pipeline_queue.runtime import Runtime
from pipeline_queue.settings import Settings

Send = Callable[[Sequence[int]], object]


@dataclass(frozen=True)
class Services:
    """The process's connections; routes run their blocking calls in a thread (Starlette's threadpool)."""

    settings: Settings
    """Applied to the resolved runtime (data directory, database, broker, kubeconfig)."""
    sessions: sessionmaker[Session]
    send: Send
    """Enqueues `pq.advance` for stage ids."""
    broker_url: str = field(repr=False)
    kube_ready: Callable[[], bool] = field(default=lambda: True, repr=False)
    """Whether the Kubernetes API answers now (for /readyz)."""


def open_services(settings: Settings, runtime: Runtime) -> tuple[Services, Callable[[], None]]:
    """The services of this process's resolved runtime, and the function that closes them."""
    from pipeline_queue import metrics, store
    from pipeline_queue.kube.client import api_answers, make_api_client
    from workers.app import make_app
    from workers.enqueue import enqueue_advance

    applied = runtime.applied(settings)
    broker_url = runtime.broker_url()
    metrics.configure(broker_url)  # this process's counts (webhook deliveries) join every other process's
    app = make_app(applied, broker_url=broker_url)
    engine = store.create_engine(runtime.database_url)
    api: list[Any] = []

    def send(stage_ids: Sequence[int]) -> int:
        return enqueue_advance(app, stage_ids)

    def kube_ready() -> bool:
        try:
            api[:] = api or [make_api_client(runtime.kubeconfig)]
        except UsageError:
            return False
        return api_answers(api[0])

    def close() -> None:
        engine.dispose()
        for client in api:
            client.close()

    services = Services(settings=applied, sessions=store.session_factory(engine), send=send, broker_url=broker_url,
                        kube_ready=kube_ready)
    return services, close
