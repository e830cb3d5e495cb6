"""Deletion rules: graceful pods, finalizers, garbage-collection finalizers, terminating namespaces."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .conditions import TERMINAL_PHASES
from .errors import FieldError, invalid
from .resources import Resource

PROPAGATIONS = ("Foreground", "Background", "Orphan")
_GC_FINALIZERS = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}


@dataclass(frozen=True)
class DeletePlan:
    """What a delete does: remove the object now, or store `obj` (marked for deletion) instead."""

    obj: dict[str, Any]
    remove: bool


def check_propagation(propagation: str) -> None:
    if propagation not in PROPAGATIONS:
        raise invalid("DeleteOptions", "", errors=[FieldError(
            "FieldValueNotSupported", "propagationPolicy",
            "supported values: " + ", ".join(f'"{p}"' for p in PROPAGATIONS), propagation)])


def removable(info: Resource, obj: dict[str, Any]) -> bool:
    """True once a marked object has nothing left to wait for: no finalizers and no grace period running."""
    meta = obj["metadata"]
    if not meta.get("deletionTimestamp") or meta.get("finalizers"):
        return False
    if info.name == "namespaces" and (obj.get("spec") or {}).get("finalizers"):
        return False
    return not (meta.get("deletionGracePeriodSeconds") or 0) > 0


def pod_grace(pod: dict[str, Any], requested: int | None) -> int:
    """The grace period a pod deletion gets: none unless it is on a node and still running."""
    spec, phase = pod.get("spec") or {}, (pod.get("status") or {}).get("phase")
    if not spec.get("nodeName") or phase in TERMINAL_PHASES:
        return 0
    grace = requested if requested is not None else spec.get("terminationGracePeriodSeconds", 30)
    # A negative period means "as soon as possible" to the kubelet, which the real server stores as 1.
    return 1 if grace < 0 else int(grace)


def _finalizers(current: list[str], propagation: str) -> list[str]:
    kept = [f for f in current if f not in _GC_FINALIZERS.values() or f == _GC_FINALIZERS.get(propagation)]
    wanted = _GC_FINALIZERS.get(propagation)
    return [*kept, wanted] if wanted and wanted not in kept else kept


def _at(seconds: int) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def plan_delete(info: Resource, old: dict[str, Any], *, grace_period_seconds: int | None,
                propagation: str) -> DeletePlan:
    """Decide a delete of `old`; a graceful pod and an object with finalizers are only marked."""
    check_propagation(propagation)
    new = copy.deepcopy(old)
    meta = new["metadata"]
    finalizers = _finalizers(list(meta.get("finalizers") or []), propagation)
    meta.pop("finalizers", None)
    if finalizers:
        meta["finalizers"] = finalizers
    grace = pod_grace(old, grace_period_seconds) if info.name == "pods" else 0
    running = meta.get("deletionGracePeriodSeconds")
    if not meta.get("deletionTimestamp"):
        meta["deletionTimestamp"], meta["deletionGracePeriodSeconds"] = _at(grace), grace
        if info.has_generation:
            meta["generation"] = meta.get("generation", 1) + 1
        if info.name == "namespaces":
            new.setdefault("status", {})["phase"] = "Terminating"
    elif running is not None and grace < running:
        # A second delete may shorten a running grace period, never lengthen it.
        meta["deletionTimestamp"], meta["deletionGracePeriodSeconds"] = _at(grace), grace
    return DeletePlan(new, removable(info, new))
