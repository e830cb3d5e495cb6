"""The cache guard end to end in its default mode, warn: the specification's scenario through producer, Redis,
worker and development cluster. The uncredentialed step runs from node-1's cache; the guard records the risk
before the pod exists and the leak once it ran, naming the node and the build that pulled the image first.

Enforce and block run the same scenario in test_cache_guard_enforce.py and test_cache_guard_block.py.
"""

from __future__ import annotations

import pytest

from pipeline_queue.broker import redis_client
from pipeline_queue.cache import index
from pipeline_queue.cache.guard import LOG_PREFIX
from pipeline_queue.commands.builds import detail_document
from pipeline_queue.vocabulary import Status
from tests.integration.cache_support import (
    CREDENTIALED,
    NODE,
    PUBLIC,
    SECRETS,
    Scenario,
    findings_of,
    guarded,
    only_step,
    pulls_of,
    run_forged,
    run_scenario,
)
from tests.integration.conftest import PRIVATE_IMAGE, PRIVATE_PASSWORD, PRIVATE_REGISTRY
from workers.resources import cache_prefix

MODE = "warn"
PRIVATE_NAME = "registry.pq.test/team/app"


@pytest.fixture(scope="module")
def environment(guard_mode, environment):  # the conftest's, started once guard_mode has set PQ_CACHE_GUARD
    return environment


guard_mode = guarded(MODE)


@pytest.fixture(scope="module")
def scenario(environment) -> Scenario:
    return run_scenario(environment)


def test_the_uncredentialed_step_runs_from_the_cache_as_asked(scenario):
    assert scenario.first.build.status is Status.SUCCESS
    assert scenario.second.build.status is Status.SUCCESS
    step = only_step(scenario.second)
    assert (step.node, step.pull_policy) == (NODE, "IfNotPresent")
    assert "ran-from-the-cache" in scenario.logs["borrow"]


def test_a_risk_finding_is_recorded_on_the_build_and_step_and_told_in_its_log(scenario):
    (risk,) = findings_of(scenario.second, "risk")
    assert (risk.image, risk.mode, risk.action, risk.step_id) == (
        "registry.pq.test/team/app:1.0", "warn", "warn", only_step(scenario.second).id)
    assert "the pod runs as asked (PQ_CACHE_GUARD=warn)" in risk.detail
    first_line = scenario.logs["borrow"].splitlines()[0]
    assert first_line.startswith(LOG_PREFIX) and "is private" in first_line


def test_after_the_fact_it_is_a_leak_naming_the_node_and_the_build_that_pulled_it_first(scenario):
    (leak,) = findings_of(scenario.second, "leak")
    assert (leak.node, leak.action) == (NODE, "recorded")
    assert f"ran on node {NODE} without pull credentials" in leak.detail
    assert f"build {scenario.first.build.id} of acme/secret first pulled it with credentials" in leak.detail
    shown = detail_document(scenario.second)["findings"]
    assert sorted((item["kind"], item["step"], item["node"]) for item in shown) == [
        ("leak", "default/borrow", NODE), ("risk", "default/borrow", "")]


def test_pull_records_keep_node_digest_and_the_matching_registry_key_never_the_password(environment, scenario):
    (first,) = pulls_of(environment, scenario.first)
    (second,) = pulls_of(environment, scenario.second)
    assert (first.node, first.credentialed, first.registry_key, first.repo) == (
        NODE, True, PRIVATE_REGISTRY, "acme/secret")
    assert (second.node, second.credentialed, second.registry_key, second.repo) == (NODE, False, "", "acme/other")
    assert first.digest.startswith("sha256:") and second.digest == first.digest
    assert first.image == second.image == PRIVATE_IMAGE
    assert all(PRIVATE_PASSWORD not in str(pull) for pull in (first, second))


def test_the_credentialed_pipeline_is_never_flagged(environment, scenario):
    assert scenario.first.findings == ()
    # Run again, now that node-1 has the image: credentials in hand, nothing to flag either.
    again = environment.finished(environment.submit(CREDENTIALED, repo="acme/secret", secrets=SECRETS).build_id)
    assert again.build.status is Status.SUCCESS
    assert again.findings == ()


def test_a_public_image_is_never_flagged(environment, scenario):
    detail = environment.finished(environment.submit(PUBLIC, repo="acme/public").build_id)
    assert detail.build.status is Status.SUCCESS
    assert detail.findings == ()


def test_the_index_copes_with_nodes_that_disappear_and_images_that_are_evicted(environment, scenario):
    client = redis_client(str(environment.sender.conf.broker_url))
    prefix = cache_prefix(environment.sender)
    try:
        nodes = environment.kube.list_nodes()
        index.sweep(nodes, redis=client, prefix=prefix)
        assert index.nodes_with(client, PRIVATE_IMAGE, prefix=prefix) == (NODE,)
        evicted = [_without_image(node, PRIVATE_NAME) for node in nodes if node["metadata"]["name"] == NODE]
        stats = index.sweep(evicted, redis=client, prefix=prefix)  # node-2 is gone, node-1 evicted the image
        assert stats.removed_nodes == 1
        assert index.all_nodes(client, prefix=prefix) == (NODE,)
        assert index.nodes_with(client, PRIVATE_IMAGE, prefix=prefix) == ()
        # Evicted or not, the image stays private: a credentialed pull proved it.
        assert PRIVATE_NAME in index.credentialed_repositories(client, prefix=prefix)
        found = index.first_pull(client, PRIVATE_IMAGE, prefix=prefix)
        assert found is not None and (found.build, found.repo) == (str(scenario.first.build.id), "acme/secret")
    finally:
        client.close()


def _without_image(node: dict, name: str) -> dict:
    images = [entry for entry in node["status"].get("images") or []
              if not any(item.startswith(name) for item in entry.get("names") or [])]
    return {**node, "status": {**node["status"], "images": images}}


def test_a_made_up_credential_runs_from_the_cache_as_asked_with_a_risk_finding(environment, scenario):
    forged = run_forged(environment)
    step = only_step(forged)
    assert forged.build.status is Status.SUCCESS
    assert step.pull_policy == "IfNotPresent"
    (risk,) = findings_of(forged, "risk")
    assert "never checks this step's pull credentials" in risk.detail and "acme/secret" in risk.detail
