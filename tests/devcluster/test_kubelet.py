"""The simulated kubelets through the official client: node registration, every pull outcome, running containers."""

from __future__ import annotations

import os
import re

import kubernetes
import pytest

from pipeline_queue.devcluster.apiserver.logs import pod_log_folder
from pipeline_queue.devcluster.node.registries import tag_digest
from tests.devcluster.simulated import (
    PRIVATE_IMAGE,
    PYTHON,
    finished,
    pod,
    private_registry_cluster,
    pull_secret,
    reasons,
    state_of,
    waiting_reason,
)
from tests.devcluster.simulated import events as events_of

PRIVATE_DIGEST = tag_digest("registry.example.com", "team/app", "1.0")


@pytest.fixture(scope="module")
def devcluster(tmp_path_factory):
    with private_registry_cluster(tmp_path_factory.mktemp("kubelet")) as cluster:
        yield cluster


def run_to_end(core, namespace, manifest, wait_for):
    core.create_namespaced_pod(namespace, manifest)
    name = manifest["metadata"]["name"]
    return wait_for(lambda: finished(core, namespace, name), what=f"pod {name} to finish")


# The node ---------------------------------------------------------------------------------------------------------

def test_each_kubelet_registers_a_ready_linux_node(core):
    nodes = {node.metadata.name: node for node in core.list_node().items}
    assert sorted(nodes) == ["node-1", "node-2"]
    node = nodes["node-1"]
    assert node.metadata.labels["kubernetes.io/hostname"] == "node-1"
    assert node.metadata.labels["kubernetes.io/os"] == "linux"
    assert "kubernetes.io/arch" in node.metadata.labels
    assert not any(label.startswith("node-role.kubernetes.io/") for label in node.metadata.labels)
    ready = next(condition for condition in node.status.conditions if condition.type == "Ready")
    assert (ready.status, ready.reason) == ("True", "KubeletReady")
    assert node.status.allocatable["pods"] == "110"
    assert node.status.node_info.operating_system == "linux"
    assert node.status.node_info.kubelet_version.startswith("v1.")


# Pulls ------------------------------------------------------------------------------------------------------------

def test_a_private_image_pulls_with_a_matching_pull_secret(core, namespace, wait_for):
    core.create_namespaced_secret(namespace, pull_secret("regcred"))
    done = run_to_end(core, namespace, pod("app", image=PRIVATE_IMAGE, secrets=["regcred"]), wait_for)
    assert done.status.phase == "Succeeded"
    status = done.status.container_statuses[0]
    assert status.image == PRIVATE_IMAGE
    assert status.image_id == f"registry.example.com/team/app@{PRIVATE_DIGEST}"
    kubelet_events = [event for event in events_of(core, namespace, "app") if event[1] != "Scheduled"]
    assert [reason for _, reason, _ in kubelet_events] == ["Pulling", "Pulled", "Created", "Started"]
    assert kubelet_events[0][2] == f'Pulling image "{PRIVATE_IMAGE}"'
    assert re.fullmatch(rf'Successfully pulled image "{PRIVATE_IMAGE}" in [0-9.]+(ms|µs|s) \(.*\)\. '
                        r"Image size: 52428800 bytes\.", kubelet_events[1][2])
    assert kubelet_events[2:] == [("Normal", "Created", "Created container main"),
                                  ("Normal", "Started", "Started container main")]


@pytest.mark.parametrize(
    ("image", "secret", "cause"),
    [
        (PRIVATE_IMAGE, None, "pull access denied, repository does not exist or may require authorization: "
                              "authorization failed: no basic auth credentials"),
        (PRIVATE_IMAGE, "wrong", "unexpected status from HEAD request to "
                                 "https://registry.example.com/v2/team/app/manifests/1.0: 401 Unauthorized"),
        ("registry.example.com/team/app:9.9", "right", "registry.example.com/team/app:9.9: not found"),
        ("nowhere.example.org/app:1", None, 'failed to do request: Head "https://nowhere.example.org/v2/app/'
                                            'manifests/1": dial tcp: lookup nowhere.example.org: no such host'),
    ],
)
def test_a_failed_pull_waits_in_err_image_pull_then_backs_off(core, namespace, wait_for, image, secret, cause):
    if secret:
        password = "s3cret" if secret == "right" else "not-it"
        core.create_namespaced_secret(namespace, pull_secret(secret, password=password))
    # Always: an earlier test may have left the image in a node's cache.
    manifest = pod("app", image=image, policy="Always", secrets=[secret] if secret else None)
    core.create_namespaced_pod(namespace, manifest)
    wait_for(lambda: waiting_reason(core, namespace, "app") == "ErrImagePull", what="ErrImagePull")
    full = image if "/" in image.split(":")[0] else f"docker.io/library/{image}"
    expected = f'failed to pull and unpack image "{full}": failed to resolve reference "{full}": {cause}'
    assert state_of(core, namespace, "app")["waiting"]["message"] == expected
    assert core.read_namespaced_pod("app", namespace).status.phase == "Pending"
    wait_for(lambda: waiting_reason(core, namespace, "app") == "ImagePullBackOff", what="ImagePullBackOff")
    assert state_of(core, namespace, "app")["waiting"]["message"] == f'Back-off pulling image "{image}"'
    seen = events_of(core, namespace, "app")
    assert ("Warning", "Failed", f'Failed to pull image "{image}": {expected}') in seen
    assert ("Warning", "Failed", "Error: ErrImagePull") in seen
    assert ("Normal", "BackOff", f'Back-off pulling image "{image}"') in seen
    assert ("Warning", "Failed", "Error: ImagePullBackOff") in seen
    assert not any("s3cret" in message or "not-it" in message for _, _, message in seen)


def test_a_failed_pull_is_retried_and_succeeds_once_the_secret_exists(core, namespace, wait_for):
    core.create_namespaced_pod(namespace, pod("app", image=PRIVATE_IMAGE, policy="Always", secrets=["late"]))
    wait_for(lambda: waiting_reason(core, namespace, "app") == "ErrImagePull", what="ErrImagePull")
    assert ("Warning", "FailedToRetrieveImagePullSecret",
            "Unable to retrieve some image pull secrets (late); attempting to pull the image may not succeed."
            ) in events_of(core, namespace, "app")
    core.create_namespaced_secret(namespace, pull_secret("late"))
    done = wait_for(lambda: finished(core, namespace, "app"), what="the retried pull")
    assert done.status.phase == "Succeeded"


def test_never_without_the_image_waits_in_err_image_never_pull(core, namespace, wait_for):
    image = "registry.example.com/team/app:latest"
    core.create_namespaced_pod(namespace, pod("app", image=image, policy="Never", node="node-2"))
    wait_for(lambda: waiting_reason(core, namespace, "app") == "ErrImageNeverPull", what="ErrImageNeverPull")
    message = f'Container image "{image}" is not present with pull policy of Never'
    assert state_of(core, namespace, "app")["waiting"]["message"] == message
    seen = events_of(core, namespace, "app")
    assert ("Warning", "ErrImageNeverPull", message) in seen
    assert ("Warning", "Failed", "Error: ErrImageNeverPull") in seen
    assert "Pulling" not in reasons(core, namespace, "app")


def test_if_not_present_uses_the_node_cache_and_says_so(core, namespace, wait_for):
    run_to_end(core, namespace, pod("first", image="alpine:3.19", node="node-1"), wait_for)
    done = run_to_end(core, namespace, pod("second", image="alpine:3.19", node="node-1"), wait_for)
    assert done.status.phase == "Succeeded"
    assert ("Normal", "Pulled", 'Container image "alpine:3.19" already present on machine') in events_of(
        core, namespace, "second")
    assert "Pulling" not in reasons(core, namespace, "second")


def test_always_pulls_again_even_when_cached(core, namespace, wait_for):
    run_to_end(core, namespace, pod("first", image="alpine:3.18", node="node-1"), wait_for)
    run_to_end(core, namespace, pod("second", image="alpine:3.18", policy="Always", node="node-1"), wait_for)
    assert reasons(core, namespace, "second")[1:3] == ["Pulling", "Pulled"]


def test_node_status_lists_pulled_images_by_digest_and_tag_most_recent_first(core, namespace, wait_for):
    for number, image in enumerate(["redis:7.2", "nginx:1.25"]):
        run_to_end(core, namespace, pod(f"p{number}", image=image, node="node-2"), wait_for)
    images = core.read_node("node-2").status.images
    nginx = tag_digest("docker.io", "library/nginx", "1.25")
    assert images[0].names == [f"docker.io/library/nginx@{nginx}", "docker.io/library/nginx:1.25"]
    assert images[0].size_bytes > 0
    assert images[1].names[1] == "docker.io/library/redis:7.2"


# Containers -------------------------------------------------------------------------------------------------------

def test_exit_codes_become_terminated_states_and_the_phase(core, namespace, wait_for):
    good = run_to_end(core, namespace, pod("good", command=["sh", "-c", "exit 0"]), wait_for)
    bad = run_to_end(core, namespace, pod("bad", command=["sh", "-c", "echo broken; exit 1"]), wait_for)
    assert good.status.phase == "Succeeded"
    assert bad.status.phase == "Failed"
    good_state = good.status.container_statuses[0].state.terminated
    bad_state = bad.status.container_statuses[0].state.terminated
    assert (good_state.exit_code, good_state.reason) == (0, "Completed")
    assert (bad_state.exit_code, bad_state.reason) == (1, "Error")
    assert bad_state.started_at is not None and bad_state.finished_at is not None
    assert bad_state.container_id.startswith("containerd://")
    assert core.read_namespaced_pod_log("bad", namespace) == "broken\n"
    conditions = {condition.type: condition for condition in bad.status.conditions}
    assert conditions["PodScheduled"].status == "True"
    assert conditions["Ready"].status == "False" and conditions["Ready"].reason == "PodCompleted"
    assert bad.status.host_ip and bad.status.pod_ip and bad.status.start_time


def test_a_running_container_is_ready_and_reported_running(core, namespace, wait_for):
    core.create_namespaced_pod(namespace, pod("sleeper", command=["sleep", "30"]))
    running = wait_for(lambda: state_of(core, namespace, "sleeper").get("running"), what="running")
    assert running["startedAt"]
    found = core.read_namespaced_pod("sleeper", namespace)
    assert found.status.phase == "Running"
    assert found.status.container_statuses[0].ready is True
    assert {c.type: c.status for c in found.status.conditions}["Ready"] == "True"
    core.delete_namespaced_pod("sleeper", namespace, grace_period_seconds=0)


def test_env_values_and_secret_key_refs_reach_the_process(core, namespace, wait_for):
    core.create_namespaced_secret(namespace, {"metadata": {"name": "creds"}, "stringData": {"token": "abc123"}})
    env = [
        {"name": "PLAIN", "value": "hello"},
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
        {"name": "ABSENT", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "nope", "optional": True}}},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    manifest = pod("env", command=["sh", "-c", 'echo "$PLAIN $TOKEN ${ABSENT-unset} $POD"'])
    manifest["spec"]["containers"][0]["env"] = env
    run_to_end(core, namespace, manifest, wait_for)
    assert core.read_namespaced_pod_log("env", namespace) == "hello abc123 unset env\n"


def test_a_missing_secret_holds_the_container_in_create_container_config_error(core, namespace, wait_for):
    manifest = pod("env", command=["sh", "-c", 'echo "$TOKEN"'])
    manifest["spec"]["containers"][0]["env"] = [
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "later", "key": "token"}}}]
    core.create_namespaced_pod(namespace, manifest)
    wait_for(lambda: waiting_reason(core, namespace, "env") == "CreateContainerConfigError", what="config error")
    assert state_of(core, namespace, "env")["waiting"]["message"] == 'secret "later" not found'
    assert ("Warning", "Failed", 'Error: secret "later" not found') in events_of(core, namespace, "env")
    core.create_namespaced_secret(namespace, {"metadata": {"name": "later"}, "stringData": {"token": "t"}})
    wait_for(lambda: finished(core, namespace, "env"), what="the pod to run once the secret exists")
    assert core.read_namespaced_pod_log("env", namespace) == "t\n"


def test_two_pods_in_turn_share_the_claim_mounted_as_their_working_dir(core, namespace, wait_for, devcluster):
    core.create_namespaced_persistent_volume_claim(namespace, {
        "metadata": {"name": "workspace"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})

    def step(name: str, script: str) -> dict:
        manifest = pod(name, command=["sh", "-c", script])
        manifest["spec"]["volumes"] = [{"name": "ws", "persistentVolumeClaim": {"claimName": "workspace"}}]
        manifest["spec"]["containers"][0].update(
            workingDir="/drone/src", volumeMounts=[{"name": "ws", "mountPath": "/drone/src"}])
        return manifest

    run_to_end(core, namespace, step("clone", "echo built > artifact.txt"), wait_for)
    done = run_to_end(core, namespace, step("test", "cat artifact.txt; pwd"), wait_for)
    claim_dir = devcluster.data_dir / "volumes" / namespace / "workspace"
    assert done.status.phase == "Succeeded"
    assert core.read_namespaced_pod_log("test", namespace) == f"built\n{claim_dir}\n"
    # The claim's folder belongs to the claim: deleting the pods that mounted it leaves it as it is.
    folders = [files_of(devcluster, core.read_namespaced_pod(name, namespace)) for name in ("clone", "test")]
    for name in ("clone", "test"):
        core.delete_namespaced_pod(name, namespace)
    wait_for(lambda: not any(folder.exists() for pair in folders for folder in pair), what="the pods' folders to go")
    assert (claim_dir / "artifact.txt").read_text() == "built\n"


def test_a_missing_executable_is_a_start_error(core, namespace, wait_for):
    done = run_to_end(core, namespace, pod("nope", command=["no-such-binary"]), wait_for)
    terminated = done.status.container_statuses[0].state.terminated
    assert (done.status.phase, terminated.exit_code, terminated.reason) == ("Failed", 128, "StartError")
    assert 'exec: "no-such-binary": executable file not found in $PATH' in terminated.message


def test_on_failure_restarts_the_container_until_it_succeeds(core, namespace, wait_for):
    script = "test -e marker && exit 0; touch marker; exit 2"
    manifest = pod("flaky", command=["sh", "-c", script], restartPolicy="OnFailure")
    manifest["spec"]["volumes"] = [{"name": "scratch", "emptyDir": {}}]
    manifest["spec"]["containers"][0].update(workingDir="/w", volumeMounts=[{"name": "scratch", "mountPath": "/w"}])
    done = run_to_end(core, namespace, manifest, wait_for)
    status = done.status.container_statuses[0]
    assert done.status.phase == "Succeeded"
    assert status.restart_count == 1
    assert status.last_state.terminated.exit_code == 2


def test_active_deadline_kills_the_pod_and_fails_it(core, namespace, wait_for):
    done = run_to_end(core, namespace, pod("slow", command=["sleep", "60"], activeDeadlineSeconds=1), wait_for)
    assert (done.status.phase, done.status.reason) == ("Failed", "DeadlineExceeded")
    assert done.status.message == "Pod was active on the node longer than the specified deadline"
    assert done.status.container_statuses[0].state.terminated.exit_code in (137, 143)
    seen = events_of(core, namespace, "slow")
    assert ("Normal", "DeadlineExceeded", "Pod was active on the node longer than the specified deadline") in seen
    assert ("Normal", "Killing", "Stopping container main") in seen


def gone(core, namespace, name):
    try:
        core.read_namespaced_pod(name, namespace)
    except kubernetes.client.ApiException as error:
        return error.status == 404
    return False


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def files_of(devcluster, found) -> tuple:
    """The pod's own folder (rootfs, emptyDirs, hosts file) and the folder of its logs."""
    meta = found.metadata
    return (devcluster.data_dir / "pods" / meta.uid,
            pod_log_folder(devcluster.data_dir, {"metadata": {"namespace": meta.namespace, "name": meta.name,
                                                              "uid": meta.uid}}))


def test_deleting_a_running_pod_stops_its_process_then_removes_it(core, namespace, wait_for, devcluster, tmp_path):
    # `$$$$`: Kubernetes turns `$$` into `$` in commands, so the shell sees `$$` (its pid). The trap writes outside
    # the pod: its own folder and logs go with it.
    signalled = tmp_path / "signalled"
    script = f'echo $$$$ > pid; trap "echo stopping > {signalled}; exit 0" TERM; while true; do sleep 0.05; done'
    core.create_namespaced_pod(namespace, pod("svc", command=["sh", "-c", script]))
    wait_for(lambda: state_of(core, namespace, "svc").get("running"), what="running")
    uid = core.read_namespaced_pod("svc", namespace).metadata.uid
    pid_file = devcluster.data_dir / "pods" / uid / "rootfs" / "pid"
    pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), what="the pid file"))
    folders = files_of(devcluster, core.read_namespaced_pod("svc", namespace))
    assert all(folder.is_dir() for folder in folders)
    core.delete_namespaced_pod("svc", namespace, grace_period_seconds=10)
    wait_for(lambda: gone(core, namespace, "svc"), what="the pod to be removed")
    assert not process_alive(pid)
    assert signalled.read_text() == "stopping\n"
    assert ("Normal", "Killing", "Stopping container main") in events_of(core, namespace, "svc")
    wait_for(lambda: not any(folder.exists() for folder in folders), what="its folder and logs to be removed")


def test_files_of_a_deleted_pod_stay_until_its_object_is_gone_and_other_pods_keep_theirs(
        core, namespace, wait_for, devcluster):
    forever = "echo $$$$ > pid; echo started; while true; do sleep 0.05; done"
    held = pod("held", command=["sh", "-c", forever])
    held["metadata"]["finalizers"] = ["example.com/hold"]
    for manifest in (held, pod("stays", command=["sh", "-c", forever]),
                     pod("ended", command=["sh", "-c", "echo finished > note; echo finished"])):
        core.create_namespaced_pod(namespace, manifest)
    wait_for(lambda: finished(core, namespace, "ended"), what="ended to finish")
    found = {}
    for name in ("held", "stays"):
        found[name] = wait_for(lambda n=name: state_of(core, namespace, n).get("running")
                               and core.read_namespaced_pod(n, namespace), what=f"{name} running")
    found["ended"] = core.read_namespaced_pod("ended", namespace)
    folders = {name: files_of(devcluster, item) for name, item in found.items()}
    pid_file = folders["held"][0] / "rootfs" / "pid"
    pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), what="held's pid file"))

    core.delete_namespaced_pod("held", namespace, grace_period_seconds=0)
    wait_for(lambda: not process_alive(pid), what="held's process to be stopped")
    # Its containers are gone but the finalizer keeps the object: so do its files.
    assert core.read_namespaced_pod("held", namespace).metadata.deletion_timestamp
    assert all(folder.is_dir() for folder in folders["held"])
    core.patch_namespaced_pod("held", namespace, {"metadata": {"finalizers": None}})
    wait_for(lambda: gone(core, namespace, "held"), what="held to be removed")
    wait_for(lambda: not any(folder.exists() for folder in folders["held"]), what="held's files to be removed")

    # A running pod and a finished one that nobody deleted keep their folder and logs.
    assert all(folder.is_dir() for name in ("stays", "ended") for folder in folders[name])
    assert (folders["ended"][0] / "rootfs" / "note").read_text() == "finished\n"
    assert core.read_namespaced_pod_log("ended", namespace) == "finished\n"
    assert core.read_namespaced_pod_log("stays", namespace) == "started\n"


def test_a_process_ignoring_sigterm_is_killed_when_the_grace_period_ends(core, namespace, wait_for, devcluster):
    script = 'echo $$$$ > pid; trap "" TERM; while true; do sleep 0.05; done'
    core.create_namespaced_pod(namespace, pod("stubborn", command=["sh", "-c", script]))
    wait_for(lambda: state_of(core, namespace, "stubborn").get("running"), what="running")
    uid = core.read_namespaced_pod("stubborn", namespace).metadata.uid
    pid_file = devcluster.data_dir / "pods" / uid / "rootfs" / "pid"
    pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), what="the pid file"))
    core.delete_namespaced_pod("stubborn", namespace, grace_period_seconds=1)
    wait_for(lambda: gone(core, namespace, "stubborn"), what="the pod to be removed")
    assert not process_alive(pid)


def test_many_pods_run_at_once(core, namespace, wait_for):
    barrier = "import sys,time; time.sleep(0.3); print('done')"
    for number in range(8):
        core.create_namespaced_pod(namespace, pod(f"p{number}", command=[PYTHON, "-c", barrier]))
    for number in range(8):
        done = wait_for(lambda n=number: finished(core, namespace, f"p{n}"), what=f"pod p{number}")
        assert done.status.phase == "Succeeded"


def test_init_containers_run_in_order_before_the_app_container(core, namespace, wait_for):
    manifest = pod("staged", command=["cat", "steps"])
    spec = manifest["spec"]
    spec["volumes"] = [{"name": "shared", "emptyDir": {}}]
    mount = [{"name": "shared", "mountPath": "/shared"}]
    spec["containers"][0].update(workingDir="/shared", volumeMounts=mount)
    spec["initContainers"] = [
        {"name": f"init-{n}", "image": "busybox:1.36", "command": ["sh", "-c", f"echo {n} >> steps"],
         "workingDir": "/shared", "volumeMounts": mount} for n in (1, 2)]
    done = run_to_end(core, namespace, manifest, wait_for)
    assert done.status.phase == "Succeeded"
    assert [s.state.terminated.reason for s in done.status.init_container_statuses] == ["Completed", "Completed"]
    assert core.read_namespaced_pod_log("staged", namespace) == "1\n2\n"


def test_a_failing_init_container_fails_the_pod_and_the_app_never_starts(core, namespace, wait_for):
    manifest = pod("blocked", command=["true"])
    manifest["spec"]["initContainers"] = [{"name": "check", "image": "busybox:1.36", "command": ["false"]}]
    done = run_to_end(core, namespace, manifest, wait_for)
    assert done.status.phase == "Failed"
    assert done.status.container_statuses[0].state.waiting.reason == "PodInitializing"
    assert "Started container main" not in [message for *_, message in events_of(core, namespace, "blocked")]


def test_stopping_the_cluster_kills_every_container(tmp_path, wait_for):
    with private_registry_cluster(tmp_path) as cluster:
        api = cluster.api_client()
        core = kubernetes.client.CoreV1Api(api)
        core.create_namespaced_pod("default", pod("forever", command=["sh", "-c", "echo $$$$ > pid; sleep 60"]))
        uid = wait_for(lambda: state_of(core, "default", "forever").get("running")
                       and core.read_namespaced_pod("forever", "default").metadata.uid, what="running")
        pid_file = cluster.data_dir / "pods" / uid / "rootfs" / "pid"
        pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), what="the pid file"))
        api.close()
    assert not process_alive(pid)
