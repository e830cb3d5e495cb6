"""Semantic validation of objects (what the real registries check beyond the schema), on create and update."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from .errors import FieldError, bad_request, redacted
from .metadata import label_key_problem, label_value_problem, name_problems
from .podupdate import pod_update_errors
from .resources import Resource

_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_RESTART_POLICIES = ("Always", "OnFailure", "Never")
_DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
_TOLERATION_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
_PROTOCOLS = ("TCP", "UDP", "SCTP")
_ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
_CONFIG_KEY_RE = r"[-._a-zA-Z0-9]+"
_SECRET_MAX_BYTES = 1024 * 1024
# Secret types whose data must hold these keys (ValidateSecret).
_REQUIRED_SECRET_KEYS = {
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}
_JSON_SECRET_KEYS = {"kubernetes.io/dockerconfigjson": ".dockerconfigjson", "kubernetes.io/dockercfg": ".dockercfg"}


def _supported(path: str, value: Any, *, allowed: Iterable[str]) -> list[FieldError]:
    if value in allowed:
        return []
    return [FieldError("FieldValueNotSupported", path,
                       "supported values: " + ", ".join(f'"{a}"' for a in allowed), value)]


def _in_range(path: str, value: Any, *, low: int, high: int) -> list[FieldError]:
    if isinstance(value, int) and low <= value <= high:
        return []
    return [FieldError("FieldValueInvalid", path, f"must be between {low} and {high}, inclusive", value)]


def _label_map(path: str, labels: dict[str, Any] | None) -> list[FieldError]:
    errors = []
    for key, value in (labels or {}).items():
        if problem := label_key_problem(key):
            errors.append(FieldError("FieldValueInvalid", path, problem, key))
        if problem := label_value_problem(str(value)):
            errors.append(FieldError("FieldValueInvalid", f"{path}[{key}]", problem, value))
    return errors


def _named(path: str, name: Any, *, seen: set[str]) -> list[FieldError]:
    if not name:
        return [FieldError("FieldValueRequired", f"{path}.name")]
    if name in seen:
        return [FieldError("FieldValueDuplicate", f"{path}.name", value=name)]
    seen.add(name)
    return [FieldError("FieldValueInvalid", f"{path}.name", p, name) for p in name_problems(name, "label")]


def _container(path: str, container: dict[str, Any], *, volumes: set[str], seen: set[str]) -> list[FieldError]:
    errors = _named(path, container.get("name"), seen=seen)
    image = container.get("image")
    if not image:
        errors.append(FieldError("FieldValueRequired", f"{path}.image"))
    elif image != image.strip():
        errors.append(FieldError("FieldValueInvalid", f"{path}.image",
                                 "must not have leading or trailing whitespace", image))
    if container.get("imagePullPolicy"):
        errors += _supported(f"{path}.imagePullPolicy", container["imagePullPolicy"], allowed=_PULL_POLICIES)
    for i, mount in enumerate(container.get("volumeMounts") or []):
        if mount.get("name") not in volumes:
            errors.append(FieldError("FieldValueNotFound", f"{path}.volumeMounts[{i}].name",
                                     value=mount.get("name", "")))
        if not mount.get("mountPath"):
            errors.append(FieldError("FieldValueRequired", f"{path}.volumeMounts[{i}].mountPath"))
    for i, port in enumerate(container.get("ports") or []):
        errors += _in_range(f"{path}.ports[{i}].containerPort", port.get("containerPort"), low=1, high=65535)
    return errors


def _volumes(spec: dict[str, Any]) -> tuple[set[str], list[FieldError]]:
    names: set[str] = set()
    errors: list[FieldError] = []
    for i, volume in enumerate(spec.get("volumes") or []):
        path = f"spec.volumes[{i}]"
        errors += _named(path, volume.get("name"), seen=names)
        sources = [key for key in volume if key != "name"]
        if not sources:
            errors.append(FieldError("FieldValueRequired", path, "must specify a volume type"))
        elif len(sources) > 1:
            errors.append(FieldError("FieldValueForbidden", f"{path}.{sources[1]}",
                                     "may not specify more than 1 volume type"))
    return names, errors


def _tolerations(spec: dict[str, Any]) -> list[FieldError]:
    errors = []
    for i, toleration in enumerate(spec.get("tolerations") or []):
        path = f"spec.tolerations[{i}]"
        key, operator = toleration.get("key", ""), toleration.get("operator") or "Equal"
        if key and (problem := label_key_problem(key)):
            errors.append(FieldError("FieldValueInvalid", f"{path}.key", problem, key))
        if not key and operator != "Exists":
            errors.append(FieldError("FieldValueInvalid", f"{path}.operator", "operator must be Exists when "
                                     '`key` is empty, which means "match all values and all keys"', operator))
        errors += _supported(f"{path}.operator", operator, allowed=("Exists", "Equal"))
        if operator == "Exists" and toleration.get("value"):
            errors.append(FieldError("FieldValueInvalid", f"{path}.operator",
                                     "value must be empty when `operator` is 'Exists'", toleration["value"]))
        if toleration.get("effect"):
            errors += _supported(f"{path}.effect", toleration["effect"], allowed=_TOLERATION_EFFECTS)
    return errors


def _host_aliases(spec: dict[str, Any]) -> list[FieldError]:
    """ValidateHostAliases: a valid IP and RFC 1123 subdomains (the kubelet writes them into the hosts file)."""
    errors = []
    for i, alias in enumerate(spec.get("hostAliases") or []):
        path, address = f"spec.hostAliases[{i}]", alias.get("ip", "")
        try:
            ipaddress.ip_address(str(address))
        except ValueError:
            errors.append(FieldError("FieldValueInvalid", f"{path}.ip",
                                     "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)", address))
        for j, hostname in enumerate(alias.get("hostnames") or []):
            errors += [FieldError("FieldValueInvalid", f"{path}.hostnames[{j}]", problem, hostname)
                       for problem in name_problems(str(hostname), "subdomain")]
    return errors


def pod_errors(pod: dict[str, Any]) -> list[FieldError]:
    spec = pod.get("spec") or {}
    volumes, errors = _volumes(spec)
    if not spec.get("containers"):
        errors.append(FieldError("FieldValueRequired", "spec.containers"))
    seen: set[str] = set()
    for field in ("initContainers", "containers"):
        for i, container in enumerate(spec.get(field) or []):
            errors += _container(f"spec.{field}[{i}]", container, volumes=volumes, seen=seen)
    if spec.get("restartPolicy"):
        errors += _supported("spec.restartPolicy", spec["restartPolicy"], allowed=_RESTART_POLICIES)
    if spec.get("dnsPolicy"):
        errors += _supported("spec.dnsPolicy", spec["dnsPolicy"], allowed=_DNS_POLICIES)
    if spec.get("activeDeadlineSeconds") is not None:
        errors += _in_range("spec.activeDeadlineSeconds", spec["activeDeadlineSeconds"], low=1, high=2147483647)
    return errors + _label_map("spec.nodeSelector", spec.get("nodeSelector")) + _tolerations(spec) + _host_aliases(spec)


def _decoded_secret_data(secret: dict[str, Any]) -> dict[str, bytes]:
    decoded = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            decoded[key] = base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            # The real server fails to decode the body; the value itself is never echoed.
            raise bad_request(f'Secret in version "v1" cannot be handled as a Secret: illegal base64 data '
                              f'in data[{key}]') from None
    return decoded


def _config_key_errors(field: str, keys: Iterable[str]) -> list[FieldError]:
    """IsConfigMapKey, for the keys of a Secret's or a ConfigMap's data."""
    return [FieldError("FieldValueInvalid", f"{field}[{key}]", "a valid config key must consist of alphanumeric "
                       "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex "
                       f"used for validation is '{_CONFIG_KEY_RE}')", key)
            for key in keys if not re.fullmatch(_CONFIG_KEY_RE, key) or key in (".", "..")]


def configmap_errors(config: dict[str, Any]) -> list[FieldError]:
    data, binary = config.get("data") or {}, config.get("binaryData") or {}
    errors = _config_key_errors("data", data) + _config_key_errors("binaryData", binary)
    errors += [FieldError("FieldValueInvalid", "data", "duplicate of key present in binaryData", key)
               for key in data if key in binary]
    size = sum(len(k) + len(str(v)) for k, v in data.items()) + sum(len(k) + len(str(v)) * 3 // 4
                                                                    for k, v in binary.items())
    if size > _SECRET_MAX_BYTES:
        errors.append(FieldError("FieldValueTooLong", "", f"must have at most {_SECRET_MAX_BYTES} bytes"))
    return errors


def secret_errors(secret: dict[str, Any]) -> list[FieldError]:
    data = _decoded_secret_data(secret)
    errors = _config_key_errors("data", data)
    if sum(len(k) + len(v) for k, v in data.items()) > _SECRET_MAX_BYTES:
        errors.append(FieldError("FieldValueTooLong", "data", f"must have at most {_SECRET_MAX_BYTES} bytes"))
    kind = secret.get("type", "Opaque")
    errors += [FieldError("FieldValueRequired", f"data[{key}]")
               for key in _REQUIRED_SECRET_KEYS.get(kind, ()) if key not in data]
    if kind == "kubernetes.io/basic-auth" and not {"username", "password"} & data.keys():
        errors += [FieldError("FieldValueRequired", "data[username]"),
                   FieldError("FieldValueRequired", "data[password]")]
    json_key = _JSON_SECRET_KEYS.get(kind)
    if json_key in data:
        try:
            json.loads(data[json_key])
        except ValueError as error:
            errors.append(FieldError("FieldValueInvalid", f"data[{json_key}]", str(error).split(":")[0],
                                     redacted()))
    return errors


def service_errors(service: dict[str, Any]) -> list[FieldError]:
    spec = service.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    errors = _supported("spec.type", kind, allowed=_SERVICE_TYPES)
    ports = spec.get("ports") or []
    if not ports and kind != "ExternalName" and spec.get("clusterIP") != "None":
        errors.append(FieldError("FieldValueRequired", "spec.ports"))
    names: set[str] = set()
    for i, port in enumerate(ports):
        path = f"spec.ports[{i}]"
        if len(ports) > 1 or port.get("name"):
            errors += _named(path, port.get("name"), seen=names)
        errors += _in_range(f"{path}.port", port.get("port"), low=1, high=65535)
        errors += _supported(f"{path}.protocol", port.get("protocol", "TCP"), allowed=_PROTOCOLS)
    return errors + _label_map("spec.selector", spec.get("selector"))


def pvc_errors(claim: dict[str, Any]) -> list[FieldError]:
    spec = claim.get("spec") or {}
    modes = spec.get("accessModes") or []
    errors = [] if modes else [FieldError("FieldValueRequired", "spec.accessModes",
                                          "at least 1 access mode is required")]
    for mode in modes:
        errors += _supported("spec.accessModes", mode, allowed=_ACCESS_MODES)
    if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
        errors.append(FieldError("FieldValueRequired", "spec.resources[storage]"))
    return errors


def event_errors(event: dict[str, Any]) -> list[FieldError]:
    involved = event.get("involvedObject")
    if not isinstance(involved, dict):
        return [FieldError("FieldValueRequired", "involvedObject")]
    namespace = event.get("metadata", {}).get("namespace", "")
    if involved.get("namespace") and involved["namespace"] != namespace:
        return [FieldError("FieldValueInvalid", "involvedObject.namespace", "does not match event.namespace",
                           involved["namespace"])]
    return []


_CREATE_RULES: dict[str, Callable[[dict[str, Any]], list[FieldError]]] = {
    "pods": pod_errors, "secrets": secret_errors, "services": service_errors,
    "persistentvolumeclaims": pvc_errors, "events": event_errors, "configmaps": configmap_errors,
}


def _immutable(path: str, *, old: Any, new: Any, detail: str = "field is immutable") -> list[FieldError]:
    return [] if old == new else [FieldError("FieldValueInvalid", path, detail, new)]


def _locked_errors(old: dict[str, Any], new: dict[str, Any], *, fields: tuple[str, ...]) -> list[FieldError]:
    """An `immutable: true` Secret or ConfigMap keeps its data (and stays immutable)."""
    if not old.get("immutable"):
        return []
    locked = "field is immutable when `immutable` is set"
    errors = [] if new.get("immutable") else [FieldError("FieldValueForbidden", "immutable", locked)]
    return errors + [FieldError("FieldValueForbidden", field, locked)
                     for field in fields if old.get(field) != new.get(field)]


def _secret_update_errors(old: dict[str, Any], new: dict[str, Any]) -> list[FieldError]:
    return _immutable("type", old=old.get("type"), new=new.get("type")) + _locked_errors(old, new, fields=("data",))


def _configmap_update_errors(old: dict[str, Any], new: dict[str, Any]) -> list[FieldError]:
    return _locked_errors(old, new, fields=("data", "binaryData"))


def _service_update_errors(old: dict[str, Any], new: dict[str, Any]) -> list[FieldError]:
    return _immutable("spec.clusterIP", old=old.get("spec", {}).get("clusterIP"),
                      new=new.get("spec", {}).get("clusterIP"))


def _pvc_update_errors(old: dict[str, Any], new: dict[str, Any]) -> list[FieldError]:
    def frozen(claim: dict[str, Any]) -> dict[str, Any]:
        spec = dict(claim.get("spec") or {})
        spec.pop("resources", None)
        spec.pop("volumeAttributesClassName", None)
        return spec

    if frozen(old) == frozen(new):
        return []
    return [FieldError("FieldValueForbidden", "spec", "spec is immutable after creation except "
                       "resources.requests and volumeAttributesClassName for bound claims")]


_UPDATE_RULES: dict[str, Callable[[dict[str, Any], dict[str, Any]], list[FieldError]]] = {
    "pods": pod_update_errors, "secrets": _secret_update_errors, "services": _service_update_errors,
    "persistentvolumeclaims": _pvc_update_errors, "configmaps": _configmap_update_errors,
}


def object_errors(resource: Resource, obj: dict[str, Any], *, old: dict[str, Any] | None = None) -> list[FieldError]:
    """Every rule `obj` breaks and, given `old`, every change an update may not make."""
    errors = _CREATE_RULES.get(resource.name, lambda _: [])(obj)
    if old is not None:
        errors += _UPDATE_RULES.get(resource.name, lambda _o, _n: [])(old, obj)
    return errors
