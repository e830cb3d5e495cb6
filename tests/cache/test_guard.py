"""The guard for one step, pure: compiled pipelines in, the decision the worker acts on and what explain says out."""

from __future__ import annotations

import json

import pytest

from pipeline_queue.cache.guard import (
    LOG_PREFIX,
    PrivacyFacts,
    check_started,
    credentialed_in,
    decide_step,
    log_line,
    static_risk,
)
from pipeline_queue.cache.rules import CacheGuardMode, FirstPull, PrivacyRules
from pipeline_queue.reconcile.plan import StagePlan
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

CREDENTIALED = PrivacyFacts(credentialed_repos=frozenset({PRIVATE}))


@pytest.fixture(scope="module")
def without() -> StagePlan:
    return plan_of(WITHOUT)


@pytest.fixture(scope="module")
def with_credentials() -> StagePlan:
    return plan_of(WITH, secrets={"dockerconfig": CONFIG})


def test_warn_records_a_risk_and_lets_the_pod_run_as_planned(without):
    decision = decide_step(without.step("cached"), facts=CREDENTIALED, mode=CacheGuardMode.WARN)
    assert (decision.action, decision.policy, decision.finding_kind) == ("warn", "IfNotPresent", "risk")
    assert f"a pipeline pulled {PRIVATE} with credentials" in decision.message


def test_enforce_turns_the_policy_into_always(without):
    decision = decide_step(without.step("cached"), facts=CREDENTIALED, mode=CacheGuardMode.ENFORCE)
    assert (decision.action, decision.policy) == ("enforce", "Always")
    assert "kubelet checks credentials" in decision.message


def test_block_refuses_with_what_to_do_about_it(without):
    decision = decide_step(without.step("never"), facts=CREDENTIALED, mode=CacheGuardMode.BLOCK)
    assert decision.action == "block"
    assert decision.message.startswith("step refused (PQ_CACHE_GUARD=block)")
    assert "Add image_pull_secrets with credentials for registry.example.com, or use pull: always" in decision.message


def test_off_does_nothing(without):
    decision = decide_step(without.step("cached"), facts=CREDENTIALED, mode=CacheGuardMode.OFF)
    assert (decision.action, decision.finding_kind) == ("none", None)


@pytest.mark.parametrize("mode", list(CacheGuardMode))
def test_always_a_public_image_and_credentials_are_never_flagged(without, with_credentials, mode):
    for step in (without.step("always"), without.step("public"), with_credentials.step("credentialed")):
        decision = decide_step(step, facts=CREDENTIALED, mode=mode)
        assert (decision.action, decision.finding_kind) == ("none", None), step.name


def test_an_image_nobody_pulled_with_credentials_is_not_private(without):
    decision = decide_step(without.step("cached"), facts=PrivacyFacts(), mode=CacheGuardMode.BLOCK)
    assert decision.action == "none"


def test_a_private_pattern_makes_it_private_before_any_pull(without):
    facts = PrivacyFacts(rules=PrivacyRules(private_patterns=("registry.example.com",)))
    assert decide_step(without.step("cached"), facts=facts, mode=CacheGuardMode.WARN).action == "warn"


def test_a_public_pattern_wins_over_a_credentialed_pull(without):
    facts = PrivacyFacts(rules=PrivacyRules(public_patterns=("registry.example.com",)),
                         credentialed_repos=frozenset({PRIVATE}))
    assert decide_step(without.step("cached"), facts=facts, mode=CacheGuardMode.BLOCK).action == "none"


def test_the_anonymous_probe_counts_only_when_switched_on(without):
    denied = frozenset({"registry.example.com"})
    off = PrivacyFacts(anonymous_denied=denied)
    on = PrivacyFacts(rules=PrivacyRules(probe_anonymous=True), anonymous_denied=denied)
    assert decide_step(without.step("cached"), facts=off, mode=CacheGuardMode.WARN).action == "none"
    assert decide_step(without.step("cached"), facts=on, mode=CacheGuardMode.WARN).action == "warn"


def test_a_step_that_ran_the_private_image_uncredentialed_leaked_it(without):
    first = FirstPull(build="7", repo="acme/secret", registry_key="registry.example.com")
    leak = check_started(without.step("cached"), image_id=f"{PRIVATE}@{DIGEST}", node="node-1",
                         facts=CREDENTIALED, first_pull=first)
    assert leak is not None
    assert (leak.digest, leak.node, leak.first_pull) == (DIGEST, "node-1", first)
    assert "ran on node node-1" in leak.message and "build 7 of acme/secret first pulled it" in leak.message


def test_a_credentialed_step_or_a_public_image_is_no_leak(without, with_credentials):
    for step in (with_credentials.step("credentialed"), without.step("public")):
        assert check_started(step, image_id=f"{PRIVATE}@{DIGEST}", node="node-1", facts=CREDENTIALED,
                             first_pull=None) is None


def test_the_log_line_says_it_comes_from_the_guard():
    assert log_line("why") == f"{LOG_PREFIX} why\n"


def test_explain_sees_the_risk_from_credentials_in_the_same_file():
    credentialed = compile_text(WITH, secrets={"dockerconfig": CONFIG})
    uncredentialed = compile_text(WITHOUT)
    steps = {step.name: step for step in (*credentialed.steps, *uncredentialed.steps)}
    repos = credentialed_in(steps.values())
    assert repos == frozenset({PRIVATE})
    risks = {name: static_risk(step, rules=PrivacyRules(), credentialed_repos=repos, mode=CacheGuardMode.OFF)
             for name, step in steps.items()}
    assert [name for name, risk in risks.items() if risk] == ["cached", "never"]
    assert "the cache guard is off" in risks["cached"]
    assert all(PASSWORD not in (risk or "") for risk in risks.values())
