"""The pull decision: every policy x cached or not x private or public x credentials right, wrong or missing."""

from __future__ import annotations

import json

import pytest

from pipeline_queue.devcluster.apiserver.defaults import pull_policy_for
from pipeline_queue.devcluster.node.dockerconfig import Credential, read_docker_config
from pipeline_queue.devcluster.node.imagecache import ImageCache
from pipeline_queue.devcluster.node.pulls import (
    Outcome,
    credentials_for,
    decide_pull,
)
from pipeline_queue.devcluster.node.registries import parse_registries, tag_digest
from pipeline_queue.images import parse_image

REGISTRIES = parse_registries(
    """
registries:
  registry.example.com:
    private: true
    users: {ci: s3cret}
    repositories:
      team/app: {tags: ["1.0"], size: 1000}
""",
    source="registries.yaml",
)
PRIVATE = "registry.example.com/team/app:1.0"
PUBLIC = "golang:1.21"
RIGHT = (Credential("registry.example.com", "ci", "s3cret"),)
WRONG = (Credential("registry.example.com", "ci", "guess"),)
NONE: tuple[Credential, ...] = ()


def cache_holding(image: str) -> ImageCache:
    """A node that pulled `image` earlier (with whatever credentials that took)."""
    result = decide_pull(image, policy="Always", cache=ImageCache(), registries=REGISTRIES, credentials=RIGHT)
    assert result.outcome is Outcome.PULLED
    return ImageCache().record(result.image)


def pull(image: str, *, policy: str, cached: bool, credentials=NONE):
    cache = cache_holding(image) if cached else ImageCache()
    return decide_pull(image, policy=policy, cache=cache, registries=REGISTRIES, credentials=credentials)


NO_CREDENTIALS = (
    'failed to pull and unpack image "registry.example.com/team/app:1.0": failed to resolve reference '
    '"registry.example.com/team/app:1.0": pull access denied, repository does not exist or may require '
    "authorization: authorization failed: no basic auth credentials"
)
BAD_CREDENTIALS = (
    'failed to pull and unpack image "registry.example.com/team/app:1.0": failed to resolve reference '
    '"registry.example.com/team/app:1.0": unexpected status from HEAD request to '
    "https://registry.example.com/v2/team/app/manifests/1.0: 401 Unauthorized"
)
NEVER_MISSING = 'Container image "{}" is not present with pull policy of Never'

# (policy, cached, image, credentials) -> (outcome, reason, message)
CASES = [
    ("Always", False, PRIVATE, RIGHT, Outcome.PULLED, "", ""),
    ("Always", False, PRIVATE, WRONG, Outcome.FAILED, "ErrImagePull", BAD_CREDENTIALS),
    ("Always", False, PRIVATE, NONE, Outcome.FAILED, "ErrImagePull", NO_CREDENTIALS),
    ("Always", True, PRIVATE, RIGHT, Outcome.PULLED, "", ""),
    ("Always", True, PRIVATE, WRONG, Outcome.FAILED, "ErrImagePull", BAD_CREDENTIALS),
    ("Always", True, PRIVATE, NONE, Outcome.FAILED, "ErrImagePull", NO_CREDENTIALS),
    ("Always", False, PUBLIC, NONE, Outcome.PULLED, "", ""),
    ("Always", False, PUBLIC, WRONG, Outcome.PULLED, "", ""),
    ("Always", True, PUBLIC, NONE, Outcome.PULLED, "", ""),
    ("IfNotPresent", False, PRIVATE, RIGHT, Outcome.PULLED, "", ""),
    ("IfNotPresent", False, PRIVATE, WRONG, Outcome.FAILED, "ErrImagePull", BAD_CREDENTIALS),
    ("IfNotPresent", False, PRIVATE, NONE, Outcome.FAILED, "ErrImagePull", NO_CREDENTIALS),
    ("IfNotPresent", True, PRIVATE, RIGHT, Outcome.PRESENT, "", ""),
    ("IfNotPresent", True, PRIVATE, WRONG, Outcome.PRESENT, "", ""),
    ("IfNotPresent", True, PRIVATE, NONE, Outcome.PRESENT, "", ""),
    ("IfNotPresent", False, PUBLIC, NONE, Outcome.PULLED, "", ""),
    ("IfNotPresent", True, PUBLIC, NONE, Outcome.PRESENT, "", ""),
    ("Never", False, PRIVATE, RIGHT, Outcome.FAILED, "ErrImageNeverPull", NEVER_MISSING.format(PRIVATE)),
    ("Never", False, PRIVATE, NONE, Outcome.FAILED, "ErrImageNeverPull", NEVER_MISSING.format(PRIVATE)),
    ("Never", True, PRIVATE, NONE, Outcome.PRESENT, "", ""),
    ("Never", True, PRIVATE, WRONG, Outcome.PRESENT, "", ""),
    ("Never", False, PUBLIC, NONE, Outcome.FAILED, "ErrImageNeverPull", NEVER_MISSING.format(PUBLIC)),
    ("Never", True, PUBLIC, NONE, Outcome.PRESENT, "", ""),
]


@pytest.mark.parametrize(("policy", "cached", "image", "credentials", "outcome", "reason", "message"), CASES)
def test_pull_outcome(policy, cached, image, credentials, outcome, reason, message):
    result = pull(image, policy=policy, cached=cached, credentials=credentials)
    assert (result.outcome, result.reason, result.message) == (outcome, reason, message)
    if outcome is not Outcome.FAILED:
        repository = "registry.example.com/team/app" if image == PRIVATE else "docker.io/library/golang"
        registry, _, path = repository.partition("/")
        tag = image.rsplit(":", 1)[1]
        assert result.image_id == f"{repository}@{tag_digest(registry, path, tag)}"


def test_no_message_shows_a_password():
    for credentials in (RIGHT, WRONG):
        result = pull(PRIVATE, policy="Always", cached=False, credentials=credentials)
        assert "s3cret" not in repr(result) and "guess" not in repr(result)


def test_the_first_working_credential_among_several_pulls():
    result = pull(PRIVATE, policy="Always", cached=False, credentials=(*WRONG, *RIGHT))
    assert result.outcome is Outcome.PULLED


def test_every_wrong_credential_is_reported_like_an_aggregate_error():
    result = pull(PRIVATE, policy="Always", cached=False, credentials=(*WRONG, *WRONG))
    assert result.message == f"[{BAD_CREDENTIALS}, {BAD_CREDENTIALS}]"


def test_a_missing_tag_is_not_found_once_authorized():
    image = "registry.example.com/team/app:2.0"
    result = pull(image, policy="IfNotPresent", cached=False, credentials=RIGHT)
    assert result.reason == "ErrImagePull"
    assert result.message.endswith(
        'failed to resolve reference "registry.example.com/team/app:2.0": registry.example.com/team/app:2.0: not found'
    )


def test_a_missing_repository_without_credentials_is_still_access_denied():
    result = pull("registry.example.com/team/ghost:1", policy="Always", cached=False)
    assert "pull access denied, repository does not exist or may require authorization" in result.message


def test_an_unknown_registry_does_not_resolve():
    result = pull("nowhere.example.org:5000/app:1", policy="IfNotPresent", cached=False)
    assert result.reason == "ErrImagePull"
    assert result.message.endswith(
        'Head "https://nowhere.example.org:5000/v2/app/manifests/1": dial tcp: lookup nowhere.example.org: no such host'
    )


def test_a_pull_by_digest_is_cached_by_digest_only():
    digest = tag_digest("registry.example.com", "team/app", "1.0")
    image = f"registry.example.com/team/app@{digest}"
    result = pull(image, policy="IfNotPresent", cached=False, credentials=RIGHT)
    assert result.outcome is Outcome.PULLED
    cache = ImageCache().record(result.image)
    again = decide_pull(image, policy="IfNotPresent", cache=cache, registries=REGISTRIES, credentials=NONE)
    assert again.outcome is Outcome.PRESENT
    assert cache.images[0].names == [image]
    tagged = decide_pull(PRIVATE, policy="Never", cache=cache, registries=REGISTRIES, credentials=NONE)
    assert tagged.reason == "ErrImageNeverPull"


def test_an_unknown_digest_is_not_found():
    image = "registry.example.com/team/app@sha256:" + "0" * 64
    assert pull(image, policy="IfNotPresent", cached=False, credentials=RIGHT).message.endswith(": not found")


def test_an_invalid_image_name():
    result = pull("Team/App:1", policy="IfNotPresent", cached=False)
    assert result.reason == "InvalidImageName"
    assert result.message == (
        'Failed to apply default image tag "Team/App:1": couldn\'t parse image reference "Team/App:1": '
        "invalid reference format"
    )


def test_docker_hub_aliases_share_one_cache_entry():
    cache = cache_holding("index.docker.io/library/golang:1.21")
    result = decide_pull("golang:1.21", policy="Never", cache=cache, registries=REGISTRIES, credentials=NONE)
    assert result.outcome is Outcome.PRESENT


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("golang", "Always"),
        ("golang:latest", "Always"),
        ("golang:1.21", "IfNotPresent"),
        ("golang@sha256:" + "a" * 64, "IfNotPresent"),
        ("golang:latest@sha256:" + "a" * 64, "Always"),
    ],
)
def test_default_policy_as_the_api_server_fills_it(image, policy):
    assert pull_policy_for(image) == policy


def test_credentials_come_from_the_matching_pull_secret_entries_in_order():
    first = read_docker_config(
        json.dumps({"auths": {"registry.example.com": {"username": "ci", "password": "s3cret"}}}), source="a"
    )
    second = read_docker_config(
        json.dumps({"auths": {"https://registry.example.com/team": {"username": "team", "password": "x"},
                              "other.example.com": {"username": "other", "password": "y"}}}),
        source="b",
    )
    found = credentials_for(parse_image(PRIVATE), [first, second])
    assert [auth.username for auth in found] == ["team", "ci"]
    assert credentials_for(parse_image(PUBLIC), [first, second]) == []
