"""What the registry credential plugins answered for one stage, and which of it serves an image: the same
kubelet keyring rules as `image_pull_secrets` (registry.matching), whatever plugin issued the credential.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pipeline_queue.images import ImageRef
from pipeline_queue.registry.dockerconfig import DockerConfig
from pipeline_queue.registry.matching import Keyring, Match


@dataclass(frozen=True)
class PluginAnswer:
    """The plugins' credentials for a stage (values included: handed from the worker's edge to the compiler's pure
    step, then sealed with the stage's Secrets, never kept as it is) and why any plugin failed to answer."""

    stage: tuple[DockerConfig, ...] = field(default=(), repr=False)
    """Credentials for any image of the stage: Drone's registry extension answers once per stage."""
    images: Mapping[str, tuple[DockerConfig, ...]] = field(default_factory=lambda: MappingProxyType({}), repr=False)
    """By repository name (`ImageRef.name`): what the kubelet credential providers and ECR answered for it."""
    errors: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """By repository name: why a plugin that serves that image did not answer."""
    stage_error: str = ""
    """Why a plugin asked for the whole stage did not answer: every image of the stage lacks its credentials."""

    def matches(self, image: ImageRef) -> list[Match]:
        """The credentials the kubelet would use for `image` among everything the plugins gave, in its order."""
        configs = (*self.stage, *self.images.get(image.name, ()))
        return Keyring.from_configs(configs).lookup_ref(image) if configs else []

    def error(self, image: ImageRef) -> str:
        """Why `image` lacks a plugin's credentials ("" when every plugin that serves it answered)."""
        return self.stage_error or self.errors.get(image.name, "")
