"""The specification's scenario with PQ_CACHE_GUARD=enforce: the uncredentialed step's pod is created with
Always, so the kubelet asks the registry, which refuses it (ErrImagePull); the credentialed pipeline still runs."""

from __future__ import annotations

import pytest

from pipeline_queue.cache.guard import LOG_PREFIX
from pipeline_queue.vocabulary import Status
from tests.integration.cache_support import (
    CREDENTIALED,
    NODE,
    SECRETS,
    Scenario,
    findings_of,
    guarded,
    only_step,
    pulls_of,
    run_forged,
    run_scenario,
)

MODE = "enforce"


@pytest.fixture(scope="module")
def environment(guard_mode, environment):  # the conftest's, started once guard_mode has set PQ_CACHE_GUARD
    return environment


guard_mode = guarded(MODE)


@pytest.fixture(scope="module")
def scenario(environment) -> Scenario:
    return run_scenario(environment)


def test_the_uncredentialed_step_fails_with_err_image_pull_on_the_node_that_has_it_cached(scenario):
    assert scenario.second.build.status is Status.ERROR
    step = only_step(scenario.second)
    assert (step.status, step.node) == (Status.ERROR, NODE)
    assert "ErrImagePull" in step.error and "no credentials for registry.pq.test" in step.error


def test_the_step_log_and_a_finding_say_why_it_was_pulled_with_always(scenario):
    (risk,) = findings_of(scenario.second, "risk")
    assert (risk.mode, risk.action) == ("enforce", "enforce")
    assert "pulling with Always instead, so the kubelet checks credentials" in risk.detail
    assert scenario.logs["borrow"].startswith(LOG_PREFIX)
    assert "pulling with Always instead" in scenario.logs["borrow"]
    assert findings_of(scenario.second, "leak") == []  # the kubelet stopped it: nothing ran, nothing leaked


def test_the_credentialed_pipeline_still_runs_before_and_after(environment, scenario):
    assert scenario.first.build.status is Status.SUCCESS and scenario.first.findings == ()
    again = environment.finished(environment.submit(CREDENTIALED, repo="acme/secret", secrets=SECRETS).build_id)
    assert again.build.status is Status.SUCCESS and again.findings == ()
    assert [pull.credentialed for pull in pulls_of(environment, again)] == [True]


def test_a_made_up_credential_is_shown_to_the_registry_which_refuses_it(environment, scenario):
    forged = run_forged(environment)
    step = only_step(forged)
    assert forged.build.status is Status.ERROR
    assert (step.status, step.node, step.pull_policy) == (Status.ERROR, NODE, "Always")
    assert "refused the credentials from secret 'madeup'" in step.error and "ErrImagePull" in step.error
    assert findings_of(forged, "leak") == []
    assert "not-the-password-3391" not in step.error
