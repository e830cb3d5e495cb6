"""`POST /hook`: git hosts' webhook deliveries, handed to the producer (`producer.webhooks.receive_hook`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from pipeline_queue import metrics
from pipeline_queue.producer.webhooks import HookAnswer, HookContext, receive_hook
from pipeline_queue.server.services import Services

log = logging.getLogger(__name__)

MAX_BODY = 25 * 1024 * 1024
"""The largest delivery accepted (GitHub caps payloads at 25 MiB); larger ones get 413 unread."""


def routes() -> list[BaseRoute]:
    return [Route("/hook", hook, methods=["POST"])]


class _TooLargeError(Exception):
    pass


async def hook(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    try:
        body = await _body(request)
    except _TooLargeError:
        await run_in_threadpool(metrics.count_delivery, provider="unknown", result="too_large")
        return JSONResponse({"error": f"the delivery is over {MAX_BODY} bytes"}, status_code=413)
    except ClientDisconnect:
        return JSONResponse({"error": "the client went away"}, status_code=400)
    context = HookContext(settings=services.settings, sessions=services.sessions, send=services.send)
    answer = await run_in_threadpool(_handled, request.headers, body, context)
    log.info("webhook %s: %s %s", answer.provider or "?", answer.status, answer.result)
    return JSONResponse(dict(answer.body), status_code=answer.status)


def _handled(headers: Mapping[str, str], body: bytes, context: HookContext) -> HookAnswer:
    """The producer's answer, counted (both block: they run in a thread)."""
    answer = receive_hook(headers, body, context)
    metrics.count_delivery(provider=answer.provider or "unknown", result=answer.result)
    return answer


async def _body(request: Request) -> bytes:
    """The raw body, refused past MAX_BODY: by its Content-Length before reading, else while it streams."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise _TooLargeError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLargeError
        chunks.append(chunk)
    return b"".join(chunks)
