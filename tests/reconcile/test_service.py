"""advance_stage end to end: a SQLite store and the development cluster, advanced in a loop until the stage ends."""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import kubernetes
import pytest

from pipeline_queue.devcluster.cluster import DevCluster
from pipeline_queue.kube import Kube, RetryPolicy, make_api_client
from pipeline_queue.reconcile.service import AdvanceResult, advance_stage
from pipeline_queue.settings import PathsConfig, Settings
from pipeline_queue.store import (
    NewBuild,
    NewStage,
    create_build,
    get_log,
    get_stage,
    request_cancel,
    set_stage_plan,
)
from pipeline_queue.store.stage_secrets import seal_stage_secrets
from pipeline_queue.vault.keys import key_file, load_key_ring
from pipeline_queue.vault.stages import seal_stage
from pipeline_queue.vocabulary import Status
from tests.reconcile.builders import compile_text


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The worker's settings: its data directory (the store's, and the key file that seals stage Secrets)."""
    return Settings(paths=PathsConfig(data_dir=tmp_path / "data"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevCluster]:
    base = tmp_path_factory.mktemp("reconcile-devcluster")
    with DevCluster(nodes=2, data_dir=base / "data", kubeconfig=base / "kubeconfig") as running:
        yield running


@pytest.fixture(scope="module")
def kube(cluster: DevCluster) -> Kube:
    return Kube(make_api_client(cluster.kubeconfig_path), retry=RetryPolicy(attempts=3, base_delay=0.05))


@pytest.fixture
def namespace(cluster: DevCluster) -> str:
    name = f"r-{uuid.uuid4().hex[:10]}"
    client = cluster.api_client()
    kubernetes.client.CoreV1Api(client).create_namespace({"metadata": {"name": name}})
    client.close()
    return name



class Run:
    """One enqueued stage: the producer's part done (the build in the store, its Secrets sealed beside it)."""

    def __init__(self, text: str, *, namespace: str, sessions, kube: Kube, settings: Settings, secrets=None) -> None:
        self.compiled = compiled = compile_text(text, namespace=namespace, stage_key=uuid.uuid4().hex[:8],
                                                secrets=secrets)
        self.plan = compiled.plan
        self.sessions, self.kube, self.namespace, self.settings = sessions, kube, namespace, settings
        with sessions.begin() as session:
            detail = create_build(session, NewBuild(repo="octo/app", event="push", branch="main"),
                                  stages=[NewStage(name=self.plan.pipeline)])
            stage = set_stage_plan(session, detail.stages[0].id, self.plan)
            if compiled.secrets:
                ring = load_key_ring(settings.vault, data_dir=settings.paths.data_dir, create=True).ring
                seal_stage_secrets(session, stage.id, seal_stage(ring, self.plan.stage_key, compiled.secrets))
        self.stored_plan = stage.plan
        self.build_id, self.stage_id = detail.build.id, stage.id
        self.pod_uids: dict[str, set[str]] = {}
        self.policies: dict[str, str] = {}

    def advance(self) -> AdvanceResult:
        return advance_stage(self.stage_id, sessions=self.sessions, kube=self.kube, settings=self.settings)

    def watch_pods(self) -> None:
        for pod in self.kube.list_pods(self.namespace):
            name = pod["metadata"]["name"]
            self.pod_uids.setdefault(name, set()).add(pod["metadata"]["uid"])
            self.policies[name] = pod["spec"]["containers"][0]["imagePullPolicy"]

    def until_finished(self, *, timeout: float = 30.0, until=None) -> AdvanceResult:
        """Advance, look at the pods, pause briefly; bounded by `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.advance()
            self.watch_pods()
            if result.finished or (until is not None and until(result)):
                return result
            assert time.monotonic() < deadline, f"stage {self.stage_id} did not finish in {timeout}s"
            time.sleep(0.05)

    def stage(self):
        with self.sessions.begin() as session:
            return get_stage(session, self.stage_id)

    def log(self, step_id: int) -> str:
        with self.sessions.begin() as session:
            return get_log(session, step_id).text

    def leftovers(self) -> dict[str, list[str]]:
        deadline = time.monotonic() + 10
        while True:
            left = {kind: [o["metadata"]["name"] for o in self.kube.list(kind, self.namespace)]
                    for kind in ("Pod", "Secret", "Service", "PersistentVolumeClaim")}
            if not any(left.values()) or time.monotonic() > deadline:
                return left
            time.sleep(0.05)


PIPELINE = """
kind: pipeline
type: kubernetes
name: default
environment:
  GREETING: {from_secret: greeting}
steps:
- name: build
  image: alpine:3.19
  commands: [echo building $GREETING]
- name: test
  image: alpine
  commands: [echo testing]
"""


def test_a_stage_runs_to_success_and_leaves_nothing_behind(namespace, sessions, kube, settings):
    run = Run(PIPELINE.replace("{from_secret: greeting}", "hello"), namespace=namespace, sessions=sessions,
              kube=kube, settings=settings)
    result = run.until_finished()
    assert result.status is Status.SUCCESS
    stage = run.stage()
    build, test = stage.steps
    assert [s.status for s in stage.steps] == [Status.SUCCESS, Status.SUCCESS]
    assert build.exit_code == 0 and build.node.startswith("node-") and test.node == build.node
    assert build.image_id.startswith("docker.io/library/alpine@sha256:")
    assert run.log(build.id) == "+ echo building $GREETING\nbuilding hello\n"
    assert run.policies == {run.plan.steps[0].pod_name: "IfNotPresent", run.plan.steps[1].pod_name: "Always"}
    assert run.leftovers() == {"Pod": [], "Secret": [], "Service": [], "PersistentVolumeClaim": []}


def test_secret_values_reach_the_pod_but_never_the_database_nor_the_log(namespace, sessions, kube, settings):
    run = Run(PIPELINE, namespace=namespace, sessions=sessions, kube=kube, settings=settings,
              secrets={"greeting": "s3cr3t-value"})
    assert "s3cr3t-value" not in repr(run.stored_plan)
    assert run.compiled.env_secret is not None
    assert run.stored_plan["secrets"] == [run.compiled.env_secret["metadata"]["name"]]
    assert run.until_finished().status is Status.SUCCESS
    assert run.log(run.stage().steps[0].id).endswith("building ********\n")  # masked, as Drone does


def test_a_log_whose_values_cannot_be_read_is_withheld_never_stored_unmasked(namespace, sessions, kube, tmp_path,
                                                                             settings):
    release = tmp_path / "release"  # the dev cluster runs the step as a local process: it sees this path
    waits = f"i=0; until [ -e {release} ] || [ $i -ge 600 ]; do sleep 0.05; i=$((i+1)); done"
    text = PIPELINE.replace("commands: [echo building $GREETING]", f"commands: ['{waits}', echo building $GREETING]")
    run = Run(text, namespace=namespace, sessions=sessions, kube=kube, settings=settings,
              secrets={"greeting": "s3cr3t-value"})
    run.until_finished(until=lambda _: run.stage().steps[0].status is Status.RUNNING)
    key_file(settings.paths.data_dir).write_text(base64.b64encode(b"k" * 32).decode() + "\n")  # another key
    release.touch()
    assert run.until_finished().status is Status.SUCCESS
    text = run.log(run.stage().steps[0].id)
    assert text.startswith("[pipeline-queue: log withheld: the stage's Secrets do not open: the Secrets of stage ")
    assert "s3cr3t-value" not in text and "building" not in text


def test_a_failing_step_fails_the_stage_and_skips_the_next(namespace, sessions, kube, settings):
    run = Run(PIPELINE.replace("echo building $GREETING", "exit 3"), namespace=namespace, sessions=sessions,
              kube=kube, settings=settings)
    assert run.until_finished().status is Status.FAILURE
    build, test = run.stage().steps
    assert (build.status, build.exit_code, test.status) == (Status.FAILURE, 3, Status.SKIPPED)
    assert run.leftovers()["Pod"] == []


def test_an_image_that_cannot_be_pulled_fails_with_a_clear_error(namespace, sessions, kube, settings):
    text = PIPELINE.replace("image: alpine:3.19", "image: registry.example.com/team/app:1.0")
    run = Run(text, namespace=namespace, sessions=sessions, kube=kube, settings=settings)
    assert run.until_finished().status is Status.ERROR
    build = run.stage().steps[0]
    assert build.status is Status.ERROR
    assert build.error.startswith("image registry.example.com/team/app:1.0 could not be pulled: "
                                  "no credentials for registry.example.com (image_pull_secrets: none)")


def test_two_concurrent_advances_never_make_a_duplicate_pod(namespace, sessions, kube, settings):
    run = Run(PIPELINE, namespace=namespace, sessions=sessions, kube=kube, settings=settings)
    created: list[str] = []
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            result = run.until_finished()
            created.extend(result.created)
            while not result.finished:
                result = run.advance()
        except BaseException as error:  # surfaced by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert run.stage().status is Status.SUCCESS
    assert all(len(uids) == 1 for uids in run.pod_uids.values()), run.pod_uids
    assert len(run.pod_uids) == 2


def test_cancel_kills_the_running_step_and_removes_its_pod(namespace, sessions, kube, settings):
    run = Run(PIPELINE.replace("echo building $GREETING", "sleep 30"), namespace=namespace, sessions=sessions,
              kube=kube, settings=settings)
    run.until_finished(until=lambda _: run.stage().steps[0].status is Status.RUNNING)
    with sessions.begin() as session:
        request_cancel(session, run.build_id)
    result = run.advance()
    assert result.finished and result.status is Status.KILLED
    build, test = run.stage().steps
    assert (build.status, test.status) == (Status.KILLED, Status.SKIPPED)
    assert run.leftovers()["Pod"] == []


class CountingKube(Kube):
    """The real Kube, counting the deletes it sends (to see what late advances cost)."""

    deletes = 0

    def delete_collection(self, kind: str, namespace: str, label_selector: str) -> int:
        self.deletes += 1
        return super().delete_collection(kind, namespace, label_selector)

    def delete(self, kind: str, namespace: str, name: str, *, missing_ok: bool = False) -> bool:
        self.deletes += 1
        return super().delete(kind, namespace, name, missing_ok=missing_ok)


def test_late_advances_of_a_finished_stage_send_no_more_deletes(namespace, sessions, cluster, settings):
    kube = CountingKube(make_api_client(cluster.kubeconfig_path), retry=RetryPolicy(attempts=3, base_delay=0.05))
    run = Run(PIPELINE.replace("{from_secret: greeting}", "hello"), namespace=namespace, sessions=sessions,
              kube=kube, settings=settings)
    assert run.until_finished().status is Status.SUCCESS
    assert run.leftovers() == {"Pod": [], "Secret": [], "Service": [], "PersistentVolumeClaim": []}
    before = kube.deletes
    for _ in range(3):  # pod events that arrive after the stage finished
        assert advance_stage(run.stage_id, sessions=sessions, kube=kube, settings=settings).finished
    assert kube.deletes == before


def test_a_step_and_a_service_still_running_at_the_end_both_keep_their_logs(namespace, sessions, kube, settings):
    text = ("kind: pipeline\ntype: kubernetes\nname: default\nservices:\n- name: db\n  image: redis:7\n"
            "  commands: [echo db-up, sleep 30]\nsteps:\n- name: ask\n  image: alpine:3.19\n  commands: [echo asked]\n")
    run = Run(text, namespace=namespace, sessions=sessions, kube=kube, settings=settings)
    assert run.until_finished().status is Status.SUCCESS
    db, ask = run.stage().steps
    assert "asked" in run.log(ask.id) and "db-up" in run.log(db.id)
