"""A compiled Plan as the stage's `plan` JSON in the database, and back: pods and step facts, never a secret value.

Secret values never reach the database. The producer creates the stage's Secrets in Kubernetes when it
enqueues the build (`secret_objects`, created by `publish_secrets` in objects.py); the stored plan only
names them, and the pods reference them by name (`secretKeyRef`, `imagePullSecrets`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline_queue.compiler import LABEL_MANAGED_BY, LABEL_STAGE, MANAGED_BY, CompiledStep, Plan
from pipeline_queue.errors import StoreError
from pipeline_queue.spec.models import Conditions
from pipeline_queue.store import CredentialSource, NewStage, NewStep
from pipeline_queue.vocabulary import DEFAULT_STAGE_TIMEOUT, StepKind

PLAN_FORMAT = 1
CONTAINER = "step"
"""The one container of every step pod (the compiler's CONTAINER_NAME)."""


@dataclass(frozen=True)
class CredentialRef:
    """Which `image_pull_secrets` entry and registry key give a step its pull credentials (no password)."""

    secret: str
    key: str
    username: str


@dataclass(frozen=True)
class StepPlan:
    """One step or service as stored: its pod, its Service, and what decides when it runs."""

    name: str
    kind: str
    number: int
    image: str
    """The image as Docker shows it (`alpine:3.19`, `registry.example.com/team/app:1.0`)."""
    registry: str
    pull_policy: str
    credentials: tuple[CredentialRef, ...]
    pod: dict[str, Any]
    pull_secret: str
    """The name of the step's dockerconfigjson Secret, or "" when the image needs no credentials."""
    service: dict[str, Any] | None
    depends_on: tuple[str, ...]
    detach: bool
    ignore_failure: bool
    when: Conditions

    @property
    def pod_name(self) -> str:
        return str(self.pod["metadata"]["name"])

    @property
    def counts(self) -> bool:
        """Whether its outcome decides the stage's (services, detached and ignored steps do not)."""
        return self.kind == StepKind.STEP and not self.detach and not self.ignore_failure


@dataclass(frozen=True)
class StagePlan:
    """A stage as the workers need it: namespace, workspace claim, Secret names and steps (services first)."""

    pipeline: str
    namespace: str
    stage_label: str
    claim: dict[str, Any]
    secrets: tuple[str, ...]
    """Secrets the producer created in Kubernetes for this stage (env values, pull credentials)."""
    image_pull_secrets: tuple[str, ...]
    """The pipeline's `image_pull_secrets` names, for telling users which credentials there were."""
    steps: tuple[StepPlan, ...]

    @property
    def selector(self) -> str:
        """The label selector of every object of this stage."""
        return f"{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_STAGE}={self.stage_label}"

    @property
    def claim_name(self) -> str:
        return str(self.claim["metadata"]["name"])

    def step(self, name: str) -> StepPlan:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "pipeline": self.pipeline,
            "namespace": self.namespace,
            "stage_label": self.stage_label,
            "claim": self.claim,
            "secrets": list(self.secrets),
            "image_pull_secrets": list(self.image_pull_secrets),
            "steps": [_step_json(step) for step in self.steps],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StagePlan:
        if data.get("format") != PLAN_FORMAT:
            raise StoreError(
                f"stage plan format {data.get('format')!r} is not {PLAN_FORMAT}: "
                "the build was enqueued by another version of pipeline-queue; run it again"
            )
        return cls(
            pipeline=data["pipeline"],
            namespace=data["namespace"],
            stage_label=data["stage_label"],
            claim=data["claim"],
            secrets=tuple(data["secrets"]),
            image_pull_secrets=tuple(data["image_pull_secrets"]),
            steps=tuple(_step_from_json(item) for item in data["steps"]),
        )


def stage_plan(plan: Plan, *, image_pull_secrets: Sequence[str] = ()) -> StagePlan:
    """What is stored of `plan`: everything but Secret contents."""
    return StagePlan(
        pipeline=plan.pipeline,
        namespace=plan.namespace,
        stage_label=str(plan.claim["metadata"]["labels"][LABEL_STAGE]),
        claim=plan.claim,
        secrets=tuple(str(obj["metadata"]["name"]) for obj in secret_objects(plan)),
        image_pull_secrets=tuple(image_pull_secrets),
        steps=tuple(_step_plan(step) for step in (*plan.services, *plan.steps)),
    )


def secret_objects(plan: Plan) -> list[dict[str, Any]]:
    """The Secrets with values (stage env Secret, pull Secrets): created in Kubernetes, never stored."""
    secrets = [plan.secret] if plan.secret is not None else []
    secrets += [step.pull_secret for step in (*plan.services, *plan.steps) if step.pull_secret is not None]
    return secrets


def new_stage(
    plan: Plan, *, image_pull_secrets: Sequence[str] = (), timeout_seconds: int = DEFAULT_STAGE_TIMEOUT
) -> NewStage:
    """The store's NewStage for `plan`: the secret-free plan JSON and one NewStep per service and step."""
    stored = stage_plan(plan, image_pull_secrets=image_pull_secrets)
    return NewStage(
        name=plan.pipeline,
        plan=stored.to_json(),
        steps=tuple(_new_step(step) for step in (*plan.services, *plan.steps)),
        timeout_seconds=timeout_seconds,
    )


def _step_plan(step: CompiledStep) -> StepPlan:
    return StepPlan(
        name=step.name,
        kind=step.kind,
        number=step.number,
        image=step.image.familiar,
        registry=step.image.registry,
        pull_policy=step.pull.policy,
        credentials=tuple(CredentialRef(c.secret, c.key, c.username) for c in step.credentials),
        pod=step.pod,
        pull_secret=str(step.pull_secret["metadata"]["name"]) if step.pull_secret else "",
        service=step.service,
        depends_on=step.depends_on,
        detach=step.detach,
        ignore_failure=step.failure == "ignore",
        when=step.when,
    )


def _new_step(step: CompiledStep) -> NewStep:
    source = step.credentials[0] if step.credentials else None
    return NewStep(
        name=step.name,
        image=step.image.reference,
        kind=StepKind(step.kind),
        pull_policy=step.pull.policy,
        credential_source=CredentialSource(source.secret, source.key, source.username) if source else None,
        detach=step.detach,
        ignore_failure=step.failure == "ignore",
    )


def _step_json(step: StepPlan) -> dict[str, Any]:
    return {
        "name": step.name,
        "kind": step.kind,
        "number": step.number,
        "image": step.image,
        "registry": step.registry,
        "pull_policy": step.pull_policy,
        "credentials": [{"secret": c.secret, "key": c.key, "username": c.username} for c in step.credentials],
        "pod": step.pod,
        "pull_secret": step.pull_secret,
        "service": step.service,
        "depends_on": list(step.depends_on),
        "detach": step.detach,
        "ignore_failure": step.ignore_failure,
        "when": step.when.model_dump(mode="json"),
    }


def _step_from_json(item: dict[str, Any]) -> StepPlan:
    return StepPlan(
        name=item["name"],
        kind=item["kind"],
        number=item["number"],
        image=item["image"],
        registry=item["registry"],
        pull_policy=item["pull_policy"],
        credentials=tuple(CredentialRef(**c) for c in item["credentials"]),
        pod=item["pod"],
        pull_secret=item["pull_secret"],
        service=item["service"],
        depends_on=tuple(item["depends_on"]),
        detach=item["detach"],
        ignore_failure=item["ignore_failure"],
        when=Conditions.model_validate(item["when"]),
    )
