"""Write strategies: what the server sets, keeps and allocates when an object is created or updated."""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from .defaults import apply_defaults
from .errors import FieldError, bad_request, invalid
from .metadata import finalizers_added_while_deleting, generate_name, new_uid, now, validate_meta, validate_name
from .resources import Resource
from .validation import object_errors

# Fields only the server writes; on create they are dropped, on update carried over from the stored object.
_SYSTEM_FIELDS = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")
_SERVICE_RANGE = ipaddress.ip_network("10.96.0.0/16")
_NODE_PORTS = range(30000, 32768)


def _typed(info: Resource, obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` led by its kind and apiVersion, the order the real server writes."""
    rest = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
    return {"kind": info.kind, "apiVersion": "v1", **rest}


def prepare_create(info: Resource, obj: dict[str, Any]) -> dict[str, Any]:
    """A copy of `obj` with kind, system metadata and defaults, ready to be named and stored."""
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata", {}), dict):
        raise bad_request(f"a {info.kind} must be a JSON object with an object `metadata`")
    new = _typed(info, copy.deepcopy(obj))
    meta = new.setdefault("metadata", {})
    if meta.get("resourceVersion"):
        raise bad_request("resourceVersion should not be set on objects to be created")
    for field in (*_SYSTEM_FIELDS, "selfLink", "resourceVersion"):
        meta.pop(field, None)
    if info.namespaced:
        meta["namespace"] = meta.get("namespace") or "default"
    else:
        meta.pop("namespace", None)
    meta["uid"] = new_uid()
    meta["creationTimestamp"] = now()
    if info.has_generation:
        meta["generation"] = 1
    apply_defaults(info.name, new, creating=True)
    return new


def prepare_update(info: Resource, old: dict[str, Any], *, new: dict[str, Any], subresource: str | None,
                   system: bool) -> dict[str, Any]:
    """`new` as the server stores it: system fields kept, status only through its subresource."""
    if subresource in ("status", "finalize"):
        result = copy.deepcopy(old)
        if subresource == "status":
            result["status"] = new.get("status") or {}
        else:
            result.setdefault("spec", {})["finalizers"] = (new.get("spec") or {}).get("finalizers") or []
        return result
    new = _typed(info, new)
    meta, before = new.setdefault("metadata", {}), old["metadata"]
    for field in (*_SYSTEM_FIELDS, "name", "namespace", "resourceVersion"):
        meta.pop(field, None)
        if field in before:
            meta[field] = before[field]
    meta.pop("selfLink", None)
    if "managedFields" not in meta and "managedFields" in before:
        meta["managedFields"] = before["managedFields"]  # a write that leaves them out keeps them
    if not system:
        _keep(old, new, field="status", only=info.has_status)
        if info.name == "namespaces":
            _keep(old.get("spec") or {}, new.setdefault("spec", {}), field="finalizers", only=True)
        apply_defaults(info.name, new, creating=False)
        if info.name == "services":
            _keep_allocations(old, new)
    if info.has_generation and new.get("spec") != old.get("spec"):
        meta["generation"] = before.get("generation", 1) + 1
    return new


def _keep_allocations(old: dict[str, Any], new: dict[str, Any]) -> None:
    """A service update that leaves out its cluster IP keeps the allocated one, as the real server does."""
    before, after = old.get("spec") or {}, new.setdefault("spec", {})
    if not after.get("clusterIP") and before.get("clusterIP"):
        after["clusterIP"], after["clusterIPs"] = before["clusterIP"], list(before.get("clusterIPs") or [])


def _keep(old: dict[str, Any], new: dict[str, Any], *, field: str, only: bool) -> None:
    if not only:
        return
    new.pop(field, None)
    if field in old:
        new[field] = copy.deepcopy(old[field])


def validate_write(info: Resource, obj: dict[str, Any], *, old: dict[str, Any] | None = None) -> None:
    """ApiError 422 with every metadata and object rule `obj` breaks."""
    meta = obj["metadata"]
    errors: list[FieldError] = [] if old is not None else validate_name(meta, info.name_rule)
    errors += validate_meta(meta)
    if old is not None:
        errors += finalizers_added_while_deleting(old["metadata"], meta)
    errors += object_errors(info, obj, old=old)
    if errors:
        raise invalid(info.kind, meta.get("name") or meta.get("generateName", ""), errors=errors)


class Allocator:
    """Generated names, service cluster IPs and node ports, and the binding of new claims."""

    def __init__(self) -> None:
        self._ips: set[str] = set()
        self._ports: set[int] = set()

    def name(self, obj: dict[str, Any]) -> dict[str, Any]:
        """`obj` with a fresh generated name when it asks for one (each call draws a new suffix)."""
        meta = obj["metadata"]
        if meta.get("name") or not meta.get("generateName"):
            return obj
        return {**obj, "metadata": {**meta, "name": generate_name(meta["generateName"])}}

    def allocate(self, info: Resource, obj: dict[str, Any]) -> None:
        if info.name == "services":
            self._service(obj)
        elif info.name == "persistentvolumeclaims":
            _bind_claim(obj)

    def release(self, info: Resource, obj: dict[str, Any]) -> None:
        if info.name != "services":
            return
        spec = obj.get("spec") or {}
        self._ips.discard(spec.get("clusterIP", ""))
        for port in spec.get("ports") or []:
            self._ports.discard(port.get("nodePort", 0))

    def _service(self, service: dict[str, Any]) -> None:
        spec = service["spec"]
        if spec.get("type") == "ExternalName":
            return
        wanted = spec.get("clusterIP") or ""
        if wanted in self._ips:
            raise invalid("Service", service["metadata"]["name"], errors=[FieldError(
                "FieldValueInvalid", "spec.clusterIPs", f"failed to allocate IP {wanted}: provided IP is already "
                "allocated", [wanted])])
        if wanted != "None":
            wanted = wanted or self._free_ip()
            self._ips.add(wanted)
        spec["clusterIP"], spec["clusterIPs"] = wanted, [wanted]
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            for port in spec.get("ports") or []:
                port["nodePort"] = port.get("nodePort") or next(p for p in _NODE_PORTS if p not in self._ports)
                self._ports.add(port["nodePort"])

    def _free_ip(self) -> str:
        # .0 is the network, .1 the `kubernetes` service and .10 cluster DNS on a real cluster.
        for offset, address in enumerate(_SERVICE_RANGE.hosts()):
            if offset > 10 and str(address) not in self._ips:
                return str(address)
        raise bad_request("the development cluster ran out of service IPs")


def _bind_claim(claim: dict[str, Any]) -> None:
    """Bind at once, as a dynamic provisioner with Immediate binding would (the kubelet maps it to a directory)."""
    spec = claim["spec"]
    spec.setdefault("storageClassName", "standard")
    spec["volumeName"] = f"pvc-{claim['metadata']['uid']}"
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    claim["status"] = {"phase": "Bound", "accessModes": list(spec.get("accessModes") or []),
                       "capacity": {"storage": storage}}
