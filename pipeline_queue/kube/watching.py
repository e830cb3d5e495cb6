"""The pod watch: one list, then a stream of events over every namespace, as plain dicts; our errors on failure.

The pod watcher's adapter loops over these; a 410 Gone (the resourceVersion is too old) arrives as a
KubeError with status 410, as the API's ERROR event does, so that the watcher lists again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import kubernetes
import urllib3
from kubernetes.client.exceptions import ApiException

from pipeline_queue.kube.errors import from_api_exception, from_connection_error


def list_pods_everywhere(core: kubernetes.client.CoreV1Api, *, label_selector: str) -> tuple[list[dict[str, Any]], str]:
    """Every pod matching `label_selector` in every namespace, and the list's resourceVersion."""
    action = f"listing pods in every namespace ({label_selector})"
    try:
        response = core.list_pod_for_all_namespaces(label_selector=label_selector, _preload_content=False)
        body = json.loads(response.data)
    except ApiException as error:
        raise from_api_exception(error, action=action) from error
    except (urllib3.exceptions.HTTPError, OSError, ValueError) as error:
        raise from_connection_error(error, action=action) from error
    return list(body.get("items") or []), str((body.get("metadata") or {}).get("resourceVersion") or "")


class WatchStream:
    """One watch request of a list call (every namespace's pods, the nodes): iterate its events (`{"type",
    "object"}`, the object as the API sent it); `stop()` from another thread ends the iteration."""

    def __init__(self, lister: Callable[..., Any], *, what: str, resource_version: str, timeout_seconds: int,
                 label_selector: str = "") -> None:
        self._lister, self._what, self._watch = lister, what, kubernetes.watch.Watch()
        self._options: dict[str, Any] = {"resource_version": resource_version, "allow_watch_bookmarks": True,
                                         "timeout_seconds": timeout_seconds}
        if label_selector:
            self._options["label_selector"] = label_selector

    def __iter__(self) -> Iterator[dict[str, Any]]:
        action = f"watching {self._what}"
        try:
            for event in self._watch.stream(self._lister, **self._options):
                # `raw_object` is the pod as the API sent it; `object` is the client's model of it.
                yield {"type": event["type"], "object": event["raw_object"]}
        except ApiException as error:
            # The client turns the stream's ERROR event (410 Gone included) into an exception.
            raise from_api_exception(error, action=action) from error
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as error:
            raise from_connection_error(error, action=action) from error

    def stop(self) -> None:
        """Unblock a read waiting for the next event; the iteration then ends."""
        self._watch.stop()


class PodStream(WatchStream):
    """A watch of every namespace's pods matching `label_selector`."""

    def __init__(self, core: kubernetes.client.CoreV1Api, *, label_selector: str, resource_version: str,
                 timeout_seconds: int) -> None:
        super().__init__(core.list_pod_for_all_namespaces, what=f"pods in every namespace ({label_selector})",
                         resource_version=resource_version, timeout_seconds=timeout_seconds,
                         label_selector=label_selector)


def list_nodes_version(core: kubernetes.client.CoreV1Api) -> str:
    """The resourceVersion of the node list now (one item asked for), to watch nodes from after a full sweep."""
    try:
        response = core.list_node(limit=1, _preload_content=False)
        body = json.loads(response.data)
    except ApiException as error:
        raise from_api_exception(error, action="listing nodes") from error
    except (urllib3.exceptions.HTTPError, OSError, ValueError) as error:
        raise from_connection_error(error, action="listing nodes") from error
    return str((body.get("metadata") or {}).get("resourceVersion") or "")
