"""Pull policies follow Drone's documented table, narrowed by the operator's settings."""

from __future__ import annotations

import dataclasses

import pytest

from pipeline_queue.errors import CompileError, UsageError
from pipeline_queue.images import parse_image
from pipeline_queue.pull import (
    POLICIES,
    PullDecision,
    PullPolicyError,
    PullSettings,
    PullSettingsError,
    decide_pull,
)

DIGEST = "sha256:" + "a" * 64


def policy(image: str, requested: str = "", settings: PullSettings | None = None) -> str:
    decision = decide_pull(parse_image(image), requested, settings or PullSettings())
    return decision.policy


# --- the table in DESIGN.md --------------------------------------------------------------------


@pytest.mark.parametrize("image", ["golang", "golang:1.12", "golang:latest", f"golang@{DIGEST}"])
@pytest.mark.parametrize(
    ("requested", "expected"), [("always", "Always"), ("if-not-exists", "IfNotPresent"), ("never", "Never")]
)
def test_step_pull_value_decides_for_any_image(image, requested, expected):
    decision = decide_pull(parse_image(image), requested)
    assert (decision.policy, decision.requested) == (expected, requested)
    assert f"pull: {requested}" in decision.reason


@pytest.mark.parametrize(
    ("image", "expected", "reason"),
    [
        ("golang:latest", "Always", "tag latest: always pulled (no pull: given)"),
        ("golang", "Always", "no tag or digest (latest): always pulled (no pull: given)"),
        ("index.docker.io/library/golang", "Always", "no tag or digest (latest): always pulled (no pull: given)"),
        ("golang:1.12", "IfNotPresent", "tag 1.12: pulled if not present (no pull: given)"),
        ("golang:Latest", "IfNotPresent", "tag Latest: pulled if not present (no pull: given)"),
        (f"golang@{DIGEST}", "IfNotPresent", "digest pinned: pulled if not present (no pull: given)"),
        (f"golang:1.12@{DIGEST}", "IfNotPresent", "tag 1.12: pulled if not present (no pull: given)"),
        # Kubernetes reads `latest` from the tag even when a digest pins the content.
        (f"golang:latest@{DIGEST}", "Always", "tag latest: always pulled (no pull: given)"),
    ],
)
def test_no_pull_value_follows_the_documented_default(image, expected, reason):
    assert decide_pull(parse_image(image)) == PullDecision(policy=expected, reason=reason, requested="")


def test_drone_default_value_reads_like_no_pull_value():
    decision = decide_pull(parse_image("golang"), "default")
    assert (decision.policy, decision.requested) == ("Always", "default")


@pytest.mark.parametrize("requested", ["Always", "if-not-present", "IfNotPresent", " always", "pull"])
def test_unknown_pull_value_is_a_compile_error(requested):
    with pytest.raises(PullPolicyError, match="is not a pull policy; use one of always, if-not-exists, never") as err:
        decide_pull(parse_image("golang"), requested)
    assert repr(requested) in str(err.value)
    assert isinstance(err.value, CompileError)


def test_decision_is_a_frozen_value():
    decision = decide_pull(parse_image("golang"))
    assert dataclasses.asdict(decision) == {
        "policy": "Always", "reason": "no tag or digest (latest): always pulled (no pull: given)", "requested": "",
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.policy = "Never"  # type: ignore[misc]


# --- allowed policies (GitLab Runner's allowed_pull_policies) ----------------------------------


def test_requested_policy_outside_the_allowed_ones_is_refused_naming_both():
    settings = PullSettings(allowed=("Always", "IfNotPresent"))
    with pytest.raises(PullPolicyError) as err:
        decide_pull(parse_image("golang:1.12"), "never", settings)
    assert str(err.value) == (
        "pull: never (Never) is not allowed by this runner; allowed: always, if-not-exists "
        "(Always, IfNotPresent), or leave pull: out"
    )


def test_requested_policy_inside_the_allowed_ones_is_kept():
    settings = PullSettings(allowed=("IfNotPresent",))
    assert policy("golang:latest", "if-not-exists", settings) == "IfNotPresent"


@pytest.mark.parametrize(
    ("allowed", "image", "expected"),
    [
        (("IfNotPresent", "Never"), "golang", "IfNotPresent"),
        (("Never", "IfNotPresent"), "golang:latest", "IfNotPresent"),
        (("Never",), "golang", "Never"),
        (("Always",), "golang:1.12", "Always"),
        (("Always", "Never"), f"golang@{DIGEST}", "Always"),
        (("Never",), "golang:1.12", "Never"),
    ],
)
def test_default_outside_the_allowed_ones_falls_back_in_table_order(allowed, image, expected):
    decision = decide_pull(parse_image(image), "", PullSettings(allowed=allowed))
    assert decision.policy == expected
    assert "which is not allowed" in decision.reason and "(no pull: given)" in decision.reason


def test_default_inside_the_allowed_ones_says_nothing_about_settings():
    decision = decide_pull(parse_image("golang:1.12"), "", PullSettings(allowed=("IfNotPresent",)))
    assert decision.reason == "tag 1.12: pulled if not present (no pull: given)"


# --- registries the operator always pulls --------------------------------------------------------

FORCED = PullSettings(
    always_registries=("*.corp.example.com", "registry.example.com/team", "index.docker.io/library", "[::1]:5000")
)


@pytest.mark.parametrize(
    ("image", "forced_by"),
    [
        ("build.corp.example.com/app:1", "*.corp.example.com"),
        ("Build.Corp.Example.com/app:1", "*.corp.example.com"),
        ("registry.example.com/team/app:1", "registry.example.com/team"),
        ("registry.example.com/team:1", "registry.example.com/team"),
        ("golang:1.12", "index.docker.io/library"),
        ("docker.io/library/golang:1.12", "index.docker.io/library"),
        ("[::1]:5000/x:1", "[::1]:5000"),
    ],
)
def test_forced_registry_wins_over_the_step(image, forced_by):
    decision = decide_pull(parse_image(image), "never", FORCED)
    assert decision == PullDecision(
        policy="Always",
        reason=f"registry {forced_by} is always pulled (operator setting), overriding pull: never",
        requested="never",
    )


@pytest.mark.parametrize(
    "image",
    [
        "a.b.corp.example.com/app:1",  # `*` is one host label
        "corp.example.com/app:1",
        "registry.example.com/teamx/app:1",  # the path matches by whole component
        "registry.example.com/other/app:1",
        "registry.example.com:5000/team/app:1",  # the port must match too
        "user/app:1",
        "[::2]:5000/x:1",
        "[::1]/x:1",
        "1:5000/x:1",  # a bracketed pattern is an address, not a glob character class
    ],
)
def test_images_outside_forced_registries_keep_the_step_value(image):
    assert policy(image, "never", FORCED) == "Never"


def test_forced_registry_without_a_step_value_says_so():
    decision = decide_pull(parse_image("build.corp.example.com/app:1"), "", FORCED)
    assert decision.reason == "registry *.corp.example.com is always pulled (operator setting)"


def test_forced_registry_accepts_a_scheme_and_any_hub_alias():
    settings = PullSettings(always_registries=("https://registry-1.docker.io/", "quay.io/org"))
    assert policy("user/app:1", "if-not-exists", settings) == "Always"
    assert policy("quay.io/org/app:1", "if-not-exists", settings) == "Always"
    assert policy("quay.io/organisation/app:1", "if-not-exists", settings) == "IfNotPresent"


def test_forced_registry_beats_allowed_policies_that_exclude_the_step_value():
    settings = PullSettings(allowed=("Always",), always_registries=("*.corp.example.com",))
    assert policy("x.corp.example.com/app:1", "never", settings) == "Always"
    with pytest.raises(PullPolicyError, match="pull: never"):
        decide_pull(parse_image("quay.io/app:1"), "never", settings)


# --- malformed settings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"allowed": ()}, "must be a non-empty choice of Always, IfNotPresent, Never"),
        ({"allowed": ("always",)}, "must be a non-empty choice of Always, IfNotPresent, Never"),
        ({"allowed": ("IfNotPresent",), "always_registries": ("quay.io",)}, "Always is not an allowed pull policy"),
        ({"always_registries": ("",)}, "'' is not a host"),
        ({"always_registries": ("quay.io:http",)}, "'quay.io:http' is not a host"),
        ({"always_registries": ("quay..io",)}, "'quay..io' is not a host"),
        ({"always_registries": ("quay.io//team",)}, "'quay.io//team' is not a host"),
        ({"always_registries": ("[::1:5000",)}, r"'\[::1:5000' is not a host"),
        ({"always_registries": ("[::1]5000",)}, r"'\[::1\]5000' is not a host"),
    ],
)
def test_malformed_settings_are_refused_at_startup(kwargs, message):
    with pytest.raises(PullSettingsError, match=message) as err:
        PullSettings(**kwargs)
    assert isinstance(err.value, UsageError)


def test_default_settings_allow_every_policy_and_force_nothing():
    assert PullSettings() == PullSettings(allowed=POLICIES, always_registries=())
    assert POLICIES == ("Always", "IfNotPresent", "Never")
