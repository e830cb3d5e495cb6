"""k8s/: both overlays render with the real `kubectl kustomize`, every object validates strictly against the
official schema (kubernetes-validate) or, for KEDA's kinds, against KEDA's own CRDs, and what an operator
reviews holds in the rendered output: hardened pods, probes, budgets, network policies, least-privilege RBAC
and KEDA triggers on the queues' real Redis list names."""

from __future__ import annotations

import copy
import re
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from pipeline_queue.broker import queue_lists
from pipeline_queue.settings import Settings
from tests.deploy import crds
from tests.deploy.manifests import OVERLAYS, app_deployments, container, named, of_kind, pod_specs, rendered
from tests.deploy.rbac import Authorizer, grants
from workers.app import celery_config

KUBERNETES_VERSION = "1.32.0"
"""The schema version objects are checked against: the kubectl on the machine (v1.32) and a supported cluster."""

POOLS = ("control", "default", "cache")
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "*"}

CODE_CALLS: dict[str, set[tuple[str, str, str]]] = {
    # pipeline_queue/kube/stage.py and reconcile/: a stage's claim, Secrets, pods and Services; reading one back when
    # its create finds that name taken; the stage's pods when the watcher has not recorded them; logs; the claim's
    # delete, which takes everything it owns.
    "pq-worker-control": {
        ("pq-builds", "pods", "create"), ("pq-builds", "pods", "get"), ("pq-builds", "pods", "list"),
        ("pq-builds", "pods/log", "get"),
        ("pq-builds", "secrets", "create"), ("pq-builds", "secrets", "get"),
        ("pq-builds", "services", "create"), ("pq-builds", "services", "get"),
        ("pq-builds", "persistentvolumeclaims", "create"), ("pq-builds", "persistentvolumeclaims", "get"),
        ("pq-builds", "persistentvolumeclaims", "delete"),
    },
    # pipeline_queue/watcher/adapter.py and cache/node_watch.py through kube/watching.py: pods in every namespace,
    # and nodes, each one list and then a watch.
    "pq-watch": {("", "pods", "list"), ("", "pods", "watch"), ("", "nodes", "list"), ("", "nodes", "watch")},
    # pipeline_queue/cache/index.py through Kube.list_nodes (beat's sweep).
    "pq-worker-cache": {("", "nodes", "list")},
    # The resync, beat and serve (/readyz asks /version, open to all) call no resource at all.
    "pq-worker-default": set(),
    "pq-beat": set(),
    "pq-serve": set(),
}
"""Every (namespace or "" for cluster-wide, resource, verb) each component's code calls; tests/deploy/
test_topology.py checks it against the requests a real build makes."""


@pytest.fixture(params=OVERLAYS)
def objects(request: pytest.FixtureRequest) -> tuple[dict[str, Any], ...]:
    return rendered(request.param)


def _validate(obj: dict[str, Any]) -> None:
    if crds.has_schema(obj):
        crds.validate(obj)
    else:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_every_rendered_object_validates_strictly(objects: tuple[dict[str, Any], ...]) -> None:
    problems = []
    for obj in objects:
        try:
            _validate(obj)
        except (kubernetes_validate.ValidationError, jsonschema.ValidationError) as error:
            problems.append(f"{obj['kind']} {obj['metadata']['name']}: {error.message} at {list(error.path)}")
    assert problems == []


def test_the_validators_refuse_a_misspelt_field() -> None:
    """The check above would prove nothing with a lenient validator: a typo must fail in both."""
    deployment = copy.deepcopy(named(rendered("production"), "Deployment", "pq-serve"))
    deployment["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(deployment)
    scaled = copy.deepcopy(named(rendered("production"), "ScaledObject", "pq-worker-control"))
    scaled["spec"]["minReplicas"] = 1
    with pytest.raises(jsonschema.ValidationError):
        _validate(scaled)


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return list(spec.get("initContainers") or []) + list(spec["containers"])


def test_every_container_runs_non_root_read_only_without_capabilities_and_with_limits(
        objects: tuple[dict[str, Any], ...]) -> None:
    for name, spec in pod_specs(objects):
        pod = spec.get("securityContext") or {}
        assert pod.get("runAsNonRoot") is True and pod.get("runAsUser", 0) >= 10000, name
        assert pod.get("seccompProfile") == {"type": "RuntimeDefault"}, name
        for each in _containers(spec):
            where = f"{name}/{each['name']}"
            context = each.get("securityContext") or {}
            assert context.get("readOnlyRootFilesystem") is True, where
            assert context.get("allowPrivilegeEscalation") is False, where
            assert context.get("capabilities") == {"drop": ["ALL"]}, where
            resources = each.get("resources") or {}
            for kind in ("requests", "limits"):
                assert set(resources.get(kind) or {}) == {"cpu", "memory"}, f"{where} {kind}"


def test_only_components_that_call_the_api_get_a_token(objects: tuple[dict[str, Any], ...]) -> None:
    for deployment in of_kind(objects, "Deployment"):
        spec = deployment["spec"]["template"]["spec"]
        account = spec.get("serviceAccountName", "")
        wanted = bool(CODE_CALLS.get(account)) or account == "pq-serve"
        assert spec.get("automountServiceAccountToken") is wanted, deployment["metadata"]["name"]


def test_serve_is_probed_on_healthz_and_readyz_and_workers_by_celery_ping(objects: tuple[dict[str, Any], ...]) -> None:
    serve = container(named(objects, "Deployment", "pq-serve"))
    assert serve["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert serve["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for pool in POOLS:
        worker = container(named(objects, "Deployment", f"pq-worker-{pool}"))
        args = worker["args"]
        assert args[:3] == ["worker", "--queues", pool]
        node = args[args.index("--hostname") + 1]
        probe = " ".join(worker["livenessProbe"]["exec"]["command"])
        assert "celery -A workers.app inspect ping" in probe
        assert f'--destination "{node.replace("%h", "$HOSTNAME")}"' in probe


def test_watch_and_beat_run_alone_and_never_overlap(objects: tuple[dict[str, Any], ...]) -> None:
    for name in ("pq-watch", "pq-beat"):
        deployment = named(objects, "Deployment", name)
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}


def test_serve_and_every_pool_have_a_disruption_budget(objects: tuple[dict[str, Any], ...]) -> None:
    budgets = {budget["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]
               for budget in of_kind(objects, "PodDisruptionBudget")}
    assert budgets == {"serve", *(f"worker-{pool}" for pool in POOLS)}


def test_the_build_namespace_takes_no_ingress_from_other_namespaces(objects: tuple[dict[str, Any], ...]) -> None:
    policies = [p for p in of_kind(objects, "NetworkPolicy") if p["metadata"]["namespace"] == "pq-builds"]
    assert [p["spec"]["podSelector"] for p in policies] == [{}]
    sources = [source for rule in policies[0]["spec"]["ingress"] for source in rule["from"]]
    assert sources == [{"podSelector": {}}]  # same namespace only: no namespaceSelector, no ipBlock


def test_the_control_plane_denies_by_default_and_admits_only_serve(objects: tuple[dict[str, Any], ...]) -> None:
    policies = [p for p in of_kind(objects, "NetworkPolicy") if p["metadata"]["namespace"] == "pq-system"]
    deny = named(tuple(policies), "NetworkPolicy", "default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    admitted = {str(p["spec"]["podSelector"].get("matchLabels")) for p in policies if p["spec"].get("ingress")}
    assert "{'app.kubernetes.io/component': 'serve', 'app.kubernetes.io/name': 'pipeline-queue'}" in admitted
    egress_ports = {port["port"] for p in policies for rule in p["spec"].get("egress") or []
                    for port in rule.get("ports") or []}
    assert egress_ports == {53, 443, 5432, 6379, 6443}


def test_each_component_is_granted_exactly_what_its_code_calls(objects: tuple[dict[str, Any], ...]) -> None:
    authorizer = Authorizer(objects)
    granted = {account: grants(authorizer.rules_for(account, "pq-system")) for account in CODE_CALLS}
    assert granted == CODE_CALLS
    accounts = {obj["metadata"]["name"] for obj in of_kind(objects, "ServiceAccount")}
    assert accounts == set(CODE_CALLS)


def test_no_rule_uses_a_wildcard_and_no_cluster_wide_rule_writes(objects: tuple[dict[str, Any], ...]) -> None:
    for role in of_kind(objects, "Role") + of_kind(objects, "ClusterRole"):
        for rule in role["rules"]:
            values = [*rule.get("verbs", []), *rule.get("resources", []), *rule.get("apiGroups", [])]
            assert "*" not in values, role["metadata"]["name"]
            if role["kind"] == "ClusterRole":
                assert not WRITE_VERBS & set(rule["verbs"]), role["metadata"]["name"]


def test_step_pods_go_to_the_namespace_the_worker_role_covers(objects: tuple[dict[str, Any], ...]) -> None:
    config = named(objects, "ConfigMap", "pq-config")
    settings = Settings.from_env(config["data"])
    assert named(objects, "Role", "pq-worker-control")["metadata"]["namespace"] == settings.run.namespace
    assert {obj["metadata"]["name"] for obj in of_kind(objects, "Namespace")} == {"pq-system", settings.run.namespace}


def test_every_pipeline_queue_process_reads_the_settings_and_the_secret_key_from_a_secret(
        objects: tuple[dict[str, Any], ...]) -> None:
    for deployment in app_deployments(objects):
        each = container(deployment)
        assert {"configMapRef": {"name": "pq-config"}} in each["envFrom"]
        from_secrets = {entry["name"] for entry in each["env"] if "secretKeyRef" in entry.get("valueFrom", {})}
        assert from_secrets == {"REDIS_URL", "DATABASE_URL", "PQ_SECRET_KEY"}, deployment["metadata"]["name"]


KEDA_REDIS_METADATA = {"address", "addresses", "addressFromEnv", "host", "hosts", "port", "ports", "username",
                       "password", "passwordFromEnv", "usernameFromEnv", "sentinelUsername", "sentinelPassword",
                       "sentinelMaster", "unsafeSsl", "listLength", "activationListLength", "listName",
                       "databaseIndex", "enableTLS"}
"""The trigger metadata KEDA's redis scaler reads (kedacore/keda pkg/scalers/redis_scaler.go, `keda:"name=..."`
tags with order triggerMetadata or resolvedEnv)."""
KEDA_REDIS_AUTH = {"address", "addresses", "host", "hosts", "port", "ports", "username", "password",
                   "sentinelUsername", "sentinelPassword", "sentinelMaster", "cert", "key", "keyPassword", "ca", "tls"}
"""The parameters it reads from a TriggerAuthentication (order authParams)."""


def test_production_scales_each_pool_on_the_redis_list_that_holds_its_queue() -> None:
    objects = rendered("production")
    options = celery_config(Settings(), broker_url="redis://")["broker_transport_options"]
    scaled = {obj["spec"]["scaleTargetRef"]["name"]: obj for obj in of_kind(objects, "ScaledObject")}
    assert set(scaled) == {f"pq-worker-{pool}" for pool in POOLS}
    authentications = {obj["metadata"]["name"]: obj for obj in of_kind(objects, "TriggerAuthentication")}
    for pool in POOLS:
        spec = scaled[f"pq-worker-{pool}"]["spec"]
        assert 1 <= spec["minReplicaCount"] < spec["maxReplicaCount"] and spec["cooldownPeriod"] >= 60
        [trigger] = spec["triggers"]
        assert trigger["type"] == "redis" and set(trigger["metadata"]) <= KEDA_REDIS_METADATA
        # Kombu's list for the queue's messages sent without a priority, which is how every task is sent.
        assert trigger["metadata"]["listName"] == queue_lists(pool, transport_options=options)[0] == pool
        assert int(trigger["metadata"]["listLength"]) >= 1
        authentication = authentications[trigger["authenticationRef"]["name"]]
        assert {ref["parameter"] for ref in authentication["spec"]["secretTargetRef"]} <= KEDA_REDIS_AUTH
        assert "replicas" not in named(objects, "Deployment", f"pq-worker-{pool}")["spec"]  # KEDA owns it


def test_images_come_from_one_name_pinned_to_a_release_tag_in_production() -> None:
    images = {each["image"] for deployment in app_deployments(rendered("production"))
              for each in _containers(deployment["spec"]["template"]["spec"])}
    assert len(images) == 1 and re.fullmatch(r"[\w./-]+/pipeline-queue:\d+\.\d+\.\d+", images.pop())
