"""What a step's pod says about the step: not started, running, finished, or unable to start. Pure.

A pod that cannot pull its image is a finished step with a clear error, not a wait: the kubelet would
retry for ever. Whatever else keeps a pod from starting is caught by the start timeout.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pipeline_queue.compiler.plan import CONTAINER, StepPlan
from pipeline_queue.vocabulary import Status

PULL_FAILURES = frozenset({"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"})
START_FAILURES = frozenset({"CreateContainerConfigError", "CreateContainerError", "RunContainerError"})
_AUTH_HINTS = ("401", "403", "unauthorized", "denied", "authorization", "authentication", "credentials")


@dataclass(frozen=True)
class PodView:
    """One observation of a step's pod; `status` PENDING while it waits, RUNNING, or terminal."""

    status: Status
    node: str = ""
    image_id: str = ""
    exit_code: int | None = None
    error: str = ""
    ran: bool = False
    """The container started at some point, so it has a log worth keeping."""
    waiting_until: datetime | None = None
    """While PENDING: when the start timeout runs out."""
    pull_policy: str = ""
    """The pod's imagePullPolicy: the policy actually used (the cache guard may have changed the compiled one)."""
    pod_ip: str = ""
    """The pod's address once it has one: a service's, for the steps' `hostAliases`."""


def observe(
    pod: dict[str, Any], step: StepPlan, *, now: datetime, start_timeout: int, image_pull_secrets: tuple[str, ...] = ()
) -> PodView:
    """The step as its pod shows it; `image_pull_secrets` (the pipeline's) only shape error messages."""
    seen = _observe(pod, step, now=now, start_timeout=start_timeout, image_pull_secrets=image_pull_secrets)
    containers = (pod.get("spec") or {}).get("containers") or []
    policy = next((str(c.get("imagePullPolicy") or "") for c in containers if c.get("name") == CONTAINER), "")
    return replace(seen, pull_policy=policy, pod_ip=str((pod.get("status") or {}).get("podIP") or ""))


def _observe(
    pod: dict[str, Any], step: StepPlan, *, now: datetime, start_timeout: int, image_pull_secrets: tuple[str, ...]
) -> PodView:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    node = str(spec.get("nodeName") or "")
    container = _container_status(status)
    state = container.get("state") or {}
    image_id = str(container.get("imageID") or "")
    if "terminated" in state or status.get("phase") in ("Succeeded", "Failed"):
        return _finished(status, state.get("terminated"), node=node, image_id=image_id)
    if "running" in state:
        return PodView(Status.RUNNING, node=node, image_id=image_id, ran=True)
    waiting = state.get("waiting") or {}
    reason = str(waiting.get("reason") or "")
    if reason in PULL_FAILURES:
        message = str(waiting.get("message") or "")
        error = pull_error(step, reason=reason, message=message, node=node, image_pull_secrets=image_pull_secrets)
        return PodView(Status.ERROR, node=node, error=error)
    if reason in START_FAILURES:
        detail = waiting.get("message") or reason
        return PodView(Status.ERROR, node=node, error=f"the container of step {step.name!r} could not start: {detail}")
    return _waiting(pod, step, node=node, now=now, start_timeout=start_timeout)


def pull_error(
    step: StepPlan, *, reason: str, message: str, node: str, image_pull_secrets: tuple[str, ...] = ()
) -> str:
    """What to tell the user when the step's image could not be had, naming the credentials (never a password)."""
    kubelet = f"{reason}: {message}" if message else reason
    if reason == "ErrImageNeverPull":
        where = f"node {node}" if node else "the node"
        return (f"image {step.image.familiar} is not present on {where} and the step's pull policy is Never "
                f"(pull: never); pull it first or use pull: if-not-exists ({kubelet})")
    if reason == "InvalidImageName":
        return f"image {step.image.familiar} is not a valid image reference ({kubelet})"
    if not step.credentials:
        names = ", ".join(image_pull_secrets) or "none"
        return (f"image {step.image.familiar} could not be pulled: no credentials for {step.image.registry} "
                f"(image_pull_secrets: {names}); {kubelet}")
    sources = ", ".join(f"{c.origin} (registry {c.key}, user {c.username or '?'})" for c in step.credentials)
    if any(hint in message.lower() for hint in _AUTH_HINTS):
        refused = f"{step.image.registry} refused the credentials from {sources}"
        return f"image {step.image.familiar} could not be pulled: {refused}; {kubelet}"
    return f"image {step.image.familiar} could not be pulled (credentials from {sources}); {kubelet}"


def _container_status(status: dict[str, Any]) -> dict[str, Any]:
    statuses = status.get("containerStatuses") or []
    for item in statuses:
        if item.get("name") == CONTAINER:
            return dict(item)
    return dict(statuses[0]) if statuses else {}


def _finished(status: dict[str, Any], terminated: dict[str, Any] | None, *, node: str, image_id: str) -> PodView:
    if status.get("reason") == "DeadlineExceeded":
        return PodView(Status.FAILURE, node=node, image_id=image_id, exit_code=_exit_code(terminated),
                       error="the step ran past the stage's time limit and was stopped (DeadlineExceeded)",
                       ran=terminated is not None)
    if terminated is None:
        detail = status.get("message") or status.get("reason") or "no container status"
        return PodView(Status.ERROR, node=node, error=f"the pod ended without running the step: {detail}")
    exit_code = _exit_code(terminated)
    reason = str(terminated.get("reason") or "")
    if exit_code == 0:
        return PodView(Status.SUCCESS, node=node, image_id=image_id, exit_code=0, ran=True)
    error = f"exit code {exit_code}"
    if reason == "OOMKilled":
        error += " (out of memory: OOMKilled)"
    elif reason not in ("", "Error", "Completed"):
        error += f" ({reason}{': ' + terminated['message'] if terminated.get('message') else ''})"
    return PodView(Status.FAILURE, node=node, image_id=image_id, exit_code=exit_code, error=error, ran=True)


def _exit_code(terminated: dict[str, Any] | None) -> int | None:
    if not terminated or terminated.get("exitCode") is None:
        return None
    return int(terminated["exitCode"])


def _waiting(pod: dict[str, Any], step: StepPlan, *, node: str, now: datetime, start_timeout: int) -> PodView:
    created = parse_time(str((pod.get("metadata") or {}).get("creationTimestamp") or ""))
    if created is None:
        return PodView(Status.PENDING, node=node)
    deadline = created.timestamp() + start_timeout
    if now.timestamp() < deadline:
        return PodView(Status.PENDING, node=node, waiting_until=datetime.fromtimestamp(deadline, tz=now.tzinfo))
    return PodView(Status.ERROR, node=node, error=_start_timeout_error(pod, step, start_timeout=start_timeout))


def _start_timeout_error(pod: dict[str, Any], step: StepPlan, *, start_timeout: int) -> str:
    status = pod.get("status") or {}
    why = [f"phase {status.get('phase') or 'Pending'}"]
    for condition in status.get("conditions") or []:
        if condition.get("status") == "False" and condition.get("reason"):
            why.append(f"{condition.get('type')}: {condition['reason']} {condition.get('message') or ''}".strip())
    waiting = (_container_status(status).get("state") or {}).get("waiting") or {}
    if waiting.get("reason"):
        why.append(f"container waiting: {waiting['reason']} {waiting.get('message') or ''}".strip())
    return f"step {step.name!r} did not start within {start_timeout}s ({'; '.join(why)})"


def parse_time(text: str) -> datetime | None:
    """A Kubernetes RFC 3339 timestamp; None when absent or unreadable."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None
