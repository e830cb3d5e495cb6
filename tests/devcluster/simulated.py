"""Helpers for the tests of the simulated nodes: a cluster with private registries, pod manifests, events."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import kubernetes

from pipeline_queue.devcluster.cluster import DevCluster

PRIVATE_IMAGE = "registry.example.com/team/app:1.0"
REGISTRIES = """
registries:
  registry.example.com:
    private: true
    users: {ci: s3cret}
    repositories:
      team/app: {tags: ["1.0", "latest"], size: 52428800}
"""
PYTHON = sys.executable


@contextmanager
def private_registry_cluster(base: Path, *, nodes: int = 2) -> Iterator[DevCluster]:
    """A development cluster whose registry.example.com is private (user ci), torn down after use."""
    registries = base / "registries.yaml"
    registries.write_text(REGISTRIES)
    with DevCluster(nodes=nodes, registries=registries, data_dir=base / "data",
                    kubeconfig=base / "kubeconfig") as cluster:
        yield cluster


def pull_secret(name: str, *, username: str = "ci", password: str = "s3cret",
                registry: str = "registry.example.com") -> dict[str, Any]:
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    config = json.dumps({"auths": {registry: {"auth": auth}}})
    return {"metadata": {"name": name}, "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": base64.b64encode(config.encode()).decode()}}


def pod(name: str, *, image: str = "busybox:1.36", command: list[str] | None = None, policy: str | None = None,
        secrets: list[str] | None = None, node: str | None = None, **spec: Any) -> dict[str, Any]:
    """A one-container pod that never restarts; `node` pins it by hostname as a cache-aware runner would."""
    container: dict[str, Any] = {"name": "main", "image": image, "command": command or ["true"]}
    if policy:
        container["imagePullPolicy"] = policy
    body: dict[str, Any] = {"restartPolicy": "Never", "containers": [container], **spec}
    if secrets:
        body["imagePullSecrets"] = [{"name": secret} for secret in secrets]
    if node:
        body["nodeSelector"] = {"kubernetes.io/hostname": node}
    return {"metadata": {"name": name}, "spec": body}


def state_of(core: kubernetes.client.CoreV1Api, namespace: str, name: str) -> dict[str, Any]:
    """The main container's state as plain JSON ({} before the kubelet reported it)."""
    found = core.read_namespaced_pod(name, namespace)
    statuses = found.status.container_statuses or []
    return core.api_client.sanitize_for_serialization(statuses[0].state) if statuses else {}


def waiting_reason(core: kubernetes.client.CoreV1Api, namespace: str, name: str) -> str:
    return state_of(core, namespace, name).get("waiting", {}).get("reason", "")


def finished(core: kubernetes.client.CoreV1Api, namespace: str, name: str) -> Any:
    """The pod once its phase is Succeeded or Failed, else None."""
    found = core.read_namespaced_pod(name, namespace)
    return found if found.status.phase in ("Succeeded", "Failed") else None


def events(core: kubernetes.client.CoreV1Api, namespace: str, name: str) -> list[tuple[str, str, str]]:
    """(type, reason, message) of the events about one object, oldest first."""
    found = core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}").items
    # Event names end in the nanosecond they were recorded at (hex), so name order is time order.
    found.sort(key=lambda event: event.metadata.name)
    return [(event.type, event.reason, event.message) for event in found]


def reasons(core: kubernetes.client.CoreV1Api, namespace: str, name: str) -> list[str]:
    return [reason for _, reason, _ in events(core, namespace, name)]
