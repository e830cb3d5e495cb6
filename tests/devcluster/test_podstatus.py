"""Pod phase and conditions from container states, as the kubelet computes them."""

from __future__ import annotations

import pytest

from pipeline_queue.devcluster.apiserver.conditions import set_condition
from pipeline_queue.devcluster.node import podstatus as ps


def status(*states, last=None):
    return {"containerStatuses": [
        {"name": f"c{number}", "state": state, "lastState": last or {}, "ready": "running" in state}
        for number, state in enumerate(states)
    ]}


RUN = ps.running("2024-01-01T00:00:00Z")
OK = ps.terminated(0, reason="Completed", started_at="", container_id="")
BAD = ps.terminated(1, reason="Error", started_at="", container_id="")
PULL = ps.waiting("ErrImagePull", "x")


@pytest.mark.parametrize(
    ("states", "policy", "phase"),
    [
        ((PULL,), "Never", "Pending"),
        ((RUN, PULL), "Never", "Pending"),
        ((RUN, OK), "Never", "Running"),
        ((OK, OK), "Never", "Succeeded"),
        ((OK, BAD), "Never", "Failed"),
        ((OK, BAD), "OnFailure", "Running"),
        ((OK,), "Always", "Running"),
        ((OK,), "OnFailure", "Succeeded"),
    ],
)
def test_phase_follows_getphase(states, policy, phase):
    assert ps.phase(status(*states), restart_policy=policy) == phase


def test_a_crash_looping_container_counts_as_stopped_not_pending():
    crashed = status(ps.waiting("CrashLoopBackOff"), last=BAD)
    assert ps.phase(crashed, restart_policy="Always") == "Running"


def test_refresh_sets_readiness_and_keeps_a_terminal_phase():
    pod = {"spec": {"containers": [{"name": "c0"}, {"name": "c1"}], "restartPolicy": "Never"},
           "status": status(RUN, PULL)}
    ps.refresh(pod)
    conditions = {item["type"]: item for item in pod["status"]["conditions"]}
    assert pod["status"]["phase"] == "Pending"
    assert conditions["Initialized"]["status"] == "True"
    assert conditions["Ready"]["status"] == "False"
    assert conditions["ContainersReady"]["message"] == "containers with unready status: [c1]"
    pod["status"].update(phase="Failed")
    pod["status"]["containerStatuses"][1]["state"] = OK
    ps.refresh(pod)
    assert pod["status"]["phase"] == "Failed"
    assert {item["type"]: item["reason"] for item in pod["status"]["conditions"] if "reason" in item} == {
        "ContainersReady": "PodCompleted", "Ready": "PodCompleted"}


def test_a_condition_keeps_its_transition_time_while_its_status_holds():
    holder: dict = {}
    set_condition(holder, "Ready", False, reason="ContainersNotReady")
    holder["conditions"][0]["lastTransitionTime"] = "earlier"
    set_condition(holder, "Ready", False, reason="ContainersNotReady")
    assert holder["conditions"][0]["lastTransitionTime"] == "earlier"
    set_condition(holder, "Ready", True)
    assert holder["conditions"][0]["lastTransitionTime"] != "earlier"
    assert "reason" not in holder["conditions"][0]


def test_a_failed_init_container_fails_a_never_restarting_pod():
    pod = {"spec": {"initContainers": [{"name": "i"}], "containers": [{"name": "c0"}], "restartPolicy": "Never"},
           "status": {"initContainerStatuses": [{"name": "i", "state": BAD}], **status(ps.waiting("PodInitializing"))}}
    ps.refresh(pod)
    assert pod["status"]["phase"] == "Failed"
    initialized = next(c for c in pod["status"]["conditions"] if c["type"] == "Initialized")
    assert initialized["message"] == "containers with incomplete status: [i]"
