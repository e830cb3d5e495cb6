"""`/healthz` (the process answers) and `/readyz` (what it depends on answers: database, Redis, Kubernetes)."""

from __future__ import annotations

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from pipeline_queue.server.services import Services


def routes() -> list[BaseRoute]:
    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """200 when every dependency answers, else 503; each check says `ok` or what failed (never a URL)."""
    services: Services = request.app.state.services
    checks = await run_in_threadpool(_checks, services)
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"status": "ok" if ready else "unavailable", "checks": checks},
                        status_code=200 if ready else 503)


def _checks(services: Services) -> dict[str, str]:
    return {"database": _database(services), "redis": _redis(services.broker_url),
            "kubernetes": "ok" if services.kube_ready() else "the Kubernetes API does not answer"}


def _database(services: Services) -> str:
    try:
        with services.sessions() as session:
            session.execute(sa.text("SELECT 1"))
    except Exception as error:
        return f"the database does not answer ({type(error).__name__})"
    return "ok"


def _redis(url: str) -> str:
    from pipeline_queue.broker import redis_client

    try:
        redis_client(url, quick=True).ping()
    except Exception as error:
        return f"Redis does not answer ({type(error).__name__})"
    return "ok"
