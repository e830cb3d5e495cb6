"""`GET /metrics`: pipeline-queue in Prometheus's text format, read afresh from Redis and the database per scrape, so
that every process's counts show in one place."""

from __future__ import annotations

from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pipeline_queue import metrics
from pipeline_queue.broker import queue_lists, redis_client
from pipeline_queue.server.services import Services
from workers.app import celery_config
from workers.routing import queue_names


def routes() -> list[BaseRoute]:
    return [Route("/metrics", scrape, methods=["GET"])]


async def scrape(request: Request) -> Response:
    """The exposition; its reads block, so they run in Starlette's threadpool."""
    services: Services = request.app.state.services
    body = await run_in_threadpool(_exposition, services)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _exposition(services: Services) -> bytes:
    client = redis_client(services.broker_url, quick=True)
    try:
        with services.sessions() as session:
            reading = metrics.read(redis=client, session=session, queues=_queues(services))
    finally:
        client.close()
    return metrics.exposition(reading)


def _queues(services: Services) -> dict[str, list[str]]:
    """Each Celery queue with the Redis lists its waiting messages are in, under the workers' transport options
    (one list per priority step)."""
    options = celery_config(services.settings, broker_url=services.broker_url)["broker_transport_options"]
    return {name: queue_lists(name, transport_options=options) for name in queue_names(services.settings)}
