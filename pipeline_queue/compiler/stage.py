"""compile_pipeline: one pipeline and one build context become a stage plan of Kubernetes objects, and its Secrets."""

from __future__ import annotations

from typing import Any

from pipeline_queue.compiler import naming
from pipeline_queue.compiler.clone import clone_step
from pipeline_queue.compiler.conditions import upstream_policy
from pipeline_queue.compiler.context import BuildContext, CompilerSettings
from pipeline_queue.compiler.credentials import image_matches, load_keyring, sources
from pipeline_queue.compiler.environ import SecretRefs, stage_variables
from pipeline_queue.compiler.graph import dependencies
from pipeline_queue.compiler.objects import docker_config_secret, headless_service, opaque_secret, workspace_claim
from pipeline_queue.compiler.plan import CompiledStage, StagePlan, StepPlan
from pipeline_queue.compiler.pods import PodSpecInput, StageScope, step_pod
from pipeline_queue.compiler.resources import is_quantity, memory_quantity
from pipeline_queue.compiler.substitution import Substituted, substitute_pipeline
from pipeline_queue.compiler.volumes import own_secret_volumes, pipeline_volumes, workspace_of
from pipeline_queue.errors import CompileError, ImageReferenceError
from pipeline_queue.images import ImageRef, parse_image
from pipeline_queue.pull import PullDecision, decide_pull
from pipeline_queue.registry import Keyring, docker_config_json
from pipeline_queue.spec.models import Pipeline, Step
from pipeline_queue.vocabulary import StepKind

DEFAULT_SETTINGS = CompilerSettings()


def compile_pipeline(
    pipeline: Pipeline, context: BuildContext, *, settings: CompilerSettings = DEFAULT_SETTINGS
) -> CompiledStage:
    """Every object a stage needs; raises CompileError (or RegistryConfigError) naming what is wrong."""
    return _StageCompiler(pipeline, context, settings).compile()


class _StageCompiler:
    """The state of compiling one stage: its names, labels, credentials and what it has found."""

    def __init__(self, pipeline: Pipeline, context: BuildContext, settings: CompilerSettings) -> None:
        substituted = _substitute(pipeline, context, settings)
        pipeline = substituted.pipeline
        self.pipeline, self.context, self.settings = pipeline, context, settings
        self.stage_key = context.effective_stage_key(pipeline.name)
        self.stage = naming.stage_part(self.stage_key)
        self.labels = {
            naming.LABEL_MANAGED_BY: naming.MANAGED_BY,
            naming.LABEL_STAGE: self.stage,
            naming.LABEL_BUILD: str(context.build_number),
            naming.LABEL_REPO: naming.label_value(context.repo),
        }
        workspace = workspace_of(pipeline)
        self.scope = StageScope(
            pipeline=pipeline,
            namespace=_namespace(pipeline, context),
            claim=naming.claim_name(self.stage),
            workspace=workspace,
            labels=self.labels,
            annotations={naming.ANNOTATION_STAGE_ID: str(context.stage_id or self.stage_key),
                         naming.ANNOTATION_PIPELINE: pipeline.name},
            system=stage_variables(pipeline, context, workspace=workspace, runner_name=settings.runner_name),
            volumes=pipeline_volumes(pipeline),
            refs=SecretRefs(naming.env_secret_name(self.stage)),
            default_resources=_default_resources(settings),
            warnings=list(substituted.warnings),
        )
        if not context.trusted:
            self.scope.volumes = own_secret_volumes(self.scope.volumes, self.scope.refs)
        self.keyring: Keyring | None = None
        self.pull_secrets: list[dict[str, Any]] = []

    def compile(self) -> CompiledStage:
        pipeline, scope = self.pipeline, self.scope
        naming.check_metadata(pipeline.metadata.labels, pipeline.metadata.annotations)
        _check_step_names(pipeline)
        self.keyring = load_keyring(pipeline.image_pull_secrets, self.context.secrets, warnings=scope.warnings)
        services = tuple(
            self._step(step, kind=StepKind.SERVICE, number=index, depends_on=())
            for index, step in enumerate(pipeline.services, start=1)
        )
        clone = clone_step(pipeline, self.context, self.settings)
        graph = dependencies(
            pipeline.steps, services=[service.name for service in pipeline.services], clone=clone is not None
        )
        first = len(services) + 1
        steps = tuple(
            self._step(step, kind=StepKind.STEP, number=index, depends_on=graph[step.name])
            for index, step in enumerate(pipeline.steps if clone is None else (clone, *pipeline.steps), start=first)
        )
        env_secret = self._stage_secret()
        secrets = ((env_secret,) if env_secret is not None else ()) + tuple(self.pull_secrets)
        claim = workspace_claim(
            scope.claim,
            namespace=scope.namespace,
            labels=self.labels,
            size=self.context.workspace_claim_size,
            storage_class=self.settings.storage_class,
        )
        plan = StagePlan(
            pipeline=pipeline.name,
            stage_key=self.stage_key,
            namespace=scope.namespace,
            claim=claim,
            services=services,
            steps=steps,
            secrets=tuple(str(secret["metadata"]["name"]) for secret in secrets),
            image_pull_secrets=tuple(pipeline.image_pull_secrets),
            upstream=upstream_policy(pipeline.trigger),
            warnings=tuple(scope.warnings),
        )
        return CompiledStage(plan=plan, secrets=secrets)

    def _step(self, step: Step, *, kind: StepKind, number: int, depends_on: tuple[str, ...]) -> StepPlan:
        where = f"{kind} {step.name!r}"
        image = _image(step, where=where)
        pull = _pull(image, step, self.settings, where=where)
        assert self.keyring is not None
        matches = image_matches(self.keyring, image)
        slug = naming.step_part(step.name)
        step_labels = {**self.labels, naming.LABEL_STEP: slug}
        pull_secret = None
        if matches:
            pull_secret = docker_config_secret(
                naming.pull_secret_name(self.stage, slug),
                namespace=self.scope.namespace,
                labels=step_labels,
                config_json=docker_config_json(matches),
            )
            self.pull_secrets.append(pull_secret)
        item = PodSpecInput(
            step=step,
            kind=kind.value,
            slug=slug,
            number=number,
            name=naming.pod_name(self.stage, slug),
            image=image.reference,
            pull_policy=pull.policy,
            pull_secret=pull_secret["metadata"]["name"] if pull_secret else None,
        )
        return StepPlan(
            name=step.name,
            slug=slug,
            kind=kind,
            number=number,
            image=image,
            pull=pull,
            credentials=sources(matches),
            pod=step_pod(item, self.scope),
            pull_secret=str(pull_secret["metadata"]["name"]) if pull_secret else "",
            service=self._service(step, slug=slug, labels=step_labels) if kind is StepKind.SERVICE else None,
            host=naming.service_host(step.name) if kind is StepKind.SERVICE else "",
            depends_on=depends_on,
            detach=step.detach or kind is StepKind.SERVICE,
            ignore_failure=step.failure == "ignore",
            when=step.when,
        )

    def _service(self, step: Step, *, slug: str, labels: dict[str, str]) -> dict[str, Any]:
        host = naming.service_host(step.name)
        if host != step.name.lower():
            self.scope.warnings.append(
                f"service {step.name!r} is reachable as {host!r} ({step.name!r} is not a valid host name)"
            )
        selector = {
            naming.LABEL_MANAGED_BY: naming.MANAGED_BY,
            naming.LABEL_STAGE: self.stage,
            naming.LABEL_STEP: slug,
        }
        name = naming.service_name(self.stage, slug)
        return headless_service(name, namespace=self.scope.namespace, labels=labels, selector=selector)

    def _stage_secret(self) -> dict[str, Any] | None:
        values = {}
        for name, key in self.scope.refs.keys.items():
            if name in self.context.secrets:
                values[key] = self.context.secrets[name]
            else:
                self.scope.warnings.append(
                    f"from_secret: secret {name!r} is not defined; the variables that use it are left unset"
                )
        if not values:
            return None
        return opaque_secret(
            self.scope.refs.secret_name, namespace=self.scope.namespace, labels=self.labels, values=values
        )


def _substitute(pipeline: Pipeline, context: BuildContext, settings: CompilerSettings) -> Substituted:
    """Drone's runner substitutes ${...} in the file before compiling it, with the build's variables and
    never a secret; the Kubernetes escaping of `$` (environ.literal) applies later, to what this leaves."""
    variables = stage_variables(pipeline, context, workspace=workspace_of(pipeline), runner_name=settings.runner_name)
    return substitute_pipeline(pipeline, variables)


def _default_resources(settings: CompilerSettings) -> dict[str, str]:
    defaults = {}
    if settings.default_cpu:
        # A Kubernetes quantity, as operators write them (`1`, `500m`), not Drone's bare millicores.
        if not is_quantity(settings.default_cpu):
            raise CompileError(f"PQ_DEFAULT_CPU: {settings.default_cpu!r} is not a cpu quantity (like 1 or 500m)")
        defaults["cpu"] = settings.default_cpu
    if settings.default_memory:
        defaults["memory"] = memory_quantity(settings.default_memory, where="PQ_DEFAULT_MEMORY")
    return defaults


def _namespace(pipeline: Pipeline, context: BuildContext) -> str:
    namespace = pipeline.metadata.namespace or context.namespace
    if not naming.is_dns_label(namespace):
        raise CompileError(
            f"metadata.namespace: {namespace!r} is not a valid namespace "
            "(at most 63 lowercase letters, digits or '-', starting and ending alphanumeric)"
        )
    return namespace


def _check_step_names(pipeline: Pipeline) -> None:
    """Every step and service needs a name of its own, and so do their pods and services' hosts."""
    slugs: dict[str, str] = {}
    hosts: dict[str, str] = {}
    for kind, step in [("service", s) for s in pipeline.services] + [("step", s) for s in pipeline.steps]:
        if not step.name:
            raise CompileError(f"a {kind} has no name; every step and service needs one")
        slug = naming.step_part(step.name)
        if slug in slugs:
            raise CompileError(f"{kind} {step.name!r}: the name is already used by {slugs[slug]!r}")
        slugs[slug] = step.name
        if kind == "service":
            host = naming.service_host(step.name)
            if host in hosts:
                raise CompileError(f"service {step.name!r}: would be reached at {host!r}, like service {hosts[host]!r}")
            hosts[host] = step.name


def _image(step: Step, *, where: str) -> ImageRef:
    if not step.image:
        raise CompileError(f"{where}: no image given")
    try:
        return parse_image(step.image)
    except ImageReferenceError as error:
        raise CompileError(f"{where}: image {step.image!r}: {error}") from error


def _pull(image: ImageRef, step: Step, settings: CompilerSettings, *, where: str) -> PullDecision:
    try:
        return decide_pull(image, step.pull, settings.pull)
    except CompileError as error:
        raise type(error)(f"{where}: {error}") from error
