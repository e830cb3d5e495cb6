"""Deletion: finalizers, graceful pods, garbage collection by ownerReferences, collections, namespaces."""

from __future__ import annotations

import pytest
from kubernetes.client import ApiException


def _gone(read):
    try:
        read()
    except ApiException as error:
        if error.status == 404:
            return True
        raise
    return False


def _owner_ref(owner, *, block=False):
    return {"apiVersion": "v1", "kind": owner.kind, "name": owner.metadata.name, "uid": owner.metadata.uid,
            "blockOwnerDeletion": block}


def _bind(core, namespace, *, name, node="ghost-node"):
    core.create_namespaced_pod_binding(name, namespace, {"metadata": {"name": name},
                                                         "target": {"kind": "Node", "name": node}},
                                       _preload_content=False)


def test_finalizers_hold_an_object_until_the_last_one_goes(core, namespace, status_of):
    core.create_namespaced_secret(namespace, {"metadata": {"name": "held", "finalizers": ["example.com/a"]}})
    # This client reads a secret deletion as a plain dict: a Status, or the object while it is only marked.
    marked = core.delete_namespaced_secret("held", namespace)
    assert marked["metadata"]["deletionTimestamp"]
    assert core.read_namespaced_secret("held", namespace).metadata.deletion_timestamp is not None
    with pytest.raises(ApiException) as error:
        core.patch_namespaced_secret("held", namespace, {"metadata": {"finalizers": ["example.com/b"]}})
    assert error.value.status == 422
    assert "no new finalizers can be added if the object is being deleted" in status_of(error.value)["message"]
    core.patch_namespaced_secret("held", namespace, {"metadata": {"$deleteFromPrimitiveList/finalizers": [
        "example.com/a"]}})
    assert _gone(lambda: core.read_namespaced_secret("held", namespace))


def test_deleting_a_secret_answers_with_a_success_status(core, namespace):
    core.create_namespaced_secret(namespace, {"metadata": {"name": "s"}})
    status = core.delete_namespaced_secret("s", namespace)
    assert (status["kind"], status["status"], status["details"]["name"]) == ("Status", "Success", "s")


def test_an_unscheduled_pod_is_deleted_at_once(core, namespace, parked_pod):
    core.create_namespaced_pod(namespace, parked_pod("p"))
    deleted = core.delete_namespaced_pod("p", namespace)
    assert deleted.metadata.name == "p"
    assert _gone(lambda: core.read_namespaced_pod("p", namespace))


def test_a_running_pod_is_only_marked_for_its_kubelet(core, namespace, parked_pod):
    core.create_namespaced_pod(namespace, parked_pod("p"))
    _bind(core, namespace, name="p")
    marked = core.delete_namespaced_pod("p", namespace)
    assert marked.metadata.deletion_grace_period_seconds == 30
    assert marked.metadata.deletion_timestamp is not None
    shorter = core.delete_namespaced_pod("p", namespace, body={"gracePeriodSeconds": 5})
    assert shorter.metadata.deletion_grace_period_seconds == 5
    longer = core.delete_namespaced_pod("p", namespace, body={"gracePeriodSeconds": 60})
    assert longer.metadata.deletion_grace_period_seconds == 5
    core.delete_namespaced_pod("p", namespace, grace_period_seconds=0)
    assert _gone(lambda: core.read_namespaced_pod("p", namespace))


def test_a_finished_pod_is_deleted_at_once_even_on_a_node(core, namespace, parked_pod):
    core.create_namespaced_pod(namespace, parked_pod("p"))
    _bind(core, namespace, name="p")
    core.patch_namespaced_pod_status("p", namespace, {"status": {"phase": "Succeeded"}})
    core.delete_namespaced_pod("p", namespace)
    assert _gone(lambda: core.read_namespaced_pod("p", namespace))


def test_precondition_on_uid_protects_a_recreated_object(core, namespace):
    old = core.create_namespaced_secret(namespace, {"metadata": {"name": "s"}})
    core.delete_namespaced_secret("s", namespace)
    core.create_namespaced_secret(namespace, {"metadata": {"name": "s"}})
    with pytest.raises(ApiException) as error:
        core.delete_namespaced_secret("s", namespace, body={"preconditions": {"uid": old.metadata.uid}})
    assert error.value.status == 409


def test_dependents_go_with_their_owner(core, namespace, parked_pod, wait_for):
    owner = core.create_namespaced_secret(namespace, {"metadata": {"name": "owner"}})
    for name in ("dep-1", "dep-2"):
        pod = parked_pod(name)
        pod["metadata"]["ownerReferences"] = [_owner_ref(owner)]
        core.create_namespaced_pod(namespace, pod)
    core.create_namespaced_pod(namespace, parked_pod("unrelated"))
    core.delete_namespaced_secret("owner", namespace)
    wait_for(lambda: [p.metadata.name for p in core.list_namespaced_pod(namespace).items] == ["unrelated"],
             what="dependents to be collected")


def test_a_dependent_of_a_missing_owner_is_collected(core, namespace, wait_for):
    core.create_namespaced_secret(namespace, {"metadata": {"name": "orphaned", "ownerReferences": [
        {"apiVersion": "v1", "kind": "Secret", "name": "never-existed", "uid": "0000-missing"}]}})
    wait_for(lambda: _gone(lambda: core.read_namespaced_secret("orphaned", namespace)),
             what="a dependent without owner to be collected")


def test_a_surviving_owner_keeps_its_dependent(core, namespace, wait_for):
    first = core.create_namespaced_secret(namespace, {"metadata": {"name": "first"}})
    second = core.create_namespaced_secret(namespace, {"metadata": {"name": "second"}})
    core.create_namespaced_secret(namespace, {"metadata": {"name": "shared", "ownerReferences": [
        _owner_ref(first), _owner_ref(second)]}})
    core.delete_namespaced_secret("first", namespace)
    refs = wait_for(lambda: len(core.read_namespaced_secret("shared", namespace).metadata.owner_references) == 1
                    and core.read_namespaced_secret("shared", namespace).metadata.owner_references)
    assert [r.name for r in refs] == ["second"]


def test_foreground_deletion_waits_for_blocking_dependents(core, namespace, wait_for):
    owner = core.create_namespaced_secret(namespace, {"metadata": {"name": "owner"}})
    core.create_namespaced_secret(namespace, {"metadata": {
        "name": "child", "ownerReferences": [_owner_ref(owner, block=True)]}})
    marked = core.delete_namespaced_secret("owner", namespace, propagation_policy="Foreground")
    assert marked["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert marked["metadata"]["deletionTimestamp"]
    wait_for(lambda: _gone(lambda: core.read_namespaced_secret("owner", namespace)), what="the owner to go")
    assert _gone(lambda: core.read_namespaced_secret("child", namespace))


def test_orphan_deletion_keeps_dependents_and_drops_their_references(core, namespace, wait_for):
    owner = core.create_namespaced_secret(namespace, {"metadata": {"name": "owner"}})
    core.create_namespaced_secret(namespace, {"metadata": {"name": "child", "ownerReferences": [_owner_ref(owner)]}})
    core.delete_namespaced_secret("owner", namespace, propagation_policy="Orphan")
    wait_for(lambda: _gone(lambda: core.read_namespaced_secret("owner", namespace)), what="the owner to go")
    assert core.read_namespaced_secret("child", namespace).metadata.owner_references is None


def test_unknown_propagation_policy_is_invalid(core, namespace):
    core.create_namespaced_secret(namespace, {"metadata": {"name": "s"}})
    with pytest.raises(ApiException) as error:
        core.delete_namespaced_secret("s", namespace, propagation_policy="Sideways")
    assert error.value.status == 422


def test_delete_collection_removes_only_matching_objects(core, namespace, parked_pod):
    for name, role in (("a", "build"), ("b", "build"), ("c", "service")):
        core.create_namespaced_pod(namespace, parked_pod(name, labels={"role": role}))
        core.create_namespaced_secret(namespace, {"metadata": {"name": name, "labels": {"role": role}}})
    core.delete_collection_namespaced_pod(namespace, label_selector="role=build")
    core.delete_collection_namespaced_secret(namespace, field_selector="metadata.name=c")
    assert [p.metadata.name for p in core.list_namespaced_pod(namespace).items] == ["c"]
    assert [s.metadata.name for s in core.list_namespaced_secret(namespace).items] == ["a", "b"]


def test_deleting_a_namespace_empties_and_removes_it(core, namespace, parked_pod, wait_for, status_of):
    core.create_namespaced_pod(namespace, parked_pod("p"))
    core.create_namespaced_secret(namespace, {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}})
    marked = core.delete_namespace(namespace)
    assert marked["status"]["phase"] == "Terminating"
    assert core.read_namespace(namespace).status.phase == "Terminating"
    with pytest.raises(ApiException) as error:
        core.create_namespaced_secret(namespace, {"metadata": {"name": "late"}})
    assert error.value.status == 403
    assert "because it is being terminated" in status_of(error.value)["message"]
    wait_for(lambda: _gone(lambda: core.read_namespaced_pod("p", namespace)), what="the pod to go")
    core.patch_namespaced_secret("held", namespace, {"metadata": {"finalizers": None}},
                                 _content_type="application/merge-patch+json")
    wait_for(lambda: _gone(lambda: core.read_namespace(namespace)), what="the namespace to go")


def test_the_default_namespace_cannot_be_deleted(core):
    with pytest.raises(ApiException) as error:
        core.delete_namespace("default")
    assert error.value.status == 403
