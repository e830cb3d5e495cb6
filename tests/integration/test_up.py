"""`pipeline-queue up` as a user runs it: embedded Redis, development cluster, database, worker, beat, watcher.

Each test starts the real command in a fresh data directory with REDIS_URL, KUBECONFIG and DATABASE_URL unset,
and checks the parts through their own clients (the official Kubernetes client, Celery's `inspect ping`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import kubernetes
import pytest

from pipeline_queue import broker, runtime
from pipeline_queue.settings import Settings
from tests.conftest import ROOT, run_cli
from workers.app import make_app

START_TIMEOUT = 60.0
STOP_TIMEOUT = 40.0


@dataclass
class Up:
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    folder: Path
    data_dir: Path

    def output(self) -> str:
        return (self.folder / "up.out").read_text(errors="replace")

    def record(self) -> dict[str, Any]:
        return json.loads((self.data_dir / runtime.UP_RECORD).read_text())


def _wait(condition: Callable[[], Any], *, what: str, up: Up, timeout: float = START_TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if up.process.poll() is not None:
            pytest.fail(f"`up` exited with {up.process.returncode} while waiting for {what}:\n{up.output()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{up.output()}")
        time.sleep(0.1)


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "KUBECONFIG", "DATABASE_URL")}
    env.update(PQ_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT), PQ_HTTP_PORT="0")
    with (tmp_path / "up.out").open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline_queue", "up", "--nodes", "2"], cwd=tmp_path, env=env,
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )
    started = Up(process=process, env=env, folder=tmp_path, data_dir=tmp_path / "data")
    try:
        _wait(lambda: (started.data_dir / runtime.UP_RECORD).exists(), what="up.json", up=started)
        yield started
    finally:
        if process.poll() is None:  # a failed test: leave nothing running
            process.send_signal(signal.SIGINT)
            process.wait(timeout=STOP_TIMEOUT)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _nodes(kubeconfig: str) -> list[str]:
    client = kubernetes.config.new_client_from_config(config_file=kubeconfig)
    with client:
        return sorted(node.metadata.name for node in kubernetes.client.CoreV1Api(client).list_node().items)


def test_up_starts_everything_others_find_it_and_ctrl_c_stops_it_all(up: Up) -> None:
    record = up.record()
    assert set(record["children"]) == {"devcluster", "worker", "beat", "watch", "serve"}
    assert httpx.get(f"{record['url']}/healthz", timeout=10).json() == {"status": "ok"}
    assert record["kubeconfig"] == str(up.data_dir / "kubeconfig")
    assert record["redis_url"].startswith("redis+socket://")

    _wait(lambda: _nodes(record["kubeconfig"]) == ["node-1", "node-2"], what="two nodes", up=up)
    app = make_app(Settings.from_env(up.env), broker_url=record["redis_url"])
    replies = _wait(lambda: app.control.inspect(timeout=1).ping(), what="a worker answering ping", up=up)
    assert all(reply == {"ok": "pong"} for reply in replies.values())

    resolved = runtime.resolve(Settings.from_env(up.env))
    assert (resolved.redis_url, str(resolved.kubeconfig)) == (record["redis_url"], record["kubeconfig"])
    assert resolved.database_url == record["database_url"]
    listed = run_cli("builds", "--json", cwd=up.folder, env=up.env)
    assert (listed.returncode, listed.stdout.strip()) == (0, "[]"), listed.stderr
    second = run_cli("up", cwd=up.folder, env=up.env)
    assert second.returncode == 2 and "already runs" in second.stderr

    up.process.send_signal(signal.SIGINT)
    assert up.process.wait(timeout=STOP_TIMEOUT) == 0, up.output()
    assert [name for name, pid in record["children"].items() if _alive(pid)] == []
    assert not (up.data_dir / runtime.UP_RECORD).exists()
    assert not (up.data_dir / broker.RECORD_FILE).exists()  # the embedded Redis it started is shut down
    assert not (up.data_dir / "kubeconfig").exists()  # it named the development cluster that is gone


WAITING_PIPELINE = """kind: pipeline
type: kubernetes
name: default
steps:
- name: wait
  image: alpine:3.19
  commands:
  - while [ ! -e {release} ]; do sleep 0.1; done
  - echo released
"""
"""A build that stays in flight until the test creates the file `release` (the step polls for it)."""


def _build(up: Up, number: int) -> dict[str, Any]:
    """What `build show N --json` prints, read from the store `up` uses (no process per poll)."""
    from pipeline_queue import store
    from pipeline_queue.store.documents import detail_document

    engine = store.create_engine(up.record()["database_url"])
    try:
        with store.session_factory(engine).begin() as session:
            detail = store.get_build(session, number)
            return detail_document(detail) if detail else {"status": "", "stages": []}
    finally:
        engine.dispose()


def _step_status(up: Up, number: int) -> str:
    """The status of the build's last step, "" while it has none yet."""
    stages = _build(up, number)["stages"]
    steps = stages[0]["steps"] if stages else []
    return str(steps[-1]["status"]) if steps else ""


def test_a_worker_killed_under_up_is_restarted_and_logged_and_the_build_in_flight_finishes(up: Up) -> None:
    """The issue's reproduction: SIGKILL the worker while a build runs; `up` keeps going, says so, and the build
    finishes on the restarted worker; the other children are untouched; SIGTERM then stops it all."""
    record = up.record()
    _wait(lambda: _nodes(record["kubeconfig"]) == ["node-1", "node-2"], what="two nodes", up=up)
    release = up.folder / "release"
    (up.folder / "wait.yml").write_text(WAITING_PIPELINE.format(release=release))
    submitted = run_cli("run", "wait.yml", cwd=up.folder, env=up.env)
    assert submitted.returncode == 0, submitted.stderr
    _wait(lambda: _step_status(up, 1) == "running", what="the step to run", up=up)

    killed = record["children"]["worker"]
    os.kill(killed, signal.SIGKILL)
    _wait(lambda: up.record()["children"]["worker"] != killed, what="a new worker in up.json", up=up)
    assert f"worker (pid {killed}) exited with code -9; restarting it in 1s (restart 1)" in up.output()
    restarted = up.record()["children"]["worker"]
    assert f"worker restarted (pid {restarted}, restart 1)" in up.output()
    assert "--- restart 1 of worker ---" in Path(up.record()["logs"]["worker"]).read_text()

    release.touch()
    _wait(lambda: _build(up, 1)["status"] == "success", what="the build in flight to pass", up=up,
          timeout=90)
    logs = run_cli("logs", "1", "wait", cwd=up.folder, env=up.env)
    assert "released" in logs.stdout, logs.stdout + logs.stderr
    children = up.record()["children"]
    assert {name: pid for name, pid in children.items() if name != "worker"} == {
        name: pid for name, pid in record["children"].items() if name != "worker"}

    up.process.send_signal(signal.SIGTERM)
    assert up.process.wait(timeout=STOP_TIMEOUT) == 0, up.output()
    assert [name for name, pid in children.items() if _alive(pid)] == []


def test_under_up_an_untrusted_repository_s_attack_is_refused_and_its_own_build_runs(up: Up) -> None:
    """As a new user would: register a repository, give it a secret, try a privileged pipeline, then a fair one."""
    record = up.record()
    _wait(lambda: _nodes(record["kubeconfig"]) == ["node-1", "node-2"], what="two nodes", up=up)
    assert run_cli("repo", "add", "team/app", cwd=up.folder, env=up.env).returncode == 0
    (up.folder / "value").write_text("hunter2-but-longer")
    added = run_cli("secret", "add", "team/app", "token", "--from-file", str(up.folder / "value"), cwd=up.folder,
                    env=up.env)
    assert added.returncode == 0, added.stderr
    (up.folder / "attack.yml").write_text(
        "kind: pipeline\ntype: kubernetes\nname: default\nsteps:\n- name: s\n  image: alpine:3.19\n"
        "  privileged: true\n  commands: [id]\n")
    refused = run_cli("run", "attack.yml", "--repo", "team/app", cwd=up.folder, env=up.env)
    assert refused.returncode == 1 and "privileged requires a trusted repository" in refused.stderr
    (up.folder / "fair.yml").write_text(
        "kind: pipeline\ntype: kubernetes\nname: default\nsteps:\n- name: s\n  image: alpine:3.19\n"
        "  environment: {TOKEN: {from_secret: token}}\n  commands: [echo token is $TOKEN]\n")
    ran = run_cli("run", "fair.yml", "--repo", "team/app", "--follow", cwd=up.folder, env=up.env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "token is ********" in ran.stdout and "hunter2" not in ran.stdout + ran.stderr
    listed = json.loads(run_cli("builds", "--json", cwd=up.folder, env=up.env).stdout)
    assert [build["repo"] for build in listed] == ["team/app"]  # the refused one left nothing
