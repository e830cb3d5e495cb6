"""One Pod per step: a single container, the shared workspace, and the step's own pull secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline_queue.compiler.environ import SecretRefs, Workspace, literal, step_env
from pipeline_queue.compiler.naming import ANNOTATION_STEP_NAME, LABEL_KIND, LABEL_STEP
from pipeline_queue.compiler.resources import cpu_quantity, memory_quantity
from pipeline_queue.compiler.script import SCRIPT_VARIABLE, script, script_entrypoint
from pipeline_queue.compiler.volumes import step_volumes
from pipeline_queue.spec.models import Pipeline, ResourceAmounts, Step, Toleration

CONTAINER_NAME = "step"


@dataclass
class StageScope:
    """What every pod of a stage shares, and where compiling it records secrets used and warnings."""

    pipeline: Pipeline
    namespace: str
    claim: str
    workspace: Workspace
    labels: dict[str, str]
    annotations: dict[str, str]
    system: dict[str, str]
    volumes: dict[str, dict[str, Any]]
    refs: SecretRefs
    default_resources: dict[str, str] = field(default_factory=dict)
    """Quantity by resource (`cpu`, `memory`) for a step that requests and limits neither."""
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PodSpecInput:
    """The facts about one step the pod is built from, decided before it."""

    step: Step
    kind: str
    slug: str
    number: int
    name: str
    image: str
    pull_policy: str
    pull_secret: str | None


def step_pod(item: PodSpecInput, scope: StageScope) -> dict[str, Any]:
    """The Pod that runs one step or service."""
    step, where = item.step, f"{item.kind} {item.step.name!r}"
    volumes, mounts = step_volumes(step, scope.volumes, claim=scope.claim, workspace=scope.workspace, where=where)
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": item.image,
        "imagePullPolicy": item.pull_policy,
        **_command(step),
        "env": _env(item, scope, where=where),
        "workingDir": step.working_dir or scope.workspace.full,
        "volumeMounts": mounts,
    }
    resources = _resources(step, scope.default_resources, where=where)
    if resources:
        container["resources"] = resources
    container["securityContext"] = _security_context(step, scope, where=where)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _metadata(item, scope),
        "spec": _pod_spec(item, scope, container=container, volumes=volumes),
    }


def _metadata(item: PodSpecInput, scope: StageScope) -> dict[str, Any]:
    pipeline_meta = scope.pipeline.metadata
    labels = {**pipeline_meta.labels, **scope.labels, LABEL_STEP: item.slug, LABEL_KIND: item.kind}
    annotations = {**pipeline_meta.annotations, **scope.annotations, ANNOTATION_STEP_NAME: item.step.name}
    return {"name": item.name, "namespace": scope.namespace, "labels": labels, "annotations": annotations}


def _pod_spec(
    item: PodSpecInput, scope: StageScope, *, container: dict[str, Any], volumes: list[dict[str, Any]]
) -> dict[str, Any]:
    pipeline = scope.pipeline
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        # Service links would add FOO_PORT-style variables Drone never sets (and that break some images).
        "enableServiceLinks": False,
        "containers": [container],
        "volumes": volumes,
    }
    if item.pull_secret:
        spec["imagePullSecrets"] = [{"name": item.pull_secret}]
    if pipeline.node_selector:
        spec["nodeSelector"] = dict(pipeline.node_selector)
    if pipeline.tolerations:
        spec["tolerations"] = [_toleration(toleration) for toleration in pipeline.tolerations]
    if pipeline.service_account_name:
        spec["serviceAccountName"] = pipeline.service_account_name
    else:
        # No Kubernetes API token in a step unless the pipeline names the account it means to act as.
        spec["automountServiceAccountToken"] = False
    return spec


def _command(step: Step) -> dict[str, list[str]]:
    """A script for `commands`; otherwise the image's entrypoint unless the step overrides it."""
    if step.commands:
        command, args = script_entrypoint(step.shell)
        return {"command": command, "args": args}
    # Kubernetes expands $(VAR) in command and args; Docker, whose semantics Drone has, does not.
    fields = {}
    if step.entrypoint:
        fields["command"] = [literal(part) for part in step.entrypoint]
    if step.command:
        fields["args"] = [literal(part) for part in step.command]
    return fields


def _env(item: PodSpecInput, scope: StageScope, *, where: str) -> list[dict[str, Any]]:
    step = item.step
    system = {**scope.system, "DRONE_STEP_NAME": step.name, "DRONE_STEP_NUMBER": str(item.number)}
    layers = (scope.pipeline.environment, step.environment)
    env = step_env(system, layers, step.settings, refs=scope.refs, where=where)
    if step.commands:
        env = [entry for entry in env if entry["name"] != SCRIPT_VARIABLE]
        env.append({"name": SCRIPT_VARIABLE, "value": literal(script(step.commands))})
    return env


def _resources(step: Step, defaults: dict[str, str], *, where: str) -> dict[str, dict[str, str]]:
    """The step's requests and limits; a resource it names in neither gets the operator's default in both."""
    resources: dict[str, dict[str, str]] = {}
    for section in ("limits", "requests"):
        amounts: ResourceAmounts = getattr(step.resources, section)
        quantities = {}
        if amounts.cpu:
            quantities["cpu"] = cpu_quantity(amounts.cpu, where=f"{where}: resources.{section}.cpu")
        if amounts.memory:
            quantities["memory"] = memory_quantity(amounts.memory, where=f"{where}: resources.{section}.memory")
        if quantities:
            resources[section] = quantities
    named = {name for quantities in resources.values() for name in quantities}
    for name, quantity in defaults.items():
        if name not in named:
            for section in ("limits", "requests"):
                resources.setdefault(section, {})[name] = quantity
    return resources


def _security_context(step: Step, scope: StageScope, *, where: str) -> dict[str, Any]:
    # A process gains no privileges its parent lacks (setuid binaries, file capabilities) unless privileged.
    context: dict[str, Any] = {"allowPrivilegeEscalation": bool(step.privileged)}
    if step.privileged:
        context["privileged"] = True
    if step.user:
        uid, _, gid = step.user.partition(":")
        if uid.isascii() and uid.isdigit() and (not gid or (gid.isascii() and gid.isdigit())):
            context["runAsUser"] = int(uid)
            if gid:
                context["runAsGroup"] = int(gid)
        else:
            scope.warnings.append(
                f"{where}: user {step.user!r} is ignored: Kubernetes runs as a numeric uid (e.g. 1000 or 1000:1000)"
            )
    return context


def _toleration(toleration: Toleration) -> dict[str, Any]:
    fields = {
        "key": toleration.key,
        "operator": toleration.operator,
        "value": toleration.value,
        "effect": toleration.effect,
        "tolerationSeconds": toleration.toleration_seconds,
    }
    return {key: value for key, value in fields.items() if value not in ("", None)}
