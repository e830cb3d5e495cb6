"""kubectl on running pods: `logs -f`, `describe`, `wait`, `delete --wait`, and what the cluster cannot do.

Containers are local processes here, so exec, attach and port-forward answer a Status that says so (and what to
do instead) rather than an upgrade kubectl would wait on.
"""

from __future__ import annotations

from functools import partial

import kubernetes
import pytest

from tests import polling
from tests.devcluster.kubectl import needs_kubectl

pytestmark = needs_kubectl
NAMESPACE = "kubectl-run"
wait_for = partial(polling.wait_for, timeout=20.0, interval=0.05)


@pytest.fixture(scope="module", autouse=True)
def namespace(core):
    core.create_namespace({"metadata": {"name": NAMESPACE}})


def _start(core, name: str, script: str, *, restart: str = "Never") -> None:
    core.create_namespaced_pod(NAMESPACE, {"metadata": {"name": name}, "spec": {
        "restartPolicy": restart, "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "main", "image": "busybox:1.36", "command": ["sh", "-c", script]}]}})


def _phase(core, name: str) -> str:
    return core.read_namespaced_pod(name, NAMESPACE).status.phase


@pytest.fixture
def running(core, request):
    """A pod whose container runs until the cluster stops it."""
    name = request.node.name.split("[")[0].removeprefix("test_")[:40].replace("_", "-").rstrip("-")
    _start(core, name, "exec sleep 120")
    wait_for(lambda: _phase(core, name) == "Running", what=f"pod {name} running")
    return name


def test_logs_follow_prints_the_output_as_it_comes_until_the_container_ends(kubectl, core):
    _start(core, "talker", "echo one; sleep 0.5; echo two")
    wait_for(lambda: _phase(core, "talker") in ("Running", "Succeeded"), what="talker started")
    assert kubectl.ok("logs", "-f", "talker", "-n", NAMESPACE) == "one\ntwo\n"


def test_describe_pod_shows_its_state_and_events(kubectl, core):
    _start(core, "described", "true")
    wait_for(lambda: _phase(core, "described") == "Succeeded", what="described done")
    out = kubectl.ok("describe", "pod", "described", "-n", NAMESPACE)
    assert "Status:           Succeeded" in out
    assert "Reason:       Completed" in out
    events = out.split("Events:", 1)[1]
    assert "Normal  Scheduled" in events and "default-scheduler" in events


def test_wait_for_condition_ready_returns_once_the_pod_is_ready(kubectl, running):
    assert kubectl.ok("wait", "--for=condition=Ready", f"pod/{running}", "-n", NAMESPACE, "--timeout=20s") == (
        f"pod/{running} condition met\n")


def test_wait_for_jsonpath_returns_once_the_field_has_the_value(kubectl, core):
    _start(core, "finisher", "sleep 0.3")
    out = kubectl.ok("wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/finisher", "-n", NAMESPACE,
                     "--timeout=20s")
    assert out == "pod/finisher condition met\n"


def test_delete_waits_until_the_pod_is_gone(kubectl, core, running):
    assert kubectl.ok("delete", "pod", running, "-n", NAMESPACE, "--wait=true") == f'pod "{running}" deleted\n'
    with pytest.raises(kubernetes.client.ApiException) as gone:
        core.read_namespaced_pod(running, NAMESPACE)
    assert gone.value.status == 404


def test_port_forward_says_it_is_not_supported_and_what_to_do(kubectl, running):
    result = kubectl("port-forward", f"pod/{running}", "18080:80", "-n", NAMESPACE)
    assert result.code == 1
    assert "pods/portforward is not supported by the development cluster" in result.err
    assert "status.podIP" in result.err


def test_exec_says_it_is_not_supported(kubectl, running):
    result = kubectl("exec", running, "-n", NAMESPACE, "--", "true")
    assert result.code == 1
    assert "pods/exec is not supported by the development cluster" in result.err
