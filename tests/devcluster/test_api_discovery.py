"""Discovery and kubeconfig: what the official client and kubectl read before any object."""

from __future__ import annotations

import base64
import stat

import kubernetes
import pytest
import yaml


def test_version_looks_like_a_kubernetes_server(api):
    info = kubernetes.client.VersionApi(api).get_code()
    assert info.major == "1"
    assert info.git_version.startswith("v1.")


def test_core_api_lists_only_v1_and_no_groups(api):
    assert kubernetes.client.CoreApi(api).get_api_versions().versions == ["v1"]
    assert kubernetes.client.ApisApi(api).get_api_versions().groups == []


def test_resource_list_names_every_served_resource_with_scope_and_verbs(core):
    resources = {r.name: r for r in core.get_api_resources().resources}
    for name in ("namespaces", "pods", "pods/status", "pods/log", "secrets", "configmaps",
                 "persistentvolumeclaims", "services", "nodes", "nodes/status", "events"):
        assert name in resources
    assert resources["pods"].namespaced and not resources["nodes"].namespaced
    assert resources["pods"].kind == "Pod"
    assert {"create", "get", "list", "watch", "update", "patch", "delete", "deletecollection"} <= set(
        resources["pods"].verbs)
    assert "deletecollection" not in resources["namespaces"].verbs
    assert resources["pods/log"].verbs == ["get"]


def test_kubeconfig_is_private_and_points_at_the_server(devcluster):
    path = devcluster.kubeconfig_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = yaml.safe_load(path.read_text())
    assert config["current-context"] == "pipeline-queue-dev"
    cluster = config["clusters"][0]["cluster"]
    assert cluster["server"] == devcluster.url
    assert devcluster.url.startswith("https://127.0.0.1:")
    assert base64.b64decode(cluster["certificate-authority-data"]) == devcluster.certificate_authority
    _, active = kubernetes.config.list_kube_config_contexts(str(path))
    assert active["name"] == "pipeline-queue-dev"


def test_default_namespace_exists_from_the_start(core):
    default = core.read_namespace("default")
    assert default.status.phase == "Active"
    assert default.metadata.labels["kubernetes.io/metadata.name"] == "default"


def test_unknown_resource_path_is_a_404_status(raw):
    code, _, body = raw("GET", "/api/v1/namespaces/default/widgets")
    assert code == 404
    assert body["kind"] == "Status" and body["reason"] == "NotFound"


def test_unsupported_verb_is_405(raw):
    code, _, body = raw("POST", "/api/v1/namespaces/default/secrets/some-secret", body={"metadata": {"name": "x"}})
    assert code == 405
    assert body["reason"] == "MethodNotAllowed"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/livez"])
def test_health_endpoints_answer_ok(api, path):
    response = api.call_api("GET", api.configuration.host + path)
    assert response.status == 200
    assert response.read() == b"ok"
