"""`pipeline-queue devcluster` as a user runs it: foreground, a kubeconfig, the official client, Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
from functools import partial

import kubernetes

from tests import polling

wait_for = partial(polling.wait_for, timeout=30.0, interval=0.1)


def test_devcluster_command_serves_the_official_client_until_interrupted(tmp_path):
    kubeconfig = tmp_path / "kube" / "config"
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline_queue", "devcluster", "--nodes", "3", "--kubeconfig", str(kubeconfig)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_for(kubeconfig.exists)
        api = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
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
        assert oct(kubeconfig.stat().st_mode & 0o777) == "0o600"
        api.close()
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "kubeconfig written to" in out


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
