"""The stage's non-pod objects: workspace claim, Secrets and the Services that front services."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from pipeline_queue.compiler.resources import memory_quantity

DOCKER_CONFIG_KEY = ".dockerconfigjson"


def metadata(name: str, namespace: str, labels: Mapping[str, str]) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": dict(labels)}


def workspace_claim(
    name: str, *, namespace: str, labels: Mapping[str, str], size: str, storage_class: str = ""
) -> dict[str, Any]:
    """A ReadWriteOnce claim: the steps share it, pinned to one node."""
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": memory_quantity(size, where="workspace claim size")}},
    }
    if storage_class:
        spec["storageClassName"] = storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata(name, namespace, labels),
        "spec": spec,
    }


def opaque_secret(name: str, *, namespace: str, labels: Mapping[str, str], values: Mapping[str, str]) -> dict[str, Any]:
    """An Opaque Secret; values are base64-encoded into `data`."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(name, namespace, labels),
        "type": "Opaque",
        "data": {key: _b64(value) for key, value in values.items()},
    }


def docker_config_secret(name: str, *, namespace: str, labels: Mapping[str, str], config_json: str) -> dict[str, Any]:
    """A kubernetes.io/dockerconfigjson Secret, the kind `imagePullSecrets` accepts."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(name, namespace, labels),
        "type": "kubernetes.io/dockerconfigjson",
        "data": {DOCKER_CONFIG_KEY: _b64(config_json)},
    }


def headless_service(
    name: str, *, namespace: str, labels: Mapping[str, str], selector: Mapping[str, str]
) -> dict[str, Any]:
    """A headless Service: the name resolves to the service pod's IP, on whatever ports it listens.

    Drone's services declare no ports, and only a headless Service may have none.
    """
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(name, namespace, labels),
        "spec": {"clusterIP": "None", "selector": dict(selector)},
    }


def _b64(value: str) -> str:
    return base64.b64encode(value.encode("utf-8")).decode("ascii")
