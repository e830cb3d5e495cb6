"""Faults on a real system: a worker SIGKILLed mid-advance, Redis restarted under queued builds (with and
without persistence), and a Kubernetes API answering 500 for a while. Each run must still finish its builds,
create no pod twice and leave no Secret behind.

Each test has its own redis-server (own port and directory), dev cluster, store and worker process groups.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline_queue.store import BuildDetail
from pipeline_queue.vocabulary import Status
from tests.integration.faults_support import (
    BUILD_TIMEOUT,
    HoldingProxy,
    OutageProxy,
    RedisServer,
    Stack,
    queued,
    stack,
    wait_for,
)
from tests.kube.flaky_proxy import FlakyProxy

pytestmark = pytest.mark.timeout(600)

SEQUENTIAL = """
kind: pipeline
type: kubernetes
name: default
steps:
- name: one
  image: alpine:3.19
  environment:
    TOKEN: {from_secret: token}
  commands: [sleep 1, echo step-one-done]
- name: two
  image: alpine:3.19
  commands: [sleep 1, echo step-two-done]
- name: three
  image: alpine:3.19
  commands: [sleep 1, echo step-three-done]
"""

QUICK = """
kind: pipeline
type: kubernetes
name: default
steps:
- name: only
  image: alpine:3.19
  environment:
    TOKEN: {from_secret: token}
  commands: [echo quick-build-done]
"""

PERSISTENT = ("--appendonly", "yes", "--appendfsync", "always", "--save", "")
EPHEMERAL = ("--appendonly", "no", "--save", "")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    yield server
    server.stop()


def creates_pod_of(step: str) -> Any:
    """Picks the request that creates the pod of `step` (pod names end in `-<step>`)."""

    def pick(method: str, path: str, body: dict[str, Any]) -> bool:
        name = str((body.get("metadata") or {}).get("name", ""))
        return method == "POST" and path.split("?")[0].endswith("/pods") and name.endswith(f"-{step}")

    return pick


def assert_clean_success(env: Stack, detail: BuildDetail, *, steps: dict[str, str]) -> None:
    """Passed, every step ran once with its output logged, one pod per step, and nothing left in the cluster."""
    assert detail.build.status is Status.SUCCESS, detail
    recorded = {step.name: (step.status, step.exit_code) for stage in detail.stages for step in stage.steps}
    assert recorded == {name: (Status.SUCCESS, 0) for name in steps}
    logs = env.logs(detail)
    assert all(text in logs[name] for name, text in steps.items()), logs
    created = env.pods.counts()
    assert {name: created.get(name) for name in env.pod_names(detail)} == dict.fromkeys(env.pod_names(detail), 1)
    wait_for(lambda: not env.objects("Secret", detail) and not env.objects("Pod", detail), timeout=60,
             what=f"the Secrets and pods of build {detail.build.id} to be deleted")


def test_a_worker_killed_while_creating_a_pod_loses_nothing_and_creates_no_pod_twice(
        tmp_path: Path, redis_server: RedisServer) -> None:
    redis_server.start(*EPHEMERAL)
    with (stack(tmp_path, broker_url=redis_server.url, visibility=5) as env,
          HoldingProxy(env.cluster.url, hold=creates_pod_of("two")) as proxy):
        kubeconfig = env.kubeconfig_for(proxy.url)
        workers = [env.workers.start(kubeconfig), env.workers.start(kubeconfig)]
        submitted = env.submit(SEQUENTIAL, repo="octo/killed", secrets={"token": "t0k3n-4471"})
        # The pod of step two is created, but the worker that asked never hears back: kill it right there.
        wait_for(proxy.held.is_set, timeout=BUILD_TIMEOUT, what="a worker to create the pod of step two",
                 explain=env.workers.log)
        group = os.getpgid(proxy.holder_pid())
        [victim] = [process for process in workers if process.pid == group]
        os.killpg(group, signal.SIGKILL)
        victim.wait(timeout=30)
        proxy.release()
        wait_for(lambda: [name for name in env.pods.counts() if name.endswith("-two")],
                 what="the held create to have reached the cluster")
        env.sender.send_task("pq.resync")  # as beat does every minute
        detail = env.finished(submitted.build_id)
        assert_clean_success(env, detail, steps={"one": "step-one-done", "two": "step-two-done",
                                                 "three": "step-three-done"})
        assert [process.poll() for process in workers if process is not victim] == [None]


@pytest.mark.parametrize("options", [PERSISTENT, EPHEMERAL],
                         ids=["append-only-file", "no-persistence"])
def test_builds_queued_across_a_redis_restart_all_finish(tmp_path: Path, redis_server: RedisServer,
                                                         options: tuple[str, ...]) -> None:
    redis_server.start(*options)
    with stack(tmp_path, broker_url=redis_server.url) as env, redis_server.client() as client:
        submitted = [env.submit(QUICK, repo=f"octo/queued-{index}", secrets={"token": f"t-{index}"})
                     for index in range(5)]
        assert queued(client, env) == 5
        redis_server.shutdown()
        redis_server.start(*options)
        if options is PERSISTENT:
            assert queued(client, env) == 5  # the append-only file kept every queued advance
        else:
            assert queued(client, env) == 0  # the queue is gone; the store still knows the builds
        env.workers.start(env.cluster.kubeconfig_path, concurrency=2)
        if options is EPHEMERAL:
            env.sender.send_task("pq.resync")  # as beat does every minute
        for build in submitted:
            assert_clean_success(env, env.finished(build.build_id), steps={"only": "quick-build-done"})


def test_a_few_failed_api_requests_are_retried_and_the_build_passes(tmp_path: Path,
                                                                    redis_server: RedisServer) -> None:
    redis_server.start(*EPHEMERAL)
    with stack(tmp_path, broker_url=redis_server.url) as env, FlakyProxy(env.cluster.url, failures=3) as proxy:
        env.workers.start(env.kubeconfig_for(proxy.url), concurrency=2)
        submitted = env.submit(SEQUENTIAL, repo="octo/flaky", secrets={"token": "t0k3n-9912"})
        detail = env.finished(submitted.build_id)
        assert proxy.requests > proxy.failures
        assert_clean_success(env, detail, steps={"one": "step-one-done", "two": "step-two-done",
                                                 "three": "step-three-done"})


def test_an_api_answering_500_for_longer_than_the_retries_last_does_not_fail_the_build(
        tmp_path: Path, redis_server: RedisServer) -> None:
    redis_server.start(*EPHEMERAL)
    with (stack(tmp_path, broker_url=redis_server.url) as env,
          OutageProxy(env.cluster.url, seconds=10) as proxy):
        env.workers.start(env.kubeconfig_for(proxy.url), concurrency=2)
        submitted = env.submit(SEQUENTIAL, repo="octo/outage", secrets={"token": "t0k3n-5520"})
        wait_for(lambda: proxy.failed >= 6, timeout=BUILD_TIMEOUT, what="the workers to meet the outage",
                 explain=env.workers.log)
        detail = env.finished(submitted.build_id)
        assert_clean_success(env, detail, steps={"one": "step-one-done", "two": "step-two-done",
                                                 "three": "step-three-done"})
