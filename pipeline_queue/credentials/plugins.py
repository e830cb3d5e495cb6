"""The registry credential plugins of one worker process, together: which of them a stage needs, asking them, and
what `explain` can say of them without asking.

Drone's registry extension is asked once per stage (it answers for every image); each kubelet credential provider
for the images its matchImages cover; built-in ECR for ECR images that nothing else gave a credential. Their
answers are matched to images by the domain (`registry.plugins.PluginAnswer`), as `image_pull_secrets` are.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from types import MappingProxyType

from pipeline_queue.compiler.plan import CredentialSource, StagePlan, StepPlan
from pipeline_queue.credentials import ecr
from pipeline_queue.credentials.exec_provider import ExecProviders, read_provider_config
from pipeline_queue.credentials.http_plugin import RegistryExtension
from pipeline_queue.errors import CredentialPluginError, UsageError
from pipeline_queue.images import ImageRef
from pipeline_queue.registry import ecr as ecr_rules
from pipeline_queue.registry.dockerconfig import DockerConfig
from pipeline_queue.registry.extension import SOURCE as EXTENSION_SOURCE
from pipeline_queue.registry.extension import ExtensionRequest
from pipeline_queue.registry.matching import urls_match
from pipeline_queue.registry.plugins import PluginAnswer
from pipeline_queue.settings import CredentialsConfig, child_environment

log = logging.getLogger(__name__)

WITHHELD_FROM_PROVIDERS = ("PQ_SECRET_KEY", "PQ_REGISTRY_PLUGIN_SECRET", "DATABASE_URL", "REDIS_URL")
"""Variables of the worker's environment a provider does not inherit: pipeline-queue's own secrets."""
ASKED_AT_START = "asked when the stage starts"
UNUSABLE = "registry credentials"
"""How `explain` names an unusable plugin configuration."""


@dataclass(frozen=True)
class ExpectedCredential:
    """For `explain`: a plugin that will be asked for a step's image, and what to know of it (never a value)."""

    source: CredentialSource
    note: str = ASKED_AT_START
    serves: bool = False
    """Known to serve the image once asked (a provider's matchImages, an ECR host), unlike the HTTP extension,
    whose answer is not known before it is given: the cache guard's risk is judged with it."""


class CredentialPlugins:
    """What this worker is configured to ask; `problem` is why the configuration cannot be used (every stage whose
    images it would serve then errors with it, rather than pulling without its credentials)."""

    def __init__(self, *, extension: RegistryExtension | None = None, providers: ExecProviders | None = None,
                 ecr_tokens: ecr.EcrTokens | None = None, problem: str = "") -> None:
        self.extension, self.providers, self.problem = extension, providers, problem
        self.ecr_tokens = ecr_tokens if ecr_tokens is not None else ecr.EcrTokens()

    def __repr__(self) -> str:
        return f"CredentialPlugins({self.extension!r}, {self.providers!r}, problem={self.problem!r})"

    @classmethod
    def from_settings(cls, config: CredentialsConfig) -> CredentialPlugins:
        """The plugins the settings name; a config file that cannot be used becomes `problem` (and a log line)."""
        try:
            extension = RegistryExtension(config.plugin_endpoint, config.plugin_secret) \
                if config.plugin_endpoint else None
            if config.provider_config is None or config.provider_bin_dir is None:
                return cls(extension=extension)
            specs = read_provider_config(config.provider_config)
        except (UsageError, CredentialPluginError) as error:
            log.error("registry credentials: %s", error)
            return cls(problem=error.message)
        environ = {key: value for key, value in child_environment({}).items() if key not in WITHHELD_FROM_PROVIDERS}
        return cls(extension=extension, providers=ExecProviders(specs, bin_dir=config.provider_bin_dir,
                                                                environ=environ))

    # -- at the worker, when a stage starts --------------------------------------------------------------------

    def wanted(self, plan: StagePlan) -> bool:
        """Whether any plugin has to be asked for this stage (nothing is asked, nor stored, otherwise)."""
        if plan.plugins_asked:
            return False
        if self.extension is not None or self.problem:
            return True
        return any(self._providers_for(step.image) or self._ecr_registry(step) for step in plan.all_steps)

    def ask(self, plan: StagePlan, request: ExtensionRequest) -> PluginAnswer:
        """Every plugin's credentials for the stage's images; what failed is in the answer, by image or for all."""
        if self.problem:
            return PluginAnswer(stage_error=f"registry credentials: {self.problem}")
        stage: tuple[DockerConfig, ...] = ()
        if self.extension is not None:
            try:
                stage = (self.extension.registries(request),)
            except CredentialPluginError as error:
                return PluginAnswer(stage_error=error.message)
        images: dict[str, tuple[DockerConfig, ...]] = {}
        errors: dict[str, str] = {}
        for step in _unique_images(plan.all_steps):
            try:
                images[step.image.name] = self._image_configs(step, stage)
            except CredentialPluginError as error:
                errors[step.image.name] = error.message
        return PluginAnswer(stage=stage, images=MappingProxyType(images), errors=MappingProxyType(errors))

    def _image_configs(self, step: StepPlan, stage: tuple[DockerConfig, ...]) -> tuple[DockerConfig, ...]:
        configs: tuple[DockerConfig, ...] = ()
        if self.providers is not None:
            configs = tuple(self.providers.configs_for(step.image.name))
        registry = self._ecr_registry(step)
        if registry is not None and not PluginAnswer(stage=(*stage, *configs)).matches(step.image):
            configs = (*configs, self.ecr_tokens.config_for(registry))
        return configs

    def _providers_for(self, image: ImageRef) -> bool:
        return self.providers is not None and bool(self.providers.serving(image.name))

    @staticmethod
    def _ecr_registry(step: StepPlan) -> ecr_rules.EcrRegistry | None:
        """The step's ECR registry when built-in ECR is its fallback: no `image_pull_secrets` credential serves it."""
        return None if step.credentials else ecr_rules.parse_ecr_host(step.image.registry)

    # -- for explain, asking nothing ---------------------------------------------------------------------------

    def expected(self, step: StepPlan) -> tuple[ExpectedCredential, ...]:
        """The plugins a worker will ask for the step's image when its stage starts; nothing is contacted."""
        found = []
        if self.problem:
            found.append(ExpectedCredential(CredentialSource(secret=UNUSABLE, key="", plugin=True),
                                            note=f"unusable: {self.problem}"))
        if self.extension is not None:
            found.append(ExpectedCredential(CredentialSource(secret=EXTENSION_SOURCE, key="", plugin=True)))
        serving = self.providers.serving(step.image.name) if self.providers is not None else ()
        for spec in serving:
            glob = next(glob for glob in spec.match_images if urls_match(glob, step.image.name))
            found.append(ExpectedCredential(CredentialSource(secret=spec.source, key=glob, plugin=True), serves=True))
        registry = self._ecr_registry(step)
        if registry is not None and not serving:  # asked only when no provider gave the image a credential
            installed = ecr.available()
            note = ASKED_AT_START if installed else f"not installed: {ecr.INSTALL_HINT}"
            found.append(ExpectedCredential(CredentialSource(secret=ecr_rules.SOURCE, key=registry.host,
                                                             username="AWS", plugin=True), note=note, serves=installed))
        return tuple(found)


def _unique_images(steps: Iterable[StepPlan]) -> list[StepPlan]:
    """One step per repository name: plugins answer by image, and every step of a stage shares its pull secrets."""
    seen: dict[str, StepPlan] = {}
    for step in steps:
        seen.setdefault(step.image.name, step)
    return list(seen.values())
