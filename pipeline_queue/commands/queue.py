"""`worker`, `beat`, `watch` and `flower`: the long-running processes of the queue, each in the foreground.

Each finds Redis, the cluster and the database through `runtime.resolve`: the variables, else the `up`
running in `PQ_DATA_DIR`, else that directory's embedded Redis and development cluster kubeconfig.
"""

from __future__ import annotations

import logging
import signal
from typing import Any

import click

from pipeline_queue.settings import Settings
from pipeline_queue.vocabulary import QUEUE_NAMES


def _app(settings: Settings) -> Any:
    """The Celery app on the resolved broker; its `settings` carry the resolved kubeconfig and database."""
    from pipeline_queue.runtime import resolve
    from workers.app import make_app

    runtime = resolve(settings)
    return make_app(runtime.applied(settings), broker_url=runtime.broker_url())


@click.command("worker")
@click.option("--queues", "-Q", default=",".join(QUEUE_NAMES), show_default=True,
              help="Comma-separated queues to consume (control, default, cache).")
@click.option("--concurrency", "-c", type=click.IntRange(1, 512), help="Worker processes. Default: one per CPU.")
@click.option("--hostname", "-n", help="The worker's node name (several workers on one machine). Default celery@HOST.")
@click.option("--loglevel", default="INFO", show_default=True)
def worker_command(queues: str, concurrency: int | None, hostname: str | None, loglevel: str) -> None:
    """A Celery worker for pipeline-queue's tasks."""
    settings = Settings.from_env()
    names = [name.strip() for name in queues.split(",") if name.strip()]
    # `control` on the command line means whatever PQ_CONTROL_QUEUE calls it.
    names = [settings.queue.advance_queue if name == "control" else name for name in names]
    argv = ["worker", "--queues", ",".join(names), "--loglevel", loglevel, "--pool", "prefork"]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    if hostname:
        argv += ["--hostname", hostname]
    _app(settings).worker_main(argv=argv)


@click.command("beat")
@click.option("--loglevel", default="INFO", show_default=True)
def beat_command(loglevel: str) -> None:
    """Celery beat: sends the periodic resync (its schedule file lives in the data directory)."""
    settings = Settings.from_env()
    settings.paths.data_dir.mkdir(parents=True, exist_ok=True)
    schedule = settings.paths.data_dir / "celerybeat-schedule"
    _app(settings).start(argv=["beat", "--schedule", str(schedule), "--loglevel", loglevel])


@click.command("flower", context_settings={"ignore_unknown_options": True})
@click.option("--port", default=5555, show_default=True, type=click.IntRange(0, 65535))
@click.option("--address", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.argument("flower_args", nargs=-1, type=click.UNPROCESSED)
def flower_command(port: int, address: str, flower_args: tuple[str, ...]) -> None:
    """Flower, Celery's web monitor, on the same broker; further options go to Flower (`--basic-auth=...`).

    Its HTTP API answers without authentication only with FLOWER_UNAUTHENTICATED_API=true (Flower's rule).
    """
    _app(Settings.from_env()).start(argv=["flower", f"--port={port}", f"--address={address}", *flower_args])


@click.command("watch")
def watch_command() -> None:
    """The pod watcher: turns every change of a step pod into `advance` for its stage, until interrupted."""
    from pipeline_queue.kube import make_api_client
    from pipeline_queue.watcher.adapter import PodWatcher
    from workers.routing import ADVANCE_TASK

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    app = _app(settings)

    def send(stage_id: int) -> None:
        app.send_task(ADVANCE_TASK, args=(stage_id,))

    watcher = PodWatcher(make_api_client(app.settings.paths.kubeconfig), send=send)
    # SIGTERM as Ctrl-C: only an exception interrupts the stream's blocking read (watcher.stop() waits for an event).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    click.echo("watching pods; Ctrl-C stops")
    try:
        watcher.run()
    except KeyboardInterrupt:
        watcher.stop()
