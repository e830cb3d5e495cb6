"""410 Gone: watches and continue tokens older than the history the server keeps (a cluster keeping 5 events)."""

from __future__ import annotations

import json

import kubernetes
import pytest
from kubernetes import watch
from kubernetes.client import ApiException

from pipeline_queue.devcluster.cluster import DevCluster


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    base = tmp_path_factory.mktemp("small-history")
    with DevCluster(nodes=1, data_dir=base / "data", kubeconfig=base / "kubeconfig", history=5) as cluster:
        client = cluster.api_client()
        yield kubernetes.client.CoreV1Api(client)
        client.close()


def _churn(core, namespace, *, count):
    for i in range(count):
        core.create_namespaced_secret(namespace, {"metadata": {"name": f"churn-{i}"}})


@pytest.fixture
def fresh_namespace(small, request):
    name = request.node.name.replace("_", "-")[:40].lower().strip("-")
    small.create_namespace({"metadata": {"name": name}})
    return name


def test_watch_from_a_version_older_than_the_history_is_410_gone(small, fresh_namespace):
    old = small.list_namespaced_secret(fresh_namespace).metadata.resource_version
    _churn(small, fresh_namespace, count=8)
    with pytest.raises(ApiException) as error:
        list(watch.Watch().stream(small.list_namespaced_secret, fresh_namespace, resource_version=old,
                                  timeout_seconds=1))
    assert error.value.status == 410
    assert "too old resource version" in error.value.reason


def test_the_error_arrives_as_an_error_event_on_an_open_stream(small, fresh_namespace):
    old = small.list_namespaced_secret(fresh_namespace).metadata.resource_version
    _churn(small, fresh_namespace, count=8)
    response = small.list_namespaced_secret(fresh_namespace, watch=True, resource_version=old,
                                            _preload_content=False)
    assert response.status == 200
    event = json.loads(response.read().decode().splitlines()[0])
    assert event["type"] == "ERROR"
    assert (event["object"]["kind"], event["object"]["code"], event["object"]["reason"]) == ("Status", 410, "Expired")


def test_a_recent_version_still_resumes(small, fresh_namespace):
    _churn(small, fresh_namespace, count=8)
    recent = small.list_namespaced_secret(fresh_namespace).metadata.resource_version
    small.create_namespaced_secret(fresh_namespace, {"metadata": {"name": "late"}})
    stream = watch.Watch().stream(small.list_namespaced_secret, fresh_namespace, resource_version=recent,
                                  timeout_seconds=1)
    assert [(e["type"], e["object"].metadata.name) for e in stream] == [("ADDED", "late")]


def test_continue_token_older_than_the_history_is_410_with_a_fresh_token(small, fresh_namespace):
    _churn(small, fresh_namespace, count=3)
    first = small.list_namespaced_secret(fresh_namespace, limit=1)
    _churn(small, "default", count=8)
    with pytest.raises(ApiException) as error:
        small.list_namespaced_secret(fresh_namespace, limit=1, _continue=first.metadata.var_continue)
    status = json.loads(error.value.body)
    assert (error.value.status, status["reason"]) == (410, "Expired")
    assert "too old to display a consistent list result" in status["message"]
    rest = small.list_namespaced_secret(fresh_namespace, _continue=status["metadata"]["continue"])
    assert [s.metadata.name for s in rest.items] == ["churn-1", "churn-2"]
