"""The watch cache: a bounded history of changes per resource, watch streams and in-process subscribers.

Filtering follows the real cacher: an object that starts matching a watcher's selectors arrives as
ADDED, one that stops matching as DELETED (its previous content at the new resourceVersion).
"""

from __future__ import annotations

import copy
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .errors import expired
from .selectors import Filter

log = logging.getLogger(__name__)

Subscriber = Callable[[str, str, dict[str, Any]], None]


@dataclass(frozen=True)
class WatchEvent:
    """One watch event as the API sends it: type ADDED/MODIFIED/DELETED/BOOKMARK/ERROR and the object."""

    type: str
    object: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "object": self.object}


@dataclass(frozen=True)
class Change:
    """A committed write: the object after it (last state for DELETED) and before it (None for ADDED)."""

    rv: int
    type: str
    resource: str
    obj: dict[str, Any]
    prev: dict[str, Any] | None


def _with_version(obj: dict[str, Any], rv: int) -> dict[str, Any]:
    return {**obj, "metadata": {**obj.get("metadata", {}), "resourceVersion": str(rv)}}


def visible(change: Change, flt: Filter) -> WatchEvent | None:
    """What a watcher with filter `flt` sees of `change`, or None."""
    now = change.type != "DELETED" and flt.matches(change.obj)
    before = change.prev is not None and flt.matches(change.prev)
    if change.type == "DELETED":
        return WatchEvent("DELETED", change.obj) if flt.matches(change.obj) else None
    if now:
        return WatchEvent("MODIFIED" if before else "ADDED", change.obj)
    if before and change.prev is not None:
        return WatchEvent("DELETED", _with_version(change.prev, change.rv))
    return None


class WatchStream:
    """Events for one watcher, in commit order. Iterate to receive copies; `close()` ends the iteration."""

    def __init__(self, flt: Filter, *, on_close: Callable[[WatchStream], None], after: int = 0) -> None:
        self.filter = flt
        self._after = after  # a watch from a future version sees nothing until the cluster gets there
        self._events: deque[WatchEvent] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._on_close = on_close

    def offer(self, change: Change) -> None:
        if change.rv <= self._after:
            return
        event = visible(change, self.filter)
        if event is not None:
            self.push(event)

    def push(self, event: WatchEvent) -> None:
        with self._ready:
            self._events.append(event)
            self._ready.notify_all()

    def next(self, timeout: float | None = None) -> WatchEvent | None:
        """The next event, shared with other watchers (do not modify); None on timeout or once closed."""
        with self._ready:
            self._ready.wait_for(lambda: self._events or self._closed, timeout)
            return self._events.popleft() if self._events else None

    @property
    def pending(self) -> bool:
        """Events are waiting to be read."""
        with self._ready:
            return bool(self._events)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._ready:
            if self._closed:
                return
            self._closed = True
            self._ready.notify_all()
        self._on_close(self)

    def __iter__(self) -> Iterator[WatchEvent]:
        while (event := self.next()) is not None:
            yield WatchEvent(event.type, copy.deepcopy(event.object))

    def __enter__(self) -> WatchStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class _Dispatcher:
    """Delivers changes to one subscriber from its own thread, so a slow subscriber never blocks writers."""

    def __init__(self, callback: Subscriber) -> None:
        self._callback = callback
        self._queue: queue.SimpleQueue[Change | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="devcluster-subscriber", daemon=True)
        self._thread.start()

    def put(self, change: Change | None) -> None:
        self._queue.put(change)

    def _run(self) -> None:
        while (change := self._queue.get()) is not None:
            try:
                self._callback(change.type, change.resource, copy.deepcopy(change.obj))
            except Exception:
                # One failing subscriber must not silence the others or stop its own stream.
                log.exception("devcluster subscriber failed on %s %s", change.type, change.resource)


class WatchCache:
    """History, watchers and subscribers; every method runs under the store's lock."""

    def __init__(self, resources: list[str], *, history: int) -> None:
        self._history: dict[str, deque[Change]] = {r: deque(maxlen=max(history, 1)) for r in resources}
        self._start = dict.fromkeys(resources, 0)
        self._watchers: dict[str, set[WatchStream]] = {r: set() for r in resources}
        self._subscribers: list[_Dispatcher] = []
        self._lock = threading.Lock()

    def oldest(self, resource: str) -> int:
        """Every change after this resourceVersion is still in the history."""
        return self._start[resource]

    def record(self, change: Change) -> None:
        history = self._history[change.resource]
        if len(history) == history.maxlen:
            self._start[change.resource] = history[0].rv
        history.append(change)
        with self._lock:
            watchers, subscribers = list(self._watchers[change.resource]), list(self._subscribers)
        for watcher in watchers:
            watcher.offer(change)
        for subscriber in subscribers:
            subscriber.put(change)

    def open(self, resource: str, flt: Filter, *, since: int | None, initial: list[dict[str, Any]]) -> WatchStream:
        """A stream replaying `initial` as ADDED, then history after `since`, then live changes."""
        if since is not None and since < self._start[resource]:
            raise expired(f"too old resource version: {since} ({self._start[resource]})")
        stream = WatchStream(flt, on_close=lambda s: self._forget(resource, s), after=since or 0)
        for obj in initial:
            stream.push(WatchEvent("ADDED", obj))
        if since is not None:
            for change in self._history[resource]:
                stream.offer(change)
        with self._lock:
            self._watchers[resource].add(stream)
        return stream

    def _forget(self, resource: str, stream: WatchStream) -> None:
        with self._lock:
            self._watchers[resource].discard(stream)

    def close_all(self) -> None:
        with self._lock:
            streams = [s for group in self._watchers.values() for s in group]
        for stream in streams:
            stream.close()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        dispatcher = _Dispatcher(callback)
        with self._lock:
            self._subscribers.append(dispatcher)

        def unsubscribe() -> None:
            with self._lock:
                if dispatcher in self._subscribers:
                    self._subscribers.remove(dispatcher)
            dispatcher.put(None)

        return unsubscribe
