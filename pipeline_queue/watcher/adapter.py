"""The loop that feeds the watcher's state machine from a Kubernetes watch and sends what it decides.

List once, then watch from the list's resourceVersion; each watch ends after `timeout_seconds` and
the next resumes from the last version seen (bookmarks keep it fresh). A 410 Gone means the version
is too old: list again. Every other failure waits `backoff` seconds and resumes. The sender (in
production: send `pq.advance` through Celery) is the only seam.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import kubernetes
import urllib3

from pipeline_queue.watcher.state import GONE, LABEL_SELECTOR, Advance, Decision, WatchState

log = logging.getLogger(__name__)

Sender = Callable[[int], None]
"""Called with a stage id for every "advance" decision."""


@dataclass(frozen=True)
class WatchOptions:
    """How the adapter watches."""

    label_selector: str = LABEL_SELECTOR
    """Which pods to watch. Default: ours that belong to a stage."""
    timeout_seconds: int = 300
    """Each watch request ends after this long (then resumes): bounds how stale a silent stream can get."""
    backoff: float = 2.0
    """Seconds to wait after a failed list or watch before trying again."""


class PodWatcher:
    """Runs until stopped: pods in, `send(stage_id)` out."""

    def __init__(
        self,
        api_client: kubernetes.client.ApiClient,
        *,
        send: Sender,
        options: WatchOptions | None = None,
        state: WatchState | None = None,
    ) -> None:
        self.core = kubernetes.client.CoreV1Api(api_client)
        self.send = send
        self.options = options or WatchOptions()
        self.state = state or WatchState()
        self._stopping = threading.Event()
        self._watch: kubernetes.watch.Watch | None = None

    def run(self) -> None:
        """List and watch until `stop()`; failures are logged and retried, never raised."""
        while not self._stopping.is_set():
            try:
                if self.state.needs_list:
                    self._list()
                self._watch_once()
            except kubernetes.client.ApiException as error:
                self._failed(error)
            except (urllib3.exceptions.HTTPError, OSError, ValueError) as error:
                if self._stopping.is_set():
                    return  # stop() cut the stream short
                log.warning("pod watch failed (%s); retrying in %ss", error, self.options.backoff)
                self._stopping.wait(self.options.backoff)

    def stop(self) -> None:
        """Ask `run` to return; safe from another thread or a signal handler."""
        self._stopping.set()
        watch = self._watch
        if watch is not None:
            watch.stop()  # unblocks a read waiting for the next event

    def _list(self) -> None:
        response = self.core.list_pod_for_all_namespaces(
            label_selector=self.options.label_selector, _preload_content=False
        )
        body = json.loads(response.data)
        version = str(body.get("metadata", {}).get("resourceVersion", ""))
        self._apply(self.state.relisted(body.get("items") or [], resource_version=version))

    def _watch_once(self) -> None:
        watch = self._watch = kubernetes.watch.Watch()
        try:
            events = watch.stream(
                self.core.list_pod_for_all_namespaces,
                label_selector=self.options.label_selector,
                resource_version=self.state.resource_version,
                allow_watch_bookmarks=True,
                timeout_seconds=self.options.timeout_seconds,
            )
            for event in events:
                # `raw_object` is the pod as the API sent it; `object` is the client's model of it.
                self._apply(self.state.feed({"type": event["type"], "object": event["raw_object"]}))
                if self._stopping.is_set():
                    break
        finally:
            self._watch = None

    def _failed(self, error: kubernetes.client.ApiException) -> None:
        # The client turns the stream's ERROR event into an exception; hand it back to the state as the event.
        status: dict[str, Any] = {"kind": "Status", "code": error.status, "reason": error.reason}
        self._apply(self.state.feed({"type": "ERROR", "object": status}))
        if error.status != GONE:
            log.warning("pod watch failed (%s %s); listing again in %ss", error.status, error.reason,
                        self.options.backoff)
            self._stopping.wait(self.options.backoff)

    def _apply(self, decisions: Iterable[Decision]) -> None:
        for decision in decisions:
            if isinstance(decision, Advance):
                self._send(decision.stage_id)
            else:
                log.info("pod watch: %s; listing pods again", decision.reason)

    def _send(self, stage_id: int) -> None:
        try:
            self.send(stage_id)
        except Exception:
            # The resync sends this stage's advance within a minute; the stream must go on.
            log.exception("could not send advance for stage %s", stage_id)
