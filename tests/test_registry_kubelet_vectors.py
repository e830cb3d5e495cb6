"""The kubelet's own credentialprovider test vectors (keyring_test.go, config_test.go, secrets_test.go), ported.

Each test names the Go test it ports; inputs and expectations are the Go tables', unchanged.
"""

from __future__ import annotations

import base64
import json

import pytest

from pipeline_queue.errors import RegistryConfigError
from pipeline_queue.registry import (
    DockerConfig,
    Keyring,
    RegistryAuth,
    docker_config_json,
    is_default_registry_match,
    parse_docker_config,
    urls_match,
)

# The Go tests' fixed credentials (fake values).
EMAIL, USERNAME, PASSWORD = "foo@bar.baz", "foo", "bar"
GO_AUTH = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
# keyring.go defaultRegistryKey: defaultRegistryHost + "/v1/".
DEFAULT_REGISTRY_KEY = "index.docker.io/v1/"


def sample_docker_config(key: str) -> str:
    """The legacy .dockercfg blob the keyring tests build with fmt.Sprintf, byte for byte."""
    return f'{{\n   "{key}": {{\n     "email": {json.dumps(EMAIL)},\n     "auth": {json.dumps(GO_AUTH)}\n   }}\n}}'


def keyring_from(text: str) -> Keyring:
    """ReadDockerConfigFileFromBytes then BasicDockerKeyring.Add."""
    return Keyring.from_configs([parse_docker_config(text, source="sample")])


def creds(ring: Keyring, image: str) -> list[tuple[str, str, str]]:
    """Lookup's AuthConfigs as (Username, Password, Email)."""
    return [(m.auth.username, m.auth.password, m.auth.email) for m in ring.lookup(image)]


def keyring_of(entries: dict[str, tuple[str, str, str]]) -> Keyring:
    """BasicDockerKeyring.Add of a DockerConfig literal: key -> (Username, Password, Email)."""
    auths = tuple(RegistryAuth(key, user, password, email=email) for key, (user, password, email) in entries.items())
    return Keyring.from_configs([DockerConfig(source="literal", auths=auths)])


FOO = (USERNAME, PASSWORD, EMAIL)


# keyring_test.go TestURLsMatch (the current table, with the `*kubernetes.io` and `*.*.*` rows).
@pytest.mark.parametrize(
    ("glob", "target", "expected"),
    [
        ("*.kubernetes.io", "prefix.kubernetes.io", True),
        ("prefix.*.io", "prefix.kubernetes.io", True),
        ("prefix.kubernetes.*", "prefix.kubernetes.io", True),
        ("*-good.kubernetes.io", "prefix-good.kubernetes.io", True),
        ("*.kubernetes.io/blah", "prefix.kubernetes.io/blah", True),
        ("prefix.*.io/foo", "prefix.kubernetes.io/foo/bar", True),
        ("*.kubernetes.io:1111/blah", "prefix.kubernetes.io:1111/blah", True),
        ("prefix.*.io:1111/foo", "prefix.kubernetes.io:1111/foo/bar", True),
        ("*.kubernetes.io", "kubernetes.io", False),
        ("*.*.kubernetes.io", "prefix.kubernetes.io", False),
        ("*.*.kubernetes.io", "kubernetes.io", False),
        ("*kubernetes.io", "a.kubernetes.io", False),
        ("*kubernetes.io", "kubernetes.io", True),
        ("*.*.*.kubernetes.io", "a.b.c.kubernetes.io", True),
        ("kubernetes.io", "kubernetes.com", False),
        ("k*.io", "quay.io", False),
        ("*.kubernetes.io:1234/blah", "prefix.kubernetes.io:1111/blah", False),
        ("prefix.*.io/foo", "prefix.kubernetes.io:1111/foo/bar", False),
    ],
)
def test_urls_match(glob, target, expected):
    assert urls_match(glob, target) is expected


# keyring_test.go TestDockerKeyringForGlob: a legacy .dockercfg with one key serves TARGET/foo/bar.
@pytest.mark.parametrize(
    ("glob", "target"),
    [
        ("https://hello.kubernetes.io", "hello.kubernetes.io"),
        ("https://*.docker.io", "prefix.docker.io"),
        ("https://prefix.*.io", "prefix.docker.io"),
        ("https://prefix.docker.*", "prefix.docker.io"),
        ("https://*.docker.io/path", "prefix.docker.io/path"),
        ("https://prefix.*.io/path", "prefix.docker.io/path/subpath"),
        ("https://prefix.docker.*/path", "prefix.docker.io/path"),
        ("https://*.docker.io:8888", "prefix.docker.io:8888"),
        ("https://prefix.*.io:8888", "prefix.docker.io:8888"),
        ("https://prefix.docker.*:8888", "prefix.docker.io:8888"),
        ("https://*.docker.io/path:1111", "prefix.docker.io/path:1111"),
        ("https://*.docker.io/v1/", "prefix.docker.io/path:1111"),
        ("https://*.docker.io/v2/", "prefix.docker.io/path:1111"),
        ("https://prefix.docker.*/path:1111", "prefix.docker.io/path:1111"),
        ("prefix.docker.io:1111", "prefix.docker.io:1111/path"),
        ("*.docker.io:1111", "prefix.docker.io:1111/path"),
    ],
)
def test_docker_keyring_for_glob(glob, target):
    # Go checks creds[0]; the config has one key, so that is the whole answer.
    assert creds(keyring_from(sample_docker_config(glob)), target + "/foo/bar") == [FOO]


# keyring_test.go TestKeyringMiss
@pytest.mark.parametrize(
    ("glob", "lookup"),
    [
        ("https://hello.kubernetes.io", "world.mesos.org/foo/bar"),
        ("https://*.docker.com", "prefix.docker.io"),
        ("https://suffix.*.io", "prefix.docker.io"),
        ("https://prefix.docker.c*", "prefix.docker.io"),
        ("https://prefix.*.io/path:1111", "prefix.docker.io/path/subpath:1111"),
        ("suffix.*.io", "prefix.docker.io"),
    ],
)
def test_keyring_miss(glob, lookup):
    assert creds(keyring_from(sample_docker_config(glob)), lookup + "/foo/bar") == []


def docker_hub_keyring() -> Keyring:
    """The Docker Hub tests' keyring: the legacy config keyed `https://index.docker.io/v1/`."""
    return keyring_from(sample_docker_config("https://" + DEFAULT_REGISTRY_KEY))


def test_keyring_miss_with_docker_hub_credentials():
    # TestKeyringMissWithDockerHubCredentials
    assert creds(docker_hub_keyring(), "world.mesos.org/foo/bar") == []


def test_keyring_hit_with_unqualified_docker_hub():
    # TestKeyringHitWithUnqualifiedDockerHub: exactly one hit.
    assert creds(docker_hub_keyring(), "google/docker-registry") == [FOO]


def test_keyring_hit_with_unqualified_library_docker_hub():
    # TestKeyringHitWithUnqualifiedLibraryDockerHub: exactly one hit.
    assert creds(docker_hub_keyring(), "jenkins") == [FOO]


def test_keyring_hit_with_qualified_docker_hub():
    # TestKeyringHitWithQualifiedDockerHub: the lookup is `url + "/google/docker-registry"`, double slash and all.
    # Go allows up to two hits and checks the first; one key gives exactly one.
    assert creds(docker_hub_keyring(), DEFAULT_REGISTRY_KEY + "/google/docker-registry") == [FOO]


def test_docker_keyring_from_bytes():
    # TestDockerKeyringFromBytes (older keyring_test.go): exactly one hit.
    assert creds(keyring_from(sample_docker_config("https://hello.kubernetes.io")), "hello.kubernetes.io/foo/bar") == [
        FOO
    ]


# keyring_test.go TestIsDefaultRegistryMatch
@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("foo/bar", True),
        ("docker.io/foo/bar", True),
        ("index.docker.io/foo/bar", True),
        ("foo", True),
        ("", False),
        ("registry.tld/foo/bar", False),
        ("registry:5000/foo/bar", False),
        ("myhostdocker.io/foo/bar", False),
    ],
)
def test_is_default_registry_match(image, expected):
    assert is_default_registry_match(image) is expected


ADA = ("ada", "smash", "ada@example.com")
GRACE = ("grace", "squash", "grace@example.com")


# keyring_test.go TestDockerKeyringLookup
@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("bar.example.com", [ADA]),  # direct match
        ("bar.example.com/pong", [GRACE, ADA]),  # direct match deeper than other possible matches
        ("bar.example.com/ping", [ADA]),  # no direct match, deeper path ignored
        ("bar.example.com/pongz", [GRACE, ADA]),  # match first part of path token
        ("bar.example.com/pong/pang", [GRACE, ADA]),  # match regardless of sub-path
        ("example.com", []),  # no host match
        ("foo.example.com", []),
    ],
)
def test_docker_keyring_lookup(image, expected):
    ring = keyring_of({"bar.example.com/pong": GRACE, "bar.example.com": ADA})
    assert creds(ring, image) == expected


REX = ("rex", "tiny arms", "rex@example.com")


# keyring_test.go TestIssue3797: a key with a scheme and a /v1/ path serves images under its host.
@pytest.mark.parametrize("image", ["quay.io", "quay.io/foo", "quay.io/foo/bar"])
def test_issue_3797(image):
    assert creds(keyring_of({"https://quay.io/v1/": REX}), image) == [REX]


def entries(text: str) -> dict[str, tuple[str, str, str]]:
    return {a.key: (a.username, a.password, a.email) for a in parse_docker_config(text, source="cfg").auths}


TWO_REGISTRIES = (
    '{"http://foo.example.com":{"username": "foo", "password": "bar", "email": "foo@example.com"}, '
    '"http://bar.example.com":{"username": "bar", "password": "baz", "email": "bar@example.com"}}'
)
TWO_DECODED = {
    "http://foo.example.com": ("foo", "bar", "foo@example.com"),
    "http://bar.example.com": ("bar", "baz", "bar@example.com"),
}


def test_docker_config_json_json_decode():
    # config_test.go TestDockerConfigJsonJSONDecode: `{"auths": {...}}`
    assert entries('{"auths": ' + TWO_REGISTRIES + "}") == TWO_DECODED


def test_docker_config_json_decode():
    # config_test.go TestDockerConfigJSONDecode: the legacy top-level map
    assert entries(TWO_REGISTRIES) == TWO_DECODED


def test_read_docker_config_file():
    # config_test.go TestReadDockerConfigFile: "Zm9vOmJhcgo=" is `foo:bar\n`; the newline stays in the password.
    text = '{ "auths": { "http://foo.example.com":{"auth":"Zm9vOmJhcgo=","email":"foo@example.com"}}}'
    assert entries(text) == {"http://foo.example.com": ("foo", "bar\n", "foo@example.com")}
    # The scheme is dropped by Add, so the key serves its host's images.
    ring = Keyring.from_configs([parse_docker_config(text, source="cfg")])
    assert creds(ring, "foo.example.com/foo/bar") == [("foo", "bar\n", "foo@example.com")]


# config_test.go TestDockerConfigEntryJSONDecode: successful rows.
@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ('{"username": "foo", "password": "bar", "email": "foo@example.com"}', ("foo", "bar", "foo@example.com")),
        ('{"auth": "Zm9vOmJhcg==", "email": "foo@example.com"}', ("foo", "bar", "foo@example.com")),
        (
            '{"username": "foo", "password": "bar", "auth": "cGluZzpwb25n", "email": "foo@example.com"}',
            ("ping", "pong", "foo@example.com"),
        ),
    ],
)
def test_docker_config_entry_json_decode(entry, expected):
    assert entries('{"auths": {"r.example.com": ' + entry + "}}") == {"r.example.com": expected}


# config_test.go TestDockerConfigEntryJSONDecode: failing rows (poorly formatted auth, invalid JSON type).
@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ('{"auth": "pants", "email": "foo@example.com"}', "auth"),
        ('{"email": false}', "email"),
    ],
)
def test_docker_config_entry_json_decode_fails(entry, field):
    with pytest.raises(RegistryConfigError, match=f"entry 'r.example.com': field '{field}'"):
        parse_docker_config('{"auths": {"r.example.com": ' + entry + "}}", source="cfg")


def decode_auth(field: str) -> tuple[str, str]:
    """decodeDockerConfigFieldAuth, reached through an entry's `auth` field."""
    (auth,) = parse_docker_config(json.dumps({"auths": {"r": {"auth": field}}}), source="cfg").auths
    return auth.username, auth.password


# config_test.go TestDecodeDockerConfigFieldAuth: rows that decode to foo/bar.
@pytest.mark.parametrize(
    "field",
    [
        "Zm9vOmJhcg==",
        "Zm9vOmJhcg",  # not well padded
        "Zm9vOm\nJhcg==\n",  # new line characters
        base64.standard_b64encode(b"foo:bar").decode(),  # StdEncoding
        base64.standard_b64encode(b"foo:bar").decode().rstrip("="),  # RawStdEncoding
        RegistryAuth("r", "foo", "bar").auth_value(),  # encodeDockerConfigFieldAuth
    ],
)
def test_decode_docker_config_field_auth(field):
    assert decode_auth(field) == ("foo", "bar")


# config_test.go TestDecodeDockerConfigFieldAuth: rows that fail.
@pytest.mark.parametrize(
    "field",
    [
        "cGFudHM=",  # good base64 data, but no colon separating username & password
        "Zm9vOmJhcg== ",  # only new line characters are ignored
        "pants",  # bad base64 data
    ],
)
def test_decode_docker_config_field_auth_fails(field):
    with pytest.raises(RegistryConfigError, match="field 'auth'"):
        decode_auth(field)


def test_docker_config_entry_json_compatible_encode():
    # config_test.go TestDockerConfigEntryJSONCompatibleEncode
    expect = {"username": "foo", "password": "bar", "email": "foo@example.com", "auth": "Zm9vOmJhcg=="}
    ring = keyring_of({"r.example.com": ("foo", "bar", "foo@example.com")})
    assert json.loads(docker_config_json(ring.lookup("r.example.com/app")))["auths"]["r.example.com"] == expect


USER_PASSWORD = ("user", "password", "")
JSON_AUTH = '{"auths": {"test.registry.io": {"auth": "dXNlcjpwYXNzd29yZA=="}}}'
LEGACY_AUTH = '{"test.registry.io": {"auth": "dXNlcjpwYXNzd29yZA=="}}'
JSON_FIELDS = '{"auths": {"test.registry.io": {"username": "user", "password": "password"}}}'
LEGACY_FIELDS = '{"test.registry.io": {"username": "user", "password": "password"}}'


# secrets_test.go Test_MakeDockerKeyring: what the pull secrets contribute (the default keyring is not ours;
# the wrong-Secret-type rows choose which data key is read, which the caller does before parsing).
@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        (JSON_AUTH, [USER_PASSWORD]),  # with .dockerconfigjson and auth field
        (LEGACY_AUTH, [USER_PASSWORD]),  # with .dockerconfig and auth field
        (JSON_FIELDS, [USER_PASSWORD]),  # with .dockerconfigjson and username/password fields
        (LEGACY_FIELDS, [USER_PASSWORD]),  # with .dockerconfig and username/password fields
        ('{"auths": {"foobar.io": {"auth": "dXNlcjpwYXNzd29yZA=="}}}', []),  # not matching .dockerconfigjson
        ('{"foobar.io": {"auth": "dXNlcjpwYXNzd29yZA=="}}', []),  # not matching .dockerconfig
    ],
)
def test_make_docker_keyring(secret, expected):
    assert creds(keyring_from(secret), "test.registry.io") == expected
