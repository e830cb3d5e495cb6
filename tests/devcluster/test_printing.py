"""Server-side printing: each resource's row as kube-apiserver's printers compute it, from plain objects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline_queue.devcluster.apiserver import printing
from pipeline_queue.devcluster.apiserver.humanize import human_duration

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
CREATED = "2024-05-01T11:58:30Z"


def _pod(*, statuses=(), inits=(), init_statuses=(), phase="Pending", deleting=False, reason="", conditions=()):
    meta = {"name": "p", "creationTimestamp": CREATED}
    if deleting:
        meta["deletionTimestamp"] = "2024-05-01T12:00:30Z"
    status = {"phase": phase, "containerStatuses": list(statuses), "initContainerStatuses": list(init_statuses),
              "conditions": list(conditions)}
    if reason:
        status["reason"] = reason
    return {"metadata": meta, "spec": {"containers": [{"name": s["name"]} for s in statuses] or [{"name": "c"}],
                                       "initContainers": [{"name": n} for n in inits]}, "status": status}


def _ctr(state, *, ready=False, restarts=0, last=None, name="c"):
    item = {"name": name, "state": state, "ready": ready, "restartCount": restarts}
    if last:
        item["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": last}}
    return item


RUN = {"running": {"startedAt": CREATED}}
READY = {"type": "Ready", "status": "True"}


def _waiting(reason):
    return {"waiting": {"reason": reason}}


def _done(code, reason="", signal=0):
    state = {"exitCode": code}
    if reason:
        state["reason"] = reason
    if signal:
        state["signal"] = signal
    return {"terminated": state}


@pytest.mark.parametrize(("pod", "shown"), [
    (_pod(), ("Pending", 0)),
    (_pod(statuses=[_ctr(_waiting("ContainerCreating"))]), ("ContainerCreating", 0)),
    (_pod(statuses=[_ctr(_waiting("ErrImagePull"))]), ("ErrImagePull", 0)),
    (_pod(statuses=[_ctr(_waiting("ImagePullBackOff"))]), ("ImagePullBackOff", 0)),
    (_pod(statuses=[_ctr(RUN, ready=True)], phase="Running", conditions=[READY]), ("Running", 1)),
    (_pod(statuses=[_ctr(RUN)], phase="Running"), ("Running", 0)),
    (_pod(statuses=[_ctr(_done(0, "Completed"))], phase="Succeeded"), ("Completed", 0)),
    (_pod(statuses=[_ctr(_done(1, "Error"))], phase="Failed"), ("Error", 0)),
    (_pod(statuses=[_ctr(_done(3))], phase="Failed"), ("ExitCode:3", 0)),
    (_pod(statuses=[_ctr(_done(137, signal=9))], phase="Failed"), ("Signal:9", 0)),
    (_pod(statuses=[_ctr(_done(0, "Completed"), name="a"), _ctr(RUN, ready=True, name="b")], phase="Running",
          conditions=[READY]), ("Running", 1)),
    (_pod(statuses=[_ctr(_done(0, "Completed"), name="a"), _ctr(RUN, ready=True, name="b")], phase="Running"),
     ("NotReady", 1)),
    (_pod(inits=["i"], init_statuses=[_ctr(RUN, name="i")]), ("Init:0/1", 0)),
    (_pod(inits=["i"], init_statuses=[_ctr(_done(1, "Error"), name="i")]), ("Init:Error", 0)),
    (_pod(inits=["i"], init_statuses=[_ctr(_waiting("CrashLoopBackOff"), name="i")]), ("Init:CrashLoopBackOff", 0)),
    (_pod(statuses=[_ctr(RUN, ready=True)], phase="Running", deleting=True), ("Terminating", 1)),
    (_pod(statuses=[_ctr(_done(0, "Completed"))], phase="Succeeded", deleting=True), ("Completed", 0)),
    (_pod(phase="Running", deleting=True, reason="NodeLost"), ("Unknown", 0)),
    (_pod(phase="Failed", reason="DeadlineExceeded"), ("DeadlineExceeded", 0)),
    (_pod(conditions=[{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]),
     ("SchedulingGated", 0)),
])
def test_pod_status_is_the_one_kubectl_shows(pod, shown):
    reason, ready, _, _ = printing.pod_status(pod)
    assert (reason, ready) == shown


def test_restarts_say_when_the_last_one_was():
    pod = _pod(statuses=[_ctr(_waiting("CrashLoopBackOff"), restarts=4, last="2024-05-01T11:45:00Z")],
               phase="Running")
    cells = printing.pod_cells(pod, NOW)
    assert cells[:5] == ["p", "0/1", "CrashLoopBackOff", "4 (15m ago)", "90s"]


def test_a_pods_wide_cells_name_its_address_node_and_readiness_gates():
    pod = _pod(statuses=[_ctr(RUN, ready=True)], phase="Running", conditions=[READY, {"type": "x", "status": "True"}])
    pod["spec"].update(nodeName="node-1", readinessGates=[{"conditionType": "x"}, {"conditionType": "y"}])
    pod["status"]["podIPs"] = [{"ip": "127.10.0.2"}]
    assert printing.pod_cells(pod, NOW)[5:] == ["127.10.0.2", "node-1", "<none>", "1/2"]


def test_a_finished_pods_row_is_marked_completed():
    assert printing.pod_conditions(_pod(phase="Succeeded"))[0]["type"] == "Completed"
    assert printing.pod_conditions(_pod(phase="Running")) == []


def test_node_cells_show_readiness_cordon_and_roles():
    node = {"metadata": {"name": "n", "creationTimestamp": CREATED,
                         "labels": {"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/ci": ""}},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "False"}], "nodeInfo": {"kubeletVersion": "v1.30.0"},
                       "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}}
    assert printing.node_cells(node, NOW) == ["n", "NotReady,SchedulingDisabled", "ci,control-plane", "90s",
                                              "v1.30.0", "10.0.0.1", "<none>", "<unknown>", "<unknown>", "<unknown>"]


@pytest.mark.parametrize(("spec", "status", "external", "ports"), [
    ({"type": "ClusterIP", "ports": [{"port": 80, "protocol": "TCP"}]}, {}, "<none>", "80/TCP"),
    ({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30001, "protocol": "UDP"}]}, {}, "<none>",
     "80:30001/UDP"),
    ({"type": "LoadBalancer", "ports": []}, {}, "<pending>", "<none>"),
    ({"type": "LoadBalancer", "externalIPs": ["1.2.3.4"]}, {"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}]}},
     "5.6.7.8,1.2.3.4", "<none>"),
    ({"type": "ExternalName", "externalName": "db.example.com"}, {}, "db.example.com", "<none>"),
])
def test_service_cells_show_external_address_and_ports(spec, status, external, ports):
    service = {"metadata": {"name": "s", "creationTimestamp": CREATED}, "spec": spec, "status": status}
    cells = printing.service_cells(service, NOW)
    assert (cells[3], cells[4], cells[6]) == (external, ports, "<none>")


def test_a_claim_being_deleted_is_terminating_and_shows_its_binding():
    claim = {"metadata": {"name": "c", "creationTimestamp": CREATED, "deletionTimestamp": CREATED},
             "spec": {"volumeName": "pvc-1", "storageClassName": "standard"},
             "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteMany",
                                                                                          "ReadWriteOnce"]}}
    assert printing.pvc_cells(claim, NOW) == ["c", "Terminating", "pvc-1", "1Gi", "RWO,RWX", "standard", "<unset>",
                                              "90s", "<unset>"]


def test_event_cells_name_the_object_source_and_count():
    event = {"metadata": {"name": "p.1"}, "type": "Warning", "reason": "Failed", "message": " Error: ErrImagePull ",
             "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": "spec.containers{c}"},
             "source": {"component": "kubelet", "host": "node-1"}, "count": 3,
             "firstTimestamp": "2024-05-01T11:50:00Z", "lastTimestamp": "2024-05-01T11:59:00Z"}
    assert printing.event_cells(event, NOW) == ["60s", "Warning", "Failed", "pod/p", "spec.containers{c}",
                                                "kubelet, node-1", "Error: ErrImagePull", "10m", 3, "p.1"]


@pytest.mark.parametrize(("seconds", "shown"), [
    (-5, "<invalid>"), (-1, "0s"), (0, "0s"), (119, "119s"), (120, "2m"), (150, "2m30s"), (600, "10m"),
    (3 * 3600 - 1, "179m"), (3 * 3600, "3h"), (5 * 3600 + 60, "5h1m"), (8 * 3600, "8h"), (47 * 3600, "47h"),
    (48 * 3600, "2d"), (50 * 3600, "2d2h"), (8 * 86400, "8d"), (2 * 365 * 86400 + 86400, "2y1d"),
    (9 * 365 * 86400, "9y"),
])
def test_durations_read_as_kubectl_shows_them(seconds, shown):
    assert human_duration(seconds) == shown
