"""The garbage collector and namespace controller of the development cluster.

Dependents of a deleted owner go too (background), `foregroundDeletion` owners wait for their blocking
dependents, `orphan` owners release theirs, and a terminating namespace is emptied, then removed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pipeline_queue.devcluster.apiserver.errors import ApiError
from pipeline_queue.devcluster.apiserver.resources import KINDS
from pipeline_queue.devcluster.apiserver.store import Store

log = logging.getLogger(__name__)


def _unless_gone(error: ApiError) -> None:
    """An object already gone needs no collecting; anything else is worth a log line."""
    if error.code != 404:
        log.warning("garbage collector: %s", error)


class GarbageCollector:
    """Reacts to every change in the store, from its own subscriber thread."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> GarbageCollector:
        self._unsubscribe = self.store.subscribe(self._on_change)
        return self

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_change(self, kind: str, resource: str, obj: dict[str, Any]) -> None:
        try:
            if kind == "DELETED":
                self._owner_gone(obj["metadata"]["uid"])
                self._dependent_gone(obj)
                return
            if kind == "ADDED" and obj["metadata"].get("ownerReferences"):
                self._check_owners(resource, obj)
            if obj["metadata"].get("deletionTimestamp"):
                self._deleting(resource, obj)
        except ApiError as error:
            # Another writer got there first (gone, changed); the next event brings the new state.
            log.debug("garbage collector: %s", error)

    # -- owners and dependents ----------------------------------------------------------------

    def _owner_exists(self, owner: dict[str, Any], namespace: str) -> bool:
        info = KINDS.get(owner.get("kind", ""))
        if info is None or owner.get("apiVersion") != "v1":
            return True  # a kind this cluster does not serve cannot be checked; the real GC leaves it too
        if info.namespaced and not namespace:
            return False  # a cluster-scoped dependent cannot be owned by a namespaced object
        try:
            found = self.store.get(info.name, namespace if info.namespaced else None, owner.get("name", ""))
        except ApiError:
            return False
        return found["metadata"]["uid"] == owner.get("uid")

    def _collect(self, resource: str, obj: dict[str, Any], *, gone: set[str]) -> None:
        """Delete `obj` when no owner remains; otherwise only drop the references to owners that are gone."""
        meta = obj["metadata"]
        namespace = meta.get("namespace", "")
        owners = meta.get("ownerReferences") or []
        solid = [o for o in owners if o.get("uid") not in gone and self._owner_exists(o, namespace)]
        if not solid:
            self._delete(resource, namespace or None, name=meta["name"], propagation="Background")
        elif len(solid) < len(owners):
            keep = {o.get("uid") for o in solid}
            self._drop_owners(resource, namespace or None, name=meta["name"], keep=keep)

    def _check_owners(self, resource: str, obj: dict[str, Any]) -> None:
        self._collect(resource, obj, gone=set())

    def _owner_gone(self, uid: str) -> None:
        for resource, namespace, name in self.store.dependents(uid):
            try:
                dependent = self.store.get(resource, namespace or None, name)
            except ApiError:
                continue
            self._collect(resource, dependent, gone={uid})

    def _dependent_gone(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        namespace = meta.get("namespace", "")
        for owner in meta.get("ownerReferences") or []:
            info = KINDS.get(owner.get("kind", ""))
            if info is None:
                continue
            try:
                found = self.store.get(info.name, namespace if info.namespaced else None, owner.get("name", ""))
            except ApiError:
                continue
            if found["metadata"].get("deletionTimestamp"):
                self._deleting(info.name, found)
        if namespace:
            self._finish_namespace(namespace)

    # -- objects being deleted ----------------------------------------------------------------

    def _deleting(self, resource: str, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        finalizers = meta.get("finalizers") or []
        if resource == "namespaces":
            self._empty_namespace(meta["name"])
        if "orphan" in finalizers:
            for dep_resource, namespace, name in self.store.dependents(meta["uid"]):
                self._drop_owners(dep_resource, namespace or None, name=name, keep=None, drop=meta["uid"])
            self._remove_finalizer(resource, obj, finalizer="orphan")
        if "foregroundDeletion" in finalizers:
            self._foreground(resource, obj)

    def _foreground(self, resource: str, obj: dict[str, Any]) -> None:
        uid = obj["metadata"]["uid"]
        blocking = 0
        for dep_resource, namespace, name in self.store.dependents(uid):
            try:
                dependent = self.store.get(dep_resource, namespace or None, name)
            except ApiError:
                continue
            refs = [o for o in dependent["metadata"].get("ownerReferences") or [] if o.get("uid") == uid]
            blocking += any(o.get("blockOwnerDeletion") for o in refs)
            if not dependent["metadata"].get("deletionTimestamp"):
                self._delete(dep_resource, namespace or None, name=name, propagation="Foreground")
        if not blocking:
            self._remove_finalizer(resource, obj, finalizer="foregroundDeletion")

    def _remove_finalizer(self, resource: str, obj: dict[str, Any], *, finalizer: str) -> None:
        meta = obj["metadata"]

        def drop(current: dict[str, Any]) -> None:
            kept = [f for f in current["metadata"].get("finalizers") or [] if f != finalizer]
            current["metadata"].pop("finalizers", None)
            if kept:
                current["metadata"]["finalizers"] = kept

        self.store.mutate(resource, meta.get("namespace"), meta["name"], drop)

    def _drop_owners(self, resource: str, namespace: str | None, *, name: str, keep: set[str] | None,
                     drop: str = "") -> None:
        def edit(current: dict[str, Any]) -> None:
            refs = current["metadata"].get("ownerReferences") or []
            kept = [o for o in refs if (keep is None or o.get("uid") in keep) and o.get("uid") != drop]
            current["metadata"].pop("ownerReferences", None)
            if kept:
                current["metadata"]["ownerReferences"] = kept

        try:
            self.store.mutate(resource, namespace, name, edit)
        except ApiError as error:
            _unless_gone(error)

    def _delete(self, resource: str, namespace: str | None, *, name: str, propagation: str) -> None:
        try:
            self.store.delete(resource, namespace, name, propagation=propagation)
        except ApiError as error:
            _unless_gone(error)

    # -- namespaces ---------------------------------------------------------------------------

    def _empty_namespace(self, namespace: str) -> None:
        for resource, name in self.store.namespace_contents(namespace):
            self._delete(resource, namespace, name=name, propagation="Background")
        self._finish_namespace(namespace)

    def _finish_namespace(self, namespace: str) -> None:
        try:
            found = self.store.get("namespaces", None, namespace)
        except ApiError:
            return
        if not found["metadata"].get("deletionTimestamp") or self.store.namespace_contents(namespace):
            return

        def finalize(current: dict[str, Any]) -> None:
            current.setdefault("spec", {})["finalizers"] = []

        self.store.mutate("namespaces", None, namespace, finalize)
