"""A development cluster for the Kubernetes verb tests, and a fresh namespace per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import kubernetes
import pytest

from pipeline_queue.devcluster.cluster import DevCluster
from pipeline_queue.kube import Kube, RetryPolicy, make_api_client


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevCluster]:
    base = tmp_path_factory.mktemp("kube-devcluster")
    with DevCluster(nodes=1, data_dir=base / "data", kubeconfig=base / "kubeconfig") as running:
        yield running


@pytest.fixture(scope="module")
def kube(cluster: DevCluster) -> Kube:
    return Kube(make_api_client(cluster.kubeconfig_path), retry=RetryPolicy(attempts=3, sleep=lambda _: None))


@pytest.fixture
def namespace(cluster: DevCluster) -> Iterator[str]:
    """A namespace of its own per test, so tests sharing the cluster never see each other's objects."""
    name = f"k-{uuid.uuid4().hex[:10]}"
    client = cluster.api_client()
    kubernetes.client.CoreV1Api(client).create_namespace({"metadata": {"name": name}})
    client.close()
    yield name
