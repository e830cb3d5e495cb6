"""The core/v1 resources the development cluster serves, with the traits the real registry gives each."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ApiError, page_not_found

_COMMON_FIELDS = ("metadata.name", "metadata.namespace")
_POD_FIELDS = ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
               "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName")
_EVENT_FIELDS = ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                 "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
                 "reason", "reportingComponent", "source", "type")


@dataclass(frozen=True)
class Resource:
    """One REST resource: its names, scope, subresources and how it behaves on write and delete."""

    name: str
    kind: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    # The name rule of the real registry: "subdomain", "label" (RFC 1123) or "label1035".
    name_rule: str = "subdomain"
    subresources: tuple[str, ...] = ()
    # True where the real server answers a DELETE with the object rather than a Status.
    returns_deleted_object: bool = False
    # Resources whose spec changes bump metadata.generation.
    has_generation: bool = False
    extra_fields: tuple[str, ...] = ()
    # Discovery categories: `kubectl get all` lists the resources in "all".
    categories: tuple[str, ...] = ()

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def field_labels(self) -> tuple[str, ...]:
        """The field selector keys this resource supports."""
        return _COMMON_FIELDS + self.extra_fields


RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        Resource("namespaces", "Namespace", "namespace", False, ("ns",), name_rule="label",
                 subresources=("status", "finalize"), extra_fields=("status.phase",)),
        Resource("pods", "Pod", "pod", True, ("po",),
                 subresources=("status", "log", "binding", "exec", "attach", "portforward", "proxy"),
                 returns_deleted_object=True, has_generation=True, extra_fields=_POD_FIELDS, categories=("all",)),
        Resource("secrets", "Secret", "secret", True, extra_fields=("type",)),
        Resource("configmaps", "ConfigMap", "configmap", True, ("cm",)),
        Resource("persistentvolumeclaims", "PersistentVolumeClaim", "persistentvolumeclaim", True, ("pvc",),
                 subresources=("status",), returns_deleted_object=True),
        Resource("services", "Service", "service", True, ("svc",), name_rule="label1035",
                 subresources=("status", "proxy"), returns_deleted_object=True, categories=("all",)),
        Resource("nodes", "Node", "node", False, ("no",), subresources=("status", "proxy"),
                 extra_fields=("spec.unschedulable",)),
        Resource("events", "Event", "event", True, ("ev",), extra_fields=_EVENT_FIELDS),
    )
}
KINDS: dict[str, Resource] = {r.kind: r for r in RESOURCES.values()}
VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
STREAMING = {
    "exec": "its containers are local processes: run the command on this machine, in the pod's folder",
    "attach": "its containers are local processes: read their output with kubectl logs -f",
    "portforward": "each pod listens on a loopback address of its own: connect to its status.podIP directly",
    "proxy": "connect to the pod's status.podIP (or the process's address) directly",
}
"""Subresources a real cluster streams through the kubelet; here each answers why not, and what to do instead."""


def resource(name: str) -> Resource:
    """The resource called `name`; ApiError 404 for one this server does not serve."""
    found = RESOURCES.get(name)
    if found is None:
        raise page_not_found()
    return found


def check_known(name: str) -> Resource:
    """For in-process callers: a resource name outside the list is a programming error."""
    try:
        return resource(name)
    except ApiError as error:
        raise ApiError(404, "NotFound", message=f"the development cluster serves no resource {name!r}") from error
