"""The verbs pipeline-queue uses on the Kubernetes API, plain dicts in and out, our errors on failure.

Every call goes through `with_retries`, so a 429, a 5xx or a dropped connection is retried with backoff;
what is left after the retries reaches the caller as TransientKubeError.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import kubernetes
import urllib3
from kubernetes.client.exceptions import ApiException

from pipeline_queue.errors import UsageError
from pipeline_queue.kube.errors import KubeError, NotFoundError, from_api_exception, from_connection_error
from pipeline_queue.kube.retry import RetryPolicy, with_retries
from pipeline_queue.kube.watching import PodStream, WatchStream, list_nodes_version, list_pods_everywhere

KINDS = ("Pod", "Secret", "Service", "PersistentVolumeClaim")
NODE_PAGE_SIZE = 500
"""Nodes per list request: kubectl's own chunk size, small enough for the API server to answer quickly."""
LIST_RESTARTS = 3
"""How many times a paginated list starts over when its continue token expires (410) mid-way."""


@dataclass(frozen=True)
class _Verbs:
    """The CoreV1Api methods of one kind, named explicitly so each call can be found by grep."""

    create: Callable[..., Any]
    read: Callable[..., Any]
    list: Callable[..., Any]
    delete: Callable[..., Any]
    delete_collection: Callable[..., Any]


def _verbs_by_kind(core: kubernetes.client.CoreV1Api) -> dict[str, _Verbs]:
    return {
        "Pod": _Verbs(core.create_namespaced_pod, core.read_namespaced_pod, core.list_namespaced_pod,
                      core.delete_namespaced_pod, core.delete_collection_namespaced_pod),
        "Secret": _Verbs(core.create_namespaced_secret, core.read_namespaced_secret, core.list_namespaced_secret,
                         core.delete_namespaced_secret, core.delete_collection_namespaced_secret),
        "Service": _Verbs(core.create_namespaced_service, core.read_namespaced_service,
                          core.list_namespaced_service, core.delete_namespaced_service,
                          core.delete_collection_namespaced_service),
        "PersistentVolumeClaim": _Verbs(
            core.create_namespaced_persistent_volume_claim, core.read_namespaced_persistent_volume_claim,
            core.list_namespaced_persistent_volume_claim, core.delete_namespaced_persistent_volume_claim,
            core.delete_collection_namespaced_persistent_volume_claim,
        ),
    }


class Kube:
    """A few verbs over CoreV1Api; holds the client, nothing else (safe to share between threads)."""

    def __init__(self, api_client: kubernetes.client.ApiClient, *, retry: RetryPolicy | None = None) -> None:
        self._api_client = api_client
        self._verbs = _verbs_by_kind(kubernetes.client.CoreV1Api(api_client))
        self._core = kubernetes.client.CoreV1Api(api_client)
        self.retry = retry or RetryPolicy()

    def close(self) -> None:
        """Close the client's connection pool."""
        self._api_client.close()

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create `obj` in its `metadata.namespace`; AlreadyExistsError when the name is taken."""
        kind, namespace, name = _identity(obj)
        verbs = self._kind(kind)
        return self._json(lambda: verbs.create(namespace, obj, _preload_content=False),
                          action=f"creating {kind} {namespace}/{name}")

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        verbs = self._kind(kind)
        return self._json(lambda: verbs.read(name, namespace, _preload_content=False),
                          action=f"reading {kind} {namespace}/{name}")

    def get_pod(self, namespace: str, name: str) -> dict[str, Any]:
        return self.get("Pod", namespace, name)

    def list(self, kind: str, namespace: str, *, label_selector: str = "") -> list[dict[str, Any]]:
        verbs = self._kind(kind)
        body = self._json(lambda: verbs.list(namespace, label_selector=label_selector, _preload_content=False),
                          action=f"listing {kind}s in {namespace} ({label_selector or 'all'})")
        return list(body.get("items") or [])

    def list_pods(self, namespace: str, label_selector: str = "") -> list[dict[str, Any]]:
        return self.list("Pod", namespace, label_selector=label_selector)

    def list_pods_everywhere(self, label_selector: str) -> tuple[list[dict[str, Any]], str]:
        """Every pod matching `label_selector` in every namespace, and the list's resourceVersion (no retries:
        the watcher that asks has its own backoff)."""
        return list_pods_everywhere(self._core, label_selector=label_selector)

    def watch_pods(self, label_selector: str, *, resource_version: str, timeout_seconds: int) -> PodStream:
        """A watch of every namespace's pods from `resource_version`, ending after `timeout_seconds`."""
        return PodStream(self._core, label_selector=label_selector, resource_version=resource_version,
                         timeout_seconds=timeout_seconds)

    def watch_nodes(self, *, resource_version: str, timeout_seconds: int) -> WatchStream:
        """A watch of the nodes from `resource_version`, ending after `timeout_seconds`."""
        return WatchStream(self._core.list_node, what="nodes", resource_version=resource_version,
                           timeout_seconds=timeout_seconds)

    def list_nodes_with_version(self) -> tuple[list[dict[str, Any]], str]:
        """Every node, and a resourceVersion to watch from that no change after the list predates."""
        version = list_nodes_version(self._core)  # first: a change between the two is then seen again, not lost
        return self.list_nodes(), version

    def list_nodes(self, *, page_size: int = NODE_PAGE_SIZE) -> list[dict[str, Any]]:
        """Every node, read `page_size` at a time (limit and continue) so a large cluster never answers in one body.

        A continue token the server has compacted away (410 Expired) starts the list over, once per attempt.
        """
        attempt = 1
        while True:
            try:
                return self._all_node_pages(page_size)
            except KubeError as error:
                if error.status != 410 or attempt >= LIST_RESTARTS:
                    raise
                attempt += 1

    def _all_node_pages(self, page_size: int) -> list[dict[str, Any]]:
        nodes: list[dict[str, Any]] = []
        token = ""
        while True:
            body = self._json(lambda token=token: self._core.list_node(limit=page_size, _continue=token or None,
                                                                      _preload_content=False),
                              action=f"listing nodes ({len(nodes)} so far)")
            nodes.extend(body.get("items") or [])
            token = str((body.get("metadata") or {}).get("continue") or "")
            if not token:
                return nodes

    def delete(self, kind: str, namespace: str, name: str, *, missing_ok: bool = False) -> bool:
        """Delete one object (background propagation); False when it was already gone and `missing_ok`."""
        verbs = self._kind(kind)
        try:
            self._json(lambda: verbs.delete(name, namespace, propagation_policy="Background",
                                            _preload_content=False),
                       action=f"deleting {kind} {namespace}/{name}")
        except NotFoundError:
            if missing_ok:
                return False
            raise
        return True

    def delete_collection(self, kind: str, namespace: str, label_selector: str) -> int:
        """Delete every `kind` in `namespace` matching `label_selector` (which must not be empty); how many."""
        if not label_selector.strip():
            raise UsageError(f"deleting {kind}s in {namespace}: refusing an empty label selector (it would match all)")
        verbs = self._kind(kind)
        body = self._json(lambda: verbs.delete_collection(namespace, label_selector=label_selector,
                                                          propagation_policy="Background", _preload_content=False),
                          action=f"deleting {kind}s in {namespace} ({label_selector})")
        return len(body.get("items") or [])

    def read_log(self, namespace: str, pod: str, container: str) -> str:
        """The container's whole output so far, undecodable bytes replaced."""
        raw = self._call(lambda: self._core.read_namespaced_pod_log(pod, namespace, container=container,
                                                                     _preload_content=False),
                         action=f"reading the log of {namespace}/{pod} ({container})")
        return raw.decode("utf-8", "replace")

    def _kind(self, kind: str) -> _Verbs:
        if kind not in self._verbs:
            raise UsageError(f"unsupported kind {kind!r} (pipeline-queue handles {', '.join(KINDS)})")
        return self._verbs[kind]

    def _json(self, call: Callable[[], Any], *, action: str) -> dict[str, Any]:
        raw = self._call(call, action=action)
        return json.loads(raw) if raw else {}

    def _call(self, call: Callable[[], Any], *, action: str) -> bytes:
        return with_retries(lambda: _once(call, action=action), policy=self.retry, action=action)


def _once(call: Callable[[], Any], *, action: str) -> bytes:
    """One request; the raw body, or our error for what went wrong."""
    try:
        response = call()
        return bytes(response.data)
    except ApiException as error:
        raise from_api_exception(error, action=action) from error
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise from_connection_error(error, action=action) from error


def _identity(obj: dict[str, Any]) -> tuple[str, str, str]:
    metadata = obj.get("metadata") or {}
    kind, namespace, name = obj.get("kind", ""), metadata.get("namespace", ""), metadata.get("name", "")
    if not namespace or not name:
        raise UsageError(f"a {kind or 'object'} to create needs metadata.namespace and metadata.name")
    return kind, namespace, name


__all__ = ["KINDS", "Kube", "KubeError"]
