"""Scaling the control pool raises throughput, shown without timing anything: the pool started by compose's
`pipeline-queue worker` with `-c 1` has at most one `advance` talking to the Kubernetes API at a time, with `-c 3`
three at once. A gate in the pool's proxy to the development cluster holds every pod creation until opened and
counts how many it holds at once; six one-step builds from the producer wait on it, then all finish."""

from __future__ import annotations

import os
import re
import secrets
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import kubernetes
import pytest
from sqlalchemy.orm import Session, sessionmaker

from pipeline_queue import store
from pipeline_queue.producer.submit import BuildEvent, submit_text
from pipeline_queue.settings import Settings
from pipeline_queue.vocabulary import Status
from tests.conftest import ROOT
from tests.deploy.kube_proxy import RecordingProxy
from tests.deploy.manifests import compose_app_services
from tests.deploy.topology import (
    START_TIMEOUT,
    Process,
    _answering,
    _cluster,
    _compose_environment,
    _database,
    _redis,
    _server,
    _start,
    _stop,
)
from tests.polling import wait_for
from workers.app import make_app
from workers.enqueue import enqueue_advance

BUILDS = 6
PIPELINE = "kind: pipeline\ntype: kubernetes\nname: ci\nsteps:\n- name: check\n  image: alpine:3.19\n" \
           "  commands: [echo scaled]\n"
POD_CREATION = re.compile(r"/api/v1/namespaces/[^/]+/pods")
HOLD_LIMIT = 60.0
"""Seconds a pod creation is held at most, should the test fail before it opens the gate."""
BUILD_TIMEOUT = 60.0


class PodCreationGate:
    """A matcher for `RecordingProxy.hold`, which holds one request at most: this one answers False, so the proxy
    holds none itself, but blocks every pod creation until `open()`, on the proxy's relay thread and so before the
    request goes upstream; `held` is how many it holds now, `peak` the most it held at once."""

    def __init__(self) -> None:
        self._opened = threading.Event()
        self._lock = threading.Lock()
        self.held = 0
        self.peak = 0

    def __call__(self, method: str, target: str) -> bool:
        if method == "POST" and POD_CREATION.fullmatch(urlsplit(target).path):
            with self._lock:
                self.held += 1
                self.peak = max(self.peak, self.held)
            try:
                self._opened.wait(timeout=HOLD_LIMIT)
            finally:
                with self._lock:
                    self.held -= 1
        return False

    def open(self) -> None:
        self._opened.set()


@dataclass
class Parts:
    """Redis, the store and the development cluster, with the pod watcher; each test adds its proxy to `stack` and
    its pool to `processes`, stopped together at the end."""

    folder: Path
    env: dict[str, str]
    kubeconfig: Path
    redis_url: str
    sessions: sessionmaker[Session]
    watch: Process
    stack: ExitStack
    processes: list[Process] = field(default_factory=list)


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parts]:
    """As tests/deploy/topology.py starts them, with compose's environment; of its services only `watch`, whose
    pod events move the builds on (no beat: its resync would send `advance` twice)."""
    folder = tmp_path_factory.mktemp("scaling")
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "KUBECONFIG", "DATABASE_URL")
            and not k.startswith("PQ_")}
    base.update(PYTHONPATH=str(ROOT))
    with ExitStack() as stack:
        redis_url = stack.enter_context(_redis(folder / "redis"))
        database_url = stack.enter_context(_database(folder))
        cluster, kubeconfig = stack.enter_context(_cluster(folder, base))
        env = {**base, **_compose_environment(), "REDIS_URL": redis_url, "DATABASE_URL": database_url,
               "KUBECONFIG": str(kubeconfig), "PQ_SECRET_KEY": secrets.token_hex(32),
               "PQ_DATA_DIR": str(folder / "cli-data")}
        engine = store.create_engine(database_url)
        stack.callback(engine.dispose)
        store.migrate(engine)  # here, while the cluster boots: one Python process less to start on a busy machine
        _answering(cluster, kubeconfig)
        api = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
        kubernetes.client.CoreV1Api(api).create_namespace({"metadata": {"name": env["PQ_NAMESPACE"]}})
        api.close()
        watch = _start("watch", _command("watch"), env={**env, "PQ_DATA_DIR": str(folder / "data-watch")},
                       folder=folder)
        wait_for(lambda: "watching pods" in watch.output() or watch.popen.poll() is not None,
                 what="the pod watcher", timeout=START_TIMEOUT, explain=watch.output)
        assert watch.popen.poll() is None, watch.output()
        found = Parts(folder=folder, env=env, kubeconfig=kubeconfig, redis_url=redis_url,
                      sessions=store.session_factory(engine), stack=stack.enter_context(ExitStack()),
                      watch=watch, processes=[watch])
        stack.callback(lambda: _stop(*found.processes))  # all at once: each warm shutdown takes a second or two
        yield found


def _command(service: str) -> list[str]:
    return [sys.executable, "-m", "pipeline_queue", *compose_app_services()[service]["command"]]


def _pool(parts: Parts, proxy: RecordingProxy, processes: int) -> Process:
    """compose's control pool with `-c PROCESSES`, reaching the cluster through `proxy`."""
    name = f"worker-control-{processes}"
    argv = [sys.executable, "-m", "pipeline_queue", "worker", "-Q", "control", "-c", str(processes),
            "--hostname", f"control{processes}@%h"]
    env = {**parts.env, "KUBECONFIG": str(proxy.kubeconfig(parts.kubeconfig, parts.folder / f"{name}.kubeconfig")),
           "PQ_DATA_DIR": str(parts.folder / f"data-{name}")}
    return _start(name, argv, env=env, folder=parts.folder)


def _submit(parts: Parts, processes: int) -> list[int]:
    """BUILDS one-step builds through the producer, each `advance` sent through a Celery app on the Redis."""
    settings = Settings.from_env(parts.env)
    sender = make_app(settings, broker_url=parts.redis_url)
    return [submit_text(PIPELINE, filename=".drone.yml", settings=settings, sessions=parts.sessions,
                        event=BuildEvent(repo=f"scaling/c{processes}", branch="main", commit=f"{number:040x}"),
                        send=lambda ids: enqueue_advance(sender, ids)).build_id for number in range(BUILDS)]


def _statuses(parts: Parts, builds: list[int]) -> list[Status]:
    with parts.sessions() as session:
        details = [store.get_build(session, build) for build in builds]
    return [detail.build.status for detail in details if detail is not None]


@pytest.mark.parametrize("processes", [1, 3], ids=["one-process", "three-processes"])
def test_a_pool_of_n_processes_creates_pods_for_n_stages_at_once(parts: Parts, processes: int) -> None:
    gate = PodCreationGate()
    proxy = parts.stack.enter_context(RecordingProxy(_server(parts.kubeconfig)))
    proxy.hold(gate)
    pool = _pool(parts, proxy, processes)
    parts.processes.append(pool)
    try:
        builds = _submit(parts, processes)

        def explain() -> str:
            return (f"held {gate.held}, builds {_statuses(parts, builds)}\n--- pool\n{pool.output()[-3000:]}"
                    f"\n--- watch\n{parts.watch.output()[-2000:]}")

        # Each of the pool's processes started a build and waits on its pod creation; the other builds' `advance`
        # wait in Redis, none taken (a build is `running` once an `advance` took its stage, before any API call).
        waiting = sorted([Status.RUNNING] * processes + [Status.PENDING] * (BUILDS - processes))
        wait_for(lambda: gate.peak > processes or (gate.held == processes
                                                    and sorted(_statuses(parts, builds)) == waiting),
                 what=f"{processes} pod creations held, {BUILDS - processes} builds not started",
                 timeout=START_TIMEOUT, explain=explain)
        assert gate.peak == processes  # (more would have ended the wait at once)
        gate.open()

        def finished() -> list[Status] | None:
            statuses = _statuses(parts, builds)
            return statuses if all(status.terminal for status in statuses) else None

        ended = wait_for(finished, what=f"{BUILDS} builds to finish", timeout=BUILD_TIMEOUT, interval=0.2,
                         explain=explain)
        assert ended == [Status.SUCCESS] * BUILDS
        # Never more at once, also once the gate let the creations through (with a pool larger than `processes`
        # the wait above may have seen a moment with `processes` held, this may not).
        assert gate.peak == processes
    finally:
        gate.open()
        if pool.popen.poll() is None:
            pool.signal(signal.SIGTERM)  # a warm shutdown: the next test's pool takes what this one leaves
