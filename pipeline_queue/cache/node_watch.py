"""The node-cache index kept live: one list of the nodes swept into the index, then a watch whose every event
updates the one node it names, so that `cache report` shows a pull within about a second of the kubelet reporting it.

List, then watch from the list's resourceVersion; each watch ends after `timeout_seconds` and the next resumes from
the last version seen (bookmarks keep it fresh); a 410 Gone lists again. Beat's periodic sweep stays as a backstop
for a time when no watcher runs.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from pipeline_queue import keys
from pipeline_queue.broker import RedisError
from pipeline_queue.cache.index import Redis, remove_node, sweep, update_node
from pipeline_queue.kube import KubeError, TransientKubeError
from pipeline_queue.kube.watching import WatchStream

log = logging.getLogger(__name__)
GONE = 410


class NodeSource(Protocol):
    """What the node watch needs of the Kubernetes client: `pipeline_queue.kube.Kube` is one."""

    def list_nodes_with_version(self) -> tuple[list[dict[str, Any]], str]: ...
    def watch_nodes(self, *, resource_version: str, timeout_seconds: int) -> WatchStream: ...


class NodeWatcher:
    """Runs until stopped: node events in, index writes out."""

    def __init__(self, kube: NodeSource, *, redis: Redis, prefix: str = keys.DEFAULT_PREFIX,
                 timeout_seconds: int = 300, backoff: float = 2.0) -> None:
        self.kube, self.redis, self.prefix = kube, redis, prefix
        self.timeout_seconds, self.backoff = timeout_seconds, backoff
        self.resource_version = ""
        self._stopping = threading.Event()
        self._stream: WatchStream | None = None

    def run(self) -> None:
        """List and watch until `stop()`; failures are logged and retried, never raised."""
        while not self._stopping.is_set():
            try:
                if not self.resource_version:
                    self._list()
                self._watch_once()
            except KubeError as error:
                if self._stopping.is_set():
                    return
                if error.status == GONE:
                    self.resource_version = ""  # too old: list again at once
                    continue
                kind = "unavailable" if isinstance(error, TransientKubeError) else "refused"
                log.warning("node watch %s (%s); retrying in %ss", kind, error, self.backoff)
                self.resource_version = ""
                self._stopping.wait(self.backoff)
            except RedisError as error:  # the index waits; the watch goes on
                log.warning("node watch: the index is unavailable (%s); listing again in %ss",
                            type(error).__name__, self.backoff)
                self.resource_version = ""
                self._stopping.wait(self.backoff)

    def stop(self) -> None:
        self._stopping.set()
        stream = self._stream
        if stream is not None:
            stream.stop()

    def _list(self) -> None:
        nodes, version = self.kube.list_nodes_with_version()
        stats = sweep(nodes, redis=self.redis, prefix=self.prefix)
        log.info("node watch: %s nodes listed, %s changed, %s removed", stats.nodes, stats.changed_nodes,
                 stats.removed_nodes)
        self.resource_version = version

    def _watch_once(self) -> None:
        stream = self._stream = self.kube.watch_nodes(resource_version=self.resource_version,
                                                      timeout_seconds=self.timeout_seconds)
        try:
            for event in stream:
                self._apply(event)
                if self._stopping.is_set():
                    break
        finally:
            self._stream = None

    def _apply(self, event: dict[str, Any]) -> None:
        node = event.get("object") or {}
        metadata = node.get("metadata") or {}
        kind = event.get("type")
        if kind in ("ADDED", "MODIFIED"):
            update_node(node, redis=self.redis, prefix=self.prefix)
        elif kind == "DELETED":
            remove_node(str(metadata.get("name") or ""), redis=self.redis, prefix=self.prefix)
        if metadata.get("resourceVersion"):
            self.resource_version = str(metadata["resourceVersion"])
