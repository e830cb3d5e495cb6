"""Image references parse and normalize as Docker's distribution/reference does.

The tables port the vectors of reference_test.go and normalize_test.go; inputs
are read through ParseNormalizedNamed, so bare names land on docker.io.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pipeline_queue.errors import ImageReferenceError, PipelineQueueError
from pipeline_queue.images import (
    DEFAULT_DOMAIN,
    DOCKER_HUB_ALIASES,
    ImageRef,
    is_latest,
    parse_image,
    try_parse_image,
)

SHA256 = "sha256:" + "f" * 64
SHA512 = "sha512:" + "f" * 128
REDIS_DIGEST = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"
HEX64 = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"


def fields(ref: ImageRef) -> tuple[str, str, str | None, str | None]:
    return ref.domain, ref.path, ref.tag, ref.digest


# --- the forms the Drone page lists, and the ones every pipeline uses ---------------------------

SPEC_FORMS = [
    # input, domain, path, tag, digest, reference, familiar
    ("golang", "docker.io", "library/golang", None, None, "docker.io/library/golang:latest", "golang"),
    ("golang:1.7", "docker.io", "library/golang", "1.7", None, "docker.io/library/golang:1.7", "golang:1.7"),
    ("library/golang:1.7", "docker.io", "library/golang", "1.7", None,
     "docker.io/library/golang:1.7", "golang:1.7"),
    ("index.docker.io/library/golang", "docker.io", "library/golang", None, None,
     "docker.io/library/golang:latest", "golang"),
    ("index.docker.io/library/golang:1.7", "docker.io", "library/golang", "1.7", None,
     "docker.io/library/golang:1.7", "golang:1.7"),
    ("docker.company.com/golang", "docker.company.com", "golang", None, None,
     "docker.company.com/golang:latest", "docker.company.com/golang"),
    ("localhost:5000/x", "localhost:5000", "x", None, None, "localhost:5000/x:latest", "localhost:5000/x"),
    ("localhost/x", "localhost", "x", None, None, "localhost/x:latest", "localhost/x"),
    (f"x@{SHA256}", "docker.io", "library/x", None, SHA256, f"docker.io/library/x@{SHA256}", f"x@{SHA256}"),
    (f"x:1.2@{SHA256}", "docker.io", "library/x", "1.2", SHA256,
     f"docker.io/library/x:1.2@{SHA256}", f"x:1.2@{SHA256}"),
    ("golang:1.12", "docker.io", "library/golang", "1.12", None, "docker.io/library/golang:1.12", "golang:1.12"),
    ("registry.internal.company.com/golang:1.12", "registry.internal.company.com", "golang", "1.12", None,
     "registry.internal.company.com/golang:1.12", "registry.internal.company.com/golang:1.12"),
    ("[::1]:5000/team/app:v1", "[::1]:5000", "team/app", "v1", None,
     "[::1]:5000/team/app:v1", "[::1]:5000/team/app:v1"),
    ("docker.io/user/app", "docker.io", "user/app", None, None, "docker.io/user/app:latest", "user/app"),
]


@pytest.mark.parametrize(("text", "domain", "path", "tag", "digest", "reference", "familiar"), SPEC_FORMS)
def test_spec_forms_parse_to_domain_path_tag_digest(text, domain, path, tag, digest, reference, familiar):
    ref = parse_image(text)
    assert fields(ref) == (domain, path, tag, digest)
    assert ref.reference == reference
    assert ref.familiar == familiar
    assert ref.name == f"{domain}/{path}"


# --- reference_test.go, TestReferenceParse, read through ParseNormalizedNamed ------------------

REFERENCE_VALID = [
    ("test_com", "docker.io", "library/test_com", None, None),
    ("test.com:tag", "docker.io", "library/test.com", "tag", None),
    ("test.com:5000", "docker.io", "library/test.com", "5000", None),
    ("test.com/repo:tag", "test.com", "repo", "tag", None),
    ("test:5000/repo", "test:5000", "repo", None, None),
    ("test:5000/repo:tag", "test:5000", "repo", "tag", None),
    (f"test:5000/repo@{SHA256}", "test:5000", "repo", None, SHA256),
    (f"test:5000/repo:tag@{SHA256}", "test:5000", "repo", "tag", SHA256),
    ("lowercase:Uppercase", "docker.io", "library/lowercase", "Uppercase", None),
    ("a/" * 127 + "a:tag-puts-this-over-max", "docker.io", "a/" * 127 + "a", "tag-puts-this-over-max", None),
    ("example.com/" + "a" * 255 + ":tag", "example.com", "a" * 255, "tag", None),
    ("sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "bar/baz/quux", None, None),
    ("sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux", "some-long-tag", None),
    ("b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app",
     "test.example.com", None),
    ("xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com", None),
    (f"xn--7o8h.com/myimage:xn--7o8h.com@{SHA512}", "xn--7o8h.com", "myimage", "xn--7o8h.com", SHA512),
    ("foo_bar.com:8080", "docker.io", "library/foo_bar.com", "8080", None),
    ("foo/foo_bar.com:8080", "docker.io", "foo/foo_bar.com", "8080", None),
    ("192.168.1.1", "docker.io", "library/192.168.1.1", None, None),
    ("192.168.1.1:tag", "docker.io", "library/192.168.1.1", "tag", None),
    ("192.168.1.1:5000", "docker.io", "library/192.168.1.1", "5000", None),
    ("192.168.1.1/repo", "192.168.1.1", "repo", None, None),
    ("192.168.1.1:5000/repo", "192.168.1.1:5000", "repo", None, None),
    ("192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050", None),
    ("[2001:db8::1]/repo", "[2001:db8::1]", "repo", None, None),
    ("[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]", "repo", "tag", None),
    ("[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "repo", None, None),
    ("[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000", "repo", "tag", None),
    (f"[2001:db8::1]:5000/repo@{SHA256}", "[2001:db8::1]:5000", "repo", None, SHA256),
    (f"[2001:db8::1]:5000/repo:tag@{SHA256}", "[2001:db8::1]:5000", "repo", "tag", SHA256),
    ("[2001:db8::]:5000/repo", "[2001:db8::]:5000", "repo", None, None),
    ("[::1]:5000/repo", "[::1]:5000", "repo", None, None),
]


@pytest.mark.parametrize(("text", "domain", "path", "tag", "digest"), REFERENCE_VALID)
def test_docker_reference_vectors_parse(text, domain, path, tag, digest):
    assert fields(parse_image(text)) == (domain, path, tag, digest)


REFERENCE_INVALID = [
    ("", "repository name must have at least one component"),
    (":justtag", "invalid reference format"),
    (f"@{SHA256}", "invalid reference format"),
    ("repo@sha256:" + "f" * 34, "invalid checksum digest length"),
    ("validname@invaliddigest:" + "f" * 64, "unsupported digest algorithm"),
    ("Uppercase:tag", r"repository name \(library/Uppercase\) must be lowercase"),
    ("test:5000/Uppercase/lowercase:tag", r"repository name \(Uppercase/lowercase\) must be lowercase"),
    ("domain/" + "a" * 256 + ":tag", "repository name must not be more than 255 characters"),
    ("a/" * 128 + "a:tag", "repository name must not be more than 255 characters"),
    ("aa/asdf$$^/aa", "invalid reference format"),
    ("[2001:db8::1]", "invalid reference format"),
    ("[2001:db8::1]:5000", "invalid reference format"),
    ("[2001:db8::1]:tag", "invalid reference format"),
    ("[fe80::1%eth0]:5000/repo", "invalid reference format"),
    ("[fe80::1%@invalidzone]:5000/repo", "invalid reference format"),
]


@pytest.mark.parametrize(("text", "reason"), REFERENCE_INVALID)
def test_docker_reference_vectors_are_rejected_with_their_reason(text, reason):
    with pytest.raises(ImageReferenceError, match=reason) as raised:
        parse_image(text)
    assert str(raised.value).startswith("invalid reference format: ")


# --- normalize_test.go -------------------------------------------------------------------------

VALID_REPO_NAMES = [
    "docker/docker", "library/debian", "debian", "docker.io/docker/docker", "docker.io/library/debian",
    "docker.io/debian", "index.docker.io/docker/docker", "index.docker.io/library/debian",
    "index.docker.io/debian", "127.0.0.1:5000/docker/docker", "127.0.0.1:5000/library/debian",
    "127.0.0.1:5000/debian", "192.168.0.1", "192.168.0.1:80", "192.168.0.1:8/debian",
    "192.168.0.2:25000/debian", "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
    "[fc00::1]:5000/docker", "[fc00::1]:5000/docker/docker", "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
    f"docker.io/{HEX64}", "Docker/docker", "DOCKER/docker",
    # TestValidateRemoteName
    "docker-rules/docker", "docker---rules/docker", "doc/docker", "d/docker", "jess/t", "dock__er/docker",
]
INVALID_REPO_NAMES = [
    "https://github.com/docker/docker", "docker/Docker", "-docker", "-docker/docker",
    "-docker.io/docker/docker", "docker///docker", "docker.io/docker/Docker", "docker.io/docker///docker",
    "[fc00::1]", "[fc00::1]:5000", "fc00::1:5000/debian", "[fe80::1%eth0]:5000/debian",
    "[2001:db8:3:4::192.0.2.33]:5000/debian", HEX64,
    # TestValidateRemoteName
    "docker-/docker", "-docker-/docker", "____/____", "_docker/_docker", "dock..er/docker",
    "dock_.er/docker", "dock-.er/docker", "docker/",
    "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_" * 4 + "/docker",
]


@pytest.mark.parametrize("text", VALID_REPO_NAMES)
def test_docker_valid_repository_names_parse(text):
    assert parse_image(text).name


@pytest.mark.parametrize("text", INVALID_REPO_NAMES)
def test_docker_invalid_repository_names_are_rejected(text):
    assert try_parse_image(text) is None
    with pytest.raises(ImageReferenceError, match=r"^invalid reference format: "):
        parse_image(text)


REPOSITORY_INFO = [
    # remote name, familiar name, full name, ambiguous name, domain (TestParseRepositoryInfo)
    ("fooo/bar", "fooo/bar", "docker.io/fooo/bar", "index.docker.io/fooo/bar", "docker.io"),
    ("library/ubuntu", "ubuntu", "docker.io/library/ubuntu", "library/ubuntu", "docker.io"),
    ("nonlibrary/ubuntu", "nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu", "", "docker.io"),
    ("other/library", "other/library", "docker.io/other/library", "", "docker.io"),
    ("private/moonbase", "127.0.0.1:8000/private/moonbase", "127.0.0.1:8000/private/moonbase", "",
     "127.0.0.1:8000"),
    ("privatebase", "127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase", "", "127.0.0.1:8000"),
    ("private/moonbase", "example.com/private/moonbase", "example.com/private/moonbase", "", "example.com"),
    ("privatebase", "example.com/privatebase", "example.com/privatebase", "", "example.com"),
    ("private/moonbase", "example.com:8000/private/moonbase", "example.com:8000/private/moonbase", "",
     "example.com:8000"),
    ("privatebasee", "example.com:8000/privatebasee", "example.com:8000/privatebasee", "", "example.com:8000"),
    ("library/ubuntu-12.04-base", "ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base",
     "index.docker.io/library/ubuntu-12.04-base", "docker.io"),
    ("library/foo", "foo", "docker.io/library/foo", "docker.io/foo", "docker.io"),
    ("library/foo/bar", "library/foo/bar", "docker.io/library/foo/bar", "", "docker.io"),
    ("store/foo/bar", "store/foo/bar", "docker.io/store/foo/bar", "", "docker.io"),
    ("bar", "Foo/bar", "Foo/bar", "", "Foo"),
    ("bar", "FOO/bar", "FOO/bar", "", "FOO"),
]


@pytest.mark.parametrize(("remote", "familiar", "full", "ambiguous", "domain"), REPOSITORY_INFO)
def test_docker_repository_info_from_every_spelling(remote, familiar, full, ambiguous, domain):
    for text in filter(None, (familiar, full, ambiguous)):
        ref = parse_image(text)
        assert (ref.domain, ref.path, ref.name, ref.familiar_name) == (domain, remote, full, familiar), text


def test_tag_and_digest_are_both_kept():
    short = "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"
    ref = parse_image(short)
    assert ref.reference == "docker.io/library/" + short
    assert ref.familiar == short


@pytest.mark.parametrize(
    ("text", "equivalent"),
    [
        ("redis", "docker.io/library/redis:latest"),
        ("redis:latest", "docker.io/library/redis:latest"),
        ("docker.io/library/redis:latest", "docker.io/library/redis:latest"),
        (f"redis@{REDIS_DIGEST}", f"docker.io/library/redis@{REDIS_DIGEST}"),
        (f"docker.io/library/redis@{REDIS_DIGEST}", f"docker.io/library/redis@{REDIS_DIGEST}"),
        ("dmcgowan/myapp", "docker.io/dmcgowan/myapp:latest"),
        ("dmcgowan/myapp:latest", "docker.io/dmcgowan/myapp:latest"),
        ("docker.io/mcgowan/myapp:latest", "docker.io/mcgowan/myapp:latest"),
        (f"dmcgowan/myapp@{REDIS_DIGEST}", f"docker.io/dmcgowan/myapp@{REDIS_DIGEST}"),
        (HEX64[:63], f"docker.io/library/{HEX64[:63]}:latest"),
        ("dbcc1", "docker.io/library/dbcc1:latest"),
        # TestParseDockerRef
        ("busybox", "docker.io/library/busybox:latest"),
        ("library/busybox", "docker.io/library/busybox:latest"),
        ("docker.io/busybox", "docker.io/library/busybox:latest"),
        ("docker.io/busybox:latest", "docker.io/library/busybox:latest"),
        ("library/busybox:latest", "docker.io/library/busybox:latest"),
        ("gcr.io/library/busybox", "gcr.io/library/busybox:latest"),
    ],
)
def test_docker_equivalent_references(text, equivalent):
    assert parse_image(text).reference == equivalent
    assert parse_image(equivalent) == dataclasses.replace(parse_image(text), tag=parse_image(equivalent).tag)


@pytest.mark.parametrize(
    ("text", "domain", "path"),
    [
        ("test.com/foo", "test.com", "foo"),
        ("test_com/foo", "docker.io", "test_com/foo"),
        ("docker/migrator", "docker.io", "docker/migrator"),
        ("test.com:8080/foo", "test.com:8080", "foo"),
        ("test-com:8080/foo", "test-com:8080", "foo"),
        ("foo", "docker.io", "library/foo"),
        ("xn--n3h.com/foo", "xn--n3h.com", "foo"),
        ("xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo"),
        ("docker.io/foo", "docker.io", "library/foo"),
        ("docker.io/library/foo", "docker.io", "library/foo"),
        ("docker.io/library/foo/bar", "docker.io", "library/foo/bar"),
    ],
)
def test_docker_normalized_split_hostname(text, domain, path):
    ref = parse_image(text)
    assert (ref.domain, ref.path) == (domain, path)


# --- errors a user reads -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Golang", "invalid reference format: repository name (library/Golang) must be lowercase"),
        ("", "invalid reference format: repository name must have at least one component"),
        (HEX64, f"invalid reference format: invalid repository name ({HEX64}), "
                "cannot specify 64-byte hexadecimal strings"),
    ],
)
def test_error_messages_match_docker(text, message):
    with pytest.raises(ImageReferenceError) as raised:
        parse_image(text)
    assert str(raised.value) == message
    assert isinstance(raised.value, PipelineQueueError)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("x@sha256:" + "f" * 63, r"invalid checksum digest length \(sha256 needs 64 hex digits, got 63\)"),
        ("x@sha384:" + "f" * 64, r"invalid checksum digest length \(sha384 needs 96 hex digits, got 64\)"),
        ("x@sha512:" + "f" * 64, r"invalid checksum digest length \(sha512 needs 128 hex digits, got 64\)"),
        ("x@sha256:" + "F" * 64, "invalid checksum digest format"),
        ("x@md5:" + "f" * 32, "unsupported digest algorithm"),
        ("x@sha256+b64:" + "f" * 64, "unsupported digest algorithm"),
        ("x@Sha256:" + "f" * 64, r"repository name \(library/x@Sha256\) must be lowercase"),
        ("example.com/x@Sha256:" + "f" * 64, r"repository name \(x@Sha256\) must be lowercase"),
        ("example.com/x:1@Sha256:" + "f" * 64, "invalid checksum digest format"),
        ("x@sha256:abc", "digest 'sha256:abc' must be algorithm:hex"),
        ("x:-tag", "tag '-tag' must be 1 to 128"),
        ("x:" + "a" * 129, "must be 1 to 128"),
        (" golang", "leading or trailing whitespace"),
        ("golang\n", "leading or trailing whitespace"),
        ("golang:1.7 ", "leading or trailing whitespace"),
        ("https://registry.example.com/app", "is a URL"),
        ("docker///docker", "empty path component"),
        ("docker/", "empty path component"),
        ("-docker.io/docker/docker", "registry '-docker.io' is not a valid host"),
        ("fc00::1:5000/debian", "registry 'fc00::1:5000' is not a valid host"),
        ("dock..er/docker", "registry 'dock..er' is not a valid host"),
        ("docker/dock..er", "path component 'dock..er' must be lowercase"),
        ("FOO_BAR/x", "repository name must be lowercase"),
    ],
)
def test_error_messages_name_what_is_wrong(text, reason):
    with pytest.raises(ImageReferenceError, match=reason) as raised:
        parse_image(text)
    assert str(raised.value).startswith("invalid reference format: ")


def test_digests_of_each_supported_length_parse():
    for algorithm, length in (("sha256", 64), ("sha384", 96), ("sha512", 128)):
        digest = f"{algorithm}:{'0' * length}"
        assert parse_image(f"quay.io/x/y@{digest}").digest == digest


def test_non_string_is_rejected_as_a_reference_error():
    with pytest.raises(ImageReferenceError, match="must be a string"):
        parse_image(1.10)  # type: ignore[arg-type]


# --- what the rest of the runner reads ---------------------------------------------------------


def test_registry_folds_docker_hub_aliases():
    assert set(DOCKER_HUB_ALIASES) == {"docker.io", "index.docker.io", "registry-1.docker.io"}
    hub = parse_image("registry-1.docker.io/user/app:1")
    assert (hub.domain, hub.registry, hub.is_docker_hub) == ("registry-1.docker.io", DEFAULT_DOMAIN, True)
    assert hub.familiar == "registry-1.docker.io/user/app:1"
    assert parse_image("golang").registry == "docker.io"
    assert parse_image("index.docker.io/user/app").registry == "docker.io"
    private = parse_image("localhost:5000/x")
    assert (private.registry, private.is_docker_hub) == ("localhost:5000", False)
    assert parse_image("[::1]:5000/x").registry == "[::1]:5000"


def test_name_docker_accepts_without_a_domain_keeps_its_first_component_as_registry():
    # `foo_bar.com` is not a valid host, so Docker parses the whole text as a path.
    ref = parse_image("foo_bar.com/x:1")
    assert fields(ref) == ("", "foo_bar.com/x", "1", None)
    assert (ref.name, ref.reference, ref.registry, ref.is_docker_hub) == (
        "foo_bar.com/x", "foo_bar.com/x:1", "foo_bar.com", False)


def test_familiar_keeps_library_for_nested_official_paths():
    assert parse_image("docker.io/library/foo/bar:1").familiar == "library/foo/bar:1"
    assert parse_image("library/foo").familiar == "foo"


def test_familiar_of_a_hub_path_that_looks_like_a_host_is_ambiguous_as_in_docker():
    ref = parse_image("docker.io/foo.bar/baz")
    assert ref.familiar == "foo.bar/baz"
    assert parse_image(ref.familiar).domain == "foo.bar"


def test_is_latest():
    assert is_latest(parse_image("golang"))
    assert is_latest(parse_image("golang:latest"))
    assert is_latest(parse_image(f"golang:latest@{SHA256}"))
    assert not is_latest(parse_image("golang:1.12"))
    assert not is_latest(parse_image(f"golang@{SHA256}"))
    assert not is_latest(parse_image("golang:Latest"))


def test_to_json():
    assert parse_image("golang:1.7").to_json("golang:1.7") == {
        "input": "golang:1.7", "valid": True, "domain": "docker.io", "path": "library/golang",
        "name": "docker.io/library/golang", "tag": "1.7", "digest": None,
        "reference": "docker.io/library/golang:1.7", "familiar": "golang:1.7",
    }


def test_image_ref_is_a_frozen_value():
    ref = parse_image("golang")
    assert ref == parse_image("docker.io/library/golang") and hash(ref) == hash(parse_image("library/golang"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.tag = "1.7"  # type: ignore[misc]


def test_try_parse_image():
    assert try_parse_image("golang:1.7") == parse_image("golang:1.7")
    assert try_parse_image("Golang") is None


# --- properties over references generated from the grammar -------------------------------------

ALNUM = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
SEPARATOR = st.sampled_from([".", "_", "__", "-", "--", "---"])
COMPONENT = st.builds(
    lambda first, rest: first + "".join(sep + word for sep, word in rest),
    ALNUM, st.lists(st.tuples(SEPARATOR, ALNUM), max_size=3),
)
HUB_COMPONENT = st.builds(  # a first component Docker cannot mistake for a host
    lambda first, rest: first + "".join(sep + word for sep, word in rest),
    ALNUM, st.lists(st.tuples(st.sampled_from(["_", "__", "-"]), ALNUM), max_size=3),
).filter(lambda c: c != "localhost")
LABEL = st.from_regex(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?", fullmatch=True)
IPV6 = st.ip_addresses(v=6).map(str).filter(lambda a: "." not in a).map(lambda a: f"[{a}]")
IPV4 = st.ip_addresses(v=4).map(str)
HOST = st.one_of(
    st.lists(LABEL, min_size=2, max_size=4).map(".".join), IPV4, IPV6,
    st.sampled_from(["localhost", "docker.io", "index.docker.io", "registry-1.docker.io"]),
)
PORT = st.integers(0, 65535).map(str)
DOMAIN = st.one_of(HOST, st.builds(lambda h, p: f"{h}:{p}", HOST, PORT))
TAG = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", fullmatch=True)
DIGEST = st.sampled_from([("sha256", 64), ("sha384", 96), ("sha512", 128)]).flatmap(
    lambda alg: st.text("0123456789abcdef", min_size=alg[1], max_size=alg[1]).map(lambda h: f"{alg[0]}:{h}")
)


@st.composite
def references(draw: st.DrawFn) -> tuple[str, tuple[str, str, str | None, str | None]]:
    """A reference text built from the grammar, with the parts Docker's normalization gives it."""
    domain = draw(st.none() | DOMAIN)
    first = draw(COMPONENT if domain and domain not in DOCKER_HUB_ALIASES else HUB_COMPONENT)
    path = "/".join([first, *draw(st.lists(COMPONENT, max_size=3))])
    tag, digest = draw(st.none() | TAG), draw(st.none() | DIGEST)
    text = (f"{domain}/" if domain else "") + path + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    expected_domain = domain or DEFAULT_DOMAIN
    if expected_domain == "index.docker.io":
        expected_domain = DEFAULT_DOMAIN
    if expected_domain == DEFAULT_DOMAIN and "/" not in path:
        path = f"library/{path}"
    return text, (expected_domain, path, tag, digest)


@given(references())
@example(("[::1]:5000/a", ("[::1]:5000", "a", None, None)))
def test_generated_references_parse_into_their_parts(case):
    text, expected = case
    assert fields(parse_image(text)) == expected


@given(references())
def test_reference_reparses_to_the_same_image(case):
    ref = parse_image(case[0])
    again = parse_image(ref.reference)
    assert again == dataclasses.replace(ref, tag=ref.tag or (None if ref.digest else "latest"))
    assert parse_image(again.reference) == again  # normalization is idempotent
    assert again.reference == ref.reference


@given(references())
def test_familiar_reparses_to_the_same_image(case):
    ref = parse_image(case[0])
    assert parse_image(ref.familiar) == ref
    assert parse_image(ref.familiar_name).name == ref.name
    assert ref.familiar.startswith(ref.familiar_name)


@given(st.text(alphabet="abcAB09._-:/@[]% \n", max_size=40) | st.text(max_size=20))
def test_any_text_parses_or_raises_an_image_reference_error(text):
    ref = try_parse_image(text)
    if ref is not None:
        assert re.fullmatch(r"\S+", ref.reference)
        assert parse_image(ref.reference).name == ref.name
    else:
        with pytest.raises(ImageReferenceError):
            parse_image(text)
