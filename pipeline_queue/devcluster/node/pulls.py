"""The kubelet's pull decision, as a pure function: pull policy + node cache + credentials -> what happens.

The messages are those a containerd-backed kubelet writes, so a user reads the same words as on a real cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from pipeline_queue.devcluster.node.dockerconfig import Credential, DockerConfig
from pipeline_queue.devcluster.node.imagecache import CachedImage, ImageCache
from pipeline_queue.devcluster.node.keyring import Keyring
from pipeline_queue.devcluster.node.registries import Registry, RegistrySet
from pipeline_queue.images import ImageRef, try_parse_image

ALWAYS, IF_NOT_PRESENT, NEVER = "Always", "IfNotPresent", "Never"
ERR_IMAGE_PULL = "ErrImagePull"
ERR_IMAGE_NEVER_PULL = "ErrImageNeverPull"
INVALID_IMAGE_NAME = "InvalidImageName"


class Outcome(StrEnum):
    """How a container got its image, or that it did not."""

    PRESENT = "present"
    """Used from the node's cache without asking any registry."""
    PULLED = "pulled"
    """The registry was asked, accepted the credentials and served the image."""
    FAILED = "failed"
    """No image: `reason` and `message` say why, as the container's waiting state."""


@dataclass(frozen=True)
class PullResult:
    """The outcome of ensuring one container's image is on the node."""

    outcome: Outcome
    image: CachedImage | None = None
    reason: str = ""
    message: str = ""

    @property
    def image_id(self) -> str:
        """The containerStatus `imageID`: `registry/repository@sha256:...`."""
        return self.image.repo_digest if self.image else ""


def repository_name(ref: ImageRef) -> str:
    """The normalized repository name the kubelet matches credentials against: `registry/path`."""
    return f"{ref.registry}/{ref.path}"


def credentials_for(ref: ImageRef, configs: Sequence[DockerConfig]) -> list[Credential]:
    """The credentials of the pod's pull secrets that match the image, in the kubelet's order."""
    return Keyring.of(configs).lookup(repository_name(ref))


def decide_pull(
    image: str, *, policy: str, cache: ImageCache, registries: RegistrySet, credentials: Sequence[Credential]
) -> PullResult:
    """Ensure `image` per `policy`: use the cache, or ask its registry trying each credential in turn."""
    ref = try_parse_image(image)
    if ref is None:
        message = f'Failed to apply default image tag "{image}": couldn\'t parse image reference "{image}": '
        return PullResult(Outcome.FAILED, reason=INVALID_IMAGE_NAME, message=message + "invalid reference format")
    cached = cache.find(_cache_key(ref))
    if policy == NEVER:
        if cached:
            return PullResult(Outcome.PRESENT, cached)
        message = f'Container image "{image}" is not present with pull policy of Never'
        return PullResult(Outcome.FAILED, reason=ERR_IMAGE_NEVER_PULL, message=message)
    if policy != ALWAYS and cached:
        return PullResult(Outcome.PRESENT, cached)
    return _pull(ref, registries=registries, credentials=credentials)


def _pull(ref: ImageRef, *, registries: RegistrySet, credentials: Sequence[Credential]) -> PullResult:
    registry = registries.get(ref.registry)
    if registry is None:
        return _failed(ref, _unreachable(ref))
    if not registry.private:
        return _fetch(ref, registry)
    if not credentials:
        return _failed(ref, "pull access denied, repository does not exist or may require authorization: "
                            "authorization failed: no basic auth credentials")
    if any(registry.accepts(auth.username, auth.password) for auth in credentials):
        return _fetch(ref, registry)
    # The kubelet tries every matching credential and reports each failure (an aggregate error).
    errors = [_message(ref, _unauthorized(ref)) for _ in credentials]
    message = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
    return PullResult(Outcome.FAILED, reason=ERR_IMAGE_PULL, message=message)


def _fetch(ref: ImageRef, registry: Registry) -> PullResult:
    manifest = registry.resolve(ref.path, tag=_tag(ref), digest=ref.digest or "")
    if manifest is None:
        return _failed(ref, f"{_full(ref)}: not found")
    return PullResult(Outcome.PULLED, CachedImage.from_manifest(manifest))


def _failed(ref: ImageRef, cause: str) -> PullResult:
    return PullResult(Outcome.FAILED, reason=ERR_IMAGE_PULL, message=_message(ref, cause))


def _message(ref: ImageRef, cause: str) -> str:
    full = _full(ref)
    return f'failed to pull and unpack image "{full}": failed to resolve reference "{full}": {cause}'


def _unreachable(ref: ImageRef) -> str:
    """What resolving an unknown host gives; nothing listens on an unlisted local registry either."""
    hostname, _, port = ref.registry.partition(":")
    request = f'failed to do request: Head "{_manifest_url(ref)}": dial tcp'
    if hostname in ("localhost", "127.0.0.1"):
        return f"{request} 127.0.0.1:{port or 443}: connect: connection refused"
    return f"{request}: lookup {hostname}: no such host"


def _unauthorized(ref: ImageRef) -> str:
    return f"unexpected status from HEAD request to {_manifest_url(ref)}: 401 Unauthorized"


def _manifest_url(ref: ImageRef) -> str:
    host = "registry-1.docker.io" if ref.registry == "docker.io" else ref.registry
    return f"https://{host}/v2/{ref.path}/manifests/{ref.digest or _tag(ref)}"


def _tag(ref: ImageRef) -> str:
    """The tag to resolve: the reference's, `latest` when it names neither tag nor digest."""
    return ref.tag or ("" if ref.digest else "latest")


def _full(ref: ImageRef) -> str:
    """The fully qualified reference containerd prints: `docker.io/library/golang:1.21`."""
    tag = _tag(ref)
    return repository_name(ref) + (f":{tag}" if tag else "") + (f"@{ref.digest}" if ref.digest else "")


def _cache_key(ref: ImageRef) -> str:
    """The name the node's store knows the image by: its digest when given, else its tag."""
    return f"{repository_name(ref)}@{ref.digest}" if ref.digest else f"{repository_name(ref)}:{_tag(ref)}"
