"""A stage's objects in the development cluster: created once, the same stage's copy taken as its own, another
stage's never adopted."""

from __future__ import annotations

import pytest

from pipeline_queue.kube import ForeignObjectError
from pipeline_queue.kube.stage import create_once, ensure_claim

STAGE = "pipeline-queue.io/stage"


def secret(namespace: str, stage: str, value: str = "djE=") -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": {"token": value},
            "metadata": {"name": "pq-7-env", "namespace": namespace, "labels": {STAGE: stage}}}


def claim(namespace: str, stage: str) -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "pq-7-workspace", "namespace": namespace, "labels": {STAGE: stage}},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}


def test_the_same_stage_s_object_is_taken_as_created(kube, namespace):
    create_once(kube, secret(namespace, "7-aaaa0001"))
    create_once(kube, secret(namespace, "7-aaaa0001"))  # a repeated pass: no error
    assert len(kube.list("Secret", namespace, label_selector=f"{STAGE}=7-aaaa0001")) == 1


def test_another_stage_s_object_of_the_same_name_is_never_adopted(kube, namespace):
    create_once(kube, secret(namespace, "7-aaaa0001", value="b2xk"))
    with pytest.raises(ForeignObjectError, match=r"Secret .*/pq-7-env already exists and belongs to stage "
                                                 r"'7-aaaa0001', not to this one"):
        create_once(kube, secret(namespace, "7-bbbb0002"))
    assert kube.get("Secret", namespace, "pq-7-env")["data"] == {"token": "b2xk"}  # left as it was


def test_a_claim_of_another_stage_is_not_the_owner_of_this_one(kube, namespace):
    first = ensure_claim(kube, claim(namespace, "7-aaaa0001"))
    assert ensure_claim(kube, claim(namespace, "7-aaaa0001")) == first
    with pytest.raises(ForeignObjectError, match="belongs to another stage"):
        ensure_claim(kube, claim(namespace, "7-bbbb0002"))
