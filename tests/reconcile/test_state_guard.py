"""The cache guard inside the reconcile state machine: plans, records, pods and what was read of their images in,
findings, enforced pull policies, refusals, pull records and leaks out."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from pipeline_queue.cache.guard import LOG_PREFIX, GuardView, ImageFacts
from pipeline_queue.cache.rules import FirstPull, PrivacyVerdict
from pipeline_queue.compiler import StagePlan
from pipeline_queue.compiler.conditions import BuildFacts
from pipeline_queue.reconcile.state import (
    CreateStep,
    FetchLog,
    RecordFinding,
    RecordPull,
    RecordStep,
    StageView,
    decide,
)
from pipeline_queue.vocabulary import CacheGuardMode, FindingKind, Status
from tests.reconcile.builders import NOW, exited, plan_of, running

PRIVATE = "registry.example.com/team/app"
DIGEST = "sha256:" + "c" * 64
IMAGE_ID = f"{PRIVATE}@{DIGEST}"
CONFIG = json.dumps({"auths": {"registry.example.com": {"username": "bot", "password": "pw-not-real-4417"}}})

BORROW = f"""
kind: pipeline
type: kubernetes
name: default
steps:
- {{name: app, image: "{PRIVATE}:1.0", commands: [run]}}
- {{name: after, image: "alpine:3.19", commands: [next]}}
"""

OWN = f"""
kind: pipeline
type: kubernetes
name: default
image_pull_secrets: [dockerconfig]
steps:
- {{name: app, image: "{PRIVATE}:1.0", commands: [run]}}
"""

PRIVATE_FACTS = ImageFacts(verdict=PrivacyVerdict(private=True, reason=f"a pipeline pulled {PRIVATE} with credentials"),
                           cached_on=("node-1",))
FIRST = FirstPull(build="3", repo="acme/secret", registry_key="registry.example.com")


def view(plan: StagePlan, mode: CacheGuardMode, *pods: dict, statuses: dict[str, Status] | None = None,
         risks: dict[str, tuple[str, ...]] | None = None) -> StageView:
    steps = {step.name: Status.PENDING for step in plan.all_steps}
    steps.update(statuses or {})
    guard = GuardView(mode=mode, images={PRIVATE: PRIVATE_FACTS}, first_pulls={DIGEST: FIRST}, risks=risks or {})
    return StageView(plan=plan, status=Status.RUNNING, steps=steps, now=NOW, started=NOW - timedelta(seconds=60),
                     pods={p["metadata"]["name"]: p for p in pods}, guard=guard,
                     facts=BuildFacts(repo="acme/other", branch="main", event="push", ref="refs/heads/main"))


def of_type(actions, kind):
    return [action for action in actions if isinstance(action, kind)]


def test_warn_records_the_risk_before_the_pod_and_creates_it_as_compiled():
    decision = decide(view(plan_of(BORROW), CacheGuardMode.WARN))
    finding, create = decision.actions
    assert isinstance(finding, RecordFinding) and (finding.step, finding.kind, finding.action) == (
        "app", FindingKind.RISK, "warn")
    assert "cached now on node-1" in finding.detail and "PQ_CACHE_GUARD=warn" in finding.detail
    assert create == CreateStep("app", deadline_seconds=3540)


def test_enforce_creates_the_pod_with_always():
    decision = decide(view(plan_of(BORROW), CacheGuardMode.ENFORCE))
    [finding] = of_type(decision.actions, RecordFinding)
    assert finding.action == "enforce"
    assert of_type(decision.actions, CreateStep) == [CreateStep("app", deadline_seconds=3540, pull_policy="Always")]


def test_block_refuses_the_step_before_any_pod_and_the_stage_goes_on_failing():
    decision = decide(view(plan_of(BORROW), CacheGuardMode.BLOCK))
    assert of_type(decision.actions, CreateStep) == []
    [finding] = of_type(decision.actions, RecordFinding)
    [refused, skipped] = of_type(decision.actions, RecordStep)
    assert finding.action == "block"
    assert (refused.step, refused.status) == ("app", Status.ERROR)
    assert refused.error.startswith("step refused (PQ_CACHE_GUARD=block)")
    assert (skipped.step, skipped.status) == ("after", Status.SKIPPED)
    assert decision.finishes


def test_off_means_no_finding_and_the_pod_as_compiled():
    decision = decide(view(plan_of(BORROW), CacheGuardMode.OFF))
    assert of_type(decision.actions, RecordFinding) == []
    assert of_type(decision.actions, CreateStep) == [CreateStep("app", deadline_seconds=3540)]


@pytest.mark.parametrize("mode", [CacheGuardMode.ENFORCE, CacheGuardMode.BLOCK])
def test_a_credentialed_step_of_a_private_image_is_pulled_with_always_and_no_finding(mode):
    plan = plan_of(OWN, secrets={"dockerconfig": CONFIG})
    decision = decide(view(plan, mode))
    assert of_type(decision.actions, RecordFinding) == []
    assert of_type(decision.actions, CreateStep) == [CreateStep("app", deadline_seconds=3540, pull_policy="Always")]


def test_a_credentialed_step_under_warn_runs_as_compiled():
    decision = decide(view(plan_of(OWN, secrets={"dockerconfig": CONFIG}), CacheGuardMode.WARN))
    assert decision.actions == (CreateStep("app", deadline_seconds=3540),)


def test_a_started_uncredentialed_pod_of_the_private_image_is_a_leak_naming_the_first_pull():
    plan = plan_of(BORROW)
    decision = decide(view(plan, CacheGuardMode.WARN, running(plan, "app", image_id=IMAGE_ID)))
    record, pull, leak = decision.actions
    assert (record.step, record.status) == ("app", Status.RUNNING)
    assert pull == RecordPull("app", node="node-1", image_id=IMAGE_ID, digest=DIGEST, registry_key="")
    assert isinstance(leak, RecordFinding) and (leak.kind, leak.action, leak.node) == (FindingKind.LEAK, "recorded",
                                                                                       "node-1")
    assert "build 3 of acme/secret first pulled it with credentials" in leak.detail
    # Seen again while it runs: nothing more to record.
    again = decide(view(plan, CacheGuardMode.WARN, running(plan, "app", image_id=IMAGE_ID),
                        statuses={"app": Status.RUNNING}))
    assert again.actions == ()


def test_a_credentialed_pull_is_recorded_with_its_registry_key_and_is_no_leak():
    plan = plan_of(OWN, secrets={"dockerconfig": CONFIG})
    decision = decide(view(plan, CacheGuardMode.BLOCK, running(plan, "app", image_id=IMAGE_ID)))
    [pull] = of_type(decision.actions, RecordPull)
    assert pull.registry_key == "registry.example.com"
    assert of_type(decision.actions, RecordFinding) == []


def test_the_guard_lines_stay_at_the_top_of_the_log_it_replaces():
    plan = plan_of(BORROW)
    decision = decide(view(plan, CacheGuardMode.WARN, exited(plan, "app", image_id=IMAGE_ID),
                           statuses={"app": Status.RUNNING}, risks={"app": ("it is private",)}))
    [fetch] = of_type(decision.actions, FetchLog)
    assert fetch == FetchLog("app", header=f"{LOG_PREFIX} it is private\n")
