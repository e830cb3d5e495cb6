"""Pod rules of the real server: the few mutable spec fields, status through its subresource, binding."""

from __future__ import annotations

import pytest
from kubernetes.client import ApiException

FORBIDDEN = "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`"


def test_container_image_may_change_and_bumps_generation(core, namespace, parked_pod):
    core.create_namespaced_pod(namespace, parked_pod("p"))
    patched = core.patch_namespaced_pod("p", namespace, {"spec": {"containers": [{"name": "main",
                                                                                 "image": "busybox:1.37"}]}})
    assert patched.spec.containers[0].image == "busybox:1.37"
    assert patched.metadata.generation == 2


@pytest.mark.parametrize("change", [
    {"spec": {"restartPolicy": "Never"}},
    {"spec": {"containers": [{"name": "main", "command": ["false"]}]}},
    {"spec": {"nodeSelector": {"disk": "ssd"}}},
])
def test_other_spec_changes_are_forbidden(core, namespace, parked_pod, status_of, change):
    core.create_namespaced_pod(namespace, parked_pod("p"))
    with pytest.raises(ApiException) as error:
        core.patch_namespaced_pod("p", namespace, change)
    status = status_of(error.value)
    assert error.value.status == 422 and status["reason"] == "Invalid"
    assert status["message"].startswith(f'Pod "p" is invalid: {FORBIDDEN}')


def test_host_aliases_need_an_ip_and_dns_names(core, namespace, parked_pod, status_of):
    manifest = parked_pod("aliased")
    manifest["spec"]["hostAliases"] = [{"ip": "127.10.0.5", "hostnames": ["redis", "cache.local"]}]
    assert core.create_namespaced_pod(namespace, manifest).spec.host_aliases[0].hostnames == ["redis", "cache.local"]
    manifest = parked_pod("bad")
    manifest["spec"]["hostAliases"] = [{"ip": "not-an-ip", "hostnames": ["Redis", "a\n127.0.0.1 evil"]}]
    with pytest.raises(ApiException) as error:
        core.create_namespaced_pod(namespace, manifest)
    causes = status_of(error.value)["details"]["causes"]
    assert error.value.status == 422
    assert [cause["field"] for cause in causes] == [
        "spec.hostAliases[0].ip", "spec.hostAliases[0].hostnames[0]", "spec.hostAliases[0].hostnames[1]"]
    assert causes[0]["message"] == ('Invalid value: "not-an-ip": must be a valid IP address, '
                                    "(e.g. 10.9.8.7 or 2001:db8::ffff)")


def test_active_deadline_may_be_set_and_lowered_but_not_raised(core, namespace, parked_pod, status_of):
    core.create_namespaced_pod(namespace, parked_pod("p"))
    assert core.patch_namespaced_pod("p", namespace, {"spec": {"activeDeadlineSeconds": 600}}) \
        .spec.active_deadline_seconds == 600
    assert core.patch_namespaced_pod("p", namespace, {"spec": {"activeDeadlineSeconds": 300}}) \
        .spec.active_deadline_seconds == 300
    with pytest.raises(ApiException) as error:
        core.patch_namespaced_pod("p", namespace, {"spec": {"activeDeadlineSeconds": 900}})
    assert "must be less than or equal to previous value" in status_of(error.value)["message"]


def test_tolerations_may_only_be_added(core, namespace, parked_pod):
    core.create_namespaced_pod(namespace, parked_pod("p"))
    current = core.read_namespaced_pod("p", namespace).to_dict(serialize=True)["spec"]["tolerations"]
    extra = {"key": "dedicated", "operator": "Equal", "value": "ci", "effect": "NoSchedule"}
    added = core.patch_namespaced_pod("p", namespace, {"spec": {"tolerations": [*current, extra]}})
    assert "dedicated" in [t.key for t in added.spec.tolerations]
    with pytest.raises(ApiException) as error:
        core.patch_namespaced_pod("p", namespace, {"spec": {"tolerations": current}})
    assert error.value.status == 422


def test_main_resource_writes_ignore_status(core, namespace, parked_pod):
    core.create_namespaced_pod(namespace, parked_pod("p"))
    pod = core.read_namespaced_pod("p", namespace)
    pod.status.phase = "Running"
    pod.metadata.labels = {"seen": "yes"}
    updated = core.replace_namespaced_pod("p", namespace, pod)
    assert updated.status.phase == "Pending" and updated.metadata.labels == {"seen": "yes"}


def test_status_subresource_changes_only_status(core, namespace, parked_pod):
    core.create_namespaced_pod(namespace, parked_pod("p"))
    patched = core.patch_namespaced_pod_status("p", namespace, {
        "metadata": {"labels": {"ignored": "yes"}},
        "spec": {"restartPolicy": "Never"},
        "status": {"phase": "Running", "podIP": "10.244.0.7"}})
    assert patched.status.phase == "Running" and patched.status.pod_ip == "10.244.0.7"
    assert patched.metadata.labels in (None, {}) and patched.spec.restart_policy == "Always"
    assert core.read_namespaced_pod_status("p", namespace).status.phase == "Running"


def test_binding_places_a_pod_once(core, namespace, parked_pod, status_of):
    core.create_namespaced_pod(namespace, parked_pod("p"))
    # The real server answers a binding with a Status, which the client cannot read as a V1Binding:
    # callers take the raw response, as they must against any cluster.
    response = core.create_namespaced_pod_binding("p", namespace, {
        "metadata": {"name": "p"}, "target": {"kind": "Node", "name": "ghost-node"}}, _preload_content=False)
    assert response.status == 201
    pod = core.read_namespaced_pod("p", namespace)
    assert pod.spec.node_name == "ghost-node"
    assert [(c.type, c.status) for c in pod.status.conditions] == [("PodScheduled", "True")]
    with pytest.raises(ApiException) as error:
        core.create_namespaced_pod_binding("p", namespace, {
            "metadata": {"name": "p"}, "target": {"kind": "Node", "name": "other-node"}})
    assert error.value.status == 409
    assert "is already assigned to node" in status_of(error.value)["message"]


def test_immutable_secret_refuses_new_data(core, namespace, status_of):
    core.create_namespaced_secret(namespace, {"metadata": {"name": "s"}, "stringData": {"k": "v"},
                                              "immutable": True})
    with pytest.raises(ApiException) as error:
        core.patch_namespaced_secret("s", namespace, {"stringData": {"k": "changed"}})
    assert error.value.status == 422
    assert "field is immutable when `immutable` is set" in status_of(error.value)["message"]
    relabeled = core.patch_namespaced_secret("s", namespace, {"metadata": {"labels": {"ok": "yes"}}})
    assert relabeled.metadata.labels == {"ok": "yes"}


def test_string_data_is_stored_base64_encoded(core, namespace):
    secret = core.create_namespaced_secret(namespace, {"metadata": {"name": "s"}, "stringData": {"user": "ci"}})
    assert secret.data == {"user": "Y2k="} and secret.string_data is None
    assert secret.type == "Opaque"


def test_docker_config_secret_must_hold_json_and_never_echoes_it(core, namespace, status_of):
    with pytest.raises(ApiException) as error:
        core.create_namespaced_secret(namespace, {
            "metadata": {"name": "pull"}, "type": "kubernetes.io/dockerconfigjson",
            "stringData": {".dockerconfigjson": "hunter2-not-json"}})
    status = status_of(error.value)
    assert error.value.status == 422
    assert status["details"]["causes"][0]["field"] == "data[.dockerconfigjson]"
    assert "hunter2" not in error.value.body and "<secret contents redacted>" in status["message"]
