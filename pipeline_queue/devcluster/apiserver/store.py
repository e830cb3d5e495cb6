"""The in-memory object store of the development cluster: the one place objects live and change.

Every write runs under one lock, gets the next cluster-wide resourceVersion and is recorded in the watch
cache. Stored objects are never modified in place, so history and watchers share them safely; callers
always receive deep copies.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from . import paging
from .deletion import DeletePlan, plan_delete, removable
from .errors import already_exists, bad_request, conflict, forbidden, not_found, stale
from .objects import Allocator, prepare_create, prepare_update, validate_write
from .resources import RESOURCES, Resource, check_known
from .selectors import make_filter
from .watchcache import Change, Subscriber, WatchCache, WatchStream

BOOT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_NAME_ATTEMPTS = 8
Key = tuple[str, str]


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.setdefault("metadata", {})


def _sort_key(key: Key) -> str:
    return f"{key[0]}/{key[1]}" if key[0] else key[1]


class Store:
    """Objects by resource, namespace and name, with Kubernetes write semantics."""

    def __init__(self, *, history: int = 1000) -> None:
        self._lock = threading.RLock()
        self._objects: dict[str, dict[Key, dict[str, Any]]] = {name: {} for name in RESOURCES}
        self._dependents: dict[str, set[tuple[str, str, str]]] = {}
        self._rv = 0
        self._cache = WatchCache(list(RESOURCES), history=history)
        self._allocator = Allocator()
        for name in BOOT_NAMESPACES:
            self.create("namespaces", {"metadata": {"name": name}})

    # -- reads --------------------------------------------------------------------------------

    @property
    def resource_version(self) -> str:
        with self._lock:
            return str(self._rv)

    def get(self, resource: str, namespace: str | None, name: str) -> dict[str, Any]:
        """A copy of one object; ApiError 404 when there is none."""
        with self._lock:
            return copy.deepcopy(self._existing(check_known(resource), namespace, name=name))

    def list(self, resource: str, namespace: str | None = None, *, label_selector: str = "",
             field_selector: str = "") -> tuple[list[dict[str, Any]], str]:
        """Every matching object (copies) and the resourceVersion of the list."""
        page = self.list_page(resource, namespace, label_selector=label_selector, field_selector=field_selector)
        return page.items, page.resource_version

    def list_page(self, resource: str, namespace: str | None = None, *, label_selector: str = "",
                  field_selector: str = "", limit: int = 0, continue_token: str = "") -> paging.Page:
        """One chunk of a list in key order; `continue_token` resumes after the previous chunk."""
        info = check_known(resource)
        flt = make_filter(info, namespace, labels=label_selector, fields=field_selector)
        cursor = paging.decode(continue_token) if continue_token else None
        with self._lock:
            if cursor is not None:
                paging.check_fresh(cursor, oldest=self._cache.oldest(resource))
            keys = sorted((k for k in self._objects[resource] if not cursor or _sort_key(k) > cursor.start),
                          key=_sort_key)
            matched = [self._objects[resource][k] for k in keys if flt.matches(self._objects[resource][k])]
            rv = cursor.rv if cursor and cursor.rv > 0 else self._rv
            chunk = matched[:limit] if limit > 0 else matched
            token = ""
            if limit > 0 and len(matched) > limit:
                token = paging.encode(rv, _sort_key(self._key(info, chunk[-1])))
            remaining = len(matched) - len(chunk) if token and not (label_selector or field_selector) else None
            return paging.Page(copy.deepcopy(chunk), str(rv), token, remaining)

    def dependents(self, owner_uid: str) -> list[tuple[str, str, str]]:
        """(resource, namespace, name) of every object naming `owner_uid` in its ownerReferences."""
        with self._lock:
            return sorted(self._dependents.get(owner_uid, ()))

    def namespace_contents(self, namespace: str) -> list[tuple[str, str]]:
        """(resource, name) of every object left in `namespace`."""
        with self._lock:
            return [(resource, key[1]) for resource, objects in self._objects.items()
                    for key in objects if key[0] == namespace]

    # -- writes -------------------------------------------------------------------------------

    def create(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store a new object (name generated from generateName if need be); 404 without its namespace,
        409 when the name is taken, 422 when it breaks a rule."""
        info = check_known(resource)
        new = prepare_create(info, obj)
        meta = new["metadata"]
        with self._lock:
            if info.namespaced:
                self._require_open_namespace(info, meta["namespace"], name=meta.get("name") or "")
            attempts = _NAME_ATTEMPTS if not meta.get("name") else 1
            for _ in range(attempts):
                named = self._allocator.name(new)
                validate_write(info, named)
                if self._key(info, named) not in self._objects[resource]:
                    break
            else:
                raise already_exists(resource, named["metadata"]["name"])
            self._allocator.allocate(info, named)
            return copy.deepcopy(self._commit(info, "ADDED", obj=named, prev=None))

    def replace(self, resource: str, obj: dict[str, Any], *, subresource: str | None = None,
                check_version: bool = True) -> dict[str, Any]:
        """Update (PUT): a stale metadata.resourceVersion is a 409 Conflict when `check_version`."""
        info = check_known(resource)
        meta = obj.get("metadata") or {}
        with self._lock:
            old = self._existing(info, meta.get("namespace") if info.namespaced else None, name=meta.get("name", ""))
            wanted = meta.get("resourceVersion")
            if check_version and wanted and wanted != old["metadata"]["resourceVersion"]:
                raise stale(resource, old["metadata"]["name"])
            new = prepare_update(info, old, new=copy.deepcopy(obj), subresource=subresource, system=False)
            validate_write(info, new, old=old)
            return copy.deepcopy(self._update(info, old, new=new))

    def mutate(self, resource: str, namespace: str | None, name: str, fn: Callable[[dict[str, Any]], None], *,
               subresource: str | None = None) -> dict[str, Any]:
        """Atomic read-modify-write for the system itself (scheduler, kubelets): no immutability checks."""
        info = check_known(resource)
        with self._lock:
            old = self._existing(info, namespace, name=name)
            draft = copy.deepcopy(old)
            fn(draft)
            new = prepare_update(info, old, new=draft, subresource=subresource, system=True)
            return copy.deepcopy(self._update(info, old, new=new))

    def delete(self, resource: str, namespace: str | None, name: str, *, grace_period_seconds: int | None = None,
               propagation: str = "Background", preconditions: dict[str, str] | None = None) -> dict[str, Any]:
        """Delete, or only mark (finalizers, graceful pods); returns the object as it now is or last was."""
        info = check_known(resource)
        with self._lock:
            old = self._existing(info, namespace, name=name)
            self._check_preconditions(info, old, wanted=preconditions or {})
            if info.name == "namespaces" and name in BOOT_NAMESPACES[:3]:
                raise forbidden(resource, name, why="this namespace may not be deleted")
            plan: DeletePlan = plan_delete(info, old, grace_period_seconds=grace_period_seconds,
                                           propagation=propagation)
            if plan.remove:
                return copy.deepcopy(self._commit(info, "DELETED", obj=old, prev=old))
            if plan.obj == old:
                return copy.deepcopy(old)
            return copy.deepcopy(self._commit(info, "MODIFIED", obj=plan.obj, prev=old))

    # -- watch --------------------------------------------------------------------------------

    def watch(self, resource: str, namespace: str | None = None, *, resource_version: str = "",
              label_selector: str = "", field_selector: str = "") -> WatchStream:
        """Events after `resource_version`; "" or "0" first replays the current objects as ADDED."""
        info = check_known(resource)
        flt = make_filter(info, namespace, labels=label_selector, fields=field_selector)
        since = _parse_version(resource_version)
        with self._lock:
            initial = [] if since else [o for o in self._sorted(resource) if flt.matches(o)]
            return self._cache.open(resource, flt, since=since or None, initial=initial)

    def bookmark_version(self, stream: WatchStream) -> str | None:
        """The resourceVersion a BOOKMARK may carry for `stream`: None while it still has events to deliver."""
        with self._lock:
            return None if stream.pending else str(self._rv)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """callback(type, resource, object copy) for every change, in order, from its own thread."""
        with self._lock:
            return self._cache.subscribe(callback)

    def close(self) -> None:
        """End every open watch stream (the server is going away)."""
        self._cache.close_all()

    # -- internals ----------------------------------------------------------------------------

    def _key(self, info: Resource, obj: dict[str, Any]) -> Key:
        meta = obj["metadata"]
        return (meta.get("namespace", "") if info.namespaced else "", meta.get("name", ""))

    def _sorted(self, resource: str) -> list[dict[str, Any]]:
        objects = self._objects[resource]
        return [objects[k] for k in sorted(objects, key=_sort_key)]

    def _existing(self, info: Resource, namespace: str | None, *, name: str) -> dict[str, Any]:
        key = ((namespace or "default") if info.namespaced else "", name)
        found = self._objects[info.name].get(key)
        if found is None:
            raise not_found(info.name, name)
        return found

    def _require_open_namespace(self, info: Resource, namespace: str, *, name: str) -> None:
        found = self._objects["namespaces"].get(("", namespace))
        if found is None:
            raise not_found("namespaces", namespace)
        if found["metadata"].get("deletionTimestamp"):
            raise forbidden(info.name, name, why=f"unable to create new content in namespace {namespace} "
                                             "because it is being terminated")

    def _check_preconditions(self, info: Resource, obj: dict[str, Any], *, wanted: dict[str, str]) -> None:
        meta = obj["metadata"]
        for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            if wanted.get(field) and wanted[field] != meta.get(field):
                raise conflict(info.name, meta["name"], why=f"Precondition failed: {label} in precondition: "
                                                        f"{wanted[field]}, {label} in object meta: {meta.get(field)}")

    def _update(self, info: Resource, old: dict[str, Any], *, new: dict[str, Any]) -> dict[str, Any]:
        if new == old:
            return old  # a no-op write keeps its resourceVersion, as etcd-backed storage does
        if removable(info, new) and old["metadata"].get("deletionTimestamp"):
            return self._commit(info, "DELETED", obj=old, prev=old)
        return self._commit(info, "MODIFIED", obj=new, prev=old)

    def _commit(self, info: Resource, kind: str, *, obj: dict[str, Any], prev: dict[str, Any] | None) -> dict[str, Any]:
        self._rv += 1
        stored = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(self._rv)}}
        key = self._key(info, stored)
        self._index_owners(info, prev, remove=True)
        if kind == "DELETED":
            del self._objects[info.name][key]
            self._allocator.release(info, stored)
        else:
            self._objects[info.name][key] = stored
            self._index_owners(info, stored, remove=False)
        self._cache.record(Change(self._rv, kind, info.name, stored, prev))
        return stored

    def _index_owners(self, info: Resource, obj: dict[str, Any] | None, *, remove: bool) -> None:
        if obj is None:
            return
        meta = obj["metadata"]
        entry = (info.name, meta.get("namespace", ""), meta["name"])
        for owner in meta.get("ownerReferences") or []:
            group = self._dependents.setdefault(owner.get("uid", ""), set())
            if remove:
                group.discard(entry)
                if not group:
                    del self._dependents[owner.get("uid", "")]
            else:
                group.add(entry)


def _parse_version(text: str) -> int:
    if not text:
        return 0
    try:
        value = int(text)
    except ValueError:
        raise bad_request(f'invalid resource version "{text}"') from None
    if value < 0:
        raise bad_request(f'invalid resource version "{text}"')
    return value
