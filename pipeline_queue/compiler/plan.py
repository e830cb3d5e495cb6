"""What compiling a stage yields: per step its pod and decisions, and the stage's shared objects."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from pipeline_queue.images import ImageRef
from pipeline_queue.pull import PullDecision
from pipeline_queue.spec.models import Conditions

REDACTED = "<redacted>"


@dataclass(frozen=True)
class CredentialSource:
    """Where one registry credential of a step comes from: never the password."""

    secret: str
    """The `image_pull_secrets` entry (repository secret) holding it."""
    key: str
    """The registry key in that config.json, as written."""
    username: str


@dataclass(frozen=True)
class CompiledStep:
    """One step or service: its image decisions and the objects that run it."""

    name: str
    slug: str
    kind: str
    """`step` or `service`."""
    image: ImageRef
    pull: PullDecision
    credentials: tuple[CredentialSource, ...]
    pod: dict[str, Any]
    pull_secret: dict[str, Any] | None = field(repr=False)
    """The dockerconfigjson Secret with only this image's credentials, when it has any."""
    service: dict[str, Any] | None
    """The Service that makes a service reachable by its name."""
    depends_on: tuple[str, ...]
    detach: bool
    failure: str
    """`ignore` when a failure must not fail the stage, else `fail`."""
    when: Conditions
    number: int = 0
    """DRONE_STEP_NUMBER: services first, then steps, from 1."""

    @property
    def pod_name(self) -> str:
        return str(self.pod["metadata"]["name"])

    def objects(self) -> list[dict[str, Any]]:
        """This step's objects in creation order: pull secret, pod, service."""
        return [obj for obj in (self.pull_secret, self.pod, self.service) if obj is not None]


@dataclass(frozen=True)
class Plan:
    """A compiled stage: everything the workers create for it, in plain Kubernetes objects."""

    pipeline: str
    stage_id: str
    namespace: str
    steps: tuple[CompiledStep, ...]
    services: tuple[CompiledStep, ...]
    secret: dict[str, Any] | None = field(repr=False)
    """The Opaque Secret with the `from_secret` values the stage references, if any are known."""
    claim: dict[str, Any]
    warnings: tuple[str, ...] = ()

    def objects(self) -> list[dict[str, Any]]:
        """Every object in creation order: claim, secret, pull secrets, services (pod, Service), step pods."""
        objects: list[dict[str, Any]] = [self.claim]
        if self.secret is not None:
            objects.append(self.secret)
        everything = (*self.services, *self.steps)
        objects.extend(step.pull_secret for step in everything if step.pull_secret is not None)
        for service in self.services:
            objects.append(service.pod)
            if service.service is not None:
                objects.append(service.service)
        objects.extend(step.pod for step in self.steps)
        return objects

    def redacted_objects(self) -> list[dict[str, Any]]:
        """`objects()` with every Secret value replaced by `<redacted>`, for showing to people."""
        return [redact(obj) for obj in self.objects()]

    def step(self, name: str) -> CompiledStep:
        """The step or service called `name`; KeyError when there is none."""
        for step in (*self.services, *self.steps):
            if step.name == name:
                return step
        raise KeyError(name)


def redact(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy of `obj`; for a Secret, its data and stringData values become `<redacted>`."""
    copied = copy.deepcopy(obj)
    if copied.get("kind") == "Secret":
        for section in ("data", "stringData"):
            if section in copied:
                copied[section] = {key: REDACTED for key in copied[section]}
    return copied
