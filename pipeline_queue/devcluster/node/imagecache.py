"""One node's image store, as a value: what it holds, most recently used first, and its `status.images` view.

Like containerd, an image is known by its repository digest and carries every `repository:tag` that points at it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from pipeline_queue.devcluster.node.registries import DEFAULT_COMMAND, Manifest

NODE_STATUS_MAX_IMAGES = 50
"""The kubelet's `nodeStatusMaxImages`: how many images a Node's status lists."""


@dataclass(frozen=True)
class CachedImage:
    """An image on the node: `registry/repo@sha256:...`, the `registry/repo:tag` names on it, size, command."""

    repo_digest: str
    tags: tuple[str, ...] = ()
    size: int = 0
    command: tuple[str, ...] = DEFAULT_COMMAND

    @property
    def names(self) -> list[str]:
        """The names a Node status shows: the digest form first, then the tags."""
        return [self.repo_digest, *self.tags]

    @classmethod
    def from_manifest(cls, manifest: Manifest) -> CachedImage:
        tags = (manifest.repo_tag,) if manifest.repo_tag else ()
        return cls(manifest.repo_digest, tags, manifest.size, manifest.command)


@dataclass(frozen=True)
class ImageCache:
    """The images of one node, most recently used first; operations return a new cache."""

    images: tuple[CachedImage, ...] = ()

    def find(self, name: str) -> CachedImage | None:
        """The image called `registry/repo:tag` or `registry/repo@sha256:...`, if the node has it."""
        return next((image for image in self.images if name in image.names), None)

    def record(self, pulled: CachedImage) -> ImageCache:
        """The cache after a pull: the image first, its tags moved onto it from any image that held them."""
        existing = self.find(pulled.repo_digest)
        tags = tuple(dict.fromkeys([*pulled.tags, *(existing.tags if existing else ())]))
        merged = replace(pulled, tags=tags)
        others = tuple(
            replace(image, tags=tuple(tag for tag in image.tags if tag not in pulled.tags))
            for image in self.images
            if image.repo_digest != pulled.repo_digest
        )
        return ImageCache((merged, *others))

    def touch(self, image: CachedImage) -> ImageCache:
        """The cache after a container used `image` from it: that image moves first."""
        rest = tuple(other for other in self.images if other.repo_digest != image.repo_digest)
        return ImageCache((image, *rest))

    def node_images(self, limit: int = NODE_STATUS_MAX_IMAGES) -> list[dict[str, Any]]:
        """`status.images` of the Node: `{names, sizeBytes}` entries, most recently used first, at most `limit`."""
        return [{"names": image.names, "sizeBytes": image.size} for image in self.images[:limit]]
