"""Protobuf field numbers of the kinds kubectl's typed clients send (k8s.io/api core/v1 and meta/v1 wire format).

Only what `kubectl create secret|configmap|namespace|service` and a typed delete put on the wire; a kind missing
here is refused with a 400 that asks for JSON. Kinds: "string", "bytes" (base64 in JSON), "bool", "int", "raw"
(kept as bytes), or the name of another message. `pointer` marks Go pointer fields, whose false or 0 is a value.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """One field of a message: its JSON name, its kind, and whether it repeats or is a map (of `value`s)."""

    name: str
    kind: str = "string"
    repeated: bool = False
    value: str = ""
    pointer: bool = False


def _map(name: str, value: str = "string") -> Field:
    return Field(name, "map", value=value)


def _list(name: str, kind: str = "string") -> Field:
    return Field(name, kind, repeated=True)


ENVELOPE = "Unknown"
MESSAGES: dict[str, dict[int, Field]] = {
    # runtime
    "Unknown": {1: Field("typeMeta", "TypeMeta"), 2: Field("raw", "raw"), 3: Field("contentEncoding"),
                4: Field("contentType")},
    "TypeMeta": {1: Field("apiVersion"), 2: Field("kind")},
    # meta/v1
    "ObjectMeta": {
        1: Field("name"), 2: Field("generateName"), 3: Field("namespace"), 4: Field("selfLink"), 5: Field("uid"),
        6: Field("resourceVersion"), 7: Field("generation", "int"), 8: Field("creationTimestamp", "Time"),
        9: Field("deletionTimestamp", "Time"), 10: Field("deletionGracePeriodSeconds", "int", pointer=True),
        11: _map("labels"), 12: _map("annotations"), 13: _list("ownerReferences", "OwnerReference"),
        14: _list("finalizers"),
    },
    "OwnerReference": {5: Field("apiVersion"), 1: Field("kind"), 3: Field("name"), 4: Field("uid"),
                       6: Field("controller", "bool", pointer=True),
                       7: Field("blockOwnerDeletion", "bool", pointer=True)},
    "Time": {1: Field("seconds", "int"), 2: Field("nanos", "int")},
    "DeleteOptions": {1: Field("gracePeriodSeconds", "int", pointer=True), 2: Field("preconditions", "Preconditions"),
                      3: Field("orphanDependents", "bool", pointer=True), 4: Field("propagationPolicy"),
                      5: _list("dryRun")},
    "Preconditions": {1: Field("uid"), 2: Field("resourceVersion")},
    "IntOrString": {1: Field("type", "int"), 2: Field("intVal", "int"), 3: Field("strVal")},
    # core/v1
    "Secret": {1: Field("metadata", "ObjectMeta"), 2: _map("data", "bytes"), 3: Field("type"),
               4: _map("stringData"), 5: Field("immutable", "bool", pointer=True)},
    "ConfigMap": {1: Field("metadata", "ObjectMeta"), 2: _map("data"), 3: _map("binaryData", "bytes"),
                  4: Field("immutable", "bool", pointer=True)},
    "Namespace": {1: Field("metadata", "ObjectMeta"), 2: Field("spec", "NamespaceSpec"),
                  3: Field("status", "NamespaceStatus")},
    "NamespaceSpec": {1: _list("finalizers")},
    "NamespaceStatus": {1: Field("phase")},
    "Service": {1: Field("metadata", "ObjectMeta"), 2: Field("spec", "ServiceSpec"),
                3: Field("status", "ServiceStatus")},
    "ServiceSpec": {
        1: _list("ports", "ServicePort"), 2: _map("selector"), 3: Field("clusterIP"), 18: _list("clusterIPs"),
        4: Field("type"), 5: _list("externalIPs"), 7: Field("sessionAffinity"), 8: Field("loadBalancerIP"),
        9: _list("loadBalancerSourceRanges"), 10: Field("externalName"), 11: Field("externalTrafficPolicy"),
        12: Field("healthCheckNodePort", "int"), 13: Field("publishNotReadyAddresses", "bool"),
        14: Field("sessionAffinityConfig", "SessionAffinityConfig"), 19: _list("ipFamilies"),
        17: Field("ipFamilyPolicy"), 20: Field("allocateLoadBalancerNodePorts", "bool", pointer=True),
        21: Field("loadBalancerClass"), 22: Field("internalTrafficPolicy"), 23: Field("trafficDistribution"),
    },
    "ServicePort": {1: Field("name"), 2: Field("protocol"), 6: Field("appProtocol"), 3: Field("port", "int"),
                    4: Field("targetPort", "IntOrString"), 5: Field("nodePort", "int")},
    "SessionAffinityConfig": {1: Field("clientIP", "ClientIPConfig")},
    "ClientIPConfig": {1: Field("timeoutSeconds", "int", pointer=True)},
    "ServiceStatus": {1: Field("loadBalancer", "LoadBalancerStatus")},
    "LoadBalancerStatus": {1: _list("ingress", "LoadBalancerIngress")},
    "LoadBalancerIngress": {1: Field("ip"), 2: Field("hostname")},
}
KINDS = {"Secret": "Secret", "ConfigMap": "ConfigMap", "Namespace": "Namespace", "Service": "Service",
         "DeleteOptions": "DeleteOptions"}
"""The kinds a protobuf body may carry, each with its message."""
