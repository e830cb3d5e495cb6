"""Kubernetes Events written through the store by the scheduler and the kubelets, counted like client-go's recorder."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from .errors import ApiError
from .metadata import now

log = logging.getLogger(__name__)
NORMAL, WARNING = "Normal", "Warning"


class EventRecorder:
    """Records Events about objects; an event equal to an earlier one bumps that one's count instead."""

    def __init__(self, store: Any, *, component: str, host: str = "") -> None:
        self._store = store
        self._component = component
        self._host = host
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, ...], tuple[str, str]] = {}
        self._last_stamp = 0

    def event(self, obj: dict[str, Any], kind: str, reason: str, message: str, *, field_path: str = "") -> None:
        """Record one event; a failure to write it is logged and dropped, as client-go drops it."""
        meta = obj.get("metadata", {})
        key = (meta.get("uid", ""), field_path, kind, reason, message)
        try:
            with self._lock:
                earlier = self._seen.get(key)
                if earlier is None or not self._bump(*earlier):
                    self._seen[key] = self._create(obj, kind, reason, message, field_path=field_path)
        except ApiError as error:
            log.warning("event %s for %s dropped: %s", reason, meta.get("name"), error)

    def _bump(self, namespace: str, name: str) -> bool:
        def count(event: dict[str, Any]) -> None:
            event["count"] = event.get("count", 1) + 1
            event["lastTimestamp"] = now()

        try:
            self._store.mutate("events", namespace, name, count)
        except ApiError:
            return False
        return True

    def _create(self, obj: dict[str, Any], kind: str, reason: str, message: str, *, field_path: str) -> tuple[str, str]:
        meta = obj.get("metadata", {})
        namespace = meta.get("namespace") or "default"
        # client-go names events `<object>.<nanoseconds in hex>`; the stamp only grows so names never collide.
        self._last_stamp = max(time.time_ns(), self._last_stamp + 1)
        name = f"{meta.get('name')}.{self._last_stamp:x}"
        involved = {"apiVersion": obj.get("apiVersion", "v1"), "kind": obj.get("kind", "Pod"),
                    "name": meta.get("name"), "uid": meta.get("uid")}
        if meta.get("namespace"):
            involved["namespace"] = namespace
        if field_path:
            involved["fieldPath"] = field_path
        stamp = now()
        source = {"component": self._component, **({"host": self._host} if self._host else {})}
        self._store.create("events", {
            "apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": namespace},
            "involvedObject": involved, "reason": reason, "message": message, "type": kind, "source": source,
            "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1, "eventTime": None,
            "reportingComponent": self._component, "reportingInstance": self._host or self._component,
        })
        return namespace, name
