"""Container processes: environment, `$(VAR)` expansion, volumes, working directory, exit codes and kills."""

from __future__ import annotations

import base64
import sys
import time
from pathlib import Path

import pytest

from pipeline_queue.devcluster.errors import ContainerConfigError
from pipeline_queue.devcluster.node.runner import (
    Launch,
    Process,
    command_line,
    container_env,
    container_mounts,
    decode_secret,
    expand,
    host_path,
    volume_dirs,
)

POD = {
    "metadata": {"name": "build", "namespace": "ci", "uid": "u-1", "labels": {"app": "x"}},
    "spec": {"nodeName": "node-1"},
    "status": {"podIP": "10.244.1.2"},
}
SECRETS = {("ci", "creds"): {"token": "t0ps3cret"}}


def lookup(namespace, name):
    return SECRETS.get((namespace, name))


def test_expand_replaces_known_names_keeps_unknown_and_unescapes_dollars():
    variables = {"A": "1", "B": "two"}
    assert expand("$(A)-$(B)-$(C)-$$(A)-$$", variables) == "1-two-$(C)-$(A)-$"


def test_env_values_refer_to_earlier_variables_and_to_secrets_and_fields():
    container = {"env": [
        {"name": "BASE", "value": "/drone"},
        {"name": "SRC", "value": "$(BASE)/src"},
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
    ]}
    env = container_env(container, pod=POD, secrets=lookup)
    assert env == {"BASE": "/drone", "SRC": "/drone/src", "TOKEN": "t0ps3cret", "POD": "build", "APP": "x",
                   "IP": "10.244.1.2"}


def test_optional_missing_secret_or_key_leaves_the_variable_unset():
    container = {"env": [
        {"name": "A", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k", "optional": True}}},
        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "nope", "optional": True}}},
    ]}
    assert container_env(container, pod=POD, secrets=lookup) == {}


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ({"name": "nope", "key": "k"}, 'secret "nope" not found'),
        ({"name": "creds", "key": "nope"}, "couldn't find key nope in Secret ci/creds"),
    ],
)
def test_a_required_missing_secret_is_a_config_error_like_the_kubelets(ref, message):
    container = {"env": [{"name": "A", "valueFrom": {"secretKeyRef": ref}}]}
    with pytest.raises(ContainerConfigError) as caught:
        container_env(container, pod=POD, secrets=lookup)
    assert str(caught.value) == message


def test_env_from_a_secret_with_prefix_then_env_overrides():
    container = {"envFrom": [{"secretRef": {"name": "creds"}, "prefix": "X_"}],
                 "env": [{"name": "X_token", "value": "plain"}]}
    assert container_env(container, pod=POD, secrets=lookup) == {"X_token": "plain"}


def test_decode_secret_reads_base64_data():
    secret = {"data": {"a": base64.b64encode(b"hello").decode(), "bad": "***"}}
    assert decode_secret(secret) == {"a": "hello"}


def test_volumes_map_claims_per_namespace_empty_dirs_per_pod_and_host_paths_to_themselves(tmp_path):
    pod = {**POD, "spec": {"volumes": [
        {"name": "ws", "persistentVolumeClaim": {"claimName": "stage-1"}},
        {"name": "tmp", "emptyDir": {}},
        {"name": "host", "hostPath": {"path": "/var/run"}},
    ]}}
    assert volume_dirs(pod, data_dir=tmp_path) == {
        "ws": tmp_path / "volumes" / "ci" / "stage-1",
        "tmp": tmp_path / "pods" / "u-1" / "volumes" / "tmp",
        "host": Path("/var/run"),
    }


def test_working_dir_goes_through_the_deepest_mount_else_the_rootfs(tmp_path):
    claim, cache = tmp_path / "claim", tmp_path / "cache"
    container = {"volumeMounts": [{"name": "ws", "mountPath": "/drone/src"},
                                  {"name": "c", "mountPath": "/drone/src/.cache/"},
                                  {"name": "gone", "mountPath": "/x"}]}
    mounts = container_mounts(container, {"ws": claim, "c": cache})
    rootfs = tmp_path / "rootfs"
    assert host_path("/drone/src", mounts=mounts, rootfs=rootfs) == claim
    assert host_path("/drone/src/app", mounts=mounts, rootfs=rootfs) == claim / "app"
    assert host_path("/drone/src/.cache/go", mounts=mounts, rootfs=rootfs) == cache / "go"
    assert host_path("/drone/srcx", mounts=mounts, rootfs=rootfs) == rootfs / "drone" / "srcx"
    assert host_path("/", mounts=mounts, rootfs=rootfs) == rootfs


def test_command_line_follows_docker_entrypoint_and_cmd_rules():
    env = {"NAME": "world"}
    assert command_line({"command": ["echo"], "args": ["$(NAME)"]}, image_command=("true",), env=env) == (
        "echo", "world")
    assert command_line({"args": ["sleep", "1"]}, image_command=("true",), env=env) == ("sleep", "1")
    assert command_line({}, image_command=("true",), env=env) == ("true",)


def run(tmp_path, argv, **env):
    launch = Launch(argv=tuple(argv), cwd=tmp_path / "cwd", log_path=tmp_path / "logs" / "c.log", env=env)
    return Process(launch, base_env={})


def wait_for_log(path: Path, text: str, timeout: float = 10.0) -> None:
    """Bounded polling until the process wrote `text` (it has set its signal handler by then)."""
    deadline = time.monotonic() + timeout
    while text not in path.read_text():
        assert time.monotonic() < deadline, f"{text!r} never appeared in {path}"
        time.sleep(0.01)


def test_a_process_runs_in_its_folder_with_its_env_and_logs_both_streams(tmp_path):
    script = "import os,sys; print(os.getcwd(), os.environ['GREETING']); print('oops', file=sys.stderr)"
    process = run(tmp_path, [sys.executable, "-c", script], GREETING="hi")
    assert process.wait() == 0
    log = (tmp_path / "logs" / "c.log").read_text()
    assert f"{tmp_path / 'cwd'} hi" in log
    assert "oops" in log


def test_exit_codes_and_kills_read_like_a_containers(tmp_path):
    assert run(tmp_path, [sys.executable, "-c", "raise SystemExit(3)"]).wait() == 3
    sleeper = run(tmp_path, ["sleep", "30"])
    sleeper.terminate()
    assert sleeper.wait() == 143
    stubborn = run(tmp_path, [sys.executable, "-c", "import signal,time; signal.signal(signal.SIGTERM, "
                                                    "signal.SIG_IGN); print('ready', flush=True); time.sleep(30)"])
    wait_for_log(tmp_path / "logs" / "c.log", "ready")
    stubborn.terminate()
    assert not stubborn.exited(0.2)
    stubborn.kill()
    assert stubborn.wait() == 137


def test_the_environment_stays_out_of_the_launch_repr(tmp_path):
    launch = Launch(argv=("true",), cwd=tmp_path, log_path=tmp_path / "l", env={"TOKEN": "t0ps3cret"})
    assert "t0ps3cret" not in repr(launch)
