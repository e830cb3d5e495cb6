"""The cluster sweep (the sweep task's body) against the development cluster: real pods pull real images, the
index follows."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import kubernetes

from pipeline_queue import keys
from pipeline_queue.cache.index import all_nodes, images_on, nodes_with, sweep_cluster
from pipeline_queue.cache.node_watch import NodeWatcher
from pipeline_queue.devcluster.node.registries import tag_digest
from pipeline_queue.kube import Kube, make_api_client


def pinned_pod(name: str, namespace: str, *, image: str, node: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
        "spec": {"restartPolicy": "Never", "nodeSelector": {"kubernetes.io/hostname": node},
                 "containers": [{"name": "step", "image": image, "command": ["true"]}]},
    }


def wait_until(condition, *, what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result


def test_a_sweep_shows_each_pulled_image_on_the_node_that_pulled_it(devcluster, client, prefix):
    kube = Kube(make_api_client(devcluster.kubeconfig_path))
    namespace = f"cache-{uuid.uuid4().hex[:8]}"
    kubernetes.client.CoreV1Api(devcluster.api_client()).create_namespace({"metadata": {"name": namespace}})
    kube.create(pinned_pod("on-one", namespace, image="busybox:1.36", node="node-1"))
    kube.create(pinned_pod("on-two", namespace, image="alpine:3.19", node="node-2"))
    for name in ("on-one", "on-two"):
        wait_until(lambda name=name: kube.get_pod(namespace, name).get("status", {}).get("phase") == "Succeeded",
                   what=f"pod {name} to succeed")

    figures = sweep_cluster(kube, redis=client, prefix=prefix)

    assert figures is not None and figures.nodes == 2 and figures.removed_nodes == 0
    assert all_nodes(client, prefix=prefix) == ("node-1", "node-2")
    busybox = tag_digest("docker.io", "library/busybox", "1.36")
    assert nodes_with(client, "busybox:1.36", prefix=prefix) == ("node-1",)
    assert nodes_with(client, busybox, prefix=prefix) == ("node-1",)
    assert nodes_with(client, "alpine:3.19", prefix=prefix) == ("node-2",)
    names_on_one = [image.name for image in images_on(client, "node-1", prefix=prefix)]
    assert names_on_one == ["docker.io/library/busybox:1.36", f"docker.io/library/busybox@{busybox}"]
    again = sweep_cluster(kube, redis=client, prefix=prefix)
    assert again is not None and again.writes == 0


def test_a_sweep_already_running_makes_the_next_one_stand_aside(devcluster, client, prefix):
    kube = Kube(make_api_client(devcluster.kubeconfig_path))
    held = client.lock(keys.CACHE_SWEEP_LOCK.format(prefix=prefix), timeout=30, blocking=False)
    assert held.acquire()
    try:
        assert sweep_cluster(kube, redis=client, prefix=prefix) is None
        assert all_nodes(client, prefix=prefix) == ()
    finally:
        held.release()
    assert sweep_cluster(kube, redis=client, prefix=prefix) is not None


def test_the_node_watch_shows_a_pull_within_seconds_and_drops_a_deleted_node(devcluster, client, prefix):
    """The index follows node events: no sweep runs here, only the watch."""
    kube = Kube(make_api_client(devcluster.kubeconfig_path))
    watcher = NodeWatcher(kube, redis=client, prefix=prefix, timeout_seconds=5, backoff=0.1)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: all_nodes(client, prefix=prefix) == ("node-1", "node-2"), what="the first list")
        namespace = f"cache-{uuid.uuid4().hex[:8]}"
        kubernetes.client.CoreV1Api(devcluster.api_client()).create_namespace({"metadata": {"name": namespace}})
        kube.create(pinned_pod("watched", namespace, image="redis:7", node="node-2"))
        wait_until(lambda: nodes_with(client, "redis:7", prefix=prefix) == ("node-2",),
                   what="the pulled image in the index, from a node event", timeout=10)
        core = kubernetes.client.CoreV1Api(devcluster.api_client())
        extra = f"extra-{uuid.uuid4().hex[:6]}"  # a node of this test's own: the others stay for the other tests
        core.create_node({"metadata": {"name": extra}, "status": {"images": [
            {"names": ["docker.io/library/busybox:1.36"], "sizeBytes": 10}]}})
        wait_until(lambda: extra in all_nodes(client, prefix=prefix), what="the added node in the index", timeout=10)
        core.delete_node(extra)
        wait_until(lambda: extra not in all_nodes(client, prefix=prefix), what="the deleted node to leave",
                   timeout=10)
    finally:
        watcher.stop()
        thread.join(timeout=10)
