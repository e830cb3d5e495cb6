"""The kubelet's own credentialprovider test vectors (keyring_test.go, config_test.go, secrets_test.go) and Go's
path/filepath match table, run against both credential matchers.

The product's matcher (`pipeline_queue.registry`) and the development cluster's own (`pipeline_queue.devcluster.node`)
share no code on purpose; the same vectors judge both. Each test is written once and takes `impl`, one of two thin
adapters (`product`, `devcluster`) that expose the few operations the vectors need. Each test names the Go test it
ports; the tables live in tests/kubelet_vectors.py. The vectors only one implementation can run (the product's
encoder) are plain tests at the end; the devcluster's own rules beyond the tables are in
tests/devcluster/test_credentials.py and tests/devcluster/test_globs.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline_queue import registry
from pipeline_queue.devcluster.errors import PullSecretError
from pipeline_queue.devcluster.node import dockerconfig as node_config
from pipeline_queue.devcluster.node import globs as node_globs
from pipeline_queue.devcluster.node import keyring as node_keyring
from pipeline_queue.errors import RegistryConfigError
from pipeline_queue.registry import gostd
from tests import kubelet_vectors as vectors
from tests.kubelet_vectors import FOO, sample_docker_config

Found = list[tuple[str, str, str]]
"""Credentials as the Go tests compare them: (Username, Password, Email), in Lookup's order."""


def triple(credential: Any) -> tuple[str, str, str]:
    """(Username, Password, Email) of either implementation's credential (RegistryAuth, Credential)."""
    return credential.username, credential.password, credential.email


class Product:
    """`pipeline_queue.registry`: parse_docker_config, Keyring.from_configs and gostd.path_match."""

    config_error = RegistryConfigError
    urls_match = staticmethod(registry.urls_match)
    is_default_registry_match = staticmethod(registry.is_default_registry_match)
    glob_match = staticmethod(gostd.path_match)

    def entries(self, text: str) -> dict[str, tuple[str, str, str]]:
        """ReadDockerConfigFileFromBytes: config key -> (Username, Password, Email)."""
        config = registry.parse_docker_config(text, source="cfg")
        return {auth.key: triple(auth) for auth in config.auths}

    def keyring(self, *texts: str) -> registry.Keyring:
        """Each text read as one pull secret's docker config, then one keyring of them all (MakeDockerKeyring)."""
        configs = [registry.parse_docker_config(text, source=f"secret {n}") for n, text in enumerate(texts)]
        return registry.Keyring.from_configs(configs)

    def keyring_of(self, literal: dict[str, tuple[str, str, str]]) -> registry.Keyring:
        """BasicDockerKeyring.Add of a DockerConfig literal: key -> (Username, Password, Email)."""
        auths = tuple(registry.RegistryAuth(key, user, password, email=email)
                      for key, (user, password, email) in literal.items())
        return registry.Keyring.from_configs([registry.DockerConfig(source="literal", auths=auths)])

    def lookup(self, ring: registry.Keyring, image: str) -> Found:
        """Lookup's AuthConfigs."""
        return [triple(match.auth) for match in ring.lookup(image)]

    def assert_refuses_glob(self, pattern: str, name: str) -> None:
        """Go's ErrBadPattern is raised as BadPatternError (the keyring then counts it as no match)."""
        with pytest.raises(gostd.BadPatternError):
            gostd.path_match(pattern, name)


class Devcluster:
    """`pipeline_queue.devcluster.node`: read_docker_config, Keyring.of and globs.glob_match (same operations)."""

    config_error = PullSecretError
    urls_match = staticmethod(node_keyring.urls_match)
    is_default_registry_match = staticmethod(node_keyring.is_default_registry_match)
    glob_match = staticmethod(node_globs.glob_match)

    def entries(self, text: str) -> dict[str, tuple[str, str, str]]:
        config = node_config.read_docker_config(text, source="cfg")
        return {credential.key: triple(credential) for credential in config.credentials}

    def keyring(self, *texts: str) -> node_keyring.Keyring:
        configs = [node_config.read_docker_config(text, source=f"secret {n}") for n, text in enumerate(texts)]
        return node_keyring.Keyring.of(configs)

    def keyring_of(self, literal: dict[str, tuple[str, str, str]]) -> node_keyring.Keyring:
        credentials = tuple(node_config.Credential(key, *credential) for key, credential in literal.items())
        return node_keyring.Keyring.of([node_config.DockerConfig("literal", credentials)])

    def lookup(self, ring: node_keyring.Keyring, image: str) -> Found:
        return [triple(credential) for credential in ring.lookup(image)]

    def assert_refuses_glob(self, pattern: str, name: str) -> None:
        """A malformed pattern matches nothing, as the kubelet's URLsMatch treats ErrBadPattern."""
        assert node_globs.glob_match(pattern, name) is False


PRODUCT = Product()


@pytest.fixture(params=[PRODUCT, Devcluster()], ids=["product", "devcluster"])
def impl(request: pytest.FixtureRequest) -> Any:
    """The implementation under test, as one of the two adapters above."""
    return request.param


def lookup_in_sample(impl: Any, key: str, image: str) -> Found:
    """Lookup of `image` in a keyring of one legacy .dockercfg keyed `key` (the keyring tests' sample config)."""
    return impl.lookup(impl.keyring(sample_docker_config(key)), image)


def in_auths(entry: str) -> str:
    """A config whose one entry, under "r.example.com", is `entry` (JSON text)."""
    return '{"auths": {"r.example.com": ' + entry + "}}"


def decode_auth(impl: Any, field: str) -> tuple[str, str]:
    """decodeDockerConfigFieldAuth, reached through an entry's `auth` field: (Username, Password)."""
    user, password, _ = impl.entries(json.dumps({"auths": {"r": {"auth": field}}}))["r"]
    return user, password


# keyring_test.go -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("glob", "target", "expected"), vectors.URLS_MATCH)
def test_urls_match(impl, glob, target, expected):
    # TestURLsMatch
    assert impl.urls_match(glob, target) is expected


@pytest.mark.parametrize(("glob", "target"), vectors.KEYRING_FOR_GLOB)
def test_docker_keyring_for_glob(impl, glob, target):
    # TestDockerKeyringForGlob: Go checks creds[0]; the config has one key, so that is the whole answer.
    assert lookup_in_sample(impl, glob, target + "/foo/bar") == [FOO]


@pytest.mark.parametrize(("glob", "lookup"), vectors.KEYRING_MISS)
def test_keyring_miss(impl, glob, lookup):
    # TestKeyringMiss
    assert lookup_in_sample(impl, glob, lookup + "/foo/bar") == []


@pytest.mark.parametrize("go_test", sorted(vectors.DOCKER_HUB_LOOKUPS))
def test_docker_hub_lookups(impl, go_test):
    # TestKeyringMissWithDockerHubCredentials, TestKeyringHitWith{Unqualified,UnqualifiedLibrary,Qualified}DockerHub:
    # the hits are exactly one credential.
    image, expected = vectors.DOCKER_HUB_LOOKUPS[go_test]
    assert lookup_in_sample(impl, vectors.DOCKER_HUB_KEY, image) == expected


def test_docker_keyring_from_bytes(impl):
    # TestDockerKeyringFromBytes (older keyring_test.go): exactly one hit.
    key, image, expected = vectors.KEYRING_FROM_BYTES
    assert lookup_in_sample(impl, key, image) == expected


@pytest.mark.parametrize(("image", "expected"), vectors.DEFAULT_REGISTRY_MATCH)
def test_is_default_registry_match(impl, image, expected):
    # TestIsDefaultRegistryMatch
    assert impl.is_default_registry_match(image) is expected


@pytest.mark.parametrize(("image", "expected"), vectors.KEYRING_LOOKUPS)
def test_docker_keyring_lookup(impl, image, expected):
    # TestDockerKeyringLookup: the deeper key first.
    assert impl.lookup(impl.keyring_of(vectors.LOOKUP_KEYRING), image) == expected


@pytest.mark.parametrize("image", vectors.ISSUE_3797_IMAGES)
def test_issue_3797(impl, image):
    # TestIssue3797: a key with a scheme and a /v1/ path serves images under its host.
    assert impl.lookup(impl.keyring_of(vectors.ISSUE_3797_KEYRING), image) == [vectors.REX]


# config_test.go --------------------------------------------------------------------------------------------------


def test_docker_config_json_json_decode(impl):
    # TestDockerConfigJsonJSONDecode: `{"auths": {...}}`
    assert impl.entries('{"auths": ' + vectors.TWO_REGISTRIES + "}") == vectors.TWO_DECODED


def test_docker_config_json_decode(impl):
    # TestDockerConfigJSONDecode: the legacy top-level map
    assert impl.entries(vectors.TWO_REGISTRIES) == vectors.TWO_DECODED


def test_read_docker_config_file(impl):
    # TestReadDockerConfigFile: the newline stays in the password.
    assert impl.entries(vectors.READ_CONFIG_FILE) == vectors.READ_CONFIG_FILE_ENTRIES
    # The scheme is dropped by Add, so the key serves its host's images.
    image, expected = vectors.READ_CONFIG_FILE_LOOKUP
    assert impl.lookup(impl.keyring(vectors.READ_CONFIG_FILE), image) == expected


@pytest.mark.parametrize(("entry", "expected"), vectors.ENTRY_DECODES)
def test_docker_config_entry_json_decode(impl, entry, expected):
    # TestDockerConfigEntryJSONDecode, rows that decode
    assert impl.entries(in_auths(entry)) == {"r.example.com": expected}


@pytest.mark.parametrize(("entry", "field"), vectors.ENTRY_DECODE_FAILURES)
def test_docker_config_entry_json_decode_fails(impl, entry, field):
    # TestDockerConfigEntryJSONDecode, rows that fail (poorly formatted auth, invalid JSON type); both
    # implementations word the error the same way.
    with pytest.raises(impl.config_error, match=f"entry 'r.example.com': field '{field}'"):
        impl.entries(in_auths(entry))


@pytest.mark.parametrize("field", vectors.FIELD_AUTH_DECODES)
def test_decode_docker_config_field_auth(impl, field):
    # TestDecodeDockerConfigFieldAuth, rows that decode
    assert decode_auth(impl, field) == ("foo", "bar")


@pytest.mark.parametrize("field", vectors.FIELD_AUTH_FAILURES)
def test_decode_docker_config_field_auth_fails(impl, field):
    # TestDecodeDockerConfigFieldAuth, rows that fail
    with pytest.raises(impl.config_error, match="field 'auth'"):
        decode_auth(impl, field)


# secrets_test.go -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("secret", "expected"), vectors.MAKE_KEYRING)
def test_make_docker_keyring(impl, secret, expected):
    # Test_MakeDockerKeyring: what the pull secrets contribute (the default keyring is not ours; the
    # wrong-Secret-type rows choose which data key is read, which the caller does before parsing).
    assert impl.lookup(impl.keyring(secret), vectors.MAKE_KEYRING_IMAGE) == expected


# path/filepath match_test.go: the glob each host label of a key is matched with ----------------------------------


@pytest.mark.parametrize(("pattern", "name", "expected"), vectors.GLOB_MATCHES)
def test_glob_match_follows_go(impl, pattern, name, expected):
    assert impl.glob_match(pattern, name) is expected


@pytest.mark.parametrize(("pattern", "name"), vectors.BAD_GLOBS)
def test_a_malformed_glob_is_refused(impl, pattern, name):
    # Go returns ErrBadPattern; each adapter says how its implementation refuses the pattern.
    impl.assert_refuses_glob(pattern, name)


# Only the product has an encoder (encodeDockerConfigFieldAuth, a DockerConfigEntry's JSON) ------------------------


def test_decode_docker_config_field_auth_of_the_encoder():
    # TestDecodeDockerConfigFieldAuth, the row encoded with encodeDockerConfigFieldAuth
    assert decode_auth(PRODUCT, registry.RegistryAuth("r", "foo", "bar").auth_value()) == ("foo", "bar")


def test_docker_config_entry_json_compatible_encode():
    # TestDockerConfigEntryJSONCompatibleEncode
    credential, expect = vectors.ENTRY_ENCODE
    ring = PRODUCT.keyring_of({"r.example.com": credential})
    assert json.loads(registry.docker_config_json(ring.lookup("r.example.com/app")))["auths"]["r.example.com"] == expect
