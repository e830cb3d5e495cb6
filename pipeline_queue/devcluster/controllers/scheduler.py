"""The development cluster's scheduler: binds pending pods to the least-loaded node that fits them.

Filters as kube-scheduler's default plugins do (NodeUnschedulable, TaintToleration, NodeAffinity, pod count),
and words its FailedScheduling messages the same way.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any

from pipeline_queue.devcluster.apiserver.conditions import TERMINAL_PHASES, set_condition
from pipeline_queue.devcluster.apiserver.errors import ApiError
from pipeline_queue.devcluster.apiserver.recorder import NORMAL, WARNING, EventRecorder

log = logging.getLogger(__name__)
SCHEDULER_NAME = "default-scheduler"
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
DEFAULT_MAX_PODS = 110

UNSCHEDULABLE = "node(s) were unschedulable"
AFFINITY = "node(s) didn't match Pod's node affinity/selector"
TOO_MANY_PODS = "Too many pods"


def tolerates(toleration: dict[str, Any], taint: dict[str, Any]) -> bool:
    """v1 Toleration.ToleratesTaint: effect, key and value (Exists ignores the value; empty key matches all)."""
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("key") and toleration["key"] != taint.get("key"):
        return False
    if toleration.get("operator", "Equal") == "Exists":
        return True
    return bool(toleration.get("value", "") == taint.get("value", ""))


def untolerated_taint(pod: dict[str, Any], node: dict[str, Any]) -> dict[str, Any] | None:
    """The first NoSchedule/NoExecute taint of the node that none of the pod's tolerations tolerates."""
    tolerations = pod.get("spec", {}).get("tolerations") or []
    taints: list[dict[str, Any]] = node.get("spec", {}).get("taints") or []
    for taint in taints:
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if not any(tolerates(toleration, taint) for toleration in tolerations):
            return taint
    return None


def _requirement_holds(requirement: dict[str, Any], values: dict[str, str]) -> bool:
    """One NodeSelectorRequirement over labels (or fields): In, NotIn, Exists, DoesNotExist, Gt, Lt."""
    key, operator, wanted = requirement.get("key", ""), requirement.get("operator"), requirement.get("values") or []
    present, value = key in values, values.get(key, "")
    if operator == "In":
        return present and value in wanted
    if operator == "NotIn":
        return not present or value not in wanted
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and len(wanted) == 1:
        try:
            number, bound = int(value), int(wanted[0])
        except ValueError:
            return False
        return number > bound if operator == "Gt" else number < bound
    return False


def _term_matches(term: dict[str, Any], node: dict[str, Any]) -> bool:
    """A NodeSelectorTerm: all its expressions and fields hold; an empty term matches nothing."""
    expressions, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
    if not expressions and not fields:
        return False
    labels = node["metadata"].get("labels") or {}
    node_fields = {"metadata.name": node["metadata"]["name"]}
    return all(_requirement_holds(item, labels) for item in expressions) and all(
        _requirement_holds(item, node_fields) for item in fields
    )


def matches_node_selector_and_affinity(pod: dict[str, Any], node: dict[str, Any]) -> bool:
    """spec.nodeSelector (every label equal) and required node affinity (any term matches)."""
    spec = pod.get("spec", {})
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(key) != value for key, value in (spec.get("nodeSelector") or {}).items()):
        return False
    affinity = (spec.get("affinity") or {}).get("nodeAffinity") or {}
    required = affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    if not required:
        return True
    return any(_term_matches(term, node) for term in required.get("nodeSelectorTerms") or [])


def unfit_reason(pod: dict[str, Any], node: dict[str, Any], *, load: int) -> str | None:
    """Why the pod cannot go on this node, in kube-scheduler's words; None when it fits."""
    tolerations = pod.get("spec", {}).get("tolerations") or []
    if node.get("spec", {}).get("unschedulable") and not any(tolerates(t, UNSCHEDULABLE_TAINT) for t in tolerations):
        return UNSCHEDULABLE
    taint = untolerated_taint(pod, node)
    if taint is not None:
        return f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value', '')}}}"
    if not matches_node_selector_and_affinity(pod, node):
        return AFFINITY
    if load >= _max_pods(node):
        return TOO_MANY_PODS
    return None


def _max_pods(node: dict[str, Any]) -> int:
    try:
        return int(node.get("status", {}).get("allocatable", {}).get("pods", DEFAULT_MAX_PODS))
    except (TypeError, ValueError):
        return DEFAULT_MAX_PODS


def place(pod: dict[str, Any], nodes: list[dict[str, Any]], *, load: dict[str, int]) -> tuple[str | None, str]:
    """(node name, "") for the least-loaded fitting node (ties by name), or (None, FailedScheduling message)."""
    if not nodes:
        return None, "no nodes available to schedule pods"
    reasons: Counter[str] = Counter()
    fits: list[tuple[int, str]] = []
    for node in nodes:
        name = node["metadata"]["name"]
        reason = unfit_reason(pod, node, load=load.get(name, 0))
        if reason is None:
            fits.append((load.get(name, 0), name))
        else:
            reasons[reason] += 1
    if fits:
        return min(fits)[1], ""
    listed = ", ".join(sorted(f"{count} {reason}" for reason, count in reasons.items()))
    return None, f"0/{len(nodes)} nodes are available: {listed}."


def node_load(pods: Iterable[dict[str, Any]]) -> dict[str, int]:
    """How many non-terminal pods each node runs."""
    counts: Counter[str] = Counter()
    for pod in pods:
        node = pod.get("spec", {}).get("nodeName")
        if node and pod.get("status", {}).get("phase") not in TERMINAL_PHASES:
            counts[node] += 1
    return dict(counts)


def needs_scheduling(pod: dict[str, Any]) -> bool:
    spec, meta = pod.get("spec", {}), pod.get("metadata", {})
    return (
        not spec.get("nodeName")
        and spec.get("schedulerName", SCHEDULER_NAME) == SCHEDULER_NAME
        and not meta.get("deletionTimestamp")
        and pod.get("status", {}).get("phase") not in TERMINAL_PHASES
    )


def _node_signature(node: dict[str, Any]) -> tuple[Any, ...]:
    """What scheduling looks at: a node change that leaves it alone (e.g. status.images) retries nothing."""
    spec = node.get("spec", {})
    return (repr(node["metadata"].get("labels")), repr(spec.get("taints")), bool(spec.get("unschedulable")),
            _max_pods(node))


class Scheduler:
    """Watches the store; each pod without a node is placed once, and again whenever nodes or load change."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._recorder = EventRecorder(store, component=SCHEDULER_NAME)
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._waiting: set[tuple[str, str]] = set()
        self._signatures: dict[str, tuple[Any, ...]] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="devcluster-scheduler", daemon=True)
        self._unsubscribe: Any = None

    def start(self) -> Scheduler:
        self._unsubscribe = self._store.subscribe(self._on_event)
        nodes, _ = self._store.list("nodes")
        self._signatures = {node["metadata"]["name"]: _node_signature(node) for node in nodes}
        pods, _ = self._store.list("pods")
        for pod in pods:
            if needs_scheduling(pod):
                self._queue.put(_key(pod))
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _on_event(self, event_type: str, resource: str, obj: dict[str, Any]) -> None:
        if resource == "pods":
            if event_type == "ADDED" and needs_scheduling(obj):
                self._queue.put(_key(obj))
            elif event_type == "DELETED" or obj.get("status", {}).get("phase") in TERMINAL_PHASES:
                self._retry_waiting()
        elif resource == "nodes":
            name = obj["metadata"]["name"]
            signature = None if event_type == "DELETED" else _node_signature(obj)
            with self._lock:
                changed = self._signatures.get(name) != signature
                self._signatures[name] = signature  # type: ignore[assignment]
            if changed:
                self._retry_waiting()

    def _retry_waiting(self) -> None:
        with self._lock:
            waiting, self._waiting = self._waiting, set()
        for key in sorted(waiting):
            self._queue.put(key)

    def _run(self) -> None:
        while (key := self._queue.get()) is not None:
            try:
                self._schedule(*key)
            except ApiError as error:
                if error.code != 404:  # a pod deleted while being placed needs no more work
                    log.warning("scheduling %s/%s failed: %s", *key, error)

    def _schedule(self, namespace: str, name: str) -> None:
        try:
            pod = self._store.get("pods", namespace, name)
        except ApiError as error:
            if error.code == 404:
                return
            raise
        if not needs_scheduling(pod):
            return
        nodes, _ = self._store.list("nodes")
        pods, _ = self._store.list("pods")
        node, message = place(pod, sorted(nodes, key=lambda item: item["metadata"]["name"]), load=node_load(pods))
        if node is None:
            with self._lock:
                self._waiting.add((namespace, name))
            self._mark_unschedulable(pod, message)
        else:
            self._bind(pod, node)

    def _bind(self, pod: dict[str, Any], node: str) -> None:
        meta = pod["metadata"]

        def scheduled(obj: dict[str, Any]) -> None:
            set_condition(obj.setdefault("status", {}), "PodScheduled", True)

        def assign(obj: dict[str, Any]) -> None:
            if not obj["spec"].get("nodeName"):
                obj["spec"]["nodeName"] = node

        self._store.mutate("pods", meta["namespace"], meta["name"], scheduled, subresource="status")
        bound = self._store.mutate("pods", meta["namespace"], meta["name"], assign)
        if bound["spec"].get("nodeName") == node:
            self._recorder.event(bound, NORMAL, "Scheduled",
                                 f"Successfully assigned {meta['namespace']}/{meta['name']} to {node}")

    def _mark_unschedulable(self, pod: dict[str, Any], message: str) -> None:
        meta = pod["metadata"]
        conditions: list[dict[str, Any]] = pod.get("status", {}).get("conditions") or []
        current = next((c for c in conditions if c.get("type") == "PodScheduled"), {})
        if current.get("status") != "False" or current.get("message") != message:
            def unschedulable(obj: dict[str, Any]) -> None:
                status = obj.setdefault("status", {})
                status.setdefault("phase", "Pending")
                set_condition(status, "PodScheduled", False, reason="Unschedulable", message=message)

            self._store.mutate("pods", meta["namespace"], meta["name"], unschedulable, subresource="status")
        self._recorder.event(pod, WARNING, "FailedScheduling", message)


def _key(pod: dict[str, Any]) -> tuple[str, str]:
    return pod["metadata"]["namespace"], pod["metadata"]["name"]
