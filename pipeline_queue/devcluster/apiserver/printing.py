"""Server-side printing: the columns and cells kube-apiserver puts in a `Table` for each resource it serves.

kubectl prints what the server sends (`kubectl get` asks for `as=Table`); the server computes every column, and
kubectl shows those of priority 0 unless asked for `-o wide`. Each function here turns one stored object into its
row's cells, with the real printers' wording (`Completed`, `Init:0/1`, `Terminating`, `<none>`, `2 (5m ago)`).
Pure functions over plain dicts; the time is passed in so tests can pin it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .humanize import age, since

Cells = list[Any]
NONE = "<none>"


def column(name: str, description: str, *, kind: str = "string", form: str = "", priority: int = 0) -> dict[str, Any]:
    """One column definition of a Table as sent (priority 1: shown with `-o wide` only)."""
    return {"name": name, "type": kind, "format": form, "description": description, "priority": priority}


_NAME = column("Name", "Name must be unique within a namespace.", form="name")
_AGE = column("Age", "CreationTimestamp is a timestamp representing the server time when this object was created.")


def _labels(selector: dict[str, str] | None) -> str:
    """labels.FormatLabels: `k=v` pairs sorted by key, `<none>` for none."""
    if not selector:
        return NONE
    return ",".join(f"{key}={selector[key]}" for key in sorted(selector))


# Pods --------------------------------------------------------------------------------------------------------------

POD_COLUMNS = (
    _NAME,
    column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    column("Status", "The aggregate status of the containers in this pod."),
    column("Restarts", "The number of times the containers in this pod have been restarted and when the last "
                       "container in this pod has restarted."),
    _AGE,
    column("IP", "podIP address allocated to the pod. Routable at least within the cluster.", priority=1),
    column("Node", "NodeName indicates in which node this pod is scheduled.", priority=1),
    column("Nominated Node", "nominatedNodeName is set only when this pod preempts other pods on the node.",
           priority=1),
    column("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.", priority=1),
)


def _terminated_reason(state: dict[str, Any], *, prefix: str = "") -> str:
    if state.get("reason"):
        return prefix + str(state["reason"])
    if state.get("signal"):
        return f"{prefix}Signal:{state['signal']}"
    return f"{prefix}ExitCode:{state.get('exitCode', 0)}"


@dataclass
class _PodTally:
    """What the printer gathers while walking a pod's container statuses."""

    reason: str
    restarts: int = 0
    ready: int = 0
    last_restart: str = ""

    def restarted(self, item: dict[str, Any]) -> None:
        self.restarts += int(item.get("restartCount") or 0)
        finished = ((item.get("lastState") or {}).get("terminated") or {}).get("finishedAt") or ""
        self.last_restart = max(self.last_restart, finished)


def _init_reason(pod: dict[str, Any], tally: _PodTally) -> bool:
    """Walk the init containers as the printer does; True while the pod is still initializing."""
    total = len((pod.get("spec") or {}).get("initContainers") or [])
    for index, item in enumerate((pod.get("status") or {}).get("initContainerStatuses") or []):
        tally.restarted(item)
        state = item.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting") or {}
        if terminated is not None and terminated.get("exitCode") == 0:
            continue
        if terminated is not None:
            tally.reason = _terminated_reason(terminated, prefix="Init:")
        elif waiting.get("reason") and waiting["reason"] != "PodInitializing":
            tally.reason = "Init:" + waiting["reason"]
        else:
            tally.reason = f"Init:{index}/{total}"
        return True
    return False


def _condition(status: dict[str, Any], kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in status.get("conditions") or [])


def _container_reason(pod: dict[str, Any], tally: _PodTally) -> None:
    """The app containers, last to first, so the first one's state is the one shown."""
    status = pod.get("status") or {}
    running = False
    tally.restarts, tally.last_restart = 0, ""
    for item in reversed(status.get("containerStatuses") or []):
        tally.restarted(item)
        state = item.get("state") or {}
        waiting, terminated = state.get("waiting") or {}, state.get("terminated")
        if waiting.get("reason"):
            tally.reason = waiting["reason"]
        elif terminated is not None:
            tally.reason = _terminated_reason(terminated)
        elif item.get("ready") and "running" in state:
            running = True
            tally.ready += 1
    if tally.reason == "Completed" and running:
        tally.reason = "Running" if _condition(status, "Ready") else "NotReady"


def pod_status(pod: dict[str, Any]) -> tuple[str, int, int, str]:
    """(STATUS, ready containers, restarts, last restart time) as `kubectl get pods` shows them."""
    status = pod.get("status") or {}
    phase = status.get("phase") or ""
    tally = _PodTally(reason=status.get("reason") or phase)
    if any(c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated"
           for c in status.get("conditions") or []):
        tally.reason = "SchedulingGated"
    initializing = _init_reason(pod, tally)
    if not initializing or _condition(status, "Initialized"):
        _container_reason(pod, tally)
    if pod["metadata"].get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            tally.reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            tally.reason = "Terminating"
    return tally.reason, tally.ready, tally.restarts, tally.last_restart


def _readiness_gates(pod: dict[str, Any]) -> str:
    gates = (pod.get("spec") or {}).get("readinessGates") or []
    if not gates:
        return NONE
    status = pod.get("status") or {}
    passed = sum(_condition(status, gate.get("conditionType", "")) for gate in gates)
    return f"{passed}/{len(gates)}"


def pod_cells(pod: dict[str, Any], now: datetime) -> Cells:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    reason, ready, restarts, last_restart = pod_status(pod)
    shown = str(restarts)
    if restarts and last_restart:
        shown = f"{restarts} ({since(last_restart, now)} ago)"
    ips = [entry.get("ip") for entry in status.get("podIPs") or [] if entry.get("ip")]
    return [pod["metadata"]["name"], f"{ready}/{len(spec.get('containers') or [])}", reason, shown,
            age(pod, now), ips[0] if ips else NONE, spec.get("nodeName") or NONE,
            status.get("nominatedNodeName") or NONE, _readiness_gates(pod)]


def pod_conditions(pod: dict[str, Any]) -> list[dict[str, str]]:
    """A finished pod's row is marked Completed, as the real printer marks it."""
    phase = (pod.get("status") or {}).get("phase")
    messages = {"Succeeded": "The pod has completed successfully.", "Failed": "The pod failed."}
    if phase not in messages:
        return []
    return [{"type": "Completed", "status": "True", "reason": phase, "message": messages[phase]}]


# Nodes -------------------------------------------------------------------------------------------------------------

NODE_COLUMNS = (
    _NAME,
    column("Status", "The status of the node"),
    column("Roles", "The roles of the node"),
    _AGE,
    column("Version", "Kubelet Version reported by the node."),
    column("Internal-IP", "List of addresses reachable to the node.", priority=1),
    column("External-IP", "List of addresses reachable to the node.", priority=1),
    column("OS-Image", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
           priority=1),
    column("Kernel-Version", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
           priority=1),
    column("Container-Runtime", "ContainerRuntime Version reported by the node through runtime remote API "
                                "(e.g. containerd://1.4.2).", priority=1),
)
_ROLE_PREFIX = "node-role.kubernetes.io/"


def _roles(labels: dict[str, str]) -> str:
    roles = {key[len(_ROLE_PREFIX):] for key in labels if key.startswith(_ROLE_PREFIX) and key != _ROLE_PREFIX}
    if labels.get("kubernetes.io/role"):
        roles.add(labels["kubernetes.io/role"])
    return ",".join(sorted(roles)) or NONE


def _address(status: dict[str, Any], kind: str) -> str:
    return next((a["address"] for a in status.get("addresses") or [] if a.get("type") == kind), NONE)


def node_cells(node: dict[str, Any], now: datetime) -> Cells:
    status, info = node.get("status") or {}, (node.get("status") or {}).get("nodeInfo") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    shown = ["Unknown"] if ready is None else ["Ready" if ready.get("status") == "True" else "NotReady"]
    if (node.get("spec") or {}).get("unschedulable"):
        shown.append("SchedulingDisabled")
    return [node["metadata"]["name"], ",".join(shown), _roles(node["metadata"].get("labels") or {}),
            age(node, now), info.get("kubeletVersion", ""), _address(status, "InternalIP"),
            _address(status, "ExternalIP"), info.get("osImage") or "<unknown>",
            info.get("kernelVersion") or "<unknown>", info.get("containerRuntimeVersion") or "<unknown>"]


# Services ----------------------------------------------------------------------------------------------------------

SERVICE_COLUMNS = (
    _NAME,
    column("Type", "type determines how the Service is exposed."),
    column("Cluster-IP", "clusterIP is the IP address of the service and is usually assigned randomly."),
    column("External-IP", "externalIPs is a list of IP addresses for which nodes in the cluster will also accept "
                          "traffic for this service."),
    column("Port(s)", "The list of ports that are exposed by this service."),
    _AGE,
    column("Selector", "Route service traffic to pods with label keys and values matching this selector.",
           priority=1),
)


def _external_ip(service: dict[str, Any]) -> str:
    spec = service.get("spec") or {}
    kind, external = spec.get("type", "ClusterIP"), list(spec.get("externalIPs") or [])
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or NONE
    if kind == "ExternalName":
        return str(spec.get("externalName", ""))
    if kind != "LoadBalancer":
        return "<unknown>"
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    balancers = [entry.get("ip") or entry.get("hostname") for entry in ingress if entry.get("ip") or
                 entry.get("hostname")]
    return ",".join(balancers + external) or "<pending>"


def _ports(ports: list[dict[str, Any]]) -> str:
    shown = []
    for port in ports:
        node = f":{port['nodePort']}" if port.get("nodePort") else ""
        shown.append(f"{port.get('port')}{node}/{port.get('protocol', 'TCP')}")
    return ",".join(shown) or NONE


def service_cells(service: dict[str, Any], now: datetime) -> Cells:
    spec = service.get("spec") or {}
    cluster_ips = spec.get("clusterIPs") or []
    return [service["metadata"]["name"], spec.get("type", ""), cluster_ips[0] if cluster_ips else NONE,
            _external_ip(service), _ports(spec.get("ports") or []), age(service, now), _labels(spec.get("selector"))]


# Secrets, config maps, namespaces ----------------------------------------------------------------------------------

SECRET_COLUMNS = (_NAME, column("Type", "The type of the secret"),
                  column("Data", "The number of entries in the secret", kind="integer"), _AGE)
CONFIGMAP_COLUMNS = (_NAME, column("Data", "The number of entries in the config map", kind="integer"), _AGE)
NAMESPACE_COLUMNS = (_NAME, column("Status", "The status of the namespace"), _AGE)


def secret_cells(secret: dict[str, Any], now: datetime) -> Cells:
    return [secret["metadata"]["name"], secret.get("type") or "Opaque", len(secret.get("data") or {}),
            age(secret, now)]


def configmap_cells(config: dict[str, Any], now: datetime) -> Cells:
    entries = len(config.get("data") or {}) + len(config.get("binaryData") or {})
    return [config["metadata"]["name"], entries, age(config, now)]


def namespace_cells(namespace: dict[str, Any], now: datetime) -> Cells:
    return [namespace["metadata"]["name"], (namespace.get("status") or {}).get("phase", ""), age(namespace, now)]


# Persistent volume claims ------------------------------------------------------------------------------------------

PVC_COLUMNS = (
    _NAME,
    column("Status", "The phase of the claim"),
    column("Volume", "volumeName is the binding reference to the PersistentVolume backing this claim."),
    column("Capacity", "capacity represents the actual resources of the underlying volume."),
    column("Access Modes", "accessModes contains the actual access modes the volume backing the PVC has."),
    column("StorageClass", "storageClassName is the name of the StorageClass required by the claim."),
    column("VolumeAttributesClass", "volumeAttributesClassName may be used to set the VolumeAttributesClass used "
                                    "by this claim."),
    _AGE,
    column("VolumeMode", "volumeMode defines what type of volume is required by the claim.", priority=1),
)
_ACCESS_MODES = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}


def _access_modes(modes: list[str]) -> str:
    return ",".join(short for mode, short in _ACCESS_MODES.items() if mode in modes)


def pvc_cells(claim: dict[str, Any], now: datetime) -> Cells:
    spec, status = claim.get("spec") or {}, claim.get("status") or {}
    phase = "Terminating" if claim["metadata"].get("deletionTimestamp") else status.get("phase", "")
    bound = bool(spec.get("volumeName"))
    capacity = str((status.get("capacity") or {}).get("storage") or "") if bound else ""
    return [claim["metadata"]["name"], phase, spec.get("volumeName", ""), capacity,
            _access_modes(status.get("accessModes") or []) if bound else "",
            spec.get("storageClassName") or "<unset>", spec.get("volumeAttributesClassName") or "<unset>",
            age(claim, now), spec.get("volumeMode") or "<unset>"]


# Events ------------------------------------------------------------------------------------------------------------

EVENT_COLUMNS = (
    column("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
    column("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
    column("Reason", "This should be a short, machine understandable string that gives the reason for the "
                     "transition into the object's current status."),
    column("Object", "The object that this event is about."),
    column("Subobject", "If the reference is to a portion of an object instead of an entire object, this string "
                        "should contain a valid JSON/Go field access statement.", priority=1),
    column("Source", "The component reporting this event. Should be a short machine understandable string.",
           priority=1),
    column("Message", "A human-readable description of the status of this operation."),
    column("First Seen", "The time at which the event was first recorded.", priority=1),
    column("Count", "The number of times this event has occurred.", priority=1),
    column("Name", "Name must be unique within a namespace.", form="name", priority=1),
)


def _event_source(event: dict[str, Any]) -> str:
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingComponent") or ""
    instance = source.get("host") or event.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else component


def event_cells(event: dict[str, Any], now: datetime) -> Cells:
    first = since(event.get("firstTimestamp") or event.get("eventTime") or "", now)
    last = since(event["lastTimestamp"], now) if event.get("lastTimestamp") else first
    count = event.get("count") or 1
    series = event.get("series")
    if series:
        last, count = since(series.get("lastObservedTime", ""), now), series.get("count", count)
    involved = event.get("involvedObject") or {}
    kind = str(involved.get("kind", "")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    return [last, event.get("type", ""), event.get("reason", ""), target, involved.get("fieldPath", ""),
            _event_source(event), str(event.get("message", "")).strip(), first, int(count),
            event["metadata"]["name"]]


# The printer of each resource --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Printer:
    """The columns of a resource and how one object becomes its row."""

    columns: tuple[dict[str, Any], ...]
    cells: Callable[[dict[str, Any], datetime], Cells]
    conditions: Callable[[dict[str, Any]], list[dict[str, str]]] = lambda _: []


PRINTERS: dict[str, Printer] = {
    "pods": Printer(POD_COLUMNS, pod_cells, pod_conditions),
    "nodes": Printer(NODE_COLUMNS, node_cells),
    "services": Printer(SERVICE_COLUMNS, service_cells),
    "secrets": Printer(SECRET_COLUMNS, secret_cells),
    "configmaps": Printer(CONFIGMAP_COLUMNS, configmap_cells),
    "namespaces": Printer(NAMESPACE_COLUMNS, namespace_cells),
    "persistentvolumeclaims": Printer(PVC_COLUMNS, pvc_cells),
    "events": Printer(EVENT_COLUMNS, event_cells),
}
