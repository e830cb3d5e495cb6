"""The guard for one step, pure: compiled pipelines and what was read of their images in, the decision the
worker acts on and what explain says out."""

from __future__ import annotations

import json

import pytest

from pipeline_queue.cache.guard import (
    LOG_PREFIX,
    GuardView,
    ImageFacts,
    check_started,
    credentialed_in,
    decide_step,
    log_header,
    log_line,
    static_risk,
)
from pipeline_queue.cache.rules import FirstPull, PrivacyRules, is_private
from pipeline_queue.compiler import StagePlan
from pipeline_queue.images import parse_image
from pipeline_queue.vocabulary import CacheGuardMode
from tests.reconcile.builders import compile_text, plan_of

PRIVATE = "registry.example.com/team/app"
PASSWORD = "pw-guard-9931-not-real"
CONFIG = json.dumps({"auths": {"registry.example.com": {"username": "bot", "password": PASSWORD}}})
DIGEST = "sha256:" + "b" * 64

WITHOUT = f"""
kind: pipeline
type: kubernetes
name: without
steps:
- name: cached
  image: {PRIVATE}:1.0
  commands: [echo hi]
- name: never
  image: {PRIVATE}:1.0
  pull: never
  commands: [echo hi]
- name: always
  image: {PRIVATE}:1.0
  pull: always
  commands: [echo hi]
- name: public
  image: alpine:3.19
  commands: [echo hi]
"""

WITH = f"""
kind: pipeline
type: kubernetes
name: with
image_pull_secrets: [dockerconfig]
steps:
- name: credentialed
  image: {PRIVATE}:1.0
  commands: [echo hi]
"""

FIRST = FirstPull(build="7", repo="acme/secret", registry_key="registry.example.com")


NO_RULES = PrivacyRules()


def view(mode: CacheGuardMode, *, rules: PrivacyRules = NO_RULES, credentialed: frozenset[str] = frozenset({PRIVATE}),
         denied: bool = False, cached_on: tuple[str, ...] = ()) -> GuardView:
    """What advance reads for the guard: the private image's verdict from the rules and the facts given."""
    verdict = is_private(parse_image(PRIVATE), rules=rules, credentialed_repos=credentialed, anonymous_denied=denied)
    return GuardView(mode=mode, images={PRIVATE: ImageFacts(verdict=verdict, cached_on=cached_on)},
                     first_pulls={DIGEST: FIRST})


@pytest.fixture(scope="module")
def without() -> StagePlan:
    return plan_of(WITHOUT)


@pytest.fixture(scope="module")
def with_credentials() -> StagePlan:
    return plan_of(WITH, secrets={"dockerconfig": CONFIG})


def test_warn_records_a_risk_and_lets_the_pod_run_as_planned(without):
    decision = decide_step(without.step("cached"), view(CacheGuardMode.WARN))
    assert (decision.action, decision.policy, decision.finding_kind) == ("warn", "IfNotPresent", "risk")
    assert f"a pipeline pulled {PRIVATE} with credentials" in decision.message


def test_the_risk_names_the_nodes_that_cache_the_image(without):
    decision = decide_step(without.step("cached"), view(CacheGuardMode.WARN, cached_on=("node-1", "node-2")))
    assert "(cached now on node-1, node-2)" in decision.message
    many = decide_step(without.step("cached"), view(CacheGuardMode.WARN, cached_on=tuple(f"n{i}" for i in range(5))))
    assert "(cached now on n0, n1, n2 and 2 more)" in many.message


def test_enforce_turns_the_policy_into_always(without):
    decision = decide_step(without.step("cached"), view(CacheGuardMode.ENFORCE))
    assert (decision.action, decision.policy) == ("enforce", "Always")
    assert "kubelet checks credentials" in decision.message


def test_block_refuses_with_what_to_do_about_it(without):
    decision = decide_step(without.step("never"), view(CacheGuardMode.BLOCK))
    assert decision.action == "block"
    assert decision.message.startswith("step refused (PQ_CACHE_GUARD=block)")
    assert "Add image_pull_secrets with credentials for registry.example.com, or use pull: always" in decision.message


def test_off_does_nothing(without):
    decision = decide_step(without.step("cached"), view(CacheGuardMode.OFF))
    assert (decision.action, decision.finding_kind) == ("none", None)


@pytest.mark.parametrize("mode", list(CacheGuardMode))
def test_always_a_public_image_and_credentials_are_never_flagged(without, with_credentials, mode):
    for step in (without.step("always"), without.step("public"), with_credentials.step("credentialed")):
        decision = decide_step(step, view(mode))
        assert decision.finding_kind is None, step.name
    for step in (without.step("always"), without.step("public")):
        assert decide_step(step, view(mode)).action == "none", step.name


@pytest.mark.parametrize("mode", [CacheGuardMode.ENFORCE, CacheGuardMode.BLOCK])
def test_credentials_for_a_private_image_are_shown_to_its_registry_under_enforce_and_block(with_credentials, mode):
    decision = decide_step(with_credentials.step("credentialed"), view(mode))
    assert (decision.action, decision.policy, decision.finding_kind) == ("enforce", "Always", None)


def test_an_image_nobody_pulled_with_credentials_is_not_private(without):
    decision = decide_step(without.step("cached"), view(CacheGuardMode.BLOCK, credentialed=frozenset()))
    assert decision.action == "none"


def test_an_image_nothing_was_read_about_is_not_flagged(without):
    assert decide_step(without.step("cached"), GuardView(mode=CacheGuardMode.BLOCK)).action == "none"


def test_a_private_pattern_makes_it_private_before_any_pull(without):
    rules = PrivacyRules(private_patterns=("registry.example.com",))
    facts = view(CacheGuardMode.WARN, rules=rules, credentialed=frozenset())
    assert decide_step(without.step("cached"), facts).action == "warn"


def test_a_public_pattern_wins_over_a_credentialed_pull(without):
    facts = view(CacheGuardMode.BLOCK, rules=PrivacyRules(public_patterns=("registry.example.com",)))
    assert decide_step(without.step("cached"), facts).action == "none"


def test_the_anonymous_probe_counts_only_when_switched_on(without):
    off = view(CacheGuardMode.WARN, credentialed=frozenset(), denied=True)
    on = view(CacheGuardMode.WARN, rules=PrivacyRules(probe_anonymous=True), credentialed=frozenset(), denied=True)
    assert decide_step(without.step("cached"), off).action == "none"
    assert decide_step(without.step("cached"), on).action == "warn"


def test_a_step_that_ran_the_private_image_uncredentialed_leaked_it(without):
    leak = check_started(without.step("cached"), image_id=f"{PRIVATE}@{DIGEST}", node="node-1",
                         view=view(CacheGuardMode.OFF))
    assert leak is not None
    assert (leak.digest, leak.node, leak.first_pull) == (DIGEST, "node-1", FIRST)
    assert "ran on node node-1" in leak.message and "build 7 of acme/secret first pulled it" in leak.message


def test_a_credentialed_step_or_a_public_image_is_no_leak(without, with_credentials):
    for step in (with_credentials.step("credentialed"), without.step("public")):
        assert check_started(step, image_id=f"{PRIVATE}@{DIGEST}", node="node-1",
                             view=view(CacheGuardMode.WARN)) is None


def test_the_log_line_says_it_comes_from_the_guard():
    assert log_line("why") == f"{LOG_PREFIX} why\n"
    header = log_header("cached", GuardView(risks={"cached": ("one", "two")}))
    assert header == f"{LOG_PREFIX} one\n{LOG_PREFIX} two\n"
    assert log_header("other", GuardView(risks={"cached": ("one",)})) == ""


def test_explain_sees_the_risk_from_credentials_in_the_same_file():
    credentialed = compile_text(WITH, secrets={"dockerconfig": CONFIG}).plan
    uncredentialed = compile_text(WITHOUT).plan
    steps = {step.name: step for step in (*credentialed.steps, *uncredentialed.steps)}
    repos = credentialed_in(steps.values())
    assert repos == frozenset({PRIVATE})
    risks = {name: static_risk(step, rules=PrivacyRules(), credentialed_repos=repos, mode=CacheGuardMode.OFF)
             for name, step in steps.items()}
    assert [name for name, risk in risks.items() if risk] == ["cached", "never"]
    assert "the cache guard is off" in risks["cached"]
    assert all(PASSWORD not in (risk or "") for risk in risks.values())


def test_under_warn_credentials_for_a_copy_another_repository_pulled_are_a_risk(with_credentials):
    step = with_credentials.step("credentialed")
    verdict = view(CacheGuardMode.WARN).images[PRIVATE].verdict
    pulled = GuardView(mode=CacheGuardMode.WARN, repo="acme/forger",
                       images={PRIVATE: ImageFacts(verdict=verdict, cached_on=("node-1",), pulled_by="acme/secret")})
    decision = decide_step(step, pulled)
    assert (decision.action, decision.policy, decision.finding_kind) == ("warn", "IfNotPresent", "risk")
    assert "a credentialed pull of acme/secret put it on a node (cached now on node-1)" in decision.message
    assert "never checks this step's pull credentials" in decision.message
    own = GuardView(mode=CacheGuardMode.WARN, repo="acme/secret", images=pulled.images)
    assert decide_step(step, own).action == "none"  # its own pull: the registry checked these credentials
