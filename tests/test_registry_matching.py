"""Credential matching: the kubelet keyring's own test vectors, our Docker Hub aliases, and per-step configs."""

from __future__ import annotations

import base64
import json

import pytest

from pipeline_queue.images import parse_image
from pipeline_queue.registry import (
    Keyring,
    RegistryAuth,
    docker_config_json,
    is_default_registry_match,
    normalize_key,
    parse_docker_config,
    urls_match,
)


def secret(name: str, entries: dict[str, str], *, legacy: bool = False) -> object:
    """A pull secret: registry key -> username; the password is the username reversed."""
    auths = {key: {"auth": base64.b64encode(f"{user}:{user[::-1]}".encode()).decode()} for key, user in entries.items()}
    return parse_docker_config(json.dumps(auths if legacy else {"auths": auths}), source=name)


def keyring(*entries: dict[str, str]) -> Keyring:
    return Keyring.from_configs([secret(f"s{n}", e) for n, e in enumerate(entries)])


def users(ring: Keyring, image: str) -> list[str]:
    return [match.username for match in ring.lookup(image)]


# Go globs per label, beyond keyring_test.go's TestURLsMatch (ported in test_registry_kubelet_vectors.py)
@pytest.mark.parametrize(
    ("glob", "target", "expected"),
    [
        ("registry[0-9].example.com", "registry7.example.com", True),
        ("registry[0-9].example.com", "registryx.example.com", False),
        ("registry?.example.com", "registry7.example.com", False),  # '?' starts a URL query, as in Go
        ("*", "localhost", True),
        ("*", "example.com", False),
        ("bar.example.com/pong", "bar.example.com/pongz", True),
        ("bar.example.com/pong", "bar.example.com", False),
        ("bar.example.com", "bar.example.com:443", False),
        ("registry[.example.com", "registry[.example.com", False),
    ],
)
def test_urls_match_go_globs(glob, target, expected):
    assert urls_match(glob, target) is expected


# The kubelet's own keyring_test.go vectors (TestKeyringMiss, TestDockerKeyringLookup, TestIssue3797,
# TestIsDefaultRegistryMatch, ...) are ported verbatim in test_registry_kubelet_vectors.py.


@pytest.mark.parametrize(
    ("key", "normalized"),
    [
        ("quay.io", "quay.io"),
        ("https://quay.io/v1/", "quay.io"),
        ("https://quay.io/v2/", "quay.io"),
        ("http://quay.io/", "quay.io"),
        ("quay.io/v2/org", "quay.io/org"),
        ("quay.io/v1", "quay.io/v1"),
        ("quay.io/org/", "quay.io/org/"),
        ("user:pass@quay.io:8443/org", "quay.io:8443/org"),
        ("https://index.docker.io/v1/", "index.docker.io"),
        ("*.gcr.io", "*.gcr.io"),
    ],
)
def test_normalize_key_like_keyring_add(key, normalized):
    assert normalize_key(key) == normalized


def test_unparsable_keys_are_skipped_and_reported():
    ring = Keyring.from_configs([secret("regcred", {"quay.io:port": "bad", "quay.io": "good"})])
    assert users(ring, "quay.io/x") == ["good"]
    assert ring.skipped == (("regcred", "quay.io:port"),)


def test_several_secrets_and_keys_keep_kubelet_order():
    ring = keyring(
        {"ghcr.io": "one", "ghcr.io/org": "two", "quay.io": "unrelated"},
        {"https://ghcr.io/v2/": "three", "ghcr.io/org/app": "four"},
    )
    # Most specific key first; one key's credentials in secret order.
    assert users(ring, "ghcr.io/org/app") == ["four", "two", "one", "three"]
    assert [m.source for m in ring.lookup("ghcr.io/org/app")] == ["s1", "s0", "s0", "s1"]
    assert users(ring, "ghcr.io/other/app") == ["one", "three"]
    assert users(ring, "quay.io/org/app") == ["unrelated"]


def test_overlapping_globs_sort_in_reverse_byte_order():
    ring = keyring({"*.example.com": "glob", "registry.example.com": "exact", "registry.*.com": "middle"})
    assert users(ring, "registry.example.com/app") == ["exact", "middle", "glob"]


def test_match_records_key_as_written_and_normalized():
    (match,) = keyring({"https://quay.io/v1/": "rex"}).lookup("quay.io/x")
    assert (match.key, match.normalized_key, match.source) == ("https://quay.io/v1/", "quay.io", "s0")


# Our extension: every Docker Hub alias names Docker Hub.
@pytest.mark.parametrize("key", ["docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/"])
@pytest.mark.parametrize("image", ["golang", "golang:1.7", "library/golang", "index.docker.io/library/golang",
                                   "registry-1.docker.io/library/golang", "docker.io/myorg/app@sha256:" + "a" * 64])
def test_any_docker_hub_alias_key_serves_any_docker_hub_image(key, image):
    assert [m.username for m in keyring({key: "hub"}).lookup_ref(parse_image(image))] == ["hub"]


@pytest.mark.parametrize("key", ["docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/"])
@pytest.mark.parametrize("image", ["quay.io/library/golang", "localhost:5000/golang", "docker.io.example.com/x"])
def test_docker_hub_keys_do_not_serve_other_registries(key, image):
    assert keyring({key: "hub"}).lookup_ref(parse_image(image)) == []


def test_raw_names_of_docker_hub_images_use_alias_keys():
    ring = keyring({"registry-1.docker.io": "hub"})
    assert users(ring, "docker.io/library/golang") == ["hub"]
    assert users(ring, "golang") == ["hub"]
    assert users(ring, "registry-1.docker.io/library/golang") == ["hub"]


def test_alias_key_with_a_path_serves_only_that_namespace():
    ring = keyring({"index.docker.io/myorg": "org", "registry-1.docker.io": "any"})
    assert users(ring, "docker.io/myorg/app") == ["org", "any"]
    assert users(ring, "docker.io/other/app") == ["any"]
    assert [m.username for m in ring.lookup_ref(parse_image("myorg/app"))] == ["org", "any"]


def test_docker_hub_fallback_only_when_nothing_matches_directly():
    # keyring.go Lookup: `if len(ret) > 0 { return ret, true }` comes before the index.docker.io fallback.
    ring = keyring({"https://index.docker.io/v1/": "fallback"}, {"docker.io": "direct", "*.io": "glob"})
    assert users(ring, "docker.io/library/golang") == ["direct", "glob"]
    assert users(keyring({"https://index.docker.io/v1/": "fallback"}), "docker.io/library/golang") == ["fallback"]


def test_docker_hub_port_is_not_an_alias():
    assert keyring({"docker.io:5000": "other"}).lookup_ref(parse_image("golang")) == []


def test_no_credentials_in_an_empty_keyring():
    assert Keyring.from_configs([]).lookup("docker.io/library/golang") == []


# A step's own config.json
def test_docker_config_json_holds_only_the_matching_registries():
    ring = keyring({"ghcr.io": "gh", "quay.io": "q"}, {"https://ghcr.io/v1/": "later", "ghcr.io/org": "org"})
    out = json.loads(docker_config_json(ring.lookup("ghcr.io/org/app")))
    assert out == {"auths": {
        "ghcr.io/org": {"username": "org", "password": "gro", "auth": base64.b64encode(b"org:gro").decode()},
        "ghcr.io": {"username": "gh", "password": "hg", "auth": base64.b64encode(b"gh:hg").decode()},
    }}


def test_docker_config_json_is_deterministic_and_sorted():
    ring = keyring({"b.example.com": "b", "*.example.com": "glob"})
    text = docker_config_json(ring.lookup("b.example.com/x"))
    assert text == docker_config_json(ring.lookup("b.example.com/x"))
    assert list(json.loads(text)["auths"]) == ["*.example.com", "b.example.com"]


def test_docker_config_json_includes_identity_token_when_present():
    config = parse_docker_config(json.dumps({"auths": {"myacr.azurecr.io": {
        "username": "00000000-0000-0000-0000-000000000000", "identitytoken": "tok-123",
    }}}), source="acr")
    entry = json.loads(docker_config_json(Keyring.from_configs([config]).lookup("myacr.azurecr.io/app")))
    assert entry["auths"]["myacr.azurecr.io"]["identitytoken"] == "tok-123"
    plain = json.loads(docker_config_json(keyring({"q.io": "u"}).lookup("q.io/a")))
    assert "identitytoken" not in plain["auths"]["q.io"]


def test_docker_config_json_round_trips_through_the_parser():
    config = parse_docker_config(json.dumps({"auths": {
        "ghcr.io": {"auth": base64.b64encode(b"bot:p:w").decode(), "email": "b@x.io"},
        "quay.io/org": {"username": "q", "password": "pw", "identitytoken": "it"},
    }}), source="regcred")
    ring = Keyring.from_configs([config])
    matches = ring.lookup("ghcr.io/x") + ring.lookup("quay.io/org/x")
    reparsed = parse_docker_config(docker_config_json(matches), source="step")
    assert set(reparsed.auths) == {m.auth for m in matches}


def test_docker_config_json_writes_alias_keys_where_the_kubelet_finds_them():
    ring = keyring({"registry-1.docker.io": "r1", "index.docker.io/myorg": "org"})
    matches = ring.lookup_ref(parse_image("myorg/app"))
    auths = json.loads(docker_config_json(matches))["auths"]
    assert {key: value["username"] for key, value in auths.items()} == {"docker.io/myorg": "org", "docker.io": "r1"}
    # The kubelet, given this config, picks the same credentials in the same order.
    step = Keyring.from_configs([parse_docker_config(json.dumps({"auths": auths}), source="step")])
    assert users(step, "docker.io/myorg/app") == ["org", "r1"]


def kubelet_lookup(config_json: str, image: str) -> list[str]:
    """The kubelet's BasicDockerKeyring alone (no alias extension), built from the vector-tested primitives."""
    index: dict[str, list[str]] = {}
    for auth in parse_docker_config(config_json, source="step").auths:
        index.setdefault(normalize_key(auth.key), []).append(auth.username)
    direct = [user for key in sorted(index, reverse=True) if urls_match(key, image) for user in index[key]]
    if direct or not is_default_registry_match(image):
        return direct
    return index.get("index.docker.io", [])


def test_registry_1_image_prefers_its_own_key_like_the_kubelet():
    # The kubelet looks up `registry-1.docker.io/library/golang` as written: its own key matches directly,
    # so the alias extension (docker.io) does not apply.
    ring = keyring({"docker.io": "hub", "registry-1.docker.io": "r1"})
    assert [m.username for m in ring.lookup_ref(parse_image("registry-1.docker.io/library/golang"))] == ["r1"]
    assert [m.username for m in ring.lookup_ref(parse_image("golang"))] == ["hub"]


@pytest.mark.parametrize(
    ("keys", "image", "expected"),
    [
        ({"https://index.docker.io/v1/": "hub"}, "octocat/tools", {"https://index.docker.io/v1/": "hub"}),
        ({"docker.io": "hub"}, "registry-1.docker.io/library/golang", {"registry-1.docker.io": "hub"}),
        ({"https://index.docker.io/v1/": "hub"}, "registry-1.docker.io/library/golang",
         {"registry-1.docker.io": "hub"}),
        ({"registry-1.docker.io": "r1"}, "registry-1.docker.io/library/golang", {"registry-1.docker.io": "r1"}),
        # A lone index.docker.io key beside a rewritten one would be hidden by the kubelet's direct match.
        ({"index.docker.io/myorg": "org", "https://index.docker.io/v1/": "hub"}, "myorg/app",
         {"docker.io/myorg": "org", "docker.io": "hub"}),
    ],
)
def test_step_config_serves_the_real_kubelet(keys, image, expected):
    ref = parse_image(image)
    matches = keyring(keys).lookup_ref(ref)
    text = docker_config_json(matches)
    assert {key: value["username"] for key, value in json.loads(text)["auths"].items()} == expected
    # The kubelet alone, given the step's config, picks the same credentials in the same order.
    assert kubelet_lookup(text, ref.name) == [m.username for m in matches]


def test_alias_matches_name_the_key_to_write_and_keep_the_key_as_written():
    (match,) = keyring({"https://index.docker.io/v1/": "hub"}).lookup("registry-1.docker.io/library/golang")
    assert (match.key, match.normalized_key, match.kubelet_key) == (
        "https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io",
    )
    (direct,) = keyring({"ghcr.io": "gh"}).lookup("ghcr.io/app")
    assert direct.kubelet_key == ""


def test_docker_config_json_keeps_the_first_credential_per_registry():
    ring = keyring({"ghcr.io": "first"}, {"https://ghcr.io": "second"})
    auths = json.loads(docker_config_json(ring.lookup("ghcr.io/app")))["auths"]
    assert {key: value["username"] for key, value in auths.items()} == {"ghcr.io": "first"}


def test_docker_config_json_of_nothing_is_an_empty_config():
    assert json.loads(docker_config_json([])) == {"auths": {}}


def test_matches_and_keyrings_never_show_passwords():
    password = "pQ9zR2mW7xK4vL"
    config = parse_docker_config(json.dumps({"auths": {"ghcr.io": {"username": "bot", "password": password,
                                                                    "identitytoken": password[::-1]}}}), source="s")
    ring = Keyring.from_configs([config])
    shown = " ".join([repr(ring), str(ring), repr(ring.lookup("ghcr.io/x")), str(ring.lookup("ghcr.io/x")[0])])
    assert "bot" in shown
    assert password not in shown
    assert password[::-1] not in shown


def test_registry_auth_equality_uses_the_hidden_fields():
    assert RegistryAuth("q.io", "u", "a") != RegistryAuth("q.io", "u", "b")


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("ghcr.io/org/app:1.0", ["org", "host"]),
        ("localhost:5000/app@sha256:" + "b" * 64, ["local"]),
        ("ghcr.io/x", ["host"]),
    ],
)
def test_lookup_ref_uses_the_repository_name_without_tag_or_digest(image, expected):
    ring = keyring({"ghcr.io": "host", "ghcr.io/org/app": "org", "localhost:5000": "local"})
    assert [m.username for m in ring.lookup_ref(parse_image(image))] == expected
