"""`kubectl apply`, `explain` and `create` against the development cluster: OpenAPI, patches, protobuf bodies.

kubectl downloads /openapi/v3 to validate (on the server, once the PATCH operation lists fieldValidation), to
compute apply's strategic merge patch and for `explain`; `--output=plaintext-openapiv2` reads /openapi/v2 as
protobuf. `kubectl create secret|configmap|namespace|service` sends protobuf bodies.
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.devcluster.kubectl import needs_kubectl

pytestmark = needs_kubectl
NAMESPACE = "kubectl-apply"


def _pod(name: str, *, label: str = "one", extra: str = "") -> str:
    return f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: {NAMESPACE}
  labels: {{app: {label}}}
spec:
  schedulerName: parked-scheduler
  containers:
  - name: main
    image: busybox:1.36
    command: ["true"]
{extra}"""


@pytest.fixture(scope="module", autouse=True)
def namespace(core):
    core.create_namespace({"metadata": {"name": NAMESPACE}})
    return NAMESPACE


def test_apply_creates_an_object_that_is_not_there(kubectl, core):
    assert kubectl.ok("apply", "-f", "-", stdin=_pod("fresh")) == "pod/fresh created\n"
    annotations = core.read_namespaced_pod("fresh", NAMESPACE).metadata.annotations
    assert "kubectl.kubernetes.io/last-applied-configuration" in annotations


def test_apply_of_the_same_manifest_again_is_unchanged(kubectl):
    kubectl.ok("apply", "-f", "-", stdin=_pod("steady"))
    assert kubectl.ok("apply", "-f", "-", stdin=_pod("steady")) == "pod/steady unchanged\n"


def test_apply_of_a_changed_manifest_sends_a_strategic_merge_patch(kubectl, core):
    kubectl.ok("apply", "-f", "-", stdin=_pod("changing"))
    result = kubectl("apply", "-f", "-", "-v=8", stdin=_pod("changing", label="two"))
    assert (result.code, result.out) == (0, "pod/changing configured\n")
    assert "Content-Type: application/strategic-merge-patch+json" in result.err
    assert core.read_namespaced_pod("changing", NAMESPACE).metadata.labels == {"app": "two"}


def test_apply_validates_on_the_server_and_refuses_an_unknown_field(kubectl):
    result = kubectl("apply", "-f", "-", stdin=_pod("typo", extra="    colour: red\n"))
    assert result.code == 1
    assert 'strict decoding error: unknown field "spec.containers[0].colour"' in result.err
    assert "failed to download openapi" not in result.err


def test_server_side_apply_creates_and_owns_the_fields_it_sets(kubectl, core):
    assert kubectl.ok("apply", "--server-side", "-f", "-", stdin=_pod("owned")) == "pod/owned serverside-applied\n"
    [entry] = core.read_namespaced_pod("owned", NAMESPACE).metadata.managed_fields
    assert (entry.manager, entry.operation) == ("kubectl", "Apply")
    assert "f:app" in entry.fields_v1["f:metadata"]["f:labels"]


def test_server_side_apply_refuses_a_field_another_manager_owns_unless_forced(kubectl, core):
    kubectl.ok("apply", "--server-side", "-f", "-", stdin=_pod("shared"))
    refused = kubectl("apply", "--server-side", "--field-manager", "other", "-f", "-",
                      stdin=_pod("shared", label="two"))
    assert refused.code == 1
    assert 'Apply failed with 1 conflict: conflict with "kubectl" using v1: .metadata.labels.app' in refused.err
    forced = kubectl("apply", "--server-side", "--field-manager", "other", "--force-conflicts", "-f", "-",
                     stdin=_pod("shared", label="two"))
    assert (forced.code, forced.out) == (0, "pod/shared serverside-applied\n")
    assert core.read_namespaced_pod("shared", NAMESPACE).metadata.labels == {"app": "two"}


def test_explain_reads_the_openapi_v3_schema(kubectl):
    out = kubectl.ok("explain", "pod.spec.restartPolicy")
    assert out.splitlines()[:4] == ["KIND:       Pod", "VERSION:    v1", "", "FIELD: restartPolicy <string>"]
    assert "Restart policy for all containers within the pod." in out


def test_explain_from_openapi_v2_reads_the_protobuf_document(kubectl):
    out = kubectl.ok("explain", "services.spec", "--output=plaintext-openapiv2")
    assert out.splitlines()[:2] == ["KIND:     Service", "VERSION:  v1"]
    assert "ports\t<[]Object>" in out and "clusterIP\t<string>" in out


def test_create_secret_generic_sends_protobuf_the_server_decodes(kubectl, core):
    result = kubectl("create", "secret", "generic", "token", "--from-literal=user=ci", "-n", NAMESPACE, "-v=8")
    assert (result.code, result.out) == (0, "secret/token created\n")
    assert "Content-Type: application/vnd.kubernetes.protobuf" in result.err
    secret = core.read_namespaced_secret("token", NAMESPACE)
    assert (secret.type, base64.b64decode(secret.data["user"])) == ("Opaque", b"ci")


def test_create_secret_docker_registry_makes_a_pull_secret(kubectl, core):
    assert kubectl.ok("create", "secret", "docker-registry", "pull", "--docker-server=registry.example.com",
                      "--docker-username=ci", "--docker-password=s3cret", "-n", NAMESPACE) == "secret/pull created\n"
    secret = core.read_namespaced_secret("pull", NAMESPACE)
    config = json.loads(base64.b64decode(secret.data[".dockerconfigjson"]))
    assert (secret.type, config["auths"]["registry.example.com"]["username"]) == (
        "kubernetes.io/dockerconfigjson", "ci")


def test_create_configmap_from_literals(kubectl, core):
    assert kubectl.ok("create", "configmap", "settings", "--from-literal=level=debug", "-n", NAMESPACE) == (
        "configmap/settings created\n")
    assert core.read_namespaced_config_map("settings", NAMESPACE).data == {"level": "debug"}


def test_create_namespace(kubectl, core):
    assert kubectl.ok("create", "namespace", "made-by-kubectl") == "namespace/made-by-kubectl created\n"
    assert core.read_namespace("made-by-kubectl").status.phase == "Active"


def test_create_service_with_a_numeric_target_port(kubectl, core):
    assert kubectl.ok("create", "service", "clusterip", "web", "--tcp=80:8080", "-n", NAMESPACE) == (
        "service/web created\n")
    [port] = core.read_namespaced_service("web", NAMESPACE).spec.ports
    assert (port.port, port.target_port, port.protocol) == (80, 8080, "TCP")
