"""`kubectl get` against the development cluster: the columns and values kube-apiserver's Tables give it.

Most pods here are parked (no scheduler takes them) and given a status through the status subresource, so each
STATUS kubectl computes is shown deterministically; one pod really runs, for the node and IP columns.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from tests import polling
from tests.devcluster.kubectl import headers, needs_kubectl, table

pytestmark = needs_kubectl
wait_for = partial(polling.wait_for, timeout=20.0, interval=0.05)


def _waiting(reason, *, restarts=0, last=None):
    item = {"name": "main", "image": "busybox:1.36", "imageID": "", "ready": False, "restartCount": restarts,
            "state": {"waiting": {"reason": reason}}}
    if last:
        item["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": last}}
    return {"phase": "Pending", "containerStatuses": [item]}


RUNNING = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
           "containerStatuses": [{"name": "main", "image": "busybox:1.36", "imageID": "", "ready": True,
                                  "restartCount": 0,
                                  "state": {"running": {"startedAt": "2024-01-01T00:00:00Z"}}}]}
INITIALIZING = {"phase": "Pending", "initContainerStatuses": [
    {"name": "setup", "image": "busybox:1.36", "imageID": "", "ready": False, "restartCount": 0,
     "state": {"running": {"startedAt": "2024-01-01T00:00:00Z"}}}]}


def _statuses() -> dict[str, dict]:
    # Past ten minutes an age reads in whole minutes, so the row reads the same for the next minute.
    last_crash = (datetime.now(UTC) - timedelta(minutes=12, seconds=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "creating": _waiting("ContainerCreating"),
        "pull-failed": _waiting("ErrImagePull"),
        "backing-off": _waiting("ImagePullBackOff"),
        "crashing": {**_waiting("CrashLoopBackOff", restarts=3, last=last_crash), "phase": "Running"},
        "serving": RUNNING,
        "initializing": INITIALIZING,
    }


@pytest.fixture(scope="module")
def pods(core):
    """A namespace with one pod in each status kubectl names, plus one that really ran to completion."""
    namespace = "kubectl-get"
    core.create_namespace({"metadata": {"name": namespace}})
    for name, status in _statuses().items():
        spec = {"schedulerName": "parked-scheduler",
                "containers": [{"name": "main", "image": "busybox:1.36", "command": ["true"]}]}
        if name == "initializing":
            spec["initContainers"] = [{"name": "setup", "image": "busybox:1.36", "command": ["true"]}]
        core.create_namespaced_pod(namespace, {"metadata": {"name": name, "labels": {"case": name}}, "spec": spec})
        core.patch_namespaced_pod_status(name, namespace, {"status": status})
    core.create_namespaced_pod(namespace, {
        "metadata": {"name": "leaving", "finalizers": ["example.com/hold"]},
        "spec": {"schedulerName": "parked-scheduler", "containers": [{"name": "main", "image": "busybox:1.36"}]}})
    core.delete_namespaced_pod("leaving", namespace)
    core.create_namespaced_pod(namespace, {"metadata": {"name": "done"}, "spec": {
        "restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox:1.36", "command": ["true"]}]}})
    wait_for(lambda: core.read_namespaced_pod("done", namespace).status.phase == "Succeeded", what="pod done")
    return namespace


def test_get_pods_prints_ready_status_restarts_and_age_as_kubectl_computes_them(kubectl, pods):
    out = kubectl.ok("get", "pods", "-n", pods)
    assert headers(out) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    rows = {row["NAME"]: row for row in table(out)}
    shown = {name: (row["READY"], row["STATUS"], row["RESTARTS"]) for name, row in rows.items()}
    assert shown == {
        "backing-off": ("0/1", "ImagePullBackOff", "0"),
        "crashing": ("0/1", "CrashLoopBackOff", "3 (12m ago)"),
        "creating": ("0/1", "ContainerCreating", "0"),
        "done": ("0/1", "Completed", "0"),
        "initializing": ("0/1", "Init:0/1", "0"),
        "leaving": ("0/1", "Terminating", "0"),
        "pull-failed": ("0/1", "ErrImagePull", "0"),
        "serving": ("1/1", "Running", "0"),
    }
    assert all(row["AGE"].endswith("s") for row in rows.values())


def test_get_pods_wide_adds_ip_node_nominated_node_and_readiness_gates(kubectl, pods):
    out = kubectl.ok("get", "pods", "-n", pods, "-o", "wide")
    assert headers(out) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE",
                            "READINESS GATES"]
    rows = {row["NAME"]: row for row in table(out)}
    assert rows["done"]["IP"].startswith("127.10.") and rows["done"]["NODE"] in ("node-1", "node-2")
    assert (rows["creating"]["IP"], rows["creating"]["NODE"], rows["creating"]["NOMINATED NODE"],
            rows["creating"]["READINESS GATES"]) == ("<none>", "<none>", "<none>", "<none>")


def test_get_pods_in_all_namespaces_shows_the_namespace_and_labels_from_the_rows_metadata(kubectl, pods):
    out = kubectl.ok("get", "pods", "-A", "--show-labels", "-l", "case=serving")
    assert headers(out) == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "LABELS"]
    assert [(r["NAMESPACE"], r["NAME"], r["LABELS"]) for r in table(out)] == [(pods, "serving", "case=serving")]


def test_get_one_pod_as_json_is_still_the_object(kubectl, pods):
    obj = json.loads(kubectl.ok("get", "pod", "serving", "-n", pods, "-o", "json"))
    assert (obj["kind"], obj["metadata"]["name"], obj["status"]["phase"]) == ("Pod", "serving", "Running")


def test_get_nodes_prints_status_roles_age_and_version(kubectl):
    out = kubectl.ok("get", "nodes")
    assert headers(out) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert [(r["NAME"], r["STATUS"], r["ROLES"], r["VERSION"]) for r in table(out)] == [
        ("node-1", "Ready", "<none>", "v1.30.0"), ("node-2", "Ready", "<none>", "v1.30.0")]


def test_get_nodes_wide_adds_addresses_os_kernel_and_runtime(kubectl):
    out = kubectl.ok("get", "nodes", "-o", "wide")
    assert headers(out) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE",
                            "KERNEL-VERSION", "CONTAINER-RUNTIME"]
    node = table(out)[0]
    assert node["INTERNAL-IP"].startswith("172.18.0.") and node["EXTERNAL-IP"] == "<none>"
    assert (node["OS-IMAGE"], node["CONTAINER-RUNTIME"]) == ("pipeline-queue development cluster",
                                                            "devcluster://0.1.0")


@pytest.fixture(scope="module")
def objects(core):
    namespace = "kubectl-objects"
    core.create_namespace({"metadata": {"name": namespace}})
    core.create_namespaced_secret(namespace, {"metadata": {"name": "creds"}, "type": "kubernetes.io/basic-auth",
                                              "stringData": {"username": "ci", "password": "x"}})
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "settings"}, "data": {"a": "1"}})
    core.create_namespaced_service(namespace, {"metadata": {"name": "web"}, "spec": {
        "type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}})
    core.create_namespaced_persistent_volume_claim(namespace, {"metadata": {"name": "workspace"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    return namespace


@pytest.mark.parametrize(("resource", "columns", "expected"), [
    ("secrets", ["NAME", "TYPE", "DATA", "AGE"], {"NAME": "creds", "TYPE": "kubernetes.io/basic-auth", "DATA": "2"}),
    ("configmaps", ["NAME", "DATA", "AGE"], {"NAME": "settings", "DATA": "1"}),
    ("services", ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
     {"NAME": "web", "TYPE": "NodePort", "EXTERNAL-IP": "<none>"}),
    ("pvc", ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"],
     {"NAME": "workspace", "STATUS": "Bound", "CAPACITY": "1Gi", "ACCESS MODES": "RWO", "STORAGECLASS": "standard",
      "VOLUMEATTRIBUTESCLASS": "<unset>"}),
])
def test_get_prints_each_resources_own_columns(kubectl, objects, resource, columns, expected):
    out = kubectl.ok("get", resource, "-n", objects)
    assert headers(out) == columns
    [row] = table(out)
    assert {key: row[key] for key in expected} == expected
    if resource == "services":
        assert row["CLUSTER-IP"].startswith("10.96.") and row["PORT(S)"].startswith("80:3")
        assert row["PORT(S)"].endswith("/TCP")


def test_get_namespace_prints_its_phase(kubectl, objects):
    out = kubectl.ok("get", "namespace", objects)
    assert headers(out) == ["NAME", "STATUS", "AGE"]
    assert [(r["NAME"], r["STATUS"]) for r in table(out)] == [(objects, "Active")]


def test_get_events_prints_last_seen_type_reason_object_and_message(kubectl, pods):
    out = kubectl.ok("get", "events", "-n", pods, "--field-selector", "involvedObject.name=done")
    assert headers(out) == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    scheduled = next(r for r in table(out) if r["REASON"] == "Scheduled")
    assert (scheduled["TYPE"], scheduled["OBJECT"]) == ("Normal", "pod/done")
    assert scheduled["MESSAGE"].startswith(f"Successfully assigned {pods}/done to node-")


@pytest.fixture(scope="module")
def watched(core):
    """A namespace with a pod and an event already, so each watch prints its list first: once that is out,
    kubectl watches from the list's resourceVersion and misses nothing created afterwards."""
    namespace = "kubectl-watch"
    core.create_namespace({"metadata": {"name": namespace}})
    core.create_namespaced_pod(namespace, {"metadata": {"name": "anchor"}, "spec": {
        "schedulerName": "parked-scheduler", "containers": [{"name": "main", "image": "busybox:1.36"}]}})
    core.create_namespaced_event(namespace, {
        "metadata": {"name": "anchor.1"}, "involvedObject": {"kind": "Pod", "name": "anchor", "namespace": namespace},
        "reason": "Anchored", "message": "here first", "type": "Normal"})
    return namespace


def _run_to_completion(core, namespace, name):
    core.create_namespaced_pod(namespace, {"metadata": {"name": name}, "spec": {
        "restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox:1.36", "command": ["true"]}]}})


def test_get_watch_prints_each_change_of_a_pod_as_a_row(kubectl, core, watched):
    watching = kubectl.start("get", "pods", "-w", "-n", watched)
    try:
        watching.until(lambda line: line.startswith("anchor"))
        _run_to_completion(core, watched, "watched")
        assert watching.until(lambda line: line.startswith("watched") and "Completed" in line).split()[:3] == [
            "watched", "0/1", "Completed"]
    finally:
        watching.stop()


def test_get_events_watch_prints_new_events_as_they_are_recorded(kubectl, core, watched):
    watching = kubectl.start("get", "events", "--watch", "-n", watched)
    try:
        watching.until(lambda line: "Anchored" in line)
        _run_to_completion(core, watched, "announced")
        line = watching.until(lambda text: "pod/announced" in text and "Scheduled" in text)
        assert "Normal" in line and f"Successfully assigned {watched}/announced" in line
    finally:
        watching.stop()
