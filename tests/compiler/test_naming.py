"""Object names: deterministic, valid DNS-1123 labels, never colliding, for whatever a step is called."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline_queue.compiler import naming
from pipeline_queue.compiler.naming import (
    claim_name,
    env_secret_name,
    label_value,
    pod_name,
    pull_secret_name,
    secret_key,
    service_host,
    slugify,
    stage_part,
    step_part,
)

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+")

NASTY = [
    "build & push",
    "build-push",
    "examples/http",
    "Build",
    "build",
    "ビルド",
    "テスト",
    "x" * 100,
    "x" * 99 + "y",
    "---",
    "-lead",
    "trail-",
    "a..b",
    "1234",
    "\u212a",  # Kelvin sign: lowercases to ASCII k
    "k",
    " spaced out ",
    "tab\there",
    "emoji 🚀",
]


def is_dns_label(text: str) -> bool:
    return len(text) <= 63 and DNS_LABEL.fullmatch(text) is not None


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("build", "build"),
        ("go-test-1", "go-test-1"),
        ("build & push", "build-push-ce7d1940"),
        ("Build", "build-bdd254b6"),
        ("examples/http", "examples-http-81836713"),
    ],
)
def test_a_clean_name_stays_and_a_changed_one_gets_a_hash(name: str, slug: str) -> None:
    assert step_part(name) == slug


def test_names_that_would_meet_stay_apart() -> None:
    slugs = [step_part(name) for name in NASTY]
    assert len(set(slugs)) == len(NASTY)


@pytest.mark.parametrize("name", NASTY)
def test_every_object_name_is_a_dns_label(name: str) -> None:
    stage = stage_part(name)
    step = step_part(name)
    for object_name in (
        pod_name(stage, step),
        pull_secret_name(stage, step),
        env_secret_name(stage),
        claim_name(stage),
    ):
        assert is_dns_label(object_name), object_name
    assert LABEL_VALUE.fullmatch(step) and LABEL_VALUE.fullmatch(stage)


def test_long_names_are_cut_and_keep_their_identity() -> None:
    long_a, long_b = "x" * 100, "x" * 99 + "y"
    assert len(step_part(long_a)) == naming.STEP_PART_MAX
    assert step_part(long_a) != step_part(long_b)
    assert step_part(long_a).startswith("xxxxxxxx")


def test_names_are_deterministic() -> None:
    assert [step_part(name) for name in NASTY] == [step_part(name) for name in NASTY]


def test_a_uuid_stage_id_fits_and_stays_recognisable() -> None:
    stage = stage_part("6f1c3a9e-8f0e-4d3b-9a57-0b6b1f3c2d10")
    assert stage.startswith("6f1c3a9e")
    assert len(stage) <= naming.STAGE_PART_MAX
    assert pull_secret_name(stage, step_part("y" * 80)).__len__() <= 63


@given(st.text(min_size=1, max_size=300), st.text(min_size=1, max_size=300))
def test_any_stage_and_step_make_valid_names(stage_id: str, step_name: str) -> None:
    stage, step = stage_part(stage_id), step_part(step_name)
    assert is_dns_label(pod_name(stage, step))
    assert is_dns_label(pull_secret_name(stage, step))
    assert is_dns_label(env_secret_name(stage))
    assert is_dns_label(claim_name(stage))


@given(st.text(min_size=1, max_size=120), st.text(min_size=1, max_size=120))
def test_different_step_names_never_share_a_slug(first: str, second: str) -> None:
    if first != second:
        assert step_part(first) != step_part(second)


@given(st.text(max_size=300))
def test_any_repo_makes_a_valid_label_value(repo: str) -> None:
    value = label_value(repo)
    assert len(value) <= 63 and LABEL_VALUE.fullmatch(value)


def test_repo_label_keeps_a_plain_repo_readable() -> None:
    assert label_value("octocat/hello-world") == "octocat.hello-world"
    assert label_value("Some_Org/My.Repo") == "Some_Org.My.Repo"
    assert label_value("org/" + "r" * 80).startswith("org.rrr")


@given(st.text(min_size=1, max_size=200))
def test_any_service_name_makes_a_dns_1035_host(name: str) -> None:
    host = service_host(name)
    assert len(host) <= 63 and DNS_1035.fullmatch(host), host


@pytest.mark.parametrize(
    ("name", "host"),
    [("redis", "redis"), ("Redis", "redis"), ("my_db", "my-db"), ("1db", "svc-1db"), ("db.cache", "db-cache")],
)
def test_service_hosts_are_the_name_a_step_would_guess(name: str, host: str) -> None:
    assert service_host(name) == host


@given(st.text(min_size=1, max_size=300))
def test_any_secret_name_makes_a_secret_key(name: str) -> None:
    key = secret_key(name)
    assert SECRET_KEY.fullmatch(key) and key != "." and not key.startswith("..") and len(key) <= 253


def test_secret_keys_stay_apart() -> None:
    assert secret_key("docker_password") == "docker_password"
    assert secret_key("api/key") != secret_key("api_key")
    assert secret_key("..") != secret_key("...")


def test_slugify_respects_its_length() -> None:
    assert len(slugify("a" * 40, max_length=20)) == 20
