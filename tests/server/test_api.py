"""`/api` on the real app over a real SQLite store, with builds the real producer made: paging, documents equal to
the command line's `--json`, logs (followed too), cancel, approve, restart, repositories and the cache report.
(Tokens themselves, 401 and 403: test_tokens.py.)"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import kubernetes
import pytest
from starlette.testclient import TestClient

from pipeline_queue import store
from pipeline_queue.devcluster.cluster import DevCluster
from pipeline_queue.kube import Kube, RetryPolicy, make_api_client
from pipeline_queue.producer.submit import BuildEvent, SubmittedBuild, submit_text
from pipeline_queue.reconcile.service import advance_stage
from pipeline_queue.server.app import create_app
from pipeline_queue.server.services import Services
from pipeline_queue.settings import Settings
from pipeline_queue.store.tokens import create_token
from pipeline_queue.vault.keys import load_key_ring
from pipeline_queue.vault.repository import seal_webhook_secret
from pipeline_queue.vocabulary import FindingKind, Status
from tests.conftest import run_cli

PIPELINES = """
kind: pipeline
type: kubernetes
name: build
steps:
- name: compile
  image: alpine:3.19
  commands: [echo compiling]
---
kind: pipeline
type: kubernetes
name: deploy
depends_on: [build]
steps:
- name: push
  image: alpine:3.19
  commands: [echo pushing]
"""
WEBHOOK_SECRET = "webhook-secret-value-7d1e"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"  # where the `sessions` fixture keeps its database


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings.from_env({"PQ_DATA_DIR": str(data_dir), "PQ_NAMESPACE": f"api-{uuid.uuid4().hex[:10]}"})


@pytest.fixture
def sent() -> list[int]:
    return []


@pytest.fixture
def client(settings: Settings, sessions, sent: list[int]) -> Iterator[TestClient]:
    services = Services(settings=settings, sessions=sessions, send=sent.extend, broker_url="")
    with TestClient(create_app(services)) as running:
        with sessions.begin() as session:
            running.headers["Authorization"] = f"Bearer {create_token(session, 'ci-bot')}"
        yield running


def submit(settings: Settings, sessions, sent: list[int], *, repo: str = "octo/app", blocked: bool = False,
           text: str = PIPELINES) -> SubmittedBuild:
    return submit_text(text, filename=".drone.yml", event=BuildEvent(repo=repo, branch="main", commit="a" * 40),
                       settings=settings, sessions=sessions, send=sent.extend, blocked=blocked)


def compile_step(sessions, build_id: int) -> int:
    """The id of step `compile`, the first of pipeline `build`."""
    with sessions.begin() as session:
        return store.get_build(session, build_id).stages[0].steps[0].id


def with_finding(settings: Settings, sessions, sent: list[int], kind: FindingKind) -> int:
    """A new build whose step `build/compile` has a finding of `kind` about a private image on node-1."""
    build_id = submit(settings, sessions, sent).build_id
    step_id = compile_step(sessions, build_id)
    with sessions.begin() as session:
        store.add_finding(session, build_id=build_id, step_id=step_id, kind=kind,
                          image="registry.example.com/private:1", node="node-1", mode="warn", action="recorded")
    return build_id


def cli_json(data_dir: Path, *args: str):
    drop = ("DATABASE_URL", "PQ_SECRET_KEY", "REDIS_URL", "KUBECONFIG")
    env = {**{k: v for k, v in os.environ.items() if k not in drop}, "PQ_DATA_DIR": str(data_dir)}
    result = run_cli(*args, "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_pages_of_builds_cover_every_build_once_newest_first(client, settings, sessions, sent):
    ids = [submit(settings, sessions, sent, repo="octo/app" if n % 2 else "octo/lib").build_id for n in range(7)]
    seen, cursor, pages = [], None, 0
    while True:
        answer = client.get("/api/builds", params={"limit": 3, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200
        seen += [row["id"] for row in answer.json()["builds"]]
        cursor, pages = answer.json()["next"], pages + 1
        if cursor is None:
            break
        assert cursor == str(seen[-1])
    assert seen == sorted(ids, reverse=True) and pages == 3
    only_lib = client.get("/api/builds", params={"repo": "octo/lib"}).json()["builds"]
    assert [row["id"] for row in only_lib] == ids[0::2][::-1]


def test_the_status_filter_and_the_list_rows_of_builds_json(client, settings, sessions, sent, data_dir):
    pending = submit(settings, sessions, sent).build_id
    blocked = submit(settings, sessions, sent, blocked=True).build_id
    answer = client.get("/api/builds", params={"status": "blocked"}).json()
    assert [row["id"] for row in answer["builds"]] == [blocked] and answer["next"] is None
    assert [row["id"] for row in client.get("/api/builds?status=pending").json()["builds"]] == [pending]
    assert client.get("/api/builds").json()["builds"] == cli_json(data_dir, "builds")


@pytest.mark.parametrize(("query", "parameter"), [
    ("limit=0", "limit"), ("limit=101", "limit"), ("limit=ten", "limit"), ("cursor=-4", "cursor"),
    ("cursor=0", "cursor"), ("cursor=x", "cursor"), ("status=done", "status"),
])
def test_a_bad_parameter_is_a_400_naming_it(client, query, parameter):
    answer = client.get(f"/api/builds?{query}")
    assert answer.status_code == 400
    assert answer.json()["error"].startswith(f"{parameter}: ")


def test_the_build_document_is_what_build_show_json_prints(client, settings, sessions, sent, data_dir):
    build_id = with_finding(settings, sessions, sent, FindingKind.RISK)
    answer = client.get(f"/api/builds/{build_id}")
    assert answer.status_code == 200
    assert answer.json() == cli_json(data_dir, "build", "show", str(build_id))
    assert answer.json()["findings"][0]["step"] == "build/compile"


@pytest.mark.parametrize("path", ["/api/builds/99", "/api/builds/99/logs", "/api/builds/99/logs/build/compile"])
def test_an_unknown_build_is_a_json_404(client, path):
    answer = client.get(path)
    assert (answer.status_code, answer.json()) == (404, {"error": "build 99 does not exist"})


@pytest.mark.parametrize("action", ["cancel", "approve", "restart"])
def test_an_action_on_an_unknown_build_is_a_json_404(client, sent, action):
    answer = client.post(f"/api/builds/99/{action}")
    assert answer.status_code == 404 and "build 99 does not exist" in answer.json()["error"]
    assert sent == []


def test_unknown_paths_and_methods_answer_json(client):
    missing = client.get("/api/builds/1/artifacts")
    assert missing.status_code == 404 and missing.json() == {"error": "no such API route"}
    wrong = client.delete("/api/builds")
    assert wrong.status_code == 405 and "GET" in wrong.headers["allow"]
    assert wrong.json() == {"error": "method DELETE is not allowed here (allowed: GET, HEAD)"}
    assert client.get("/api/builds/1/cancel").status_code == 405


def test_logs_of_a_build_and_of_one_step(client, settings, sessions, sent):
    build_id = submit(settings, sessions, sent).build_id
    step_id = compile_step(sessions, build_id)
    with sessions.begin() as session:
        store.set_log(session, step_id, "compiling\nok\n")
    every = client.get(f"/api/builds/{build_id}/logs").json()
    assert every["build"] == build_id
    assert [(entry["stage"], entry["step"], entry["text"]) for entry in every["logs"]] == [
        ("build", "compile", "compiling\nok\n"), ("deploy", "push", "")]
    one = client.get(f"/api/builds/{build_id}/logs/build/compile?follow=false").json()
    assert one == {"stage": "build", "step": "compile", "status": "pending", "text": "compiling\nok\n",
                   "truncated": False}
    assert client.get(f"/api/builds/{build_id}/logs/deploy/compile").status_code == 404
    assert client.get(f"/api/builds/{build_id}/logs/build/compile?follow=maybe").status_code == 400


def test_a_followed_log_grows_while_the_step_runs_and_ends_when_it_finishes(client, settings, sessions, sent):
    build_id = submit(settings, sessions, sent).build_id
    step_id = compile_step(sessions, build_id)
    with sessions.begin() as session:
        store.update_step(session, step_id, status=Status.RUNNING)
        store.set_log(session, step_id, "one\n")
    with client.stream("GET", f"/api/builds/{build_id}/logs/build/compile") as answer:  # it follows by default
        assert answer.headers["content-type"].startswith("text/plain")
        chunks = answer.iter_text()
        assert next(chunks) == "one\n"  # the step still runs: the stream waits for more
        with sessions.begin() as session:
            store.set_log(session, step_id, "one\ntwo\n")
            store.update_step(session, step_id, status=Status.SUCCESS, exit_code=0)
        assert "".join(chunks) == "two\n"


def test_a_followed_build_log_names_each_step(client, settings, sessions, sent):
    build_id = submit(settings, sessions, sent, blocked=True).build_id
    step_id = compile_step(sessions, build_id)
    with sessions.begin() as session:
        store.set_log(session, step_id, "compiled\n")
    client.post(f"/api/builds/{build_id}/cancel")  # a blocked build ends at once: every step is final
    text = client.get(f"/api/builds/{build_id}/logs?follow=1").text
    assert text == "==> build/compile <==\ncompiled\n==> deploy/push <==\n"


def test_approving_a_blocked_build_sends_its_first_stage(client, settings, sessions, sent):
    submitted = submit(settings, sessions, sent, blocked=True)
    assert sent == []
    answer = client.post(f"/api/builds/{submitted.build_id}/approve")
    assert answer.status_code == 200 and answer.json()["status"] == "pending"
    first = [stage.stage_id for stage in submitted.stages if stage.name == "build"]
    assert sent == first
    assert client.post(f"/api/builds/{submitted.build_id}/approve").status_code == 200 and sent == first


def test_cancelling_a_blocked_build_ends_it_killed_at_once(client, settings, sessions, sent):
    build_id = submit(settings, sessions, sent, blocked=True).build_id
    answer = client.post(f"/api/builds/{build_id}/cancel")
    assert answer.status_code == 200
    assert answer.json()["status"] == "killed"
    assert {stage["status"] for stage in answer.json()["stages"]} == {"killed"}


@pytest.fixture
def kube(settings: Settings, tmp_path: Path) -> Iterator[Kube]:
    with DevCluster(nodes=1, data_dir=tmp_path / "cluster", kubeconfig=tmp_path / "kubeconfig") as cluster:
        client = cluster.api_client()
        kubernetes.client.CoreV1Api(client).create_namespace({"metadata": {"name": settings.run.namespace}})
        client.close()
        yield Kube(make_api_client(cluster.kubeconfig_path), retry=RetryPolicy(attempts=3, base_delay=0.05))


def test_cancelling_a_pending_build_sends_its_stages_and_the_worker_ends_it_killed(
    client, settings, sessions, sent, kube
):
    submitted = submit(settings, sessions, sent)
    sent.clear()
    answer = client.post(f"/api/builds/{submitted.build_id}/cancel")
    assert answer.status_code == 200 and answer.json()["status"] == "pending"  # marked; the workers stop it
    assert sorted(sent) == sorted(stage.stage_id for stage in submitted.stages)
    for stage_id in sent:  # what the workers do with each `advance` sent
        advance_stage(stage_id, sessions=sessions, kube=kube, settings=settings)
    assert client.get(f"/api/builds/{submitted.build_id}").json()["status"] == "killed"


def test_restart_makes_a_new_build_whose_parent_is_the_old_one(client, settings, sessions, sent):
    old = submit(settings, sessions, sent).build_id
    sent.clear()
    answer = client.post(f"/api/builds/{old}/restart")
    assert answer.status_code == 201
    new = answer.json()["build"]
    assert answer.json()["number"] == 2 and answer.json()["id"] == new != old
    assert answer.headers["location"] == f"/api/builds/{new}"
    with sessions.begin() as session:
        record = store.get_build(session, new).build
    assert (record.parent, record.trigger) == (old, "ci-bot")
    assert len(sent) == 1  # the new build's first stage
    assert client.post("/api/builds/99/restart").status_code == 404


def test_repositories_as_repo_list_json_shows_them_and_never_a_webhook_secret(client, settings, sessions, data_dir):
    ring = load_key_ring(settings.vault, data_dir=data_dir, create=True).ring
    with sessions.begin() as session:
        store.add_repository(session, "octo/app", trusted=True,
                             webhook_secret=seal_webhook_secret(ring, "octo/app", WEBHOOK_SECRET))
        store.create_repository_if_missing(session, "octo/local")
    listed = client.get("/api/repos")
    assert listed.json() == cli_json(data_dir, "repo", "list")
    assert [row["slug"] for row in listed.json()] == ["octo/app"]
    assert [row["slug"] for row in client.get("/api/repos?all=true").json()] == ["octo/app", "octo/local"]
    one = client.get("/api/repos/octo/app")
    assert one.json() == listed.json()[0] and one.json()["trusted"] is True
    assert client.get("/api/repos/octo/none").status_code == 404
    for answer in (listed, one):
        assert "secret" not in answer.text and WEBHOOK_SECRET not in answer.text


def test_the_cache_report_is_what_cache_report_json_shows(client, settings, sessions, sent, data_dir):
    with_finding(settings, sessions, sent, FindingKind.LEAK)
    answer = client.get("/api/cache")
    assert answer.status_code == 200
    assert answer.json() == cli_json(data_dir, "cache", "report")
    assert answer.json()["findings"][0] | {"build": 0} == {
        "kind": "leak", "image": "registry.example.com/private:1", "digest": "", "node": "node-1", "build": 0,
        "repo": "octo/app", "step": "build/compile", "mode": "warn", "action": "recorded"}
