"""The simulated registries: the YAML file, stable digests, credential checks and clear errors."""

from __future__ import annotations

import hashlib

import pytest

from pipeline_queue.devcluster.errors import RegistriesFileError
from pipeline_queue.devcluster.node.registries import (
    DEFAULT_COMMAND,
    Registry,
    load_registries,
    parse_registries,
    tag_digest,
)

EXAMPLE = """
registries:
  registry.example.com:
    private: true
    users: {ci: s3cret}
    repositories:
      team/app: {tags: ["1.0", "latest"], size: 52428800}
      team/tool: {command: ["sleep", "1"]}
  index.docker.io:
    repositories:
      golang: {tags: ["1.21"]}
"""


@pytest.fixture
def registries():
    return parse_registries(EXAMPLE, source="registries.yaml")


def test_digest_is_sha256_of_registry_repository_and_tag():
    expected = hashlib.sha256(b"registry.example.com/team/app:1.0").hexdigest()
    assert tag_digest("registry.example.com", "team/app", "1.0") == f"sha256:{expected}"


def test_a_listed_tag_resolves_to_its_stable_digest_and_size(registries):
    manifest = registries.get("registry.example.com").resolve("team/app", tag="1.0", digest="")
    assert manifest.digest == tag_digest("registry.example.com", "team/app", "1.0")
    assert manifest.repo_digest == f"registry.example.com/team/app@{manifest.digest}"
    assert manifest.repo_tag == "registry.example.com/team/app:1.0"
    assert manifest.size == 52428800
    again = parse_registries(EXAMPLE, source="again.yaml").get("registry.example.com")
    assert again.resolve("team/app", tag="1.0", digest="") == manifest


def test_a_missing_tag_or_repository_is_not_found(registries):
    registry = registries.get("registry.example.com")
    assert registry.resolve("team/app", tag="2.0", digest="") is None
    assert registry.resolve("team/other", tag="1.0", digest="") is None


def test_a_pull_by_digest_serves_the_digests_of_listed_tags_and_names_no_tag(registries):
    registry = registries.get("registry.example.com")
    digest = tag_digest("registry.example.com", "team/app", "latest")
    manifest = registry.resolve("team/app", tag="", digest=digest)
    assert (manifest.digest, manifest.repo_tag) == (digest, "")
    assert registry.resolve("team/app", tag="latest", digest="sha256:" + "0" * 64) is None


def test_a_repository_without_tags_serves_any_tag_with_its_own_command(registries):
    manifest = registries.get("registry.example.com").resolve("team/tool", tag="anything", digest="")
    assert manifest.command == ("sleep", "1")
    assert manifest.size > 0


def test_docker_hub_aliases_fold_and_official_names_gain_library(registries):
    hub = registries.get("docker.io")
    assert hub.resolve("library/golang", tag="1.21", digest="") is not None
    assert hub.resolve("library/golang", tag="1.22", digest="") is None
    assert hub.resolve("library/alpine", tag="3", digest="") is None


def test_without_a_file_docker_hub_serves_everything_and_other_hosts_do_not_resolve():
    registries = load_registries(None)
    manifest = registries.get("docker.io").resolve("library/alpine", tag="3.19", digest="")
    assert manifest.repo_tag == "docker.io/library/alpine:3.19"
    assert manifest.command == DEFAULT_COMMAND
    assert registries.get("docker.io").resolve("library/alpine", tag="", digest="sha256:" + "a" * 64)
    assert registries.get("registry.example.com") is None


def test_a_private_registry_accepts_only_its_users(registries):
    registry = registries.get("registry.example.com")
    assert registry.accepts("ci", "s3cret")
    assert not registry.accepts("ci", "wrong")
    assert not registry.accepts("someone", "s3cret")
    assert Registry("public.example.com").accepts("anyone", "anything")


def test_passwords_stay_out_of_reprs(registries):
    assert "s3cret" not in repr(registries)


def test_load_reads_a_file(tmp_path):
    path = tmp_path / "registries.yaml"
    path.write_text(EXAMPLE)
    assert load_registries(path).get("registry.example.com").private


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("registries: [a]", "registries.yaml: registries must be a mapping"),
        ("registries:\n  r.example.com: {private: yes please}", "r.example.com.private must be true or false"),
        ("registries:\n  r.example.com: {mirror: x}", "unknown key(s) mirror"),
        ("registries:\n  r.example.com:\n    repositories:\n      a: {tags: [1.10]}", 'quote numbers such as "1.10"'),
        ("registries:\n  r.example.com:\n    repositories:\n      a: {tags: ['-x']}", "'-x' is not a valid tag"),
        ("registries:\n  r.example.com:\n    repositories:\n      a: {size: big}", "a.size must be a whole number"),
        ("registries:\n  r.example.com:\n    repositories:\n      A/B: {}", "not a valid registry or repository"),
        ("registries:\n  'bad host!': {}", "registries.bad host!: not a valid registry"),
        ("registries: {r.example.com: {", "registries.yaml: not valid YAML"),
    ],
)
def test_a_bad_file_gets_an_error_naming_the_entry(text, expected):
    with pytest.raises(RegistriesFileError) as caught:
        parse_registries(text, source="registries.yaml")
    assert expected in str(caught.value)


def test_a_non_string_password_is_refused_without_echoing_it():
    with pytest.raises(RegistriesFileError) as caught:
        parse_registries("registries:\n  r.example.com: {users: {ci: 918273}}", source="r.yaml")
    assert "users.ci" in str(caught.value)
    assert "918273" not in str(caught.value)


def test_an_unreadable_file_is_a_clear_error(tmp_path):
    with pytest.raises(RegistriesFileError, match="cannot read registries file"):
        load_registries(tmp_path / "missing.yaml")
