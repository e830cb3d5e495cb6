"""`serve`: webhooks, the HTTP API, /healthz, /readyz and /metrics, on uvicorn, until SIGTERM or Ctrl-C.

On either signal uvicorn stops accepting connections and lets the requests in flight finish (for at most
`GRACEFUL_SECONDS`), then the database and Kubernetes connections are closed.
"""

from __future__ import annotations

import signal
from types import FrameType

import click

from pipeline_queue.errors import UsageError
from pipeline_queue.settings import Settings

GRACEFUL_SECONDS = 20
"""How long requests in flight may take to finish after SIGTERM."""


@click.command("serve")
@click.option("--host", help="Address to listen on. Default PQ_HTTP_HOST, else 127.0.0.1.")
@click.option("--port", type=click.IntRange(0, 65535), help="TCP port; 0 picks a free one. Default PQ_HTTP_PORT, "
              "else 8080.")
def serve_command(host: str | None, port: int | None) -> None:
    """Serve webhooks (POST /hook), the API (/api), health and metrics."""
    import uvicorn

    from pipeline_queue.runtime import resolve
    from pipeline_queue.server.app import create_app
    from pipeline_queue.server.services import open_services

    settings = Settings.from_env()
    host = host or settings.http.host
    port = settings.http.effective_port if port is None else port
    services, close = open_services(settings, resolve(settings))
    # uvicorn binds the socket itself: sockets handed to it lose TCP_NODELAY, which costs every keep-alive
    # request a delayed ACK (40 ms).
    config = uvicorn.Config(create_app(services), host=host, port=port, log_level="info",
                            timeout_graceful_shutdown=GRACEFUL_SECONDS, proxy_headers=False, server_header=False)
    click.echo(f"serving on http://{_shown(host)}:{port}" if port else f"serving on {host}, a free port", err=True)
    # uvicorn drains, then raises the signal it caught again: with these handlers that ends the process with 0.
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, _stopped)
    try:
        server = uvicorn.Server(config)
        server.run()
    except _Stopped:
        click.echo("stopped", err=True)
    finally:
        close()
    if not server.started:
        raise UsageError(f"cannot listen on {_shown(host)}:{port} (its error is above; set PQ_HTTP_PORT or --port)")


class _Stopped(Exception):  # noqa: N818 - a signal, not an error
    pass


def _stopped(number: int, frame: FrameType | None) -> None:
    raise _Stopped


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host
