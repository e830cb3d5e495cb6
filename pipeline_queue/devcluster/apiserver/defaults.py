"""Defaults the real API server fills in on create (defaulting functions plus the usual admission plugins)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from pipeline_queue.images import is_latest, try_parse_image

_DEFAULT_MODE = 420  # 0644, the defaultMode of secret/configMap/projected volumes
_NOT_READY_TOLERATIONS = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
     "tolerationSeconds": 300},
)
_POD_SPEC_DEFAULTS: dict[str, Any] = {
    "restartPolicy": "Always",
    "terminationGracePeriodSeconds": 30,
    "dnsPolicy": "ClusterFirst",
    "securityContext": {},
    "schedulerName": "default-scheduler",
    "enableServiceLinks": True,
    "priority": 0,
    "preemptionPolicy": "PreemptLowerPriority",
    "serviceAccountName": "default",
    "serviceAccount": "default",
}


def pull_policy_for(image: str) -> str:
    """SetDefaults_Container: `Always` for tag latest (or neither tag nor digest), else `IfNotPresent`."""
    ref = try_parse_image(image or "")
    return "Always" if ref is not None and is_latest(ref) else "IfNotPresent"


def _default_container(container: dict[str, Any]) -> None:
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    if not container.get("imagePullPolicy"):
        container["imagePullPolicy"] = pull_policy_for(container.get("image", ""))
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")


def _default_volume(volume: dict[str, Any]) -> None:
    for source in ("secret", "configMap", "downwardAPI", "projected"):
        if isinstance(volume.get(source), dict):
            volume[source].setdefault("defaultMode", _DEFAULT_MODE)


def _tolerations(spec: dict[str, Any]) -> None:
    # DefaultTolerationSeconds admission: tolerate a node going not-ready/unreachable for five minutes.
    tolerations = spec.setdefault("tolerations", [])
    for default in _NOT_READY_TOLERATIONS:
        if not any(t.get("key") == default["key"] and t.get("effect") in (None, "", "NoExecute")
                   for t in tolerations):
            tolerations.append(dict(default))


def _qos_class(spec: dict[str, Any]) -> str:
    containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
    resources = [c.get("resources") or {} for c in containers]
    compute = ("cpu", "memory")
    if not any(r.get(kind, {}).get(name) for r in resources for kind in ("requests", "limits") for name in compute):
        return "BestEffort"
    for r in resources:
        limits, requests = r.get("limits") or {}, r.get("requests") or {}
        if any(name not in limits or requests.get(name, limits[name]) != limits[name] for name in compute):
            return "Burstable"
    return "Guaranteed"


def default_pod(pod: dict[str, Any], *, creating: bool) -> None:
    spec = pod.setdefault("spec", {})
    for key, value in _POD_SPEC_DEFAULTS.items():
        spec.setdefault(key, value)
    for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        _default_container(container)
    for volume in spec.get("volumes") or []:
        _default_volume(volume)
    if creating:
        _tolerations(spec)
        pod["status"] = {"phase": "Pending", "qosClass": _qos_class(spec)}


def default_service(service: dict[str, Any], *, creating: bool) -> None:
    spec = service.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    if creating:
        service["status"] = {"loadBalancer": {}}


def default_namespace(namespace: dict[str, Any], *, creating: bool) -> None:
    meta = namespace["metadata"]
    meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta.get("name", "")
    if creating:
        namespace.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        namespace["status"] = {"phase": "Active"}


def merge_string_data(secret: dict[str, Any]) -> None:
    """`stringData` is write-only: its entries land base64-encoded in `data`."""
    string_data = secret.pop("stringData", None) or {}
    if string_data:
        data = secret.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def default_secret(secret: dict[str, Any], *, creating: bool) -> None:
    secret.setdefault("type", "Opaque")
    merge_string_data(secret)


def default_pvc(claim: dict[str, Any], *, creating: bool) -> None:
    claim.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
    if creating:
        claim["status"] = {"phase": "Pending"}


DEFAULTERS: dict[str, Callable[..., None]] = {
    "pods": default_pod,
    "services": default_service,
    "namespaces": default_namespace,
    "secrets": default_secret,
    "persistentvolumeclaims": default_pvc,
}


def apply_defaults(resource: str, obj: dict[str, Any], *, creating: bool) -> None:
    """Fill in (in place) what the real server would: defaulting on every write, admission and status on create."""
    defaulter = DEFAULTERS.get(resource)
    if defaulter:
        defaulter(obj, creating=creating)
