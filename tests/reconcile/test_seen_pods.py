"""The pod watch's shared view in Redis (`kube.seen`): what the watcher writes, what workers read instead of listing,
and what a stage then costs in Kubernetes API requests, on the development cluster and a real Redis."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pipeline_queue import broker, keys
from pipeline_queue.kube import Kube, RetryPolicy, make_api_client
from pipeline_queue.kube.seen import SeenPods, trimmed
from pipeline_queue.producer.submit import BuildEvent, submit_text
from pipeline_queue.reconcile.service import advance_stage
from pipeline_queue.settings import PathsConfig, RunConfig, Settings
from pipeline_queue.vocabulary import Status
from pipeline_queue.watcher.adapter import PodWatcher, WatchOptions
from tests.polling import wait_for
from tests.reconcile import test_service as shared

SHARED = "redis://127.0.0.1:6379/11"
cluster, namespace = shared.cluster, shared.namespace  # the development cluster of tests/reconcile, one per module
TWO_STEPS = """
kind: pipeline
type: kubernetes
name: default
steps:
- name: build
  image: alpine:3.19
  commands: [echo building]
- name: test
  image: alpine:3.19
  commands: [echo testing]
"""


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        broker.redis_client(SHARED, quick=True).ping()
        yield SHARED
    except Exception:
        folder = tmp_path_factory.mktemp("seen-redis")
        yield broker.ensure_embedded(folder)
        broker.stop(data_dir=folder)


@pytest.fixture
def seen(redis_url: str) -> Iterator[SeenPods]:
    prefix = f"pq-test-seen-{uuid.uuid4().hex[:10]}:"
    client = broker.redis_client(redis_url)
    yield SeenPods(client, prefix=prefix)
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        client.delete(key)
    client.close()


class CountingKube(Kube):
    """The real Kube, counting its requests by verb."""

    def __init__(self, *args: Any, **options: Any) -> None:
        super().__init__(*args, **options)
        self.requests: Counter[str] = Counter()

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.requests["POST"] += 1
        return super().create(obj)

    def get(self, kind: str, where: str, name: str) -> dict[str, Any]:
        self.requests["GET"] += 1
        return super().get(kind, where, name)

    def list(self, kind: str, where: str, *, label_selector: str = "") -> list[dict[str, Any]]:
        self.requests["LIST"] += 1
        return super().list(kind, where, label_selector=label_selector)

    def delete(self, kind: str, where: str, name: str, *, missing_ok: bool = False) -> bool:
        self.requests["DELETE"] += 1
        return super().delete(kind, where, name, missing_ok=missing_ok)

    def delete_collection(self, kind: str, where: str, label_selector: str) -> int:
        self.requests["DELETE"] += 1
        return super().delete_collection(kind, where, label_selector)

    def read_log(self, where: str, pod: str, container: str) -> str:
        self.requests["LOG"] += 1
        return super().read_log(where, pod, container)


@contextmanager
def watching(cluster: Any, seen: SeenPods) -> Iterator[PodWatcher]:
    """A pod watcher keeping `seen`, in a thread, from its first list until the block ends."""
    watcher = PodWatcher(Kube(cluster.api_client()), send=lambda stage_id: None, seen=seen,
                         options=WatchOptions(timeout_seconds=5, backoff=0.1))
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        wait_for(seen.synced, what="the watcher's first list")
        yield watcher
    finally:
        watcher.stop()
        thread.join(timeout=10)


def _pod(name: str, stage: int, phase: str = "Pending", env_size: int = 0) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "annotations": {"pipeline-queue.io/stage-id": str(stage)},
                         "labels": {"pipeline-queue.io/stage": "k", "app.kubernetes.io/managed-by": "pipeline-queue"},
                         "managedFields": [{"big": "x" * 100}]},
            "spec": {"nodeName": "node-1", "containers": [{"name": "step", "image": "alpine:3.19",
                                                           "imagePullPolicy": "IfNotPresent",
                                                           "env": [{"name": f"V{i}", "value": "v"}
                                                                   for i in range(env_size)]}]},
            "status": {"phase": phase}}


def test_the_watch_s_events_and_relists_make_the_view_a_worker_reads(seen: SeenPods) -> None:
    assert not seen.synced()
    token = seen.replace_all([_pod("a", 1), _pod("b", 2)])
    assert seen.synced() and seen.renew(token) and not seen.renew("another-watcher")
    seen.record("MODIFIED", _pod("a", 1, phase="Running"))
    seen.record("DELETED", _pod("b", 2))
    assert seen.pods(1) == {"a": trimmed(_pod("a", 1, phase="Running"))} and seen.pods(2) == {}
    seen.created(1, _pod("a", 1))  # a worker's copy of a pod the watch already saw is older: not written
    assert seen.pods(1)["a"]["status"]["phase"] == "Running"
    seen.replace_all([_pod("c", 3)])  # pods gone while the watch was down leave the view at the next list
    assert (seen.pods(1), list(seen.pods(3))) == ({}, ["c"])
    seen.forget_sync()
    assert not seen.synced()


def test_a_seen_pod_keeps_what_workers_read_and_drops_the_rest() -> None:
    kept = trimmed(_pod("a", 1, env_size=50))
    assert kept["spec"] == {"nodeName": "node-1", "containers": [
        {"name": "step", "image": "alpine:3.19", "imagePullPolicy": "IfNotPresent"}]}
    assert "managedFields" not in kept["metadata"] and kept["status"] == {"phase": "Pending"}


def _submitted(namespace: str, sessions: Any, tmp_path: Path) -> tuple[int, Settings]:
    """A stage stored by the real producer (so its pods carry its stage id, as every production pod does)."""
    settings = Settings(run=RunConfig(namespace=namespace), paths=PathsConfig(data_dir=tmp_path / "data"))
    submitted = submit_text(TWO_STEPS, filename=".drone.yml", event=BuildEvent(repo="octo/app", branch="main",
                            commit="a" * 40), settings=settings, sessions=sessions, send=lambda ids: None)
    stage_id = submitted.stages[0].stage_id
    assert stage_id is not None
    return stage_id, settings


def test_a_stage_costs_a_pod_and_a_log_read_per_step_and_one_delete(namespace, cluster, sessions, tmp_path,
                                                                     seen: SeenPods) -> None:
    kube = CountingKube(make_api_client(cluster.kubeconfig_path), retry=RetryPolicy(attempts=3, base_delay=0.05))
    with watching(cluster, seen):
        stage_id, settings = _submitted(namespace, sessions, tmp_path)

        def advanced():
            result = advance_stage(stage_id, sessions=sessions, kube=kube, settings=settings, seen=seen)
            return result if result.finished else None

        assert wait_for(advanced, what="the stage to finish", timeout=60, interval=0.05).status is Status.SUCCESS
        # claim + 2 pods created, 2 logs read, the claim deleted; no list, no read of what the watch saw
        assert kube.requests == Counter({"POST": 3, "LOG": 2, "DELETE": 1})
        for _ in range(3):  # late pod events of the finished stage cost nothing
            assert advance_stage(stage_id, sessions=sessions, kube=kube, settings=settings, seen=seen).finished
        assert sum(kube.requests.values()) == 6
        assert wait_for(lambda: Kube(cluster.api_client()).list("Pod", namespace) == [],
                        what="the claim's pods collected")
    assert not seen.synced()  # a stopped watcher leaves no view for workers to trust


def test_a_lost_view_makes_the_watcher_list_again(cluster, seen: SeenPods) -> None:
    with watching(cluster, seen):
        seen.redis.delete(keys.SEEN_SYNCED.format(prefix=seen.prefix))  # Redis restarted empty
        wait_for(seen.synced, what="a new list and mark", timeout=keys.SEEN_SYNCED_TTL * 2)


def test_workers_list_pods_while_no_watcher_keeps_the_view(namespace, cluster, sessions, tmp_path,
                                                           seen: SeenPods) -> None:
    kube = CountingKube(make_api_client(cluster.kubeconfig_path), retry=RetryPolicy(attempts=3, base_delay=0.05))
    stage_id, settings = _submitted(namespace, sessions, tmp_path)
    advance_stage(stage_id, sessions=sessions, kube=kube, settings=settings, seen=seen)
    assert kube.requests["LIST"] == 1
