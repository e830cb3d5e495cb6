"""Bodies checked against the official schema: 422 with causes, unknown fields pruned or refused, 400 on types."""

from __future__ import annotations

import pytest
from kubernetes.client import ApiException


def _pod(namespace: str, **spec_extra):
    container = {"name": "main", "image": "busybox:1.36"}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": namespace},
            "spec": {"schedulerName": "parked-scheduler", "containers": [container], **spec_extra}}


def test_missing_required_field_is_422_with_its_path(raw, namespace):
    body = _pod(namespace)
    del body["spec"]["containers"][0]["name"]
    code, _, status = raw("POST", f"/api/v1/namespaces/{namespace}/pods", body=body)
    assert (code, status["reason"]) == (422, "Invalid")
    assert status["details"]["causes"] == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.containers[0].name"}]
    assert status["message"] == 'Pod "p" is invalid: spec.containers[0].name: Required value'


def test_every_broken_rule_is_listed(core, namespace, status_of):
    pod = {"metadata": {"name": "p"}, "spec": {"restartPolicy": "Sometimes", "containers": [
        {"name": "main", "image": "busybox", "imagePullPolicy": "Often"}, {"name": "main", "image": "busybox"}]}}
    with pytest.raises(ApiException) as error:
        core.create_namespaced_pod(namespace, pod)
    causes = {(c["field"], c["reason"]) for c in status_of(error.value)["details"]["causes"]}
    assert causes == {("spec.restartPolicy", "FieldValueNotSupported"),
                      ("spec.containers[0].imagePullPolicy", "FieldValueNotSupported"),
                      ("spec.containers[1].name", "FieldValueDuplicate")}
    assert status_of(error.value)["message"].startswith('Pod "p" is invalid: [')


def test_a_container_needs_an_image(core, namespace, status_of):
    with pytest.raises(ApiException) as error:
        core.create_namespaced_pod(namespace, {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}})
    assert status_of(error.value)["details"]["causes"][0]["field"] == "spec.containers[0].image"


def test_volume_mounts_must_name_a_volume(core, namespace, status_of):
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "c", "image": "busybox", "volumeMounts": [{"name": "workspace", "mountPath": "/w"}]}]}}
    with pytest.raises(ApiException) as error:
        core.create_namespaced_pod(namespace, pod)
    cause = status_of(error.value)["details"]["causes"][0]
    assert (cause["field"], cause["reason"]) == ("spec.containers[0].volumeMounts[0].name", "FieldValueNotFound")


def test_unknown_fields_are_dropped_with_a_warning(raw, core, namespace):
    body = _pod(namespace, colour="blue")
    body["metadata"]["nickname"] = "x"
    code, headers, created = raw("POST", f"/api/v1/namespaces/{namespace}/pods", body=body)
    assert code == 201
    assert "colour" not in created["spec"] and "nickname" not in created["metadata"]
    assert 'unknown field \\"spec.colour\\"' in headers["Warning"]
    assert 'unknown field \\"metadata.nickname\\"' in headers["Warning"]
    assert core.read_namespaced_pod("p", namespace).spec.scheduler_name == "parked-scheduler"


def test_strict_field_validation_refuses_unknown_fields(raw, namespace):
    code, _, status = raw("POST", f"/api/v1/namespaces/{namespace}/pods", body=_pod(namespace, colour="blue"),
                          query={"fieldValidation": "Strict"})
    assert (code, status["reason"]) == (400, "BadRequest")
    assert status["message"] == ('Pod in version "v1" cannot be handled as a Pod: strict decoding error: '
                                 'unknown field "spec.colour"')


def test_ignore_field_validation_drops_silently(raw, namespace):
    code, headers, _ = raw("POST", f"/api/v1/namespaces/{namespace}/pods", body=_pod(namespace, colour="blue"),
                           query={"fieldValidation": "Ignore"})
    assert code == 201 and "Warning" not in headers


def test_a_value_of_the_wrong_type_cannot_be_decoded(raw, namespace):
    code, _, status = raw("POST", f"/api/v1/namespaces/{namespace}/pods", body=_pod(namespace, containers="busybox"))
    assert (code, status["reason"]) == (400, "BadRequest")
    assert status["message"].startswith('Pod in version "v1" cannot be handled as a Pod')


def test_a_body_of_another_kind_is_refused(raw, namespace):
    code, _, status = raw("POST", f"/api/v1/namespaces/{namespace}/secrets", body=_pod(namespace))
    assert code == 400
    assert "must be of type Secret" in status["message"]


def test_malformed_json_is_400(raw, namespace):
    code, _, status = raw("POST", f"/api/v1/namespaces/{namespace}/secrets", body='{"metadata": ')
    assert (code, status["reason"]) == (400, "BadRequest")


@pytest.mark.parametrize(("labels", "detail"), [
    ({"app": "has space"}, "a valid label must be an empty string or consist of alphanumeric characters"),
    ({"-bad-key": "x"}, "name part must consist of alphanumeric characters"),
    ({"app": "x" * 64}, "must be no more than 63 characters"),
])
def test_labels_are_validated(core, namespace, status_of, labels, detail):
    with pytest.raises(ApiException) as error:
        core.create_namespaced_secret(namespace, {"metadata": {"name": "s", "labels": labels}})
    cause = status_of(error.value)["details"]["causes"][0]
    assert error.value.status == 422 and cause["field"].startswith("metadata.labels")
    assert detail in cause["message"]


def test_namespace_in_body_must_match_the_url(raw, namespace):
    code, _, status = raw("POST", f"/api/v1/namespaces/{namespace}/secrets",
                          body={"metadata": {"name": "s", "namespace": "elsewhere"}})
    assert code == 400
    assert status["message"] == "the namespace of the provided object does not match the namespace sent on the request"
