"""Registry credentials per image: the pipeline's `image_pull_secrets`, matched the way the kubelet does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pipeline_queue.compiler.plan import CredentialSource
from pipeline_queue.images import ImageRef
from pipeline_queue.registry import Keyring, Match, parse_docker_config


def load_keyring(names: Sequence[str], secrets: Mapping[str, str], *, warnings: list[str]) -> Keyring:
    """A keyring of every named config.json; a name without a secret is a warning, a bad file an error."""
    configs = []
    for name in dict.fromkeys(names):
        if name not in secrets:
            warnings.append(f"image_pull_secrets: secret {name!r} is not defined; images are pulled without it")
            continue
        # RegistryConfigError names the secret, never its content.
        configs.append(parse_docker_config(secrets[name], source=name))
    return Keyring.from_configs(configs)


def image_matches(keyring: Keyring, image: ImageRef) -> list[Match]:
    return list(keyring.lookup_ref(image))


def sources(matches: Sequence[Match], *, plugin: bool = False) -> tuple[CredentialSource, ...]:
    """Where each credential came from, for people: secret (or plugin), registry key and username, no password."""
    return tuple(CredentialSource(secret=match.source, key=match.key, username=match.username, plugin=plugin)
                 for match in matches)
