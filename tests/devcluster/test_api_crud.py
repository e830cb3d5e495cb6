"""Create, read, update and delete for every served resource, with the real server's metadata rules."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from kubernetes.client import ApiException

RFC3339_Z = "%Y-%m-%dT%H:%M:%SZ"
STALE = ("the object has been modified; please apply your changes to the latest version and try again")


def test_pod_round_trip_gets_system_metadata_and_defaults(core, namespace, parked_pod):
    created = core.create_namespaced_pod(namespace, parked_pod("web", labels={"app": "web"}))
    meta = created.metadata
    assert meta.uid and meta.namespace == namespace and meta.generation == 1
    assert int(meta.resource_version) > 0
    assert created.status.phase == "Pending"
    assert created.spec.restart_policy == "Always" and created.spec.termination_grace_period_seconds == 30
    fetched = core.read_namespaced_pod("web", namespace)
    assert fetched.metadata.uid == meta.uid
    assert [p.metadata.name for p in core.list_namespaced_pod(namespace).items] == ["web"]
    core.delete_namespaced_pod("web", namespace)
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod("web", namespace)
    assert missing.value.status == 404


def test_creation_timestamp_is_rfc3339_utc(core, namespace, raw):
    core.create_namespaced_secret(namespace, {"metadata": {"name": "stamp"}})
    _, _, body = raw("GET", f"/api/v1/namespaces/{namespace}/secrets/stamp")
    datetime.strptime(body["metadata"]["creationTimestamp"], RFC3339_Z)


@pytest.mark.parametrize(("image", "policy"), [
    ("busybox", "Always"),
    ("busybox:latest", "Always"),
    ("busybox:1.36", "IfNotPresent"),
    ("busybox@sha256:" + "a" * 64, "IfNotPresent"),
])
def test_image_pull_policy_defaults_like_the_real_server(core, namespace, parked_pod, image, policy):
    pod = core.create_namespaced_pod(namespace, parked_pod("p", image=image))
    assert pod.spec.containers[0].image_pull_policy == policy


def test_generate_name_appends_five_random_characters(core, namespace):
    first = core.create_namespaced_secret(namespace, {"metadata": {"generateName": "token-"}})
    second = core.create_namespaced_secret(namespace, {"metadata": {"generateName": "token-"}})
    for secret in (first, second):
        assert re.fullmatch(r"token-[bcdfghjklmnpqrstvwxz2456789]{5}", secret.metadata.name)
        assert secret.metadata.generate_name == "token-"
    assert first.metadata.name != second.metadata.name


def test_an_object_needs_a_name_or_generate_name(core, namespace, status_of):
    with pytest.raises(ApiException) as error:
        core.create_namespaced_secret(namespace, {"metadata": {}})
    assert error.value.status == 422
    assert status_of(error.value)["message"] == (
        'Secret "" is invalid: metadata.name: Required value: name or generateName is required')


def test_creating_an_existing_name_is_409_already_exists(core, namespace, status_of):
    core.create_namespaced_secret(namespace, {"metadata": {"name": "twice"}})
    with pytest.raises(ApiException) as error:
        core.create_namespaced_secret(namespace, {"metadata": {"name": "twice"}})
    status = status_of(error.value)
    assert (error.value.status, status["reason"]) == (409, "AlreadyExists")
    assert status["message"] == 'secrets "twice" already exists'


def test_creating_in_a_missing_namespace_is_404(core, parked_pod, status_of):
    with pytest.raises(ApiException) as error:
        core.create_namespaced_pod("no-such-namespace", parked_pod("p"))
    assert error.value.status == 404
    assert status_of(error.value)["message"] == 'namespaces "no-such-namespace" not found'


def test_reading_a_missing_object_is_404_not_found(core, namespace, status_of):
    with pytest.raises(ApiException) as error:
        core.read_namespaced_service("absent", namespace)
    status = status_of(error.value)
    assert (status["code"], status["reason"], status["message"]) == (404, "NotFound", 'services "absent" not found')
    assert status["details"] == {"name": "absent", "kind": "services"}


@pytest.mark.parametrize(("create", "name", "rule"), [
    ("pod", "Bad_Name", "a lowercase RFC 1123 subdomain"),
    ("secret", "-leading-dash", "a lowercase RFC 1123 subdomain"),
    ("service", "1st-service", "a DNS-1035 label"),
    ("namespace", "dotted.name", "a lowercase RFC 1123 label"),
])
def test_names_follow_each_resource_rule(core, namespace, parked_pod, status_of, create, name, rule):
    calls = {
        "pod": lambda: core.create_namespaced_pod(namespace, parked_pod(name)),
        "secret": lambda: core.create_namespaced_secret(namespace, {"metadata": {"name": name}}),
        "service": lambda: core.create_namespaced_service(namespace, {
            "metadata": {"name": name}, "spec": {"ports": [{"port": 80}]}}),
        "namespace": lambda: core.create_namespace({"metadata": {"name": name}}),
    }
    with pytest.raises(ApiException) as error:
        calls[create]()
    status = status_of(error.value)
    assert error.value.status == 422 and status["reason"] == "Invalid"
    cause = status["details"]["causes"][0]
    assert cause["field"] == "metadata.name" and cause["reason"] == "FieldValueInvalid"
    assert rule in cause["message"]


def test_a_dotted_pod_name_is_a_valid_subdomain(core, namespace, parked_pod):
    assert core.create_namespaced_pod(namespace, parked_pod("web.v2")).metadata.name == "web.v2"


def test_resource_versions_grow_across_resources(core, namespace):
    secret = core.create_namespaced_secret(namespace, {"metadata": {"name": "a"}})
    service = core.create_namespaced_service(namespace, {"metadata": {"name": "b"}, "spec": {"ports": [{"port": 80}]}})
    updated = core.patch_namespaced_secret("a", namespace, {"metadata": {"labels": {"x": "y"}}})
    versions = [int(o.metadata.resource_version) for o in (secret, service, updated)]
    assert versions == sorted(versions) and len(set(versions)) == 3


def test_update_with_a_stale_resource_version_is_409_conflict(core, namespace, status_of):
    original = core.create_namespaced_secret(namespace, {"metadata": {"name": "cfg"}, "stringData": {"a": "1"}})
    original.metadata.labels = {"round": "one"}
    core.replace_namespaced_secret("cfg", namespace, original)
    original.metadata.labels = {"round": "two"}
    with pytest.raises(ApiException) as error:
        core.replace_namespaced_secret("cfg", namespace, original)
    status = status_of(error.value)
    assert (error.value.status, status["reason"]) == (409, "Conflict")
    assert status["message"] == f'Operation cannot be fulfilled on secrets "cfg": {STALE}'
    assert core.read_namespaced_secret("cfg", namespace).metadata.labels == {"round": "one"}


def test_update_without_resource_version_is_unconditional(core, namespace):
    core.create_namespaced_secret(namespace, {"metadata": {"name": "cfg"}})
    updated = core.replace_namespaced_secret("cfg", namespace, {"metadata": {"name": "cfg", "labels": {"v": "2"}}})
    assert updated.metadata.labels == {"v": "2"}


def test_an_update_that_changes_nothing_keeps_the_resource_version(core, namespace):
    created = core.create_namespaced_secret(namespace, {"metadata": {"name": "same"}, "stringData": {"k": "v"}})
    again = core.replace_namespaced_secret("same", namespace, created)
    assert again.metadata.resource_version == created.metadata.resource_version


def test_update_must_name_the_object_of_the_url(core, namespace, status_of):
    core.create_namespaced_secret(namespace, {"metadata": {"name": "left"}})
    with pytest.raises(ApiException) as error:
        core.replace_namespaced_secret("left", namespace, {"metadata": {"name": "right"}})
    assert error.value.status == 400
    assert "does not match the name on the URL" in status_of(error.value)["message"]


def test_service_gets_a_cluster_ip_that_survives_updates(core, namespace):
    created = core.create_namespaced_service(namespace, {
        "metadata": {"name": "db"}, "spec": {"selector": {"app": "db"}, "ports": [{"port": 5432}]}})
    assert re.fullmatch(r"10\.96\.\d+\.\d+", created.spec.cluster_ip)
    assert created.spec.ports[0].target_port == 5432 and created.spec.ports[0].protocol == "TCP"
    replaced = core.replace_namespaced_service("db", namespace, {
        "metadata": {"name": "db"}, "spec": {"selector": {"app": "db2"}, "ports": [{"port": 5432}]}})
    assert replaced.spec.cluster_ip == created.spec.cluster_ip and replaced.spec.selector == {"app": "db2"}


def test_service_needs_ports(core, namespace, status_of):
    with pytest.raises(ApiException) as error:
        core.create_namespaced_service(namespace, {"metadata": {"name": "empty"}, "spec": {}})
    assert error.value.status == 422
    assert status_of(error.value)["details"]["causes"][0]["field"] == "spec.ports"


def test_claim_is_bound_at_once_and_needs_a_size(core, namespace, status_of):
    claim = core.create_namespaced_persistent_volume_claim(namespace, {
        "metadata": {"name": "workspace"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    assert claim.status.phase == "Bound" and claim.status.capacity == {"storage": "1Gi"}
    assert claim.spec.volume_name == f"pvc-{claim.metadata.uid}"
    with pytest.raises(ApiException) as error:
        core.create_namespaced_persistent_volume_claim(namespace, {
            "metadata": {"name": "sizeless"}, "spec": {"accessModes": ["ReadWriteOnce"]}})
    assert error.value.status == 422
    assert status_of(error.value)["details"]["causes"][0]["field"] == "spec.resources[storage]"


def test_node_lifecycle_with_status_subresource(core):
    core.create_node({"metadata": {"name": "ghost-node", "labels": {"pool": "test"}}})
    try:
        status = {"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Testing"}]}}
        patched = core.patch_node_status("ghost-node", status)
        assert patched.status.conditions[0].reason == "Testing"
        assert "ghost-node" in [n.metadata.name for n in core.list_node(label_selector="pool=test").items]
    finally:
        core.delete_node("ghost-node")
    assert "ghost-node" not in [n.metadata.name for n in core.list_node().items]


def test_events_are_listed_by_involved_object(core, namespace):
    for target in ("alpha", "beta"):
        core.create_namespaced_event(namespace, {
            "metadata": {"name": f"{target}.17a8b2c3d4e5f601"},
            "involvedObject": {"kind": "Pod", "name": target, "namespace": namespace},
            "reason": "Testing", "message": f"about {target}", "type": "Normal"})
    events = core.list_namespaced_event(namespace, field_selector="involvedObject.name=beta,involvedObject.kind=Pod")
    assert [e.message for e in events.items] == ["about beta"]
