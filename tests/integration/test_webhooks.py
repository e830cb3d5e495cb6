"""Webhooks through `pipeline-queue up`, as a new user wires a git host: register a repository, paste its webhook
URL and secret, push. Deliveries are the hosts' fixture payloads pointed at a local bare repository (registered
with a file:// clone URL), signed with the secret `repo add` printed; builds run on the development cluster."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipeline_queue import runtime
from tests.conftest import ROOT, run_cli
from tests.polling import wait_for
from tests.scm.local_git import Repository, make_repository
from tests.server.hook_support import headers, payload

PIPELINE = """kind: pipeline
type: kubernetes
name: ci
steps:
- name: show
  image: alpine:3.19
  commands:
  - cat marker.txt
  - echo "event=$DRONE_BUILD_EVENT branch=$DRONE_BRANCH tag=${DRONE_TAG:-} pr=${DRONE_PULL_REQUEST:-}"
  - echo "trigger=$DRONE_BUILD_TRIGGER source=$DRONE_SOURCE_BRANCH target=$DRONE_TARGET_BRANCH"
"""
BUILD_TIMEOUT = 120.0


class Service:
    """`up` in a data directory of its own, and a repository registered with it."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("REDIS_URL", "KUBECONFIG", "DATABASE_URL") and not k.startswith("PQ_")}
        self.env.update(PQ_DATA_DIR=str(tmp / "data"), PYTHONPATH=str(ROOT), PQ_HTTP_PORT="0")
        self.output = tmp / "up.out"
        with self.output.open("wb") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "pipeline_queue", "up", "--nodes", "1"], cwd=tmp,
                                            env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        record = tmp / "data" / runtime.UP_RECORD
        wait_for(lambda: record.exists() or self.process.poll() is not None, what="up.json", timeout=90)
        assert self.process.poll() is None, self.output.read_text()
        self.url = json.loads(record.read_text())["url"]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, cwd=self.tmp, env=self.env)

    def register(self, slug: str, *extra: str) -> tuple[Repository, str]:
        """`repo add` with a file:// clone URL; the repository and the webhook secret it printed once."""
        repository = make_repository(self.tmp / slug.replace("/", "_"))
        repository.commit({".drone.yml": PIPELINE, "marker.txt": "checked out main\n"})
        added = self.cli("repo", "add", slug, "--clone-url", repository.url, *extra)
        assert added.returncode == 0, added.stderr
        secret = re.search(r"webhook secret: (\S+)", added.stdout)
        assert secret is not None, added.stdout
        return repository, secret.group(1)

    def deliver(self, provider: str, kind: str, body: bytes, *, secret: str) -> httpx.Response:
        return httpx.post(f"{self.url}/hook", content=body, headers=headers(provider, kind, body, secret=secret),
                          timeout=60)

    def finished(self, build_id: int) -> dict[str, Any]:
        def ended() -> dict[str, Any] | None:
            shown = json.loads(self.cli("build", "show", str(build_id), "--json").stdout)
            return shown if shown["status"] not in ("pending", "running", "blocked") else None

        return wait_for(ended, what=f"build {build_id} to finish", timeout=BUILD_TIMEOUT, interval=0.5)

    def log(self, build_id: int, step: str = "show") -> str:
        return self.cli("logs", str(build_id), step).stdout

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            self.process.wait(timeout=60)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    started = Service(tmp_path_factory.mktemp("webhooks"))
    try:
        yield started
    finally:
        started.stop()


def test_up_serves_health_readiness_and_says_where(service: Service) -> None:
    assert httpx.get(f"{service.url}/healthz", timeout=10).json() == {"status": "ok"}
    ready = wait_for(lambda: (r := httpx.get(f"{service.url}/readyz", timeout=10)).status_code == 200 and r,
                     what="/readyz to answer 200", timeout=30)
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok", "kubernetes": "ok"}
    assert f"http      {service.url}" in service.output.read_text()


def test_a_github_push_runs_the_commit_s_pipeline_with_drone_s_variables(service: Service) -> None:
    repository, secret = service.register("octo/app")
    commit = repository.commit({"marker.txt": "checked out the pushed commit\n"})
    body = payload("github", "push", repo="octo/app", commit=commit, changes={"ref": "refs/heads/main"})
    answer = service.deliver("github", "push", body, secret=secret)
    assert answer.status_code == 200, answer.text
    [build_id] = answer.json()["builds"]
    shown = service.finished(build_id)
    assert shown["status"] == "success", shown
    log = service.log(build_id)
    assert "checked out the pushed commit" in log  # the clone step fetched exactly that commit
    assert "event=push branch=main tag= pr=" in log and "trigger=@hook" in log
    assert service.deliver("github", "push", body, secret="wrong").status_code == 401


def test_a_gitea_tag_builds_a_tag(service: Service) -> None:
    repository, secret = service.register("tea/kettle")
    commit = repository.git("rev-parse", "HEAD")
    answer = service.deliver("gitea", "tag", payload("gitea", "tag", repo="tea/kettle", commit=commit),
                             secret=secret)
    [build_id] = answer.json()["builds"]
    assert service.finished(build_id)["status"] == "success"
    assert "event=tag" in service.log(build_id) and "tag=v0.3.0" in service.log(build_id)


def test_a_gitlab_merge_request_from_a_fork_waits_for_approval_then_runs(service: Service) -> None:
    repository, secret = service.register("platform/tools/deployer")
    head = repository.commit({"marker.txt": "the fork's change\n"}, message="fork change")
    repository.git("push", "-q", repository.url, f"{head}:refs/merge-requests/7/head")
    body = payload("gitlab", "merge_request", repo="platform/tools/deployer", commit=head)
    answer = service.deliver("gitlab", "merge_request", body, secret=secret)
    assert answer.status_code == 200, answer.text
    [build_id] = answer.json()["builds"]
    shown = json.loads(service.cli("build", "show", str(build_id), "--json").stdout)
    assert shown["status"] == "blocked"
    approved = service.cli("build", "approve", str(build_id))
    assert approved.returncode == 0 and "approved" in approved.stdout, approved.stderr
    assert service.finished(build_id)["status"] == "success"
    log = service.log(build_id)
    assert "the fork's change" in log and "event=pull_request" in log and "pr=7" in log
    assert "source=retry-rollouts" in log


def test_metrics_count_the_deliveries_of_every_provider(service: Service) -> None:
    text = httpx.get(f"{service.url}/metrics", timeout=10).text
    samples = {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
               for family in text_string_to_metric_families(text) for sample in family.samples}
    created = {labels: value for (name, labels), value in samples.items()
               if name == "pq_webhook_deliveries_total" and ("result", "created") in labels}
    assert {dict(labels)["provider"] for labels in created} >= {"github", "gitea", "gitlab"}
    assert samples[("pq_webhook_deliveries_total", (("provider", "github"), ("result", "unauthorized")))] >= 1
