"""The loop that feeds the watcher's state machine from the cluster's pod watch and sends what it decides.

List once, then watch from the list's resourceVersion; each watch ends after `timeout_seconds` and
the next resumes from the last version seen (bookmarks keep it fresh). A 410 Gone means the version
is too old: list again. Every other failure waits `backoff` seconds and resumes. The watch itself is
`kube`'s; the sender (in production: `advance` through Celery) is the only other seam.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pipeline_queue import keys
from pipeline_queue.kube import Kube, KubeError, TransientKubeError
from pipeline_queue.kube.seen import SeenPods
from pipeline_queue.kube.watching import PodStream
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
        kube: Kube,
        *,
        send: Sender,
        options: WatchOptions | None = None,
        state: WatchState | None = None,
        seen: SeenPods | None = None,
    ) -> None:
        self.kube = kube
        self.send = send
        self.options = options or WatchOptions()
        self.state = state or WatchState()
        self.seen = seen
        """Where every pod seen is written before its `advance` is sent, for the workers (None: nowhere)."""
        self._stopping = threading.Event()
        self._stream: PodStream | None = None
        self._token = ""
        self._relist = False

    def run(self) -> None:
        """List and watch until `stop()`; failures are logged and retried, never raised."""
        renewer = threading.Thread(target=self._keep_synced, name="seen-pods-renewer", daemon=True)
        renewer.start()
        try:
            self._run()
        finally:
            self._stopping.set()
            self._unsync()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                if self.state.needs_list or self._relist:
                    self._relist = False
                    self._list()
                self._watch_once()
            except TransientKubeError as error:
                if self._stopping.is_set():
                    return  # stop() cut the stream short
                log.warning("pod watch failed (%s); retrying in %ss", error, self.options.backoff)
                self._stopping.wait(self.options.backoff)
            except KubeError as error:
                self._failed(error)

    def stop(self) -> None:
        """Ask `run` to return; safe from another thread or a signal handler."""
        self._stopping.set()
        stream = self._stream
        if stream is not None:
            stream.stop()  # unblocks a read waiting for the next event

    def _list(self) -> None:
        pods, version = self.kube.list_pods_everywhere(self.options.label_selector)
        if self.seen is not None:
            self._token = self.seen.replace_all(pods)
        self._apply(self.state.relisted(pods, resource_version=version))

    def _watch_once(self) -> None:
        stream = self._stream = self.kube.watch_pods(self.options.label_selector,
                                                     resource_version=self.state.resource_version,
                                                     timeout_seconds=self.options.timeout_seconds)
        try:
            for event in stream:
                if self.seen is not None and event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                    self.seen.record(str(event["type"]), event.get("object") or {})
                self._apply(self.state.feed(event))
                if self._stopping.is_set():
                    break
        finally:
            self._stream = None

    def _keep_synced(self) -> None:
        """Renew the sync mark every third of its life; a mark lost (Redis restarted, flushed) means list again."""
        while not self._stopping.wait(keys.SEEN_SYNCED_TTL / 3):
            seen, token = self.seen, self._token
            if seen is None or not token:
                continue
            if not seen.renew(token):
                log.info("pod watch: the shared view of pods was lost; listing pods again")
                self._token, self._relist = "", True
                stream = self._stream
                if stream is not None:
                    stream.stop()

    def _unsync(self) -> None:
        """On the way out: workers list pods again rather than trust a view nobody keeps."""
        seen, token = self.seen, self._token
        if seen is not None and token and seen.renew(token):
            seen.forget_sync()

    def _failed(self, error: KubeError) -> None:
        # An ERROR event of the stream (410 Gone among them) arrives as our error: hand it to the state as the event.
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
