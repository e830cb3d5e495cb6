"""`worker`, `beat`, `watch` and `flower`: the long-running processes of the queue, each in the foreground.

Each finds Redis, the cluster and the database through `runtime.resolve`: the variables, else the `up`
running in `PQ_DATA_DIR`, else that directory's embedded Redis and development cluster kubeconfig. `worker`,
`beat` and `flower` become Celery's own command on the worker app (`celery -A workers.app`), which reads
those addresses from the environment it is given.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

import click

from pipeline_queue.runtime import Runtime, resolve
from pipeline_queue.settings import Settings, child_environment
from pipeline_queue.vocabulary import QUEUE_NAMES

CELERY_APP = "workers.app"
"""The module Celery loads the app (and, through it, the tasks) from."""


def _runtime() -> tuple[Settings, Runtime]:
    settings = Settings.from_env()
    return settings, resolve(settings)


def _become_celery(runtime: Runtime, argv: list[str]) -> None:
    """Replace this process by `celery -A workers.app ARGV...` pointed at the resolved addresses."""
    command = [sys.executable, "-m", "celery", "-A", CELERY_APP, *argv]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, command, child_environment(runtime.environment()))  # noqa: S606 - no shell: argv as is


@click.command("worker")
@click.option("--queues", "-Q", default=",".join(QUEUE_NAMES), show_default=True,
              help="Comma-separated queues to consume (control, default, cache).")
@click.option("--concurrency", "-c", type=click.IntRange(1, 512), help="Worker processes. Default: one per CPU.")
@click.option("--hostname", "-n", help="The worker's node name (several workers on one machine). Default celery@HOST.")
@click.option("--loglevel", default="INFO", show_default=True)
def worker_command(queues: str, concurrency: int | None, hostname: str | None, loglevel: str) -> None:
    """A Celery worker for pipeline-queue's tasks."""
    settings, runtime = _runtime()
    names = [name.strip() for name in queues.split(",") if name.strip()]
    # `control` on the command line means whatever PQ_CONTROL_QUEUE calls it.
    names = [settings.queue.advance_queue if name == QUEUE_NAMES[0] else name for name in names]
    argv = ["worker", "--queues", ",".join(names), "--loglevel", loglevel, "--pool", "prefork"]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    if hostname:
        argv += ["--hostname", hostname]
    _become_celery(runtime, argv)


@click.command("beat")
@click.option("--loglevel", default="INFO", show_default=True)
def beat_command(loglevel: str) -> None:
    """Celery beat: sends the periodic resync (its schedule file lives in the data directory)."""
    _, runtime = _runtime()
    runtime.data_dir.mkdir(parents=True, exist_ok=True)
    schedule = runtime.data_dir / "celerybeat-schedule"
    _become_celery(runtime, ["beat", "--schedule", str(schedule), "--loglevel", loglevel])


@click.command("flower", context_settings={"ignore_unknown_options": True})
@click.option("--port", default=5555, show_default=True, type=click.IntRange(0, 65535))
@click.option("--address", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.argument("flower_args", nargs=-1, type=click.UNPROCESSED)
def flower_command(port: int, address: str, flower_args: tuple[str, ...]) -> None:
    """Flower, Celery's web monitor, on the same broker; further options go to Flower (`--basic-auth=...`).

    Its HTTP API answers without authentication only with FLOWER_UNAUTHENTICATED_API=true (Flower's rule).
    """
    _, runtime = _runtime()
    _become_celery(runtime, ["flower", f"--port={port}", f"--address={address}", *flower_args])


@click.command("watch")
def watch_command() -> None:
    """The pod watcher: turns every change of a step pod into `advance` for its stage, until interrupted."""
    from pipeline_queue.broker import redis_client
    from pipeline_queue.cache.node_watch import NodeWatcher
    from pipeline_queue.kube import Kube, make_api_client
    from pipeline_queue.kube.seen import SeenPods
    from pipeline_queue.watcher.adapter import PodWatcher
    from workers.app import make_app
    from workers.enqueue import enqueue_advance
    from workers.resources import cache_prefix

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings, runtime = _runtime()
    sender = make_app(runtime.applied(settings), broker_url=runtime.broker_url())

    def send(stage_id: int) -> None:
        enqueue_advance(sender, [stage_id])

    seen = SeenPods(redis_client(runtime.broker_url(), quick=True), prefix=cache_prefix(sender))
    kube = Kube(make_api_client(runtime.kubeconfig))
    watcher = PodWatcher(kube, send=send, seen=seen)
    # The node-cache index follows a watch of the nodes, in a thread beside the pod watch.
    nodes = NodeWatcher(kube, redis=redis_client(runtime.broker_url()), prefix=cache_prefix(sender))
    threading.Thread(target=nodes.run, name="node-watch", daemon=True).start()
    # SIGTERM as Ctrl-C: only an exception interrupts the stream's blocking read (watcher.stop() waits for an event).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    click.echo("watching pods; Ctrl-C stops")
    try:
        watcher.run()
    except KeyboardInterrupt:
        watcher.stop()
        nodes.stop()
