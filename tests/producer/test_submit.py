"""submit_file on a SQLite store and the development cluster: the build, its pods' stage ids, triggers, secrets."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import kubernetes
import pytest

from pipeline_queue.compiler import StagePlan
from pipeline_queue.devcluster.cluster import DevCluster
from pipeline_queue.errors import SpecError, UsageError
from pipeline_queue.kube import Kube, RetryPolicy, make_api_client
from pipeline_queue.producer.dependencies import may_start, release_waiting
from pipeline_queue.producer.submit import submit_file
from pipeline_queue.reconcile.service import advance_stage
from pipeline_queue.settings import PathsConfig, RunConfig, Settings
from pipeline_queue.store import (
    NewBuild,
    NewStage,
    create_build,
    create_engine,
    database_url,
    get_build,
    get_log,
    migrate,
    session_factory,
)
from pipeline_queue.store.engine import DATABASE_FILE
from pipeline_queue.store.stage_secrets import sealed_stage_secrets
from pipeline_queue.vocabulary import Status

SECRET_VALUE = "s3cr3t-value-9f1c2a"

TWO_STEPS = """
kind: pipeline
type: kubernetes
name: default
steps:
- name: build
  image: alpine:3.19
  environment:
    TOKEN: {from_secret: token}
  commands: [echo building]
- name: test
  image: alpine:3.19
  commands: [echo testing]
"""

TRIGGERED = """
kind: pipeline
type: kubernetes
name: always
steps:
- name: hello
  image: alpine:3.19
  commands: [echo hi]
---
kind: pipeline
type: kubernetes
name: release-only
trigger:
  branch: [release/*]
steps:
- name: publish
  image: alpine:3.19
  commands: [echo publish]
---
kind: pipeline
type: kubernetes
name: after
depends_on: [release-only]
steps:
- name: notify
  image: alpine:3.19
  commands: [echo notify]
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevCluster]:
    base = tmp_path_factory.mktemp("producer-devcluster")
    with DevCluster(nodes=1, data_dir=base / "data", kubeconfig=base / "kubeconfig") as running:
        yield running


@pytest.fixture(scope="module")
def kube(cluster: DevCluster) -> Kube:
    return Kube(make_api_client(cluster.kubeconfig_path), retry=RetryPolicy(attempts=3, base_delay=0.05))


@pytest.fixture
def settings(cluster: DevCluster, tmp_path: Path) -> Settings:
    """Settings whose namespace is fresh: every test's stage ids start at 1 in its own database."""
    name = f"p-{uuid.uuid4().hex[:10]}"
    client = cluster.api_client()
    kubernetes.client.CoreV1Api(client).create_namespace({"metadata": {"name": name}})
    client.close()
    return Settings(run=RunConfig(namespace=name), paths=PathsConfig(data_dir=tmp_path / "data"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def sessions(data_dir: Path):
    url = database_url(data_dir=data_dir)
    migrate(url)
    engine = create_engine(url)
    yield session_factory(engine)
    engine.dispose()


class Sent(list):
    """The `send` callable: remembers every stage id it was given."""

    def __call__(self, stage_ids: Sequence[int]) -> None:
        self.extend(stage_ids)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".drone.yml"
    path.write_text(text)
    return path


def submit(path: Path, *, settings, sessions, kube, branch: str = "main", secrets=None, sent=None):
    return submit_file(path, repo="octo/app", branch=branch, commit="a" * 40, event="push",
                       secrets={"token": SECRET_VALUE} if secrets is None else secrets, settings=settings,
                       sessions=sessions, send=sent if sent is not None else Sent())


def run_stage(stage_id: int, *, sessions, kube, settings, timeout: float = 30.0) -> Status:
    deadline = time.monotonic() + timeout
    while True:
        result = advance_stage(stage_id, sessions=sessions, kube=kube, settings=settings)
        if result.finished:
            return result.status
        assert time.monotonic() < deadline, f"stage {stage_id} did not finish in {timeout}s"
        time.sleep(0.05)


def test_a_submitted_file_becomes_a_pending_build_and_its_first_stage_is_sent(tmp_path, settings, sessions, kube):
    sent = Sent()
    submitted = submit(write(tmp_path, TWO_STEPS), settings=settings, sessions=sessions, kube=kube, sent=sent)
    [stage] = submitted.stages
    assert (submitted.number, stage.name, stage.skipped_reason) == (1, "default", None)
    assert sent == [stage.stage_id] and submitted.enqueued == (stage.stage_id,)
    with sessions.begin() as session:
        detail = get_build(session, submitted.build_id)
    assert detail.build.status is Status.PENDING and detail.build.branch == "main"
    assert [step.name for step in detail.stages[0].steps] == ["build", "test"]
    assert detail.stages[0].plan["secrets"]  # named in the plan, sealed beside it, published by the worker
    assert kube.list("Secret", settings.run.namespace) == []


def test_pods_carry_the_numeric_store_stage_id_and_the_stage_runs(tmp_path, settings, sessions, kube):
    submitted = submit(write(tmp_path, TWO_STEPS), settings=settings, sessions=sessions, kube=kube)
    stage_id = submitted.stages[0].stage_id
    assert run_stage(stage_id, sessions=sessions, kube=kube, settings=settings) is Status.SUCCESS
    with sessions.begin() as session:
        detail = get_build(session, submitted.build_id)
        logs = [get_log(session, step.id).text for step in detail.stages[0].steps]
    assert detail.build.status is Status.SUCCESS
    assert "building" in logs[0] and "testing" in logs[1]
    pods = detail.stages[0].plan["steps"]
    assert {pod["pod"]["metadata"]["annotations"]["pipeline-queue.io/stage-id"] for pod in pods} == {str(stage_id)}
    (key,) = {pod["pod"]["metadata"]["labels"]["pipeline-queue.io/stage"] for pod in pods}
    assert re.fullmatch(rf"{stage_id}-[0-9a-f]{{8}}", key)  # the stage id and a suffix never handed out twice


def test_the_created_pods_themselves_name_the_stage(tmp_path, settings, sessions, kube):
    submitted = submit(write(tmp_path, TWO_STEPS), settings=settings, sessions=sessions, kube=kube)
    stage_id = submitted.stages[0].stage_id
    result = advance_stage(stage_id, sessions=sessions, kube=kube, settings=settings)
    assert result.created
    with sessions.begin() as session:
        selector = StagePlan.from_json(get_build(session, submitted.build_id).stages[0].plan).selector
    pods = kube.list_pods(settings.run.namespace, selector)
    assert pods and all(pod["metadata"]["annotations"]["pipeline-queue.io/stage-id"] == str(stage_id)
                        for pod in pods)
    run_stage(stage_id, sessions=sessions, kube=kube, settings=settings)


def test_a_pipeline_whose_trigger_does_not_match_is_left_out_and_its_dependents_rewired(
    tmp_path, settings, sessions, kube
):
    sent = Sent()
    submitted = submit(write(tmp_path, TRIGGERED), settings=settings, sessions=sessions, kube=kube, sent=sent,
                       secrets={})
    by_name = {stage.name: stage for stage in submitted.stages}
    assert by_name["release-only"].stage_id is None
    assert "trigger does not match" in by_name["release-only"].skipped_reason
    assert "branch 'main'" in by_name["release-only"].skipped_reason
    with sessions.begin() as session:
        detail = get_build(session, submitted.build_id)
    assert [(stage.name, stage.depends_on) for stage in detail.stages] == [("always", ()), ("after", ())]
    # With the pipeline it waited on left out, `after` waits on nothing: both start at once.
    assert sorted(sent) == sorted(stage.id for stage in detail.stages)


def test_on_a_matching_branch_the_dependent_waits_then_is_released(tmp_path, settings, sessions, kube):
    sent = Sent()
    submitted = submit(write(tmp_path, TRIGGERED), settings=settings, sessions=sessions, kube=kube, sent=sent,
                       secrets={}, branch="release/1.0")
    ids = {stage.name: stage.stage_id for stage in submitted.stages}
    assert sorted(sent) == sorted([ids["always"], ids["release-only"]])
    assert not may_start(sessions, ids["after"])
    assert run_stage(ids["release-only"], sessions=sessions, kube=kube, settings=settings) is Status.SUCCESS
    assert release_waiting(sessions, ids["release-only"]) == [ids["after"]]
    assert may_start(sessions, ids["after"])


def test_a_lint_error_is_a_spec_error_listing_the_problems_and_nothing_is_stored(tmp_path, settings, sessions,
                                                                                  kube):
    text = TWO_STEPS.replace("name: test", "name: build")
    with pytest.raises(SpecError) as caught:
        submit(write(tmp_path, text), settings=settings, sessions=sessions, kube=kube)
    assert "build" in str(caught.value) and ".drone.yml:" in str(caught.value)
    with sessions.begin() as session:
        assert get_build(session, 1) is None
    assert kube.list("Secret", settings.run.namespace) == []


def test_no_matching_pipeline_is_a_usage_error(tmp_path, settings, sessions, kube):
    only_release = TRIGGERED.split("---")[1]
    with pytest.raises(UsageError, match="no pipeline's trigger matches"):
        submit(write(tmp_path, only_release), settings=settings, sessions=sessions, kube=kube, secrets={})


def test_secret_values_never_reach_the_database(tmp_path, settings, sessions, kube, data_dir):
    submitted = submit(write(tmp_path, TWO_STEPS), settings=settings, sessions=sessions, kube=kube)
    run_stage(submitted.stages[0].stage_id, sessions=sessions, kube=kube, settings=settings)
    files = [data_dir / DATABASE_FILE, *data_dir.glob(f"{DATABASE_FILE}-*")]
    assert (data_dir / DATABASE_FILE).exists()
    for file in files:
        assert SECRET_VALUE.encode() not in file.read_bytes(), file.name
    assert SECRET_VALUE not in repr(submitted)


def test_secrets_reach_kubernetes_only_when_a_worker_starts_the_stage(tmp_path, settings, sessions, kube):
    submitted = submit(write(tmp_path, TWO_STEPS), settings=settings, sessions=sessions, kube=kube)
    namespace = settings.run.namespace
    assert kube.list("Secret", namespace) == [] and kube.list("PersistentVolumeClaim", namespace) == []
    stage_id = submitted.stages[0].stage_id
    assert advance_stage(stage_id, sessions=sessions, kube=kube, settings=settings).created
    (secret,) = kube.list("Secret", namespace)
    assert secret["metadata"]["labels"]["pipeline-queue.io/stage"].startswith(f"{stage_id}-")
    assert secret["metadata"]["ownerReferences"][0]["kind"] == "PersistentVolumeClaim"
    assert run_stage(stage_id, sessions=sessions, kube=kube, settings=settings) is Status.SUCCESS
    with sessions.begin() as session:
        assert sealed_stage_secrets(session, stage_id) is None  # nothing of them kept beyond the stage


def test_a_stage_key_is_never_handed_out_twice_even_after_a_rolled_back_build(tmp_path, settings, sessions, kube):
    path = write(tmp_path, TWO_STEPS)
    first = submit(path, settings=settings, sessions=sessions, kube=kube)
    with sessions.begin() as session:
        first_key = StagePlan.from_json(get_build(session, first.build_id).stages[0].plan).stage_key
    with pytest.raises(RuntimeError), sessions.begin() as session:  # a build whose transaction rolls back
        create_build(session, NewBuild(repo="octo/app", event="push"), stages=[NewStage(name="x")])
        raise RuntimeError("rolled back")
    second = submit(path, settings=settings, sessions=sessions, kube=kube)
    with sessions.begin() as session:
        second_key = StagePlan.from_json(get_build(session, second.build_id).stages[0].plan).stage_key
    assert first_key != second_key and second_key.split("-")[0] == str(second.stages[0].stage_id)
