"""`pipeline-queue up`: Redis, a cluster, the database, a worker, beat, the pod watcher and `serve` on one machine.

It runs in the foreground as a process manager: a worker, beat, the watcher or `serve` that dies is restarted after
a growing delay (`supervisor.Backoff`), each death and restart said on stderr, while the builds in flight go on; only
Ctrl-C or SIGTERM stop it all. The development cluster is not restarted (its objects die with it): its death, or a
child that keeps dying as it starts, stops everything with exit code 1. What it started is recorded in
`<data_dir>/up.json` (rewritten at every restart), where the other commands find it (`runtime.resolve`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import click
import yaml

from pipeline_queue import broker
from pipeline_queue.errors import BrokerError, PipelineQueueError, UsageError
from pipeline_queue.runtime import KUBECONFIG_FILE, Runtime, holding_up_lock, write_up_record
from pipeline_queue.settings import Settings, child_environment
from pipeline_queue.supervisor import Child, Event, Supervisor

DEVCLUSTER = "devcluster"
QUEUE_PROCESSES = ("worker", "beat", "watch")
SERVER = "serve"
START_TIMEOUT = 30.0
"""Seconds the development cluster may take to answer on the address its kubeconfig names."""

POLL_SECONDS = 0.2


class _Interrupted(BaseException):
    """Ctrl-C or SIGTERM: raised where `up` happens to be, so every `finally` on the way cleans up."""


@click.command("up")
@click.option("--nodes", type=click.IntRange(1, 500), help="Nodes of the development cluster. Default 2.")
@click.option("--registries", type=click.Path(dir_okay=False, exists=True),
              help="YAML file of the development cluster's simulated registries.")
def up_command(nodes: int | None, registries: str | None) -> None:
    """Start everything in the foreground, restarting any part that dies; Ctrl-C stops it all."""
    settings = Settings.from_env()
    if settings.paths.kubeconfig is not None and (nodes or registries):
        raise UsageError("--nodes and --registries shape the development cluster, which KUBECONFIG replaces")
    data_dir = settings.paths.data_dir.absolute()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, _interrupt)
    try:
        with holding_up_lock(data_dir):
            code = _up(settings, data_dir=data_dir, nodes=nodes or 2, registries=registries)
    except _Interrupted:
        click.echo("stopped")
        code = 0
    sys.exit(code)


def _interrupt(number: int, frame: FrameType | None) -> None:
    # A second Ctrl-C must not cut the cleanup short: the children's stop is bounded anyway.
    for ignored in (signal.SIGINT, signal.SIGTERM):
        signal.signal(ignored, signal.SIG_IGN)
    raise _Interrupted


def _up(settings: Settings, *, data_dir: Path, nodes: int, registries: str | None) -> int:
    from pipeline_queue import store

    supervisor = Supervisor(log_dir=data_dir / "logs")
    started_redis = False
    try:
        cluster = None
        if settings.paths.kubeconfig is None:
            # It boots (a second or two) while Redis starts and the database migrates.
            cluster = _start_devcluster(supervisor, data_dir=data_dir, nodes=nodes, registries=registries)
        redis_url, started_redis = _redis(settings, data_dir=data_dir)
        database_url = store.database_url(data_dir=data_dir, url=settings.store.database_url)
        store.migrate(database_url)
        if cluster is not None:
            _wait_for(lambda: _server_answers(data_dir / KUBECONFIG_FILE), child=cluster,
                      what="the development cluster to answer")
        runtime = Runtime(data_dir=data_dir, redis_url=redis_url, database_url=database_url,
                          kubeconfig=data_dir / KUBECONFIG_FILE if cluster else settings.paths.kubeconfig)
        # The children inherit this process's environment (PQ_* settings, PATH) plus the resolved addresses.
        env = child_environment(runtime.environment())
        for name in QUEUE_PROCESSES:
            supervisor.start(name, [sys.executable, "-m", "pipeline_queue", name], env=env)
        url = _start_server(supervisor, settings, env=env)
        record = _record(runtime, supervisor=supervisor, started_redis=started_redis, url=url)
        _print_summary(runtime, supervisor=supervisor, record=write_up_record(data_dir, record), url=url)
        return _supervise(supervisor, rewrite_record=lambda: write_up_record(
            data_dir, _record(runtime, supervisor=supervisor, started_redis=started_redis, url=url)))
    finally:
        _stop_children(supervisor)
        if started_redis:
            broker.stop(data_dir=data_dir)
        if any(child.name == DEVCLUSTER for child in supervisor.children):
            (data_dir / KUBECONFIG_FILE).unlink(missing_ok=True)  # it names a cluster that is gone


def _redis(settings: Settings, *, data_dir: Path) -> tuple[str, bool]:
    """The broker URL, and whether this call started the embedded server (then `up` stops it at the end)."""
    if settings.queue.redis_url:
        _check_broker(settings.queue.redis_url)
        return settings.queue.redis_url, False
    before = _embedded_pid(data_dir)
    url = broker.ensure_embedded(data_dir)
    return url, _embedded_pid(data_dir) != before


def _embedded_pid(data_dir: Path) -> int | None:
    try:
        return int(json.loads((data_dir / broker.RECORD_FILE).read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _check_broker(url: str) -> None:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as error:  # kombu raises the transport's own errors; any means "not reachable"
        raise BrokerError(f"REDIS_URL {_redacted_redis(url)} does not answer: {type(error).__name__}") from None


def _start_devcluster(supervisor: Supervisor, *, data_dir: Path, nodes: int, registries: str | None) -> Child:
    """Start the development cluster as a child writing `<data_dir>/kubeconfig` (removed first: it is stale)."""
    kubeconfig = data_dir / KUBECONFIG_FILE
    kubeconfig.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "pipeline_queue", DEVCLUSTER, "--kubeconfig", str(kubeconfig),
            "--nodes", str(nodes), "--data-dir", str(data_dir / DEVCLUSTER)]
    if registries:
        argv += ["--registries", str(Path(registries).absolute())]
    # Not restarted: a new cluster would have none of the old one's pods, and a new address and token.
    return supervisor.start(DEVCLUSTER, argv, env=child_environment({"PQ_DATA_DIR": str(data_dir)}), restart=False)


def _start_server(supervisor: Supervisor, settings: Settings, *, env: dict[str, str]) -> str:
    """Start `serve` on PQ_HTTP_HOST:PQ_HTTP_PORT (port 0: a free one chosen here; unset: 8080, or a free one when
    8080 is taken, said so) and wait until it listens."""
    host, port = settings.http.host, settings.http.effective_port
    if settings.http.port is None and not _can_bind(host, port):
        chosen = _free_port(host)
        click.echo(f"port {port} is in use; serving on {chosen} instead (set PQ_HTTP_PORT to choose)", err=True)
        port = chosen
    port = port or _free_port(host)
    argv = [sys.executable, "-m", "pipeline_queue", SERVER, "--host", host, "--port", str(port)]
    child = supervisor.start(SERVER, argv, env=env)
    shown = f"[{host}]" if ":" in host else host
    reachable = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)  # noqa: S104
    _wait_for(lambda: _listens(reachable, port), child=child, what=f"serve to listen on {shown}:{port}")
    return f"http://{shown}:{port}"


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _can_bind(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _listens(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
    except OSError:
        return False
    return True


def _wait_for(condition: Callable[[], bool], *, child: Child, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not condition():
        if child.process.poll() is not None:
            raise PipelineQueueError(_death_report(child))
        if time.monotonic() > deadline:
            raise PipelineQueueError(f"timed out after {START_TIMEOUT:.0f}s waiting for {what}; see {child.log}")
        time.sleep(POLL_SECONDS / 4)


def _server(kubeconfig: Path) -> str:
    try:
        config = yaml.safe_load(kubeconfig.read_text())
        return str(config["clusters"][0]["cluster"]["server"])
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError):
        return ""  # not written yet, or half written


def _server_answers(kubeconfig: Path) -> bool:
    address = urlsplit(_server(kubeconfig))
    if not address.hostname or not address.port:
        return False
    return _listens(address.hostname, address.port)


def _supervise(supervisor: Supervisor, *, rewrite_record: Callable[[], object]) -> int:
    """Restart children that die, saying so, until one is given up on (exit code 1); Ctrl-C and SIGTERM arrive
    as `_Interrupted`."""
    while True:
        with _signals_held():  # a restart half done would leave a child nobody stops
            events = supervisor.check()
        for event in events:
            click.echo(_report(event), err=True)
            if event.fatal:
                return 1
            if event.kind == "restarted":
                rewrite_record()  # other commands and tests read the children's pids from it
        time.sleep(POLL_SECONDS)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is over, then arrive as usual."""
    held = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


def _report(event: Event) -> str:
    child = event.child
    stamp = time.strftime("%H:%M:%S")
    if event.kind == "restarted":
        return f"{stamp} {child.name} restarted (pid {child.pid}, restart {event.restarts}); its log: {child.log}"
    if event.kind == "exited":
        return (f"{stamp} {child.name} (pid {child.pid}) exited with code {child.process.returncode}; "
                f"restarting it in {event.delay:g}s (restart {event.restarts}); its log: {child.log}")
    return f"{stamp} {_death_report(child)}"


def _death_report(child: Child) -> str:
    tail = child.tail()
    shown = f"; the end of {child.log}:\n{tail}" if tail else f"; its log: {child.log}"
    return f"{child.name} (pid {child.pid}) exited with code {child.process.returncode}, stopping everything{shown}"


def _stop_children(supervisor: Supervisor) -> None:
    queue = [child for child in reversed(supervisor.children) if child.name != DEVCLUSTER]
    supervisor.stop(queue)
    supervisor.stop()  # the development cluster last: the queue processes talk to it until they stop


def _record(runtime: Runtime, *, supervisor: Supervisor, started_redis: bool, url: str) -> dict[str, Any]:
    return {
        "url": url,
        "pid": os.getpid(),
        "data_dir": str(runtime.data_dir),
        "redis_url": runtime.redis_url,
        "embedded_redis": started_redis,
        "kubeconfig": str(runtime.kubeconfig),
        "database_url": runtime.database_url,
        "children": {child.name: child.pid for child in supervisor.children},
        "logs": {child.name: str(child.log) for child in supervisor.children},
    }


def _print_summary(runtime: Runtime, *, supervisor: Supervisor, record: Path, url: str) -> None:
    from pipeline_queue.store import redacted

    server = _server(runtime.kubeconfig) if runtime.kubeconfig else ""
    cluster = "development cluster" if any(c.name == DEVCLUSTER for c in supervisor.children) else "KUBECONFIG"
    click.echo(f"redis     {_redacted_redis(runtime.redis_url)}")
    click.echo(f"cluster   {server or '?'} ({cluster}); KUBECONFIG={runtime.kubeconfig}")
    click.echo(f"database  {redacted(runtime.database_url)}")
    click.echo(f"http      {url} (webhooks: POST {url}/hook; API: {url}/api; {url}/metrics)")
    for child in supervisor.children:
        click.echo(f"{child.name:<9} pid {child.pid}, log {child.log}")
    click.echo(f"recorded in {record}; other commands with PQ_DATA_DIR={runtime.data_dir} use these. Ctrl-C stops.")


def _redacted_redis(url: str) -> str:
    from kombu.utils.url import maybe_sanitize_url

    return str(maybe_sanitize_url(url))
