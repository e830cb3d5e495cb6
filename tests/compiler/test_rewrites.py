"""What changes in a compiled pod when it is created: owner, node pin, deadline, the guard's policy, host aliases;
the stored plan is never touched."""

from __future__ import annotations

import copy

from pipeline_queue.compiler.rewrites import HOSTNAME_LABEL, owner_reference, step_pod
from tests.compiler.conftest import compile_text

PIPELINE = """
kind: pipeline
type: kubernetes
name: p
node_selector: {disk: ssd}
services:
- {name: db, image: "postgres:16"}
- {name: cache, image: "redis:7"}
steps:
- {name: a, image: "alpine:3.19", commands: [true]}
"""
CLAIM = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "pq-x-workspace", "uid": "u-1"}}


def test_a_created_pod_carries_owner_node_deadline_policy_and_aliases_and_the_plan_is_unchanged():
    plan = compile_text(PIPELINE)
    step = plan.step("a")
    before = copy.deepcopy(step.pod)
    pod = step_pod(step, owner=owner_reference(CLAIM), node="node-2", deadline_seconds=120, pull_policy="Always",
                   host_aliases=(("10.0.0.7", "db"), ("10.0.0.8", "cache"), ("10.0.0.7", "db-alias")))
    spec = pod["spec"]
    assert pod["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": "pq-x-workspace", "uid": "u-1"}]
    assert spec["nodeSelector"] == {"disk": "ssd", HOSTNAME_LABEL: "node-2"}
    assert spec["activeDeadlineSeconds"] == 120
    assert spec["containers"][0]["imagePullPolicy"] == "Always"
    assert spec["hostAliases"] == [{"ip": "10.0.0.7", "hostnames": ["db", "db-alias"]},
                                   {"ip": "10.0.0.8", "hostnames": ["cache"]}]
    assert step.pod == before


def test_without_rewrites_the_pod_is_the_compiled_one_with_its_owner():
    step = compile_text(PIPELINE).step("a")
    pod = step_pod(step, owner=owner_reference(CLAIM))
    assert {key: value for key, value in pod["spec"].items()} == step.pod["spec"]
    assert "hostAliases" not in pod["spec"] and "activeDeadlineSeconds" not in pod["spec"]
