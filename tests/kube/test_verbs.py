"""The Kubernetes verbs against the development cluster: plain dicts, our errors by HTTP status, retries."""

from __future__ import annotations

import socket
import time

import kubernetes
import pytest
from kubernetes.client.exceptions import ApiException

from pipeline_queue.devcluster.cluster import DevCluster
from pipeline_queue.kube import (
    AlreadyExistsError,
    InvalidError,
    Kube,
    NotFoundError,
    RetryPolicy,
    TransientKubeError,
)
from tests.kube.flaky_proxy import FlakyProxy


def pod(name: str, namespace: str, *, command: str = "true", labels: dict[str, str] | None = None) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": {"restartPolicy": "Never",
                 "containers": [{"name": "step", "image": "busybox:1.36", "command": ["sh", "-c", command]}]},
    }


def secret(name: str, namespace: str, labels: dict[str, str] | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace,
                                                               "labels": labels or {}},
            "type": "Opaque", "data": {"k": "dg=="}}


def through(url: str, *, attempts: int, pauses: list[float], token: str = "") -> Kube:
    configuration = kubernetes.client.Configuration()
    configuration.host = url
    configuration.api_key = {"authorization": f"Bearer {token}"}
    return Kube(kubernetes.client.ApiClient(configuration),
                retry=RetryPolicy(attempts=attempts, sleep=pauses.append))


def test_create_returns_the_stored_object_and_a_second_create_is_already_exists(kube, namespace):
    created = kube.create(pod("p1", namespace))
    assert created["metadata"]["uid"] and created["spec"]["containers"][0]["name"] == "step"
    with pytest.raises(AlreadyExistsError) as caught:
        kube.create(pod("p1", namespace))
    assert caught.value.status == 409 and isinstance(caught.value.__cause__, ApiException)
    assert f"creating Pod {namespace}/p1" in str(caught.value)


@pytest.mark.parametrize("kind", ["Secret", "Service", "PersistentVolumeClaim"])
def test_create_dispatches_by_kind(kube, namespace, kind):
    bodies = {
        "Secret": secret("s", namespace),
        "Service": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": namespace},
                    "spec": {"clusterIP": "None", "selector": {"a": "b"}}},
        "PersistentVolumeClaim": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                  "metadata": {"name": "s", "namespace": namespace},
                                  "spec": {"accessModes": ["ReadWriteOnce"],
                                           "resources": {"requests": {"storage": "1Gi"}}}},
    }
    kube.create(bodies[kind])
    assert kube.get(kind, namespace, "s")["kind"] == kind


def test_missing_objects_are_not_found(kube, namespace):
    with pytest.raises(NotFoundError) as caught:
        kube.get_pod(namespace, "nope")
    assert caught.value.status == 404 and f"{namespace}/nope" in str(caught.value)
    with pytest.raises(NotFoundError):
        kube.delete("Pod", namespace, "nope")
    assert kube.delete("Pod", namespace, "nope", missing_ok=True) is False


def test_an_invalid_object_is_invalid_with_the_servers_reason(kube, namespace):
    broken = pod("bad", namespace)
    broken["spec"]["containers"] = []
    with pytest.raises(InvalidError) as caught:
        kube.create(broken)
    assert caught.value.status == 422 and "containers" in str(caught.value)


def test_list_and_delete_collection_by_label(kube, namespace):
    kube.create(pod("a", namespace, labels={"stage": "s1"}))
    kube.create(pod("b", namespace, labels={"stage": "s2"}))
    kube.create(secret("sa", namespace, labels={"stage": "s1"}))
    assert [p["metadata"]["name"] for p in kube.list_pods(namespace, "stage=s1")] == ["a"]
    assert kube.delete_collection("Secret", namespace, "stage=s1") == 1
    kube.delete_collection("Pod", namespace, "stage=s1")
    deadline = time.monotonic() + 10
    while kube.list_pods(namespace, "stage=s1") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert kube.list_pods(namespace, "stage=s1") == []
    assert [p["metadata"]["name"] for p in kube.list_pods(namespace)] == ["b"]


def test_read_log_returns_what_the_container_printed(kube, namespace):
    kube.create(pod("talk", namespace, command="echo hello; echo world"))
    deadline = time.monotonic() + 15
    while kube.get_pod(namespace, "talk").get("status", {}).get("phase") not in ("Succeeded", "Failed"):
        assert time.monotonic() < deadline, "the pod did not finish"
        time.sleep(0.05)
    assert kube.read_log(namespace, "talk", "step") == "hello\nworld\n"


def test_5xx_answers_are_retried_with_backoff_then_succeed(cluster: DevCluster, namespace):
    pauses: list[float] = []
    with FlakyProxy(cluster.url, failures=2, status=500) as proxy:
        created = through(proxy.url, attempts=4, pauses=pauses, token=cluster.token).create(pod("retried", namespace))
    assert created["metadata"]["name"] == "retried"
    assert proxy.requests == 3 and len(pauses) == 2 and pauses[0] <= pauses[1] * 2


def test_429_is_retried_and_the_last_failure_is_transient(cluster: DevCluster, namespace):
    pauses: list[float] = []
    with FlakyProxy(cluster.url, failures=99, status=429) as proxy, pytest.raises(TransientKubeError) as caught:
        through(proxy.url, attempts=3, pauses=pauses, token=cluster.token).create(pod("never", namespace))
    assert proxy.requests == 3 and len(pauses) == 2
    assert caught.value.status == 429 and "gave up after 3 attempts" in str(caught.value)


def test_client_errors_are_not_retried(cluster: DevCluster, namespace):
    pauses: list[float] = []
    with FlakyProxy(cluster.url, failures=0) as proxy, pytest.raises(NotFoundError):
        through(proxy.url, attempts=3, pauses=pauses, token=cluster.token).get_pod(namespace, "nope")
    assert proxy.requests == 1 and pauses == []


def test_no_answer_at_all_is_transient():
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    pauses: list[float] = []
    with pytest.raises(TransientKubeError) as caught:
        through(f"http://127.0.0.1:{port}", attempts=2, pauses=pauses).list_pods("default")
    assert "cannot reach the API server" in str(caught.value) and len(pauses) == 1


def test_list_nodes_reads_every_page(cluster: DevCluster, kube):
    core = kubernetes.client.CoreV1Api(cluster.api_client())
    # Extra nodes without a kubelet, tainted so the scheduler never sends another test's pod there.
    extra = [f"paged-{number}" for number in range(4)]
    for name in extra:
        core.create_node({"metadata": {"name": name},
                          "spec": {"taints": [{"key": "test", "value": "paging", "effect": "NoSchedule"}]}})
    try:
        with FlakyProxy(cluster.url, failures=0) as proxy:
            nodes = through(proxy.url, attempts=1, pauses=[], token=cluster.token).list_nodes(page_size=2)
        assert sorted(node["metadata"]["name"] for node in nodes) == ["node-1", *extra]
        assert proxy.requests == 3  # 5 nodes, 2 a page
        assert sorted(node["metadata"]["name"] for node in kube.list_nodes()) == ["node-1", *extra]
    finally:
        for name in extra:
            core.delete_node(name)


def test_list_nodes_starts_over_when_its_continue_token_expired(cluster: DevCluster):
    with FlakyProxy(cluster.url, failures=1, status=410) as proxy:
        nodes = through(proxy.url, attempts=1, pauses=[], token=cluster.token).list_nodes()
    assert [node["metadata"]["name"] for node in nodes] == ["node-1"]
    assert proxy.requests == 2
