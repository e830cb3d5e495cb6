"""The end-to-end environment: a real Redis under the test module's own key prefix, a real Celery worker
process, the pod watcher in a thread and a development cluster that also serves one private registry.

Redis is 127.0.0.1:6379 (database 9) when it answers, else an embedded one; only this module's keys are
deleted. The fixture is module-scoped: every test module gets its own cluster, database and worker.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import redis

from pipeline_queue import broker, store
from pipeline_queue.devcluster.cluster import DevCluster
from pipeline_queue.kube import Kube, make_api_client
from pipeline_queue.kube.seen import SeenPods
from pipeline_queue.producer import tenants
from pipeline_queue.producer.submit import SubmittedBuild, submit_file
from pipeline_queue.settings import PathsConfig, RunConfig, Settings
from pipeline_queue.store import BuildDetail
from pipeline_queue.vocabulary import Status
from pipeline_queue.watcher.adapter import PodWatcher, WatchOptions
from tests import polling
from tests.conftest import ROOT
from workers.app import QueueApp, make_app
from workers.enqueue import enqueue_advance
from workers.resources import cache_prefix

SHARED = "redis://127.0.0.1:6379/9"
BUILD_TIMEOUT = 90.0
"""Seconds a build may take before a test gives up on it (a loaded 2-core machine is slow)."""

PRIVATE_REGISTRY = "registry.pq.test"
PRIVATE_IMAGE = f"{PRIVATE_REGISTRY}/team/app:1.0"
PRIVATE_USER = "ci-bot"
PRIVATE_PASSWORD = "pw-e2e-4412-not-real"

REGISTRIES = f"""
registries:
  {PRIVATE_REGISTRY}:
    private: true
    users:
      {PRIVATE_USER}: "{PRIVATE_PASSWORD}"
    repositories:
      team/app:
        tags: ["1.0"]
"""


# The first truthy value of `condition()`, polled every 0.1 s; fails the test after `timeout` seconds.
wait_for = partial(polling.wait_for, timeout=60.0, interval=0.1)


def step_states(detail: BuildDetail) -> dict[str, tuple[Status, int | None]]:
    """Each step's (status, exit code) by name, as `build show` lists them."""
    return {step.name: (step.status, step.exit_code) for stage in detail.stages for step in stage.steps}


def docker_config(registry: str, username: str, password: str) -> str:
    """A Docker config.json granting `username` on `registry`, as `image_pull_secrets` expects it."""
    return json.dumps({"auths": {registry: {"username": username, "password": password}}})


@dataclass
class Environment:
    settings: Settings
    sessions: Any
    kube: Kube
    sender: QueueApp
    tmp: Path

    @property
    def namespace(self) -> str:
        return self.settings.run.namespace

    def submit(self, text: str, *, repo: str, secrets: dict[str, str] | None = None,
               stage_timeout: int | None = None, event: str = "push", registered: bool = False,
               fork: bool = False) -> SubmittedBuild:
        """Run the pipeline text as an `event` on main, as `pipeline-queue run` does (`stage_timeout`:
        PQ_STAGE_TIMEOUT); `registered`: as a build of the registered repository `repo` (its secrets, its trust)."""
        path = self.tmp / f"{uuid.uuid4().hex[:8]}.yml"
        path.write_text(text)
        settings = self.settings
        if stage_timeout is not None:
            settings = replace(settings, run=replace(settings.run, stage_timeout=stage_timeout))
        tenant = None
        if registered:
            with self.sessions.begin() as session:
                tenant = tenants.registered(session, repo, vault=settings.vault, data_dir=settings.paths.data_dir,
                                            event=event, fork=fork)
        return submit_file(path, repo=repo, branch="main", commit="c" * 40, event=event, secrets=secrets,
                           tenant=tenant, settings=settings, sessions=self.sessions, send=self.send)

    def send(self, stage_ids: Any) -> int:
        return enqueue_advance(self.sender, stage_ids)

    def detail(self, build_id: int) -> BuildDetail:
        with self.sessions.begin() as session:
            found = store.get_build(session, build_id)
        assert found is not None, f"build {build_id} is not in the store"
        return found

    def finished(self, build_id: int, *, timeout: float = BUILD_TIMEOUT) -> BuildDetail:
        """The build once it has ended; fails the test with the worker's log when it has not within `timeout`."""
        def ended() -> BuildDetail | None:
            detail = self.detail(build_id)
            return detail if detail.build.status.terminal else None

        return wait_for(ended, what=f"build {build_id} to end", timeout=timeout, explain=self.worker_log)

    def logs(self, detail: BuildDetail) -> dict[str, str]:
        """Each step's stored log by step name, as `pipeline-queue logs` prints it."""
        with self.sessions.begin() as session:
            return {step.name: store.get_log(session, step.id).text
                    for stage in detail.stages for step in stage.steps}

    def worker_log(self) -> str:
        return (self.tmp / "worker.log").read_text(errors="replace")[-6000:]


def _redis(tmp: Path) -> tuple[str, redis.Redis, bool]:
    client = redis.Redis.from_url(SHARED, socket_connect_timeout=0.5)
    try:
        client.ping()
        return SHARED, client, False
    except redis.RedisError:
        client.close()
    url = broker.ensure_embedded(tmp / "redis")
    record = json.loads((tmp / "redis" / broker.RECORD_FILE).read_text())
    return url, redis.Redis(unix_socket_path=record["socket"]), True


def _worker(url: str, prefix: str, *, data_dir: Path, cluster: DevCluster, namespace: str,
            log: Path, variables: dict[str, str]) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "PQ_DATA_DIR": str(data_dir),
        "KUBECONFIG": str(cluster.kubeconfig_path),
        "PQ_NAMESPACE": namespace,
        "REDIS_URL": url,
        "PQ_TEST_KEY_PREFIX": prefix,
        **variables,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.workers.testapp", "worker", "-Q", "control,default",
         "-c", "2", "-P", "prefork", "-n", f"e2e-{uuid.uuid4().hex[:6]}@%h", "--without-gossip",
         "--without-mingle", "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )


def stop_process_group(process: subprocess.Popen[bytes], *, timeout: float = 20.0) -> None:
    """SIGTERM to the process's group (it was started in a session of its own), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


@pytest.fixture(scope="module")
def worker_variables() -> dict[str, str]:
    """More environment for the module's worker process (`PQ_*` settings); a test module overrides this fixture."""
    return {}


@pytest.fixture(scope="module")
def more_registries() -> str:
    """More registries for the module's development cluster, as entries of the registries file (two-space indent)."""
    return ""


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory, worker_variables: dict[str, str],
                more_registries: str) -> Iterator[Environment]:
    tmp = tmp_path_factory.mktemp("end-to-end")
    url, client, embedded = _redis(tmp)
    prefix = f"pq-e2e-{uuid.uuid4().hex[:12]}:"
    data_dir = tmp / "data"
    store.migrate(store.database_url(data_dir=data_dir))
    engine = store.create_engine(store.database_url(data_dir=data_dir))
    (tmp / "registries.yml").write_text(REGISTRIES + more_registries)
    with DevCluster(nodes=2, registries=tmp / "registries.yml", data_dir=tmp / "cluster",
                    kubeconfig=tmp / "kubeconfig") as cluster:
        namespace = f"e2e-{uuid.uuid4().hex[:8]}"
        api = cluster.api_client()
        kubernetes.client.CoreV1Api(api).create_namespace({"metadata": {"name": namespace}})
        settings = Settings(run=RunConfig(namespace=namespace), paths=PathsConfig(data_dir=data_dir))
        sender = make_app(settings, broker_url=url,
                          overrides={"broker_transport_options": {"global_keyprefix": prefix}})
        seen = SeenPods(broker.redis_client(url, quick=True), prefix=cache_prefix(sender))
        watcher = PodWatcher(Kube(api), send=lambda stage_id: enqueue_advance(sender, [stage_id]),
                             options=WatchOptions(timeout_seconds=5, backoff=0.2), seen=seen)
        thread = threading.Thread(target=watcher.run, name="pod-watcher", daemon=True)
        thread.start()
        worker = _worker(url, prefix, data_dir=data_dir, cluster=cluster, namespace=namespace,
                         log=tmp / "worker.log", variables=worker_variables)
        kube = Kube(make_api_client(cluster.kubeconfig_path))
        try:
            yield Environment(settings, store.session_factory(engine), kube, sender, tmp)
        finally:
            stop_process_group(worker)
            watcher.stop()
            thread.join(timeout=20)
            api.close()
    engine.dispose()
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()
    if embedded:
        broker.stop(data_dir=tmp / "redis")


@dataclass
class CliEnvironment:
    """A worker and a pod watcher started as `pipeline-queue worker` / `watch`, on this module's own Redis."""

    env: dict[str, str]
    """What the commands run with: REDIS_URL, KUBECONFIG, PQ_DATA_DIR, DATABASE_URL, PQ_NAMESPACE."""
    sessions: Any
    kube: Kube
    tmp: Path

    def log(self) -> str:
        return "\n".join(f"--- {name}\n" + (self.tmp / name).read_text(errors="replace")[-4000:]
                         for name in ("worker.log", "watch.log"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _own_redis(tmp: Path) -> tuple[str, Callable[[], None]]:
    """A Redis for this module alone (redis-server when on PATH, else the embedded one), and how to stop it."""
    server = shutil.which("redis-server")
    if server is None:
        url = broker.ensure_embedded(tmp / "redis")
        return url, lambda: broker.stop(data_dir=tmp / "redis")
    port = _free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=(tmp / "redis.log").open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return process.poll() is not None  # exited: stop waiting, the check below fails

    wait_for(answers, what="redis-server to answer", timeout=30)
    client.close()
    assert process.poll() is None, (tmp / "redis.log").read_text()
    return url, lambda: stop_process_group(process)


def _command(args: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "pipeline_queue", *args], cwd=ROOT, env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


@pytest.fixture(scope="module")
def cli_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliEnvironment]:
    """Commands as a user runs them, each a subprocess; the CLI cannot set a key prefix, so Redis is our own."""
    tmp = tmp_path_factory.mktemp("cli-end-to-end")
    url, stop_redis = _own_redis(tmp)
    data_dir = tmp / "data"
    database = store.database_url(data_dir=data_dir)
    store.migrate(database)
    engine = store.create_engine(database)
    (tmp / "registries.yml").write_text(REGISTRIES)
    try:
        with DevCluster(nodes=1, registries=tmp / "registries.yml", data_dir=tmp / "cluster",
                        kubeconfig=tmp / "kubeconfig") as cluster:
            namespace = f"cli-{uuid.uuid4().hex[:8]}"
            api = cluster.api_client()
            kubernetes.client.CoreV1Api(api).create_namespace({"metadata": {"name": namespace}})
            api.close()
            env = {k: v for k, v in os.environ.items() if not k.startswith("PQ_")}
            env.update(REDIS_URL=url, KUBECONFIG=str(cluster.kubeconfig_path), PQ_DATA_DIR=str(data_dir),
                       DATABASE_URL=database, PQ_NAMESPACE=namespace, PYTHONPATH=str(ROOT))
            worker = _command(["worker", "-Q", "control,default", "-c", "2", "-n", f"cli-{uuid.uuid4().hex[:6]}@%h"],
                              env=env, log=tmp / "worker.log")
            watch = _command(["watch"], env=env, log=tmp / "watch.log")
            try:
                yield CliEnvironment(env, store.session_factory(engine), Kube(make_api_client(cluster.kubeconfig_path)),
                                     tmp)
            finally:
                stop_process_group(watch)
                stop_process_group(worker)
    finally:
        engine.dispose()
        stop_redis()
