"""Registry credentials: Docker config.json secrets and the kubelet's rules for which key serves an image."""

from pipeline_queue.registry.dockerconfig import DockerConfig, RegistryAuth, parse_docker_config
from pipeline_queue.registry.matching import (
    IndexEntry,
    Keyring,
    Match,
    docker_config_json,
    is_default_registry_match,
    normalize_key,
    urls_match,
)

__all__ = [
    "DockerConfig",
    "IndexEntry",
    "Keyring",
    "Match",
    "RegistryAuth",
    "docker_config_json",
    "is_default_registry_match",
    "normalize_key",
    "parse_docker_config",
    "urls_match",
]
