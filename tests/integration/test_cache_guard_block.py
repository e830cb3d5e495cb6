"""The specification's scenario with PQ_CACHE_GUARD=block: the uncredentialed step fails with the guard's
message before any pod of it exists; the credentialed pipeline runs as before."""

from __future__ import annotations

import kubernetes
import pytest

from pipeline_queue.compiler import StagePlan
from pipeline_queue.kube import make_api_client
from pipeline_queue.store import BuildDetail
from pipeline_queue.vocabulary import Status
from tests.integration.cache_support import (
    NODE,
    Scenario,
    findings_of,
    guarded,
    only_step,
    pulls_of,
    run_forged,
    run_scenario,
)

MODE = "block"


@pytest.fixture(scope="module")
def environment(guard_mode, environment):  # the conftest's, started once guard_mode has set PQ_CACHE_GUARD
    return environment


guard_mode = guarded(MODE)


@pytest.fixture(scope="module")
def scenario(environment) -> Scenario:
    return run_scenario(environment)


def _scheduled(environment, detail: BuildDetail) -> list[str]:
    """The scheduler's events about the build's step pod: a pod that never existed has none."""
    (stage,) = detail.stages
    (step,) = StagePlan.from_json(stage.plan).steps
    api = make_api_client(environment.tmp / "kubeconfig")
    try:
        events = kubernetes.client.CoreV1Api(api).list_namespaced_event(
            environment.namespace, field_selector=f"involvedObject.name={step.pod_name}")
    finally:
        api.close()
    return [event.reason for event in events.items if event.reason == "Scheduled"]


def test_the_uncredentialed_step_fails_with_the_guards_message(scenario):
    assert scenario.second.build.status is Status.ERROR
    step = only_step(scenario.second)
    assert step.status is Status.ERROR
    assert step.error.startswith("step refused (PQ_CACHE_GUARD=block): registry.pq.test/team/app:1.0 is private")
    assert "Add image_pull_secrets with credentials for registry.pq.test, or use pull: always" in step.error
    (risk,) = findings_of(scenario.second, "risk")
    assert (risk.mode, risk.action, risk.step_id) == ("block", "block", step.id)


def test_no_pod_was_created_for_it(environment, scenario):
    step = only_step(scenario.second)
    assert (step.node, step.image_id) == ("", "")
    assert pulls_of(environment, scenario.second) == []
    assert _scheduled(environment, scenario.second) == []
    assert _scheduled(environment, scenario.first) == ["Scheduled"]  # the events are there to see


def test_the_credentialed_pipeline_is_not_affected(scenario):
    assert scenario.first.build.status is Status.SUCCESS
    assert scenario.first.findings == ()


def test_a_made_up_credential_is_shown_to_the_registry_which_refuses_it(environment, scenario):
    forged = run_forged(environment)
    step = only_step(forged)
    assert forged.build.status is Status.ERROR
    assert (step.status, step.node, step.pull_policy) == (Status.ERROR, NODE, "Always")
    assert "refused the credentials from secret 'madeup'" in step.error and "ErrImagePull" in step.error
    assert "not-the-password-3391" not in step.error
