"""The node's pull-secret keyring beyond the kubelet's credentialprovider vectors: what the node relies on.

The Go tables themselves (tests/kubelet_vectors.py) judge this keyring and the product's alike, in one module:
tests/test_registry_kubelet_vectors.py (its `devcluster` cases).
"""

from __future__ import annotations

import json

import pytest

from pipeline_queue.devcluster.errors import PullSecretError
from pipeline_queue.devcluster.node.dockerconfig import read_docker_config
from pipeline_queue.devcluster.node.keyring import Keyring, normalize_key

Found = list[tuple[str, str, str]]


def keyring_from(*texts: str) -> Keyring:
    """Each text read as one pull secret's docker config, then one keyring of them all (MakeDockerKeyring)."""
    return Keyring.of([read_docker_config(text, source=f"secret {index}") for index, text in enumerate(texts)])


def creds(ring: Keyring, image: str) -> Found:
    """Lookup's AuthConfigs as (Username, Password, Email)."""
    return [(found.username, found.password, found.email) for found in ring.lookup(image)]


def entries(text: str) -> dict[str, tuple[str, str, str]]:
    return {c.key: (c.username, c.password, c.email) for c in read_docker_config(text, source="cfg").credentials}


@pytest.mark.parametrize(
    ("key", "normalized"),
    [
        ("https://quay.io/v1/", "quay.io"),
        ("http://registry.example.com:5000/v2/", "registry.example.com:5000"),
        ("registry.example.com/team/", "registry.example.com/team/"),
        ("https://index.docker.io/v1/", "index.docker.io"),
        ("registry.example.com:port", None),
        ("bad host", None),
    ],
)
def test_keys_are_normalized_as_add_files_them(key, normalized):
    assert normalize_key(key) == normalized


def test_credentials_of_several_secrets_under_one_key_keep_the_secrets_order():
    first = json.dumps({"auths": {"registry.example.com": {"username": "a", "password": "1"}}})
    second = json.dumps({"auths": {"https://registry.example.com/v1/": {"username": "b", "password": "2"}}})
    assert [user for user, _, _ in creds(keyring_from(first, second), "registry.example.com/app")] == ["a", "b"]


def test_a_key_go_cannot_parse_is_skipped_and_the_others_still_serve():
    text = json.dumps({"auths": {"bad host": {"username": "x", "password": "y"},
                                 "registry.example.com": {"username": "ci", "password": "z"}}})
    assert creds(keyring_from(text), "registry.example.com/app") == [("ci", "z", "")]


@pytest.mark.parametrize("key", ["index.docker.io", "https://index.docker.io/v1/", "docker.io",
                                 "registry-1.docker.io", "https://registry-1.docker.io/library"])
def test_any_docker_hub_name_serves_docker_hub_images(key):
    text = json.dumps({"auths": {key: {"username": "hub", "password": "p"}}})
    for image in ("docker.io/library/golang", "golang", "index.docker.io/library/golang"):
        assert creds(keyring_from(text), image) == [("hub", "p", "")], image


def test_a_direct_match_hides_the_docker_hub_names_and_deeper_hub_paths_come_first():
    text = json.dumps({"auths": {"index.docker.io": {"username": "any", "password": "1"},
                                 "registry-1.docker.io/team": {"username": "team", "password": "2"}}})
    assert [user for user, _, _ in creds(keyring_from(text), "docker.io/team/app")] == ["team", "any"]
    direct = json.dumps({"auths": {"docker.io": {"username": "direct", "password": "3"},
                                   "index.docker.io": {"username": "alias", "password": "4"}}})
    assert [user for user, _, _ in creds(keyring_from(direct), "docker.io/library/golang")] == ["direct"]


def test_a_docker_hub_name_with_a_port_or_a_glob_is_another_registry():
    text = json.dumps({"auths": {"docker.io:5000": {"username": "a", "password": "1"},
                                 "*.docker.io": {"username": "b", "password": "2"}}})
    assert creds(keyring_from(text), "docker.io/library/golang") == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "is not valid JSON (line 1, column 2)"),
        ("[]", "must be a JSON object"),
        ("{}", 'has no "auths" object'),
        ('{"auths": []}', '"auths" must be an object'),
        ('{"auths": {"r": "s3cret"}}', "entry 'r': must be an object"),
        ('{"auths": {"r": {"password": 7}}}', "entry 'r': field 'password' must be a string"),
        ('{"auths": {"r": {"password": NaN}}}', "is not valid JSON"),
    ],
)
def test_a_malformed_config_names_the_secret_and_entry_never_a_secret(text, problem):
    with pytest.raises(PullSecretError) as caught:
        read_docker_config(text, source="secret ci/pull")
    assert str(caught.value).startswith("docker config secret ci/pull")
    assert problem in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_passwords_stay_out_of_reprs():
    (credential,) = read_docker_config('{"auths": {"r": {"username": "u", "password": "s3cret"}}}',
                                       source="cfg").credentials
    assert "s3cret" not in repr(credential)


def test_field_names_fold_case_and_null_fields_are_skipped():
    text = '{"Auths": {"r": {"Username": "u", "PASSWORD": "p", "email": null}}}'
    assert entries(text) == {"r": ("u", "p", "")}
