"""`worker`, `beat` and `watch`: the long-running processes of the queue, each in the foreground.

Each finds Redis as `up` does (`REDIS_URL`, else the embedded one of `PQ_DATA_DIR`).
"""

from __future__ import annotations

import logging
import signal
from typing import Any

import click

from pipeline_queue.settings import Settings

QUEUE_NAMES = ("control", "default", "cache")


def _app(settings: Settings) -> Any:
    from pipeline_queue.broker import redis_url_for
    from workers.app import make_app

    return make_app(settings, broker_url=redis_url_for(settings, data_dir=settings.paths.data_dir))


@click.command("worker")
@click.option("--queues", "-Q", default=",".join(QUEUE_NAMES), show_default=True,
              help="Comma-separated queues to consume (control, default, cache).")
@click.option("--concurrency", "-c", type=click.IntRange(1, 512), help="Worker processes. Default: one per CPU.")
@click.option("--loglevel", default="INFO", show_default=True)
def worker_command(queues: str, concurrency: int | None, loglevel: str) -> None:
    """A Celery worker for pipeline-queue's tasks."""
    settings = Settings.from_env()
    names = [name.strip() for name in queues.split(",") if name.strip()]
    # `control` on the command line means whatever PQ_CONTROL_QUEUE calls it.
    names = [settings.queue.advance_queue if name == "control" else name for name in names]
    argv = ["worker", "--queues", ",".join(names), "--loglevel", loglevel, "--pool", "prefork"]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    _app(settings).worker_main(argv=argv)


@click.command("beat")
@click.option("--loglevel", default="INFO", show_default=True)
def beat_command(loglevel: str) -> None:
    """Celery beat: sends the periodic resync (its schedule file lives in the data directory)."""
    settings = Settings.from_env()
    settings.paths.data_dir.mkdir(parents=True, exist_ok=True)
    schedule = settings.paths.data_dir / "celerybeat-schedule"
    _app(settings).start(argv=["beat", "--schedule", str(schedule), "--loglevel", loglevel])


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

    watcher = PodWatcher(make_api_client(settings.paths.kubeconfig), send=send)
    signal.signal(signal.SIGTERM, lambda *_: watcher.stop())
    click.echo("watching pods; Ctrl-C stops")
    try:
        watcher.run()
    except KeyboardInterrupt:
        watcher.stop()
