"""The pod watcher's adapter against the development cluster: pods of ours in, advances out."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from pipeline_queue.devcluster.cluster import DevCluster
from pipeline_queue.kube import Kube
from pipeline_queue.watcher.adapter import PodWatcher, WatchOptions
from pipeline_queue.watcher.state import WatchState

OURS = {"app.kubernetes.io/managed-by": "pipeline-queue"}


class Recorder:
    """The fake sender: remembers every stage id it was asked to advance."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, stage_id: int) -> None:
        with self.lock:
            self.sent.append(stage_id)

    def count(self, stage_id: int) -> int:
        with self.lock:
            return self.sent.count(stage_id)


def stage_pod(manifest: Callable[..., dict[str, Any]], name: str, stage: str) -> dict[str, Any]:
    body = manifest(name, labels={**OURS, "pipeline-queue.io/stage": stage})
    body["metadata"]["annotations"] = {"pipeline-queue.io/stage-id": stage}
    return body


@pytest.fixture
def run_watcher() -> Iterator[Callable[..., PodWatcher]]:
    started: list[tuple[PodWatcher, threading.Thread]] = []

    def start(client: kubernetes.client.ApiClient, send: Recorder, *, state: WatchState | None = None) -> PodWatcher:
        watcher = PodWatcher(Kube(client), send=send, options=WatchOptions(timeout_seconds=2, backoff=0.1), state=state)
        thread = threading.Thread(target=watcher.run, daemon=True)
        thread.start()
        started.append((watcher, thread))
        return watcher

    yield start
    for watcher, thread in started:
        watcher.stop()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the watcher did not stop"


def test_pods_of_a_stage_advance_it_and_foreign_pods_do_not(api, core, namespace, parked_pod, wait_for,
                                                            run_watcher) -> None:
    sent = Recorder()
    watcher = run_watcher(api, sent)
    wait_for(lambda: not watcher.state.needs_list, what="the first list")
    earlier = set(sent.sent)  # pods other tests left in the cluster
    core.create_namespaced_pod(namespace, stage_pod(parked_pod, "pq-41-build", "41"))
    core.create_namespaced_pod(namespace, parked_pod("not-ours", labels={"app": "web"}))
    core.create_namespaced_pod(namespace, stage_pod(parked_pod, "pq-x-build", "1-3f2a9c1b"))
    core.create_namespaced_pod(namespace, stage_pod(parked_pod, "pq-41-test", "41"))
    wait_for(lambda: sent.count(41) >= 2, what="advances for stage 41")
    core.delete_namespaced_pod("pq-41-build", namespace)
    wait_for(lambda: sent.count(41) >= 3, what="an advance after the pod was deleted")
    assert set(sent.sent) - earlier == {41}


def test_a_running_pod_advances_its_stage_as_its_status_moves(api, core, namespace, parked_pod, wait_for,
                                                              run_watcher) -> None:
    sent = Recorder()
    watcher = run_watcher(api, sent)
    wait_for(lambda: not watcher.state.needs_list, what="the first list")
    earlier = set(sent.sent)
    body = stage_pod(parked_pod, "pq-42-build", "42")
    del body["spec"]["schedulerName"]  # let the development cluster schedule and run it
    body["spec"]["restartPolicy"] = "Never"
    core.create_namespaced_pod(namespace, body)
    wait_for(lambda: core.read_namespaced_pod("pq-42-build", namespace).status.phase in ("Succeeded", "Failed"),
             timeout=30, what="the pod to finish")
    wait_for(lambda: sent.count(42) >= 2, what="advances as the pod ran")
    assert set(sent.sent) - earlier == {42}


def test_watcher_started_late_lists_what_exists(api, core, namespace, parked_pod, wait_for, run_watcher) -> None:
    core.create_namespaced_pod(namespace, stage_pod(parked_pod, "pq-43-build", "43"))
    sent = Recorder()
    run_watcher(api, sent)
    wait_for(lambda: sent.count(43) >= 1, what="an advance from the first list")


@pytest.fixture(scope="module")
def short_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevCluster]:
    base: Path = tmp_path_factory.mktemp("short-history")
    with DevCluster(nodes=1, data_dir=base / "data", kubeconfig=base / "kubeconfig", history=5) as cluster:
        yield cluster


def test_a_version_too_old_to_resume_from_is_gone_and_the_watcher_lists_again(short_history, parked_pod, wait_for,
                                                                              run_watcher) -> None:
    client = short_history.api_client()
    core = kubernetes.client.CoreV1Api(client)
    core.create_namespace({"metadata": {"name": "old"}})
    first = core.create_namespaced_pod("old", stage_pod(parked_pod, "pq-44-build", "44"))
    for index in range(10):  # push the first pod's version out of the history kept
        core.create_namespaced_pod("old", parked_pod(f"filler-{index}"))
    # As if a previous watch had stopped at the first pod's version and knew that pod already.
    state = WatchState(resource_version=first.metadata.resource_version)
    sent = Recorder()
    watcher = run_watcher(client, sent, state=state)
    wait_for(lambda: sent.count(44) >= 1, what="an advance after the re-list")
    assert int(watcher.state.resource_version) > int(first.metadata.resource_version)
    client.close()
