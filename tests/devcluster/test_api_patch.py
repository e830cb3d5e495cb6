"""PATCH in its three JSON flavours, as the official client sends them."""

from __future__ import annotations

import pytest
from kubernetes.client import ApiException

MERGE = "application/merge-patch+json"


def test_strategic_merge_patch_merges_containers_by_name(core, namespace, parked_pod):
    core.create_namespaced_pod(namespace, parked_pod("two", containers=["app", "sidecar"]))
    patched = core.patch_namespaced_pod("two", namespace, {
        "spec": {"containers": [{"name": "sidecar", "image": "busybox:1.37"}]}})
    images = {c.name: c.image for c in patched.spec.containers}
    assert images == {"app": "busybox:1.36", "sidecar": "busybox:1.37"}


def test_strategic_merge_patch_adds_labels_and_null_removes_one(core, namespace):
    core.create_namespaced_secret(namespace, {"metadata": {"name": "s", "labels": {"keep": "1", "drop": "1"}}})
    patched = core.patch_namespaced_secret("s", namespace, {"metadata": {"labels": {"drop": None, "new": "2"}}})
    assert patched.metadata.labels == {"keep": "1", "new": "2"}


def test_strategic_merge_patch_unions_finalizers_and_merge_patch_replaces_them(core, namespace):
    core.create_namespaced_secret(namespace, {"metadata": {"name": "s", "finalizers": ["example.com/a"]}})
    unioned = core.patch_namespaced_secret("s", namespace, {"metadata": {"finalizers": ["example.com/b"]}})
    assert unioned.metadata.finalizers == ["example.com/a", "example.com/b"]
    replaced = core.patch_namespaced_secret("s", namespace, {"metadata": {"finalizers": ["example.com/c"]}},
                                            _content_type=MERGE)
    assert replaced.metadata.finalizers == ["example.com/c"]
    emptied = core.patch_namespaced_secret("s", namespace, {"metadata": {"finalizers": None}}, _content_type=MERGE)
    assert emptied.metadata.finalizers is None


def test_strategic_delete_from_primitive_list_directive(core, namespace):
    core.create_namespaced_secret(namespace, {"metadata": {"name": "s", "finalizers": ["example.com/a",
                                                                                         "example.com/b"]}})
    patched = core.patch_namespaced_secret("s", namespace, {
        "metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/a"]}})
    assert patched.metadata.finalizers == ["example.com/b"]


def test_json_patch_operations_apply_in_order(core, namespace):
    core.create_namespaced_secret(namespace, {"metadata": {"name": "s", "labels": {"a": "1"}}})
    patched = core.patch_namespaced_secret("s", namespace, [
        {"op": "test", "path": "/metadata/labels/a", "value": "1"},
        {"op": "add", "path": "/metadata/labels/b~1c", "value": "2"},
        {"op": "remove", "path": "/metadata/labels/a"},
    ])
    assert patched.metadata.labels == {"b/c": "2"}


def test_failed_json_patch_test_changes_nothing(core, namespace):
    created = core.create_namespaced_secret(namespace, {"metadata": {"name": "s", "labels": {"a": "1"}}})
    with pytest.raises(ApiException) as error:
        core.patch_namespaced_secret("s", namespace, [
            {"op": "replace", "path": "/metadata/labels/a", "value": "2"},
            {"op": "test", "path": "/metadata/labels/a", "value": "3"},
        ])
    assert error.value.status == 422
    assert core.read_namespaced_secret("s", namespace).metadata.resource_version == created.metadata.resource_version


def test_patch_with_a_stale_resource_version_conflicts(core, namespace):
    created = core.create_namespaced_secret(namespace, {"metadata": {"name": "s"}})
    core.patch_namespaced_secret("s", namespace, {"metadata": {"labels": {"a": "1"}}})
    with pytest.raises(ApiException) as error:
        core.patch_namespaced_secret("s", namespace, {"metadata": {
            "resourceVersion": created.metadata.resource_version, "labels": {"a": "2"}}})
    assert error.value.status == 409


def test_patching_a_missing_object_is_404(core, namespace):
    with pytest.raises(ApiException) as error:
        core.patch_namespaced_secret("absent", namespace, {"metadata": {"labels": {"a": "1"}}})
    assert error.value.status == 404


def test_unknown_patch_media_type_is_415(raw, core, namespace):
    core.create_namespaced_secret(namespace, {"metadata": {"name": "s"}})
    code, _, body = raw("PATCH", f"/api/v1/namespaces/{namespace}/secrets/s", body="<metadata/>",
                        content_type="application/xml")
    assert code == 415
    assert body["reason"] == "UnsupportedMediaType"
