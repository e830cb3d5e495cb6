"""Fixtures for the development cluster: one cluster per test module, reached through the official client."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import kubernetes
import pytest

from pipeline_queue.devcluster.cluster import DevCluster
from tests import polling
from tests.devcluster.kubectl import Kubectl

# No scheduler serves this name, so a pod that asks for it stays Pending and untouched, as on a real cluster.
PARKED_SCHEDULER = "parked-scheduler"


@pytest.fixture(scope="module")
def devcluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevCluster]:
    base = tmp_path_factory.mktemp("devcluster")
    with DevCluster(nodes=2, data_dir=base / "data", kubeconfig=base / "kubeconfig") as cluster:
        yield cluster


@pytest.fixture(scope="module")
def kubectl(devcluster: DevCluster, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    """The real kubectl with the cluster's kubeconfig and a cache of the module's own."""
    return Kubectl(kubeconfig=devcluster.kubeconfig_path, cache=tmp_path_factory.mktemp("kubectl-cache"))


@pytest.fixture(scope="module")
def api(devcluster: DevCluster) -> Iterator[kubernetes.client.ApiClient]:
    client = devcluster.api_client()
    yield client
    client.close()


@pytest.fixture(scope="module")
def core(api: kubernetes.client.ApiClient) -> kubernetes.client.CoreV1Api:
    return kubernetes.client.CoreV1Api(api)


@pytest.fixture
def namespace(core: kubernetes.client.CoreV1Api) -> str:
    """A fresh namespace per test, so tests sharing a cluster never see each other's objects."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    core.create_namespace({"metadata": {"name": name}})
    return name


@pytest.fixture
def parked_pod() -> Callable[..., dict[str, Any]]:
    """A pod manifest no scheduler picks up: it stays Pending whatever runs in the cluster."""

    def manifest(name: str, *, labels: dict[str, str] | None = None, containers: list[str] | None = None,
                 image: str = "busybox:1.36") -> dict[str, Any]:
        return {
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {
                "schedulerName": PARKED_SCHEDULER,
                "containers": [{"name": c, "image": image, "command": ["true"]} for c in containers or ["main"]],
            },
        }

    return manifest


@pytest.fixture
def raw(api: kubernetes.client.ApiClient) -> Callable[..., tuple[int, Any, Any]]:
    """A request through the official ApiClient without its model checks: (status, headers, JSON body)."""

    def send(method: str, path: str, *, body: Any = None, query: dict[str, str] | None = None,
             content_type: str = "application/json") -> tuple[int, Any, Any]:
        serialized = api.param_serialize(
            method=method, resource_path=path, query_params=list((query or {}).items()),
            header_params={"Content-Type": content_type, "Accept": "application/json"},
            body=body, auth_settings=["BearerToken"],
        )
        response = api.call_api(serialized[0], serialized[1], header_params=serialized[2], body=serialized[3])
        text = response.read()
        return response.status, response.headers, json.loads(text) if text else None

    return send


@pytest.fixture
def wait_for() -> Callable[..., Any]:
    """Poll `condition` until it returns something truthy (bounded); for what controllers do asynchronously."""

    return partial(polling.wait_for, timeout=10.0, interval=0.02)


def body_of(error: kubernetes.client.ApiException) -> dict[str, Any]:
    """The Status object of a failed call."""
    return json.loads(error.body)


@pytest.fixture
def status_of() -> Callable[[kubernetes.client.ApiException], dict[str, Any]]:
    return body_of
