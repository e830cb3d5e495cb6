"""`pipeline-queue devcluster` as a user runs it: foreground, a kubeconfig, the official client, Ctrl-C.

A stop must take under two seconds whatever is connected (a watch, a log stream) or running (a pod's process).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from functools import partial
from typing import Any

import kubernetes

from tests import polling

wait_for = partial(polling.wait_for, timeout=30.0, interval=0.1)
STOP_WITHIN = 2.0
LONG_POD = {"metadata": {"name": "long"}, "spec": {"containers": [
    {"name": "c", "image": "busybox:1.36", "command": ["sh", "-c", "while :; do echo tick; sleep 0.1; done"]}]}}


def _devcluster(tmp_path, *, nodes: int = 1, sigint_ignored: bool = False) -> subprocess.Popen[str]:
    """The command in a process of its own; `sigint_ignored` starts it as a shell starts a background job."""
    argv = [sys.executable, "-m", "pipeline_queue", "devcluster", "--nodes", str(nodes),
            "--kubeconfig", str(tmp_path / "kube" / "config")]
    if sigint_ignored:
        argv = ["sh", "-c", 'trap "" INT; exec "$@"', "sh", *argv]
    return subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _client(tmp_path) -> kubernetes.client.ApiClient:
    kubeconfig = tmp_path / "kube" / "config"
    wait_for(kubeconfig.exists, what="the kubeconfig")
    return kubernetes.config.new_client_from_config(config_file=str(kubeconfig))


def _connect_everything(core: kubernetes.client.CoreV1Api) -> list[Any]:
    """A running pod, a log stream following it and a watch, left open while the cluster stops."""
    core.create_namespaced_pod("default", LONG_POD)
    wait_for(lambda: core.read_namespaced_pod("long", "default").status.phase == "Running", what="pod long")
    logs = core.read_namespaced_pod_log("long", "default", follow=True, _preload_content=False)
    watch = core.list_namespaced_pod("default", watch=True, _preload_content=False)
    assert logs.read(5) == b"tick\n"
    return [logs, watch]


def _stop(process: subprocess.Popen[str], number: signal.Signals) -> tuple[float, str, str]:
    """Send `number`; (seconds until the process ended, its stdout, its stderr); killed if it outlives the bound."""
    began = time.monotonic()
    process.send_signal(number)
    try:
        out, err = process.communicate(timeout=STOP_WITHIN + 1)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return time.monotonic() - began, out, err


def test_devcluster_command_serves_the_official_client_until_interrupted(tmp_path):
    process = _devcluster(tmp_path, nodes=3)
    try:
        api = _client(tmp_path)
        core = kubernetes.client.CoreV1Api(api)
        nodes = wait_for(lambda: sorted(n.metadata.name for n in core.list_node().items) or None)
        assert nodes == ["node-1", "node-2", "node-3"]
        core.create_namespaced_pod("default", {
            "metadata": {"name": "hello"},
            "spec": {"restartPolicy": "Never",
                     "containers": [{"name": "c", "image": "busybox:1.36", "command": ["echo", "hello from a pod"]}]},
        })
        wait_for(lambda: core.read_namespaced_pod("hello", "default").status.phase == "Succeeded")
        assert core.read_namespaced_pod_log("hello", "default") == "hello from a pod\n"
        assert oct((tmp_path / "kube" / "config").stat().st_mode & 0o777) == "0o600"
        streams = _connect_everything(core)
    finally:
        took, out, err = _stop(process, signal.SIGINT)
    assert process.returncode == 0, err
    assert "kubeconfig written to" in out
    assert took < STOP_WITHIN, f"the cluster took {took:.1f}s to stop"
    for stream in streams:  # held open until the cluster was gone
        stream.release_conn()
    api.close()


def test_sigterm_stops_it_within_two_seconds_with_clients_connected(tmp_path):
    process = _devcluster(tmp_path)
    try:
        core = kubernetes.client.CoreV1Api(_client(tmp_path))
        wait_for(lambda: core.list_node().items, what="the node")
        streams = _connect_everything(core)
    finally:
        took, _, err = _stop(process, signal.SIGTERM)
    assert process.returncode == 0, err
    assert took < STOP_WITHIN, f"the cluster took {took:.1f}s to stop"
    for stream in streams:
        stream.release_conn()


def test_sigint_stops_it_even_when_started_as_a_background_job(tmp_path):
    process = _devcluster(tmp_path, sigint_ignored=True)
    try:
        core = kubernetes.client.CoreV1Api(_client(tmp_path))
        wait_for(lambda: core.list_node().items, what="the node")
    finally:
        took, _, err = _stop(process, signal.SIGINT)
    assert process.returncode == 0, err
    assert took < STOP_WITHIN, f"the cluster took {took:.1f}s to stop"


def test_a_bad_registries_file_is_one_clear_error_line(tmp_path):
    registries = tmp_path / "bad.yml"
    registries.write_text("registries:\n  r.example.com: {private: maybe}\n")
    done = subprocess.run(
        [sys.executable, "-m", "pipeline_queue", "devcluster", "--registries", str(registries),
         "--kubeconfig", str(tmp_path / "kubeconfig")],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2, done.stderr
    expected = f"error: {registries}: registries.r.example.com.private must be true or false"
    assert done.stderr.strip().splitlines() == [expected]
    assert "Traceback" not in done.stderr
