"""The pods/log subresource. Output is arranged where a kubelet of this cluster writes it (`logs.log_path`:
`data_dir/logs/<namespace>_<pod>_<uid>/<container>.log`) for a pod bound to a node no kubelet serves."""

from __future__ import annotations

import pytest
from kubernetes import watch
from kubernetes.client import ApiException

from pipeline_queue.devcluster.apiserver.logs import log_path


@pytest.fixture
def placed(core, namespace, parked_pod, devcluster):
    """Create a pod on `ghost-node`; return a writer for its containers' log files."""

    def make(name, containers=("main",)):
        created = core.create_namespaced_pod(namespace, parked_pod(name, containers=list(containers)))
        core.create_namespaced_pod_binding(name, namespace, {
            "metadata": {"name": name}, "target": {"kind": "Node", "name": "ghost-node"}}, _preload_content=False)
        pod = {"metadata": {"namespace": namespace, "name": name, "uid": created.metadata.uid}}

        def write(text, container=containers[0]):
            path = log_path(devcluster.data_dir, pod, container)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a") as handle:
                handle.write(text)

        return write

    return make


def test_log_returns_the_container_output(core, namespace, placed):
    placed("p")("line 1\nline 2\nline 3\n")
    assert core.read_namespaced_pod_log("p", namespace) == "line 1\nline 2\nline 3\n"
    assert core.read_namespaced_pod_log("p", namespace, tail_lines=2) == "line 2\nline 3\n"
    assert core.read_namespaced_pod_log("p", namespace, limit_bytes=4) == "line"


def test_a_pod_with_several_containers_needs_a_container_name(core, namespace, placed, status_of):
    write = placed("p", containers=("build", "cache"))
    write("compiled\n", container="build")
    assert core.read_namespaced_pod_log("p", namespace, container="build") == "compiled\n"
    with pytest.raises(ApiException) as error:
        core.read_namespaced_pod_log("p", namespace)
    assert error.value.status == 400
    assert status_of(error.value)["message"] == (
        "a container name must be specified for pod p, choose one of: [build cache]")


def test_an_unknown_container_is_400(core, namespace, placed, status_of):
    placed("p")
    with pytest.raises(ApiException) as error:
        core.read_namespaced_pod_log("p", namespace, container="nope")
    assert status_of(error.value)["message"] == "container nope is not valid for pod p"


def test_a_container_without_output_yet_is_waiting_to_start(core, namespace, placed, status_of):
    placed("p")
    with pytest.raises(ApiException) as error:
        core.read_namespaced_pod_log("p", namespace)
    assert error.value.status == 400
    assert status_of(error.value)["message"] == 'container "main" in pod "p" is waiting to start: ContainerCreating'


def test_an_unscheduled_pod_has_no_output(core, namespace, parked_pod):
    core.create_namespaced_pod(namespace, parked_pod("p"))
    assert core.read_namespaced_pod_log("p", namespace) == ""


def test_logs_of_a_missing_pod_are_404(core, namespace):
    with pytest.raises(ApiException) as error:
        core.read_namespaced_pod_log("absent", namespace)
    assert error.value.status == 404


def test_follow_streams_new_output_until_the_container_terminates(core, namespace, placed):
    write = placed("p")
    write("first\n")
    response = core.read_namespaced_pod_log("p", namespace, follow=True, _preload_content=False,
                                            _request_timeout=10)
    chunks = response.stream(amt=None, decode_content=False)
    assert next(chunks) == b"first\n"
    write("second\n")
    assert next(chunks) == b"second\n"
    write("last\n")
    core.patch_namespaced_pod_status("p", namespace, {"status": {"containerStatuses": [{
        "name": "main", "image": "busybox:1.36", "imageID": "", "ready": False, "restartCount": 0,
        "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}})
    assert b"".join(chunks) == b"last\n"


def test_watch_streams_the_lines_of_a_finished_container(core, namespace, placed):
    placed("p")("alpha\nbeta\n")
    core.patch_namespaced_pod_status("p", namespace, {"status": {"phase": "Succeeded"}})
    lines = watch.Watch().stream(core.read_namespaced_pod_log, "p", namespace, _request_timeout=10)
    assert list(lines) == ["alpha", "beta"]
