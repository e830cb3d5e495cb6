"""The cache guard's pure rules: privacy, the guard before a pod exists, and the leak found after the fact."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys

import pytest

from pipeline_queue.cache.rules import (
    CacheGuardError,
    CacheGuardMode,
    FirstPull,
    GuardDecision,
    Leak,
    PrivacyRules,
    PrivacyVerdict,
    digest_of,
    guard,
    is_private,
    leak_check,
)
from pipeline_queue.errors import UsageError
from pipeline_queue.images import parse_image
from pipeline_queue.pull import PullSettings, PullSettingsError
from pipeline_queue.settings import Settings
from tests.conftest import ROOT

PRIVATE = PrivacyVerdict(private=True, reason="registry.corp.example.com is listed as private (PQ_PRIVATE_REGISTRIES)")
PUBLIC = PrivacyVerdict(private=False, reason="no pipeline pulled it")
IMAGE = parse_image("registry.corp.example.com/team/app:1.2")
DIGEST = "sha256:" + "ab" * 32


# --- the mode ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mode"),
    [("off", CacheGuardMode.OFF), ("warn", CacheGuardMode.WARN), ("Enforce", CacheGuardMode.ENFORCE),
     (" block ", CacheGuardMode.BLOCK), ("", CacheGuardMode.WARN)],
)
def test_mode_reads_the_setting_and_defaults_to_warn(text, mode):
    assert CacheGuardMode.parse(text) is mode


def test_an_unknown_mode_names_the_setting_and_the_choices():
    message = "PQ_CACHE_GUARD: 'strict' is not a cache guard mode; use one of off, warn, enforce, block"
    with pytest.raises(ValueError, match=message):
        CacheGuardMode.parse("strict")
    with pytest.raises(UsageError, match=message):  # as the settings read it: a usage error, exit code 2
        Settings.from_env({"PQ_CACHE_GUARD": "strict"})


# --- which images are private ----------------------------------------------------------------------------

RULES = PrivacyRules(
    private_patterns=("*.corp.example.com", "quay.io/acme", "[::1]:5000"),
    public_patterns=("mirror.corp.example.com", "quay.io/acme/public"),
)


@pytest.mark.parametrize(
    ("image", "private", "reason"),
    [
        ("registry.corp.example.com/team/app:1", True, "*.corp.example.com is listed as private"),
        ("Registry.Corp.Example.com/app@" + DIGEST, True, "*.corp.example.com is listed as private"),
        ("quay.io/acme/tool:2", True, "quay.io/acme is listed as private"),
        ("[::1]:5000/x:1", True, "[::1]:5000 is listed as private"),
        ("mirror.corp.example.com/app:1", False, "mirror.corp.example.com is listed as public"),
        ("quay.io/acme/public/tool:1", False, "quay.io/acme/public is listed as public"),
        ("quay.io/acmeco/tool:1", False, "no pipeline pulled quay.io/acmeco/tool with credentials"),
        ("a.b.corp.example.com/app:1", False, "no pipeline pulled"),  # `*` is one host label
        ("registry.corp.example.com:5000/app:1", False, "no pipeline pulled"),  # the port must match
        ("golang:1.21", False, "no pipeline pulled docker.io/library/golang with credentials"),
    ],
)
def test_patterns_decide_privacy_and_public_ones_win(image, private, reason):
    verdict = is_private(parse_image(image), rules=RULES, credentialed_repos=())
    assert verdict.private is private
    assert reason in verdict.reason


def test_an_image_some_pipeline_pulled_with_credentials_is_private_under_every_tag():
    repos = {"docker.io/acme/secret-tool"}
    for text in ("acme/secret-tool:1", "docker.io/acme/secret-tool:2", "index.docker.io/acme/secret-tool@" + DIGEST):
        verdict = is_private(parse_image(text), rules=PrivacyRules(), credentialed_repos=repos)
        assert verdict == PrivacyVerdict(True, "a pipeline pulled docker.io/acme/secret-tool with credentials")
    other = is_private(parse_image("acme/other:1"), rules=PrivacyRules(), credentialed_repos=repos)
    assert other.private is False


def test_a_public_pattern_beats_a_credentialed_pull_and_a_401():
    rules = PrivacyRules(public_patterns=("docker.io/library",), probe_anonymous=True)
    verdict = is_private(parse_image("golang:1.21"), rules=rules, credentialed_repos={"docker.io/library/golang"},
                         anonymous_denied=True)
    assert verdict == PrivacyVerdict(False, "docker.io/library is listed as public (PQ_PUBLIC_REGISTRIES)")


def test_an_anonymous_401_counts_only_when_the_probe_is_turned_on():
    image = parse_image("ghcr.io/acme/tool:1")
    off = is_private(image, rules=PrivacyRules(), credentialed_repos=(), anonymous_denied=True)
    on = is_private(image, rules=PrivacyRules(probe_anonymous=True), credentialed_repos=(), anonymous_denied=True)
    assert off.private is False
    assert on == PrivacyVerdict(True, "ghcr.io refused an anonymous manifest request (401)")
    assert PrivacyRules().probe_anonymous is False


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"private_patterns": ("quay..io",)}, "PQ_PRIVATE_REGISTRIES: registry 'quay..io' is not a host"),
        ({"public_patterns": ("quay.io:http",)}, "PQ_PUBLIC_REGISTRIES: registry 'quay.io:http' is not a host"),
    ],
)
def test_malformed_patterns_name_their_setting(kwargs, message):
    with pytest.raises(CacheGuardError, match=re.escape(message)):
        PrivacyRules(**kwargs)


def test_the_pull_settings_still_use_the_same_matcher_and_their_own_error():
    settings = PullSettings(always_registries=("*.corp.example.com",))
    assert settings.forced_by(IMAGE) == "*.corp.example.com"
    with pytest.raises(PullSettingsError, match=re.escape("always-pulled registry 'quay..io' is not a host")):
        PullSettings(always_registries=("quay..io",))


# --- the guard: every mode x policy x credentials x privacy ---------------------------------------------

# Only a private image, without credentials, under a policy that lets the node use its cache, is at risk; under
# enforce and block a private image with credentials is pulled with Always too, so that made-up ones fail.
EXPECTED_AT_RISK = {
    CacheGuardMode.OFF: ("none", None, None),
    CacheGuardMode.WARN: ("warn", None, "risk"),
    CacheGuardMode.ENFORCE: ("enforce", "Always", "risk"),
    CacheGuardMode.BLOCK: ("block", None, "risk"),
}
CASES = list(itertools.product(CacheGuardMode, ("Always", "IfNotPresent", "Never"), (True, False), (True, False)))


@pytest.mark.parametrize(("mode", "policy", "has_credentials", "private"), CASES)
def test_guard_every_combination(mode, policy, has_credentials, private):
    decision = guard(IMAGE, policy, has_credentials=has_credentials, verdict=PRIVATE if private else PUBLIC,
                     mode=mode)
    at_risk = private and not has_credentials and policy != "Always"
    checked = private and has_credentials and policy != "Always" and mode in (CacheGuardMode.ENFORCE,
                                                                            CacheGuardMode.BLOCK)
    if checked:  # credentials are no exemption: the registry, not a node's cache, must judge them
        assert (decision.action, decision.policy, decision.finding_kind) == ("enforce", "Always", None)
        assert f"PQ_CACHE_GUARD={mode.value}" in decision.message
        return
    if not at_risk:
        assert (decision.action, decision.policy, decision.finding_kind) == ("none", policy, None)
        return
    action, new_policy, finding = EXPECTED_AT_RISK[mode]
    assert (decision.action, decision.policy, decision.finding_kind) == (action, new_policy or policy, finding)
    assert "registry.corp.example.com/team/app:1.2 is private" in decision.message
    assert f"with imagePullPolicy {policy} a node that has it cached" in decision.message
    assert f"PQ_CACHE_GUARD={mode.value}" in decision.message


def test_there_are_48_combinations():
    assert len(CASES) == 4 * 3 * 2 * 2


def test_warn_says_the_pod_runs_as_asked():
    decision = guard(IMAGE, "IfNotPresent", has_credentials=False, verdict=PRIVATE, mode=CacheGuardMode.WARN)
    assert decision == GuardDecision(
        action="warn", policy="IfNotPresent", finding_kind="risk",
        message="registry.corp.example.com/team/app:1.2 is private (registry.corp.example.com is listed as private "
        "(PQ_PRIVATE_REGISTRIES)) and the step has no pull credentials for registry.corp.example.com: with "
        "imagePullPolicy IfNotPresent a node that has it cached runs it without asking the registry; "
        "the pod runs as asked (PQ_CACHE_GUARD=warn)",
    )


def test_enforce_turns_never_into_always_and_says_why():
    decision = guard(IMAGE, "Never", has_credentials=False, verdict=PRIVATE, mode=CacheGuardMode.ENFORCE)
    assert decision.policy == "Always"
    assert decision.message.endswith("pulling with Always instead, so the kubelet checks credentials "
                                     "(PQ_CACHE_GUARD=enforce)")


def test_block_tells_the_user_how_to_get_the_step_through():
    decision = guard(IMAGE, "IfNotPresent", has_credentials=False, verdict=PRIVATE, mode=CacheGuardMode.BLOCK)
    assert decision.message.startswith("step refused (PQ_CACHE_GUARD=block): registry.corp.example.com/team/app:1.2")
    assert decision.message.endswith(
        "Add image_pull_secrets with credentials for registry.corp.example.com, or use pull: always"
    )


@pytest.mark.parametrize(
    ("policy", "has_credentials", "verdict", "message"),
    [
        ("IfNotPresent", False, PUBLIC, "registry.corp.example.com/team/app:1.2: not private (no pipeline pulled it)"),
        ("Never", True, PRIVATE, "private, and the step has pull credentials for registry.corp.example.com"),
        ("Always", False, PRIVATE, "private, pulled with Always, so the kubelet checks credentials"),
    ],
)
def test_no_action_still_explains_itself(policy, has_credentials, verdict, message):
    decision = guard(IMAGE, policy, has_credentials=has_credentials, verdict=verdict, mode=CacheGuardMode.WARN)
    assert decision.action == "none"
    assert message in decision.message


def test_under_block_credentials_for_a_private_image_are_checked_by_the_registry():
    decision = guard(IMAGE, "Never", has_credentials=True, verdict=PRIVATE, mode=CacheGuardMode.BLOCK)
    assert (decision.action, decision.policy, decision.finding_kind) == ("enforce", "Always", None)
    assert decision.message == (
        "registry.corp.example.com/team/app:1.2 is private: pulling with Always instead of Never, so "
        "registry.corp.example.com checks the step's pull credentials rather than a node's cache "
        "(PQ_CACHE_GUARD=block)")


def test_off_mentions_the_risk_it_lets_through():
    decision = guard(IMAGE, "IfNotPresent", has_credentials=False, verdict=PRIVATE, mode=CacheGuardMode.OFF)
    assert decision.message.endswith("the cache guard is off (PQ_CACHE_GUARD=off)")


def test_an_unknown_policy_is_refused():
    with pytest.raises(CacheGuardError, match="'ifnotpresent' is not an imagePullPolicy"):
        guard(IMAGE, "ifnotpresent", has_credentials=False, verdict=PRIVATE, mode=CacheGuardMode.WARN)


# --- the leak, after the fact ---------------------------------------------------------------------------

FIRST = FirstPull(build="41", repo="acme/backend", registry_key="registry.corp.example.com")


def test_a_private_image_run_without_credentials_is_a_leak_naming_node_and_first_build():
    leak = leak_check(IMAGE, image_id=f"registry.corp.example.com/team/app@{DIGEST}", node="node-2",
                      has_credentials=False, verdict=PRIVATE, first_pull=FIRST)
    assert leak == Leak(
        image="registry.corp.example.com/team/app:1.2", digest=DIGEST, node="node-2", first_pull=FIRST,
        message=f"registry.corp.example.com/team/app:1.2 ({DIGEST}) ran on node node-2 without pull credentials "
        "for registry.corp.example.com, from that node's cache; the image is private (registry.corp.example.com is "
        "listed as private (PQ_PRIVATE_REGISTRIES)); build 41 of acme/backend first pulled it with credentials",
    )
    assert leak.kind == "leak"


def test_a_leak_without_a_recorded_first_pull_says_so():
    leak = leak_check(IMAGE, image_id=DIGEST, node="node-1", has_credentials=False, verdict=PRIVATE, first_pull=None)
    assert leak is not None
    assert leak.message.endswith("no credentialed pull of it is on record")


@pytest.mark.parametrize(
    ("image_id", "has_credentials", "verdict"),
    [
        (f"registry.corp.example.com/team/app@{DIGEST}", True, PRIVATE),  # it had credentials
        (f"registry.corp.example.com/team/app@{DIGEST}", False, PUBLIC),  # nothing private ran
        ("", False, PRIVATE),  # the container never started
    ],
)
def test_no_leak(image_id, has_credentials, verdict):
    assert leak_check(IMAGE, image_id=image_id, node="node-1", has_credentials=has_credentials, verdict=verdict,
                      first_pull=FIRST) is None


@pytest.mark.parametrize(
    ("image_id", "digest"),
    [
        (f"docker.io/library/golang@{DIGEST}", DIGEST),  # containerd
        (f"docker-pullable://golang@{DIGEST}", DIGEST),  # dockershim
        (f"docker://{DIGEST}", DIGEST),  # a locally built image: only its ID
        (DIGEST, DIGEST),
        ("golang:1.21", ""),
        ("docker.io/library/golang:1.21", ""),
        ("x@notadigest", ""),
        ("", ""),
    ],
)
def test_digest_of_a_container_image_id(image_id, digest):
    assert digest_of(image_id) == digest


def test_the_rules_module_pulls_in_no_io_library():
    code = "import json, sys, pipeline_queue.cache.rules; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = json.loads(result.stdout)
    io = ("kubernetes", "redis", "celery", "sqlalchemy", "httpx", "requests", "urllib3")
    assert [name for name in loaded if name.split(".")[0] in io] == []
