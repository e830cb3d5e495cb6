"""The in-process store contract the scheduler and kubelets build on: copies, atomic mutate, ordered
subscribers, watch streams and the kubelet's final grace-0 delete."""

from __future__ import annotations

import threading

import pytest

from pipeline_queue.devcluster.apiserver.errors import ApiError
from pipeline_queue.devcluster.apiserver.store import Store


def _pod(name: str, **spec) -> dict:
    return {"metadata": {"name": name}, "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}], **spec}}


@pytest.fixture
def store() -> Store:
    return Store(history=50)


def test_callers_get_copies_never_the_stored_object(store):
    created = store.create("pods", _pod("p"))
    created["metadata"]["labels"] = {"changed": "outside"}
    assert "labels" not in store.get("pods", "default", "p")["metadata"]


def test_mutate_is_atomic_and_skips_immutability_for_the_system(store):
    store.create("pods", _pod("p"))

    def bind(pod):
        pod["spec"]["nodeName"] = "node-1"
        pod["status"]["phase"] = "Running"

    bound = store.mutate("pods", "default", "p", bind)
    assert (bound["spec"]["nodeName"], bound["status"]["phase"]) == ("node-1", "Running")
    with pytest.raises(ApiError) as error:
        store.replace("pods", {**bound, "spec": {**bound["spec"], "nodeName": "node-2"}})
    assert error.value.code == 422


def test_status_subresource_writes_only_status(store):
    created = store.create("pods", _pod("p"))
    created["status"]["phase"] = "Running"
    created["metadata"]["labels"] = {"ignored": "yes"}
    updated = store.replace("pods", created, subresource="status", check_version=False)
    assert updated["status"]["phase"] == "Running" and "labels" not in updated["metadata"]


def test_replace_without_version_check_never_conflicts(store):
    stale = store.create("secrets", {"metadata": {"name": "s"}})
    store.mutate("secrets", "default", "s", lambda s: s["metadata"].update(labels={"a": "1"}))
    with pytest.raises(ApiError) as error:
        store.replace("secrets", stale)
    assert error.value.code == 409 and error.value.status()["reason"] == "Conflict"
    assert store.replace("secrets", stale, check_version=False)["metadata"].get("labels") is None


def test_subscribers_see_every_change_in_commit_order(store):
    seen, done = [], threading.Event()

    def record(kind, resource, obj):
        seen.append((kind, resource, obj["metadata"]["name"]))
        if kind == "DELETED":
            done.set()

    unsubscribe = store.subscribe(record)
    store.create("secrets", {"metadata": {"name": "s"}})
    store.mutate("secrets", "default", "s", lambda s: s["metadata"].update(labels={"a": "1"}))
    store.delete("secrets", "default", "s")
    assert done.wait(5)
    unsubscribe()
    assert seen == [("ADDED", "secrets", "s"), ("MODIFIED", "secrets", "s"), ("DELETED", "secrets", "s")]


def test_a_failing_subscriber_keeps_receiving(store):
    calls, done = [], threading.Event()

    def flaky(kind, resource, obj):
        calls.append(obj["metadata"]["name"])
        if len(calls) == 2:
            done.set()
        raise RuntimeError("subscriber bug")

    store.subscribe(flaky)
    store.create("secrets", {"metadata": {"name": "a"}})
    store.create("secrets", {"metadata": {"name": "b"}})
    assert done.wait(5) and calls == ["a", "b"]


def test_watch_stream_replays_then_follows_until_closed(store):
    store.create("secrets", {"metadata": {"name": "before"}})
    stream = store.watch("secrets", "default")
    store.create("secrets", {"metadata": {"name": "after"}})
    events = iter(stream)
    assert [(e.type, e.object["metadata"]["name"]) for e in (next(events), next(events))] == [
        ("ADDED", "before"), ("ADDED", "after")]
    stream.close()
    assert list(events) == []


def test_kubelet_removes_a_terminating_pod_with_grace_zero(store):
    store.create("pods", _pod("p", nodeName="node-1"))
    marked = store.delete("pods", "default", "p")
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 30
    assert store.get("pods", "default", "p")["metadata"]["deletionTimestamp"]
    store.delete("pods", "default", "p", grace_period_seconds=0)
    with pytest.raises(ApiError) as error:
        store.get("pods", "default", "p")
    assert error.value.code == 404


def test_no_op_writes_keep_the_resource_version(store):
    created = store.create("secrets", {"metadata": {"name": "s"}})
    again = store.mutate("secrets", "default", "s", lambda s: None)
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_unknown_resource_is_refused(store):
    with pytest.raises(ApiError) as error:
        store.create("deployments", {"metadata": {"name": "d"}})
    assert error.value.code == 404
