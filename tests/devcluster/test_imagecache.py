"""A node's image cache: most recently used first, names with digest and tags, status capped at 50."""

from __future__ import annotations

from pipeline_queue.devcluster.node.imagecache import NODE_STATUS_MAX_IMAGES, CachedImage, ImageCache
from pipeline_queue.devcluster.node.registries import Manifest, tag_digest


def image(repository: str, tag: str, *, size: int = 100) -> CachedImage:
    digest = tag_digest("docker.io", repository, tag)
    return CachedImage.from_manifest(Manifest("docker.io", repository, tag, digest, size))


def test_a_pulled_image_is_named_by_digest_then_tag():
    golang = image("library/golang", "1.21", size=800)
    cache = ImageCache().record(golang)
    digest = tag_digest("docker.io", "library/golang", "1.21")
    assert cache.node_images() == [
        {"names": [f"docker.io/library/golang@{digest}", "docker.io/library/golang:1.21"], "sizeBytes": 800}
    ]


def test_find_by_tag_or_by_digest():
    golang = image("library/golang", "1.21")
    cache = ImageCache().record(golang)
    assert cache.find("docker.io/library/golang:1.21") == golang
    assert cache.find(golang.repo_digest) == golang
    assert cache.find("docker.io/library/golang:1.22") is None


def test_most_recently_pulled_or_used_comes_first():
    a, b, c = image("library/a", "1"), image("library/b", "1"), image("library/c", "1")
    cache = ImageCache().record(a).record(b).record(c)
    assert [entry["names"][1] for entry in cache.node_images()] == [
        "docker.io/library/c:1", "docker.io/library/b:1", "docker.io/library/a:1"
    ]
    cache = cache.touch(a)
    assert [entry["names"][1] for entry in cache.node_images()] == [
        "docker.io/library/a:1", "docker.io/library/c:1", "docker.io/library/b:1"
    ]
    assert len(cache.images) == 3


def test_pulling_again_does_not_duplicate_and_keeps_the_tags_of_that_digest():
    tagged = image("library/a", "1")
    by_digest = CachedImage(tagged.repo_digest, (), tagged.size)
    cache = ImageCache().record(tagged).record(image("library/b", "1")).record(by_digest)
    assert len(cache.images) == 2
    assert cache.images[0].names == [tagged.repo_digest, "docker.io/library/a:1"]


def test_a_tag_moves_to_the_image_it_now_names():
    old = image("library/a", "latest")
    new = CachedImage("docker.io/library/a@sha256:" + "b" * 64, ("docker.io/library/a:latest",), 5)
    cache = ImageCache().record(old).record(new)
    assert cache.find("docker.io/library/a:latest") == new
    assert cache.images[1].names == [old.repo_digest]


def test_the_status_lists_at_most_fifty_images_most_recent_first():
    cache = ImageCache()
    for number in range(60):
        cache = cache.record(image(f"library/i{number}", "1"))
    listed = cache.node_images()
    assert NODE_STATUS_MAX_IMAGES == 50
    assert len(listed) == 50
    assert listed[0]["names"][1] == "docker.io/library/i59:1"
    assert listed[-1]["names"][1] == "docker.io/library/i10:1"
    assert cache.find("docker.io/library/i0:1") is not None
