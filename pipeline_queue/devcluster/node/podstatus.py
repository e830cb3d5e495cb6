"""Pod status as the kubelet writes it: container states, the phase and the conditions, from plain dicts.

Pure functions over the `status` dict of a Pod; the phase follows the kubelet's getPhase.
"""

from __future__ import annotations

import secrets
from typing import Any

from pipeline_queue.devcluster.apiserver.conditions import (
    FAILED,
    PENDING,
    RUNNING,
    SUCCEEDED,
    TERMINAL_PHASES,
    set_condition,
)
from pipeline_queue.devcluster.apiserver.metadata import now


def new_container_id() -> str:
    return "containerd://" + secrets.token_hex(32)


def waiting(reason: str, message: str = "") -> dict[str, Any]:
    state: dict[str, Any] = {"reason": reason}
    if message:
        state["message"] = message
    return {"waiting": state}


def running(started_at: str) -> dict[str, Any]:
    return {"running": {"startedAt": started_at}}


def terminated(exit_code: int, *, reason: str, started_at: str, container_id: str, message: str = "") -> dict[str, Any]:
    state: dict[str, Any] = {"exitCode": exit_code, "reason": reason, "startedAt": started_at or now(),
                             "finishedAt": now()}
    if container_id:
        state["containerID"] = container_id
    if message:
        state["message"] = message
    return {"terminated": state}


def exit_reason(exit_code: int) -> str:
    return "Completed" if exit_code == 0 else "Error"


def container_status(container: dict[str, Any]) -> dict[str, Any]:
    """A container's status before anything happened to it: waiting in ContainerCreating."""
    return {
        "name": container["name"], "image": container.get("image", ""), "imageID": "", "ready": False,
        "restartCount": 0, "started": False, "state": waiting("ContainerCreating"), "lastState": {},
    }


def start(pod: dict[str, Any], *, host_ip: str, pod_ip: str) -> None:
    """The status a kubelet writes when it takes a pod: addresses, start time, every container creating."""
    spec, status = pod["spec"], pod.setdefault("status", {})
    status.update(phase=PENDING, hostIP=host_ip, hostIPs=[{"ip": host_ip}], podIP=pod_ip, podIPs=[{"ip": pod_ip}],
                  qosClass=status.get("qosClass", "BestEffort"))
    status.setdefault("startTime", now())
    inits = spec.get("initContainers") or []
    status["containerStatuses"] = [container_status(container) for container in spec["containers"]]
    status.pop("initContainerStatuses", None)
    if inits:
        status["initContainerStatuses"] = [container_status(container) for container in inits]
        for item in status["containerStatuses"]:
            item["state"] = waiting("PodInitializing")


def settle_waiting(status: dict[str, Any]) -> None:
    """A terminated pod's containers that never finished end as the kubelet reports them: status unknown."""
    message = "The container could not be located when the pod was terminated"
    for key in ("initContainerStatuses", "containerStatuses"):
        for item in status.get(key, []):
            if "terminated" not in item["state"]:
                item["state"] = terminated(137, reason="ContainerStatusUnknown", started_at="", container_id="",
                                           message=message)
                item.update(ready=False, started=False)


def find_container(status: dict[str, Any], name: str, *, init: bool = False) -> dict[str, Any] | None:
    key = "initContainerStatuses" if init else "containerStatuses"
    return next((item for item in status.get(key, []) if item["name"] == name), None)


def refresh(pod: dict[str, Any]) -> None:
    """Recompute phase and conditions from the container statuses; a terminal phase never changes."""
    status = pod.setdefault("status", {})
    spec = pod.get("spec", {})
    initialized = _initialized(status, spec)
    policy = spec.get("restartPolicy", "Always")
    if status.get("phase") not in TERMINAL_PHASES:
        status["phase"] = FAILED if _init_failed(status, policy) else phase(
            status, restart_policy=policy, initialized=initialized)
    pending_init = [item["name"] for item in status.get("initContainerStatuses", []) if not _init_done(item)]
    set_condition(status, "Initialized", initialized, reason="" if initialized else "ContainersNotInitialized",
                  message="" if initialized else f"containers with incomplete status: [{' '.join(pending_init)}]")
    _refresh_readiness(status)


def _refresh_readiness(status: dict[str, Any]) -> None:
    if status.get("phase") in TERMINAL_PHASES:
        for kind in ("ContainersReady", "Ready"):
            set_condition(status, kind, False, reason="PodCompleted")
        return
    unready = [item["name"] for item in status.get("containerStatuses", []) if not item.get("ready")]
    message = f"containers with unready status: [{' '.join(unready)}]" if unready else ""
    for kind in ("ContainersReady", "Ready"):
        set_condition(status, kind, not unready, reason="ContainersNotReady" if unready else "", message=message)


def phase(status: dict[str, Any], *, restart_policy: str, initialized: bool = True) -> str:
    """The kubelet's getPhase over the app containers' states."""
    if not initialized:
        return PENDING
    waiting_count = running_count = stopped = succeeded = 0
    for item in status.get("containerStatuses", []):
        state = item.get("state", {})
        if "running" in state:
            running_count += 1
        elif "terminated" in state:
            stopped += 1
            succeeded += state["terminated"].get("exitCode") == 0
        elif "terminated" in item.get("lastState", {}):
            stopped += 1
        else:
            waiting_count += 1
    if waiting_count:
        return PENDING
    if running_count:
        return RUNNING
    if not stopped:
        return PENDING
    if restart_policy == "Always":
        return RUNNING
    if stopped == succeeded:
        return SUCCEEDED
    return FAILED if restart_policy == "Never" else RUNNING


def _initialized(status: dict[str, Any], spec: dict[str, Any]) -> bool:
    statuses = status.get("initContainerStatuses", [])
    if len(statuses) < len(spec.get("initContainers", [])):
        return False
    return all(_init_done(item) for item in statuses)


def _init_failed(status: dict[str, Any], restart_policy: str) -> bool:
    """An init container that failed under restartPolicy Never fails the pod."""
    if restart_policy != "Never":
        return False
    return any(item.get("state", {}).get("terminated", {}).get("exitCode", 0) != 0
               for item in status.get("initContainerStatuses", []))


def _init_done(item: dict[str, Any]) -> bool:
    return bool(item.get("state", {}).get("terminated", {}).get("exitCode") == 0)
