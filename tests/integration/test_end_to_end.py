"""A run end to end: file -> build and Secrets -> `pq.advance` on a real Redis -> real Celery workers -> pods.

Redis is 127.0.0.1:6379 (database 9) when it answers, else an embedded one; every key carries this module's
own prefix and only those are deleted. The pod watcher runs in a thread and sends `advance` for pod changes.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import kubernetes
import pytest
import redis
from rich.console import Console

from pipeline_queue import broker, store
from pipeline_queue.commands.run import follow_build
from pipeline_queue.devcluster.cluster import DevCluster
from pipeline_queue.kube import Kube, make_api_client
from pipeline_queue.producer import SubmittedBuild, submit_file
from pipeline_queue.settings import RunConfig, Settings
from pipeline_queue.store import BuildDetail, Status
from pipeline_queue.watcher.adapter import PodWatcher, WatchOptions
from tests.conftest import ROOT
from workers.app import QueueApp, make_app
from workers.tasks import send_advances

SHARED = "redis://127.0.0.1:6379/9"
BUILD_TIMEOUT = 90.0

PASSING = """
kind: pipeline
type: kubernetes
name: default
steps:
- name: build
  image: alpine:3.19
  environment:
    GREETING: {from_secret: greeting}
  commands: [echo compiled-the-app]
- name: test
  image: alpine:3.19
  commands: [echo all-tests-passed]
"""

FAILING = """
kind: pipeline
type: kubernetes
name: default
steps:
- name: broken
  image: alpine:3.19
  commands: [echo about-to-fail, exit 3]
- name: never
  image: alpine:3.19
  commands: [echo unreachable]
"""

IGNORED = """
kind: pipeline
type: kubernetes
name: default
steps:
- name: flaky
  image: alpine:3.19
  failure: ignore
  commands: [exit 5]
- name: after
  image: alpine:3.19
  commands: [echo still-ran]
"""

CHAINED = """
kind: pipeline
type: kubernetes
name: first
steps:
- name: one
  image: alpine:3.19
  commands: [echo first-stage]
---
kind: pipeline
type: kubernetes
name: second
depends_on: [first]
steps:
- name: two
  image: alpine:3.19
  commands: [echo second-stage]
"""


@dataclass
class Environment:
    settings: Settings
    sessions: object
    kube: Kube
    sender: QueueApp
    tmp: Path


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
            log: Path) -> subprocess.Popen:
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "PQ_DATA_DIR": str(data_dir),
        "KUBECONFIG": str(cluster.kubeconfig_path),
        "PQ_NAMESPACE": namespace,
        "PQ_TEST_BROKER_URL": url,
        "PQ_TEST_KEY_PREFIX": prefix,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.workers.testapp", "worker", "-Q", "control,default",
         "-c", "2", "-P", "prefork", "-n", f"e2e-{uuid.uuid4().hex[:6]}@%h", "--without-gossip",
         "--without-mingle", "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environment]:
    tmp = tmp_path_factory.mktemp("end-to-end")
    url, client, embedded = _redis(tmp)
    prefix = f"pq-e2e-{uuid.uuid4().hex[:12]}:"
    data_dir = tmp / "data"
    store.migrate(store.database_url(data_dir=data_dir))
    engine = store.create_engine(store.database_url(data_dir=data_dir))
    with DevCluster(nodes=2, data_dir=tmp / "cluster", kubeconfig=tmp / "kubeconfig") as cluster:
        namespace = f"e2e-{uuid.uuid4().hex[:8]}"
        api = cluster.api_client()
        kubernetes.client.CoreV1Api(api).create_namespace({"metadata": {"name": namespace}})
        settings = Settings(run=RunConfig(namespace=namespace))
        sender = make_app(settings, broker_url=url,
                          overrides={"broker_transport_options": {"global_keyprefix": prefix}})
        watcher = PodWatcher(api, send=lambda stage_id: send_advances(sender, [stage_id]),
                             options=WatchOptions(timeout_seconds=5, backoff=0.2))
        thread = threading.Thread(target=watcher.run, name="pod-watcher", daemon=True)
        thread.start()
        worker = _worker(url, prefix, data_dir=data_dir, cluster=cluster, namespace=namespace,
                         log=tmp / "worker.log")
        kube = Kube(make_api_client(cluster.kubeconfig_path))
        try:
            yield Environment(settings, store.session_factory(engine), kube, sender, tmp)
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=20)
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


def run(env: Environment, text: str, *, repo: str, secrets: dict[str, str] | None = None) -> SubmittedBuild:
    path = env.tmp / f"{uuid.uuid4().hex[:8]}.yml"
    path.write_text(text)
    return submit_file(path, repo=repo, branch="main", commit="c" * 40, event="push", secrets=secrets or {},
                       settings=env.settings, sessions=env.sessions, kube=env.kube,
                       send=lambda ids: send_advances(env.sender, ids))


def finished(env: Environment, build_id: int) -> BuildDetail:
    deadline = time.monotonic() + BUILD_TIMEOUT
    while True:
        with env.sessions.begin() as session:
            detail = store.get_build(session, build_id)
        if detail.build.status.terminal:
            return detail
        if time.monotonic() > deadline:
            log = (env.tmp / "worker.log").read_text()[-4000:]
            raise AssertionError(f"build {build_id} still {detail.build.status} after {BUILD_TIMEOUT}s:\n{log}")
        time.sleep(0.1)


def logs(env: Environment, detail: BuildDetail) -> dict[str, str]:
    with env.sessions.begin() as session:
        return {step.name: store.get_log(session, step.id).text for stage in detail.stages for step in stage.steps}


def steps(detail: BuildDetail) -> dict[str, tuple[Status, int | None]]:
    return {step.name: (step.status, step.exit_code) for stage in detail.stages for step in stage.steps}


def test_a_two_step_build_passes_with_the_commands_output_in_its_logs(environment):
    submitted = run(environment, PASSING, repo="octo/pass", secrets={"greeting": "hello-secret-7781"})
    detail = finished(environment, submitted.build_id)
    assert detail.build.status is Status.SUCCESS
    assert steps(detail) == {"build": (Status.SUCCESS, 0), "test": (Status.SUCCESS, 0)}
    text = logs(environment, detail)
    assert "compiled-the-app" in text["build"] and "all-tests-passed" in text["test"]


def test_a_failing_step_fails_the_build_with_its_exit_code(environment):
    detail = finished(environment, run(environment, FAILING, repo="octo/fail").build_id)
    assert detail.build.status is Status.FAILURE
    assert steps(detail) == {"broken": (Status.FAILURE, 3), "never": (Status.SKIPPED, None)}
    assert "about-to-fail" in logs(environment, detail)["broken"]


def test_a_step_whose_failure_is_ignored_does_not_fail_the_build(environment):
    detail = finished(environment, run(environment, IGNORED, repo="octo/ignore").build_id)
    assert detail.build.status is Status.SUCCESS
    assert steps(detail) == {"flaky": (Status.FAILURE, 5), "after": (Status.SUCCESS, 0)}
    assert "still-ran" in logs(environment, detail)["after"]


def test_a_pipeline_that_depends_on_another_runs_after_it(environment):
    submitted = run(environment, CHAINED, repo="octo/chain")
    assert len(submitted.enqueued) == 1
    detail = finished(environment, submitted.build_id)
    assert detail.build.status is Status.SUCCESS
    first, second = detail.stages
    assert second.started >= first.finished
    assert "second-stage" in logs(environment, detail)["two"]


def test_following_a_build_prints_each_step_and_its_log_and_says_whether_it_passed(environment):
    submitted = run(environment, FAILING, repo="octo/follow")
    output = io.StringIO()
    passed = follow_build(Console(file=output, width=200), environment.sessions, submitted.build_id)
    text = output.getvalue()
    assert passed is False
    assert "default/broken: failure (exit code 3)" in text and "about-to-fail" in text
    assert "default/never: skipped" in text and text.rstrip().endswith("build #1: failure")
