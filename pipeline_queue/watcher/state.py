"""The pod watcher's state machine: plain watch events in, "advance stage X" and "re-list" decisions out.

It remembers the last resourceVersion seen (so a new watch resumes where the last one ended) and,
per pod, the part of its status that `advance` acts on. An event that leaves that part unchanged (a
condition's timestamp, a label) decides nothing, and a re-list decides at most one advance per
stage: bursts collapse. No I/O here: the adapter does the talking.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline_queue.compiler.naming import LABEL_MANAGED_BY, LABEL_STAGE, MANAGED_BY, stage_id_of

LABEL_SELECTOR = f"{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_STAGE}"
"""What the watch asks the API for: our pods, and only those that belong to a stage."""

GONE = 410

PodKey = tuple[str, str]
Fingerprint = tuple[Any, ...]


@dataclass(frozen=True)
class Advance:
    """Send `advance(stage_id)`: something that stage's reconcile acts on changed."""

    stage_id: int


@dataclass(frozen=True)
class Relist:
    """The watch cannot resume (410 Gone, or another error event): list the pods, then call `relisted`."""

    reason: str


Decision = Advance | Relist


def fingerprint(pod: Mapping[str, Any]) -> Fingerprint:
    """What `advance` reads from a pod: phase, node, deletion, and each container's state and reason."""
    status = pod.get("status") or {}
    metadata = pod.get("metadata") or {}
    containers = [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
    return (
        status.get("phase"),
        (pod.get("spec") or {}).get("nodeName"),
        bool(metadata.get("deletionTimestamp")),
        tuple(_container(item) for item in containers),
    )


def _container(status: Mapping[str, Any]) -> tuple[Any, ...]:
    state = status.get("state") or {}
    kind = next((key for key in ("terminated", "running", "waiting") if state.get(key) is not None), "")
    detail = state.get(kind) or {}
    return (status.get("name"), kind, detail.get("reason"), detail.get("exitCode"), status.get("imageID"))


@dataclass
class WatchState:
    """Where the watch stands: the version to resume from, and what each known pod last looked like."""

    resource_version: str = ""
    """Empty until the first list: the adapter lists before it watches."""
    pods: dict[PodKey, tuple[int, Fingerprint]] = field(default_factory=dict)

    @property
    def needs_list(self) -> bool:
        return not self.resource_version

    def feed(self, event: Mapping[str, Any]) -> list[Decision]:
        """One watch event (`{"type", "object"}`) in; what to do about it out."""
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            return [self._expire(obj)]
        self._note_version(obj)
        if kind == "BOOKMARK":
            return []
        if kind not in ("ADDED", "MODIFIED", "DELETED"):
            return []
        stage_id = stage_id_of(obj)
        if stage_id is None:
            return []
        key = _key(obj)
        if kind == "DELETED":
            self.pods.pop(key, None)
            return [Advance(stage_id)]
        return self._observe(key, stage_id, fingerprint(obj))

    def feed_all(self, events: Iterable[Mapping[str, Any]]) -> list[Decision]:
        """Several events in order, with each stage advanced once however many of its pods changed."""
        return _unique([decision for event in events for decision in self.feed(event)])

    def relisted(self, pods: Iterable[Mapping[str, Any]], *, resource_version: str) -> list[Decision]:
        """The full list after a Relist: advance every stage whose pods changed, appeared or vanished."""
        before, self.pods = self.pods, {}
        decisions: list[Decision] = []
        for pod in pods:
            stage_id = stage_id_of(pod)
            if stage_id is None:
                continue
            key, seen = _key(pod), fingerprint(pod)
            self.pods[key] = (stage_id, seen)
            if before.get(key) != (stage_id, seen):
                decisions.append(Advance(stage_id))
        # Pods deleted while no watch was open: their stage must notice they are gone.
        decisions += [Advance(stage_id) for key, (stage_id, _) in before.items() if key not in self.pods]
        self.resource_version = resource_version
        return _unique(decisions)

    def _observe(self, key: PodKey, stage_id: int, seen: Fingerprint) -> list[Decision]:
        if self.pods.get(key) == (stage_id, seen):
            return []
        self.pods[key] = (stage_id, seen)
        return [Advance(stage_id)]

    def _expire(self, status: Mapping[str, Any]) -> Relist:
        code = status.get("code")
        self.resource_version = ""
        if code == GONE:
            return Relist(f"resourceVersion expired (410 {status.get('reason') or 'Gone'})")
        return Relist(f"watch error {code or 'without a code'}: {status.get('message') or status.get('reason') or ''}")

    def _note_version(self, obj: Mapping[str, Any]) -> None:
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if version:
            self.resource_version = str(version)


def _key(pod: Mapping[str, Any]) -> PodKey:
    metadata = pod.get("metadata") or {}
    return (str(metadata.get("namespace") or ""), str(metadata.get("name") or ""))


def _unique(decisions: list[Decision]) -> list[Decision]:
    return list(dict.fromkeys(decisions))
