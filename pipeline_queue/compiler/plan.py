"""What compiling a stage yields: the stage plan the workers run, and the stage's Secrets as a value apart.

The plan is stored as it is (JSON through one pydantic adapter, no hand-written mapping) and never holds
a secret value: pods reference Secrets by name (`secretKeyRef`, `imagePullSecrets`). The Secrets with their
values travel beside it, from the compiler straight to Kubernetes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from pipeline_queue.compiler.naming import LABEL_MANAGED_BY, LABEL_STAGE, MANAGED_BY
from pipeline_queue.errors import CompileError
from pipeline_queue.images import ImageRef
from pipeline_queue.pull import PullDecision
from pipeline_queue.spec.models import Conditions
from pipeline_queue.vocabulary import StepKind

PLAN_FORMAT = 2
"""Stored with every plan; a plan of another format was written by another version and is not read."""
CONTAINER = "step"
"""The one container of every step pod."""
REDACTED = "<redacted>"


@dataclass(frozen=True)
class CredentialSource:
    """Where one registry credential of a step comes from: never the password."""

    secret: str
    """The `image_pull_secrets` entry (repository secret) holding it; for a plugin's credential, the plugin
    (`plugin: ecr`, `plugin: http`, `provider: NAME`)."""
    key: str
    """The registry key in that config.json (or in the plugin's answer), as written."""
    username: str = ""
    plugin: bool = False
    """Issued by a registry credential plugin when the stage started, not read from a secret."""

    @property
    def origin(self) -> str:
        """The source as people read it: `secret 'dockerconfig'`, `plugin: ecr`."""
        return self.secret if self.plugin else f"secret {self.secret!r}"


@dataclass(frozen=True)
class UpstreamPolicy:
    """Whether a stage that waits on other pipelines runs when the build is passing, and when it is failing."""

    success: bool = True
    failure: bool = False


@dataclass(frozen=True)
class StepPlan:
    """One step or service: its image decisions, its pod (and Service), and what decides when it runs."""

    name: str
    slug: str
    kind: StepKind
    number: int
    """DRONE_STEP_NUMBER: services first, then steps, from 1."""
    image: ImageRef
    pull: PullDecision
    credentials: tuple[CredentialSource, ...]
    pod: dict[str, Any]
    pull_secret: str = ""
    """The name of the step's dockerconfigjson Secret, or "" when the image needs no credentials."""
    plugin_pull_secret: str = ""
    """The name of the dockerconfigjson Secret of the credentials plugins gave the step when its stage started."""
    credentials_error: str = ""
    """Why a registry credential plugin that should have served the step's image did not: the step errors with it."""
    service: dict[str, Any] | None = None
    """A service's own headless Service (named for its stage: `pq-<stage>-<step>`)."""
    host: str = ""
    """A service's host name, the one the pipeline's steps reach it by (through their pods' `hostAliases`)."""
    depends_on: tuple[str, ...] = ()
    detach: bool = False
    ignore_failure: bool = False
    when: Conditions = field(default_factory=Conditions)

    @property
    def pod_name(self) -> str:
        return str(self.pod["metadata"]["name"])

    @property
    def counts(self) -> bool:
        """Whether its outcome decides the stage's (services, detached and ignored steps do not)."""
        return self.kind is StepKind.STEP and not self.detach and not self.ignore_failure


@dataclass(frozen=True)
class StagePlan:
    """A compiled stage as the workers run it: namespace, workspace claim, Secret names, services and steps."""

    pipeline: str
    stage_key: str
    """The key the producer chose for this stage run; every object name and the stage label derive from it."""
    namespace: str
    claim: dict[str, Any]
    services: tuple[StepPlan, ...]
    steps: tuple[StepPlan, ...]
    secrets: tuple[str, ...] = ()
    """Names of the stage's Secrets (its env Secret, its pull Secrets): their values are not in the plan."""
    image_pull_secrets: tuple[str, ...] = ()
    """The pipeline's `image_pull_secrets` names, for telling users which credentials there were."""
    upstream: UpstreamPolicy = field(default_factory=UpstreamPolicy)
    """From the pipeline's `trigger.status`: whether it runs after its upstream stages passed or failed."""
    warnings: tuple[str, ...] = ()
    plugins_asked: bool = False
    """Whether a worker asked the registry credential plugins for the stage's images (once, before its first pods)."""

    @property
    def all_steps(self) -> tuple[StepPlan, ...]:
        """Services first, then steps: the order they are numbered and started in."""
        return (*self.services, *self.steps)

    @property
    def stage_label(self) -> str:
        return str(self.claim["metadata"]["labels"][LABEL_STAGE])

    @property
    def selector(self) -> str:
        """The label selector of every object of this stage."""
        return f"{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_STAGE}={self.stage_label}"

    @property
    def claim_name(self) -> str:
        return str(self.claim["metadata"]["name"])

    def step(self, name: str) -> StepPlan:
        """The step or service called `name`; KeyError when there is none."""
        for step in self.all_steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        """The plan as stored: plain JSON, with its format."""
        return {"format": PLAN_FORMAT, **_adapter().dump_python(self, mode="json")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StagePlan:
        """A stored plan; CompileError when it is of another format or does not read as a plan."""
        if data.get("format") != PLAN_FORMAT:
            raise CompileError(
                f"stage plan format {data.get('format')!r} is not {PLAN_FORMAT}: "
                "the build was enqueued by another version of pipeline-queue; run it again"
            )
        try:
            return _adapter().validate_python({key: value for key, value in data.items() if key != "format"})
        except ValidationError as error:
            raise CompileError(f"the stored stage plan cannot be read ({error.error_count()} problems)") from None


@cache
def _adapter() -> TypeAdapter[StagePlan]:
    return TypeAdapter(StagePlan)


@dataclass(frozen=True)
class CompiledStage:
    """The compiler's output: the plan, and apart from it the Secrets it names, with their values."""

    plan: StagePlan
    secrets: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    """The stage's env Secret (its `from_secret` values) and the steps' dockerconfigjson pull Secrets."""

    @property
    def env_secret(self) -> dict[str, Any] | None:
        """The Opaque Secret with the `from_secret` values the stage references, if any are known."""
        return next((secret for secret in self.secrets if secret.get("type") == "Opaque"), None)

    def pull_secret(self, step: str) -> dict[str, Any] | None:
        """The pull Secret of step `step`, when its image has credentials."""
        name = self.plan.step(step).pull_secret
        return next((secret for secret in self.secrets if secret["metadata"]["name"] == name), None) if name else None

    def objects(self) -> list[dict[str, Any]]:
        """Every object in creation order: claim, Secrets, services (pod, Service), step pods."""
        objects: list[dict[str, Any]] = [self.plan.claim, *self.secrets]
        for service in self.plan.services:
            objects.append(service.pod)
            if service.service is not None:
                objects.append(service.service)
        objects.extend(step.pod for step in self.plan.steps)
        return objects

    def redacted_objects(self) -> list[dict[str, Any]]:
        """`objects()` with every Secret value replaced by `<redacted>`, for showing to people."""
        return [redact(obj) for obj in self.objects()]


def redact(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy of `obj`; for a Secret, its data and stringData values become `<redacted>`."""
    copied = copy.deepcopy(obj)
    if copied.get("kind") == "Secret":
        for section in ("data", "stringData"):
            if section in copied:
                copied[section] = {key: REDACTED for key in copied[section]}
    return copied
