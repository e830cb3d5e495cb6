"""The kubelet's credentialprovider test vectors (keyring_test.go, config_test.go, secrets_test.go), as plain data.

An external oracle for both credential matchers: the product's (`pipeline_queue.registry`) and the development
cluster's own (`pipeline_queue.devcluster.node`), both judged by tests/test_registry_kubelet_vectors.py, which runs
each vector once against each. Inputs and expectations are the Go tables', unchanged; a credential is written
(Username, Password, Email). Go's own path/filepath match table, which the keyring's host globs follow, is here too.
Nothing here imports either implementation.
"""

from __future__ import annotations

import base64
import json

# The Go tests' fixed credentials (fake values).
EMAIL, USERNAME, PASSWORD = "foo@bar.baz", "foo", "bar"
GO_AUTH = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
FOO = (USERNAME, PASSWORD, EMAIL)
# keyring.go defaultRegistryKey: defaultRegistryHost + "/v1/".
DEFAULT_REGISTRY_KEY = "index.docker.io/v1/"


def sample_docker_config(key: str) -> str:
    """The legacy .dockercfg blob the keyring tests build with fmt.Sprintf, byte for byte."""
    return f'{{\n   "{key}": {{\n     "email": {json.dumps(EMAIL)},\n     "auth": {json.dumps(GO_AUTH)}\n   }}\n}}'


# keyring_test.go TestURLsMatch (the current table, with the `*kubernetes.io` and `*.*.*` rows): (glob, target, match).
URLS_MATCH = [
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
]

# keyring_test.go TestDockerKeyringForGlob: a legacy .dockercfg keyed GLOB serves TARGET/foo/bar with FOO.
KEYRING_FOR_GLOB = [
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
]

# keyring_test.go TestKeyringMiss: a legacy .dockercfg keyed GLOB serves nothing for LOOKUP/foo/bar.
KEYRING_MISS = [
    ("https://hello.kubernetes.io", "world.mesos.org/foo/bar"),
    ("https://*.docker.com", "prefix.docker.io"),
    ("https://suffix.*.io", "prefix.docker.io"),
    ("https://prefix.docker.c*", "prefix.docker.io"),
    ("https://prefix.*.io/path:1111", "prefix.docker.io/path/subpath:1111"),
    ("suffix.*.io", "prefix.docker.io"),
]

# The Docker Hub tests: a legacy .dockercfg keyed DOCKER_HUB_KEY, one lookup each -> the credentials found.
DOCKER_HUB_KEY = "https://" + DEFAULT_REGISTRY_KEY
DOCKER_HUB_LOOKUPS = {
    "TestKeyringMissWithDockerHubCredentials": ("world.mesos.org/foo/bar", []),
    "TestKeyringHitWithUnqualifiedDockerHub": ("google/docker-registry", [FOO]),
    "TestKeyringHitWithUnqualifiedLibraryDockerHub": ("jenkins", [FOO]),
    # The lookup is `url + "/google/docker-registry"`, double slash and all. Go allows up to two hits and checks
    # the first; one key gives exactly one.
    "TestKeyringHitWithQualifiedDockerHub": (DEFAULT_REGISTRY_KEY + "/google/docker-registry", [FOO]),
}

# TestDockerKeyringFromBytes (older keyring_test.go): (key of a legacy .dockercfg, lookup, credentials found).
KEYRING_FROM_BYTES = ("https://hello.kubernetes.io", "hello.kubernetes.io/foo/bar", [FOO])

# keyring_test.go TestIsDefaultRegistryMatch: (repository name, pulled from Docker Hub).
DEFAULT_REGISTRY_MATCH = [
    ("foo/bar", True),
    ("docker.io/foo/bar", True),
    ("index.docker.io/foo/bar", True),
    ("foo", True),
    ("", False),
    ("registry.tld/foo/bar", False),
    ("registry:5000/foo/bar", False),
    ("myhostdocker.io/foo/bar", False),
]

ADA = ("ada", "smash", "ada@example.com")
GRACE = ("grace", "squash", "grace@example.com")
# keyring_test.go TestDockerKeyringLookup: a DockerConfig literal (key -> credential), then (image, found).
LOOKUP_KEYRING = {"bar.example.com/pong": GRACE, "bar.example.com": ADA}
KEYRING_LOOKUPS = [
    ("bar.example.com", [ADA]),  # direct match
    ("bar.example.com/pong", [GRACE, ADA]),  # direct match deeper than other possible matches
    ("bar.example.com/ping", [ADA]),  # no direct match, deeper path ignored
    ("bar.example.com/pongz", [GRACE, ADA]),  # match first part of path token
    ("bar.example.com/pong/pang", [GRACE, ADA]),  # match regardless of sub-path
    ("example.com", []),  # no host match
    ("foo.example.com", []),
]

REX = ("rex", "tiny arms", "rex@example.com")
# keyring_test.go TestIssue3797: a key with a scheme and a /v1/ path serves every image under its host.
ISSUE_3797_KEYRING = {"https://quay.io/v1/": REX}
ISSUE_3797_IMAGES = ["quay.io", "quay.io/foo", "quay.io/foo/bar"]

# config_test.go TestDockerConfigJsonJSONDecode (inside `{"auths": ...}`) and TestDockerConfigJSONDecode (bare).
TWO_REGISTRIES = (
    '{"http://foo.example.com":{"username": "foo", "password": "bar", "email": "foo@example.com"}, '
    '"http://bar.example.com":{"username": "bar", "password": "baz", "email": "bar@example.com"}}'
)
TWO_DECODED = {
    "http://foo.example.com": ("foo", "bar", "foo@example.com"),
    "http://bar.example.com": ("bar", "baz", "bar@example.com"),
}

# config_test.go TestReadDockerConfigFile: "Zm9vOmJhcgo=" is `foo:bar\n`; the newline stays in the password.
# The scheme is dropped by Add, so the key serves its host's images (READ_CONFIG_FILE_LOOKUP).
READ_CONFIG_FILE = '{ "auths": { "http://foo.example.com":{"auth":"Zm9vOmJhcgo=","email":"foo@example.com"}}}'
READ_CONFIG_FILE_ENTRIES = {"http://foo.example.com": ("foo", "bar\n", "foo@example.com")}
READ_CONFIG_FILE_LOOKUP = ("foo.example.com/foo/bar", [("foo", "bar\n", "foo@example.com")])

# config_test.go TestDockerConfigEntryJSONDecode, as the entry of "r.example.com": successful rows (entry, found).
ENTRY_DECODES = [
    ('{"username": "foo", "password": "bar", "email": "foo@example.com"}', ("foo", "bar", "foo@example.com")),
    ('{"auth": "Zm9vOmJhcg==", "email": "foo@example.com"}', ("foo", "bar", "foo@example.com")),
    (
        '{"username": "foo", "password": "bar", "auth": "cGluZzpwb25n", "email": "foo@example.com"}',
        ("ping", "pong", "foo@example.com"),
    ),
]
# ... and failing rows (poorly formatted auth, invalid JSON type): (entry, the field at fault).
ENTRY_DECODE_FAILURES = [
    ('{"auth": "pants", "email": "foo@example.com"}', "auth"),
    ('{"email": false}', "email"),
]

# config_test.go TestDecodeDockerConfigFieldAuth: `auth` fields that decode to foo/bar (the row encoded with
# encodeDockerConfigFieldAuth belongs to an implementation that has that encoder, so its test adds it).
FIELD_AUTH_DECODES = [
    "Zm9vOmJhcg==",
    "Zm9vOmJhcg",  # not well padded
    "Zm9vOm\nJhcg==\n",  # new line characters
    base64.standard_b64encode(b"foo:bar").decode(),  # StdEncoding
    base64.standard_b64encode(b"foo:bar").decode().rstrip("="),  # RawStdEncoding
]
# ... and rows that fail.
FIELD_AUTH_FAILURES = [
    "cGFudHM=",  # good base64 data, but no colon separating username & password
    "Zm9vOmJhcg== ",  # only new line characters are ignored
    "pants",  # bad base64 data
]

# config_test.go TestDockerConfigEntryJSONCompatibleEncode: a credential and the entry an encoder writes for it.
ENTRY_ENCODE = (
    ("foo", "bar", "foo@example.com"),
    {"username": "foo", "password": "bar", "email": "foo@example.com", "auth": "Zm9vOmJhcg=="},
)

# secrets_test.go Test_MakeDockerKeyring: what the pull secrets contribute to a lookup of MAKE_KEYRING_IMAGE (the
# default keyring is not ours; the wrong-Secret-type rows choose which data key is read, before any parsing).
MAKE_KEYRING_IMAGE = "test.registry.io"
USER_PASSWORD = ("user", "password", "")
JSON_AUTH = '{"auths": {"test.registry.io": {"auth": "dXNlcjpwYXNzd29yZA=="}}}'
LEGACY_AUTH = '{"test.registry.io": {"auth": "dXNlcjpwYXNzd29yZA=="}}'
JSON_FIELDS = '{"auths": {"test.registry.io": {"username": "user", "password": "password"}}}'
LEGACY_FIELDS = '{"test.registry.io": {"username": "user", "password": "password"}}'
MAKE_KEYRING = [
    (JSON_AUTH, [USER_PASSWORD]),  # with .dockerconfigjson and auth field
    (LEGACY_AUTH, [USER_PASSWORD]),  # with .dockerconfig and auth field
    (JSON_FIELDS, [USER_PASSWORD]),  # with .dockerconfigjson and username/password fields
    (LEGACY_FIELDS, [USER_PASSWORD]),  # with .dockerconfig and username/password fields
    ('{"auths": {"foobar.io": {"auth": "dXNlcjpwYXNzd29yZA=="}}}', []),  # not matching .dockerconfigjson
    ('{"foobar.io": {"auth": "dXNlcjpwYXNzd29yZA=="}}', []),  # not matching .dockerconfig
]

# Go's src/path/filepath/match_test.go matchTests: (pattern, name, match); BAD_GLOBS are the ErrBadPattern rows.
GLOB_MATCHES = [
    ("abc", "abc", True),
    ("*", "abc", True),
    ("*c", "abc", True),
    ("a*", "a", True),
    ("a*", "abc", True),
    ("a*", "ab/c", False),
    ("a*/b", "abc/b", True),
    ("a*/b", "a/c/b", False),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False),
    ("a*b?c*x", "abxbbxdbxebxczzx", True),
    ("a*b?c*x", "abxbbxdbxebxczzy", False),
    ("ab[c]", "abc", True),
    ("ab[b-d]", "abc", True),
    ("ab[e-g]", "abc", False),
    ("ab[^c]", "abc", False),
    ("ab[^b-d]", "abc", False),
    ("ab[^e-g]", "abc", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "ab", False),
    ("a?b", "a☺b", True),
    ("a[^a]b", "a☺b", True),
    ("a???b", "a☺b", False),
    ("a[^a][^a][^a]b", "a☺b", False),
    ("[a-ζ]*", "α", True),  # noqa: RUF001 (Go's row: a Greek alpha, inside the range)
    ("*[a-ζ]", "A", False),
    ("a?b", "a/b", False),
    ("a*b", "a/b", False),
    ("[\\]a]", "]", True),
    ("[\\-]", "-", True),
    ("[x\\-]", "x", True),
    ("[x\\-]", "-", True),
    ("[x\\-]", "z", False),
    ("[\\-x]", "x", True),
    ("[\\-x]", "-", True),
    ("[\\-x]", "a", False),
    ("*x", "xxx", True),
]
BAD_GLOBS = [
    ("[]a]", "]"),
    ("[-]", "-"),
    ("[x-]", "x"),
    ("[x-]", "-"),
    ("[x-]", "z"),
    ("[-x]", "x"),
    ("[-x]", "-"),
    ("[-x]", "a"),
    ("\\", "a"),
    ("[a-b-c]", "a"),
    ("[", "a"),
    ("[^", "a"),
    ("[^bc", "a"),
    ("a[", "a"),
    ("a[", "ab"),
    ("a[", "x"),
    ("a/b[", "x"),
]
