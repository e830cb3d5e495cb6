"""Creating, numbering, listing, reading, cancelling and finishing builds."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from pipeline_queue.compiler import CredentialSource, StagePlan
from pipeline_queue.errors import StoreError, UsageError
from pipeline_queue.store import (
    NewBuild,
    NewStage,
    active_stages,
    approve_build,
    build_config,
    create_build,
    create_repository_if_missing,
    finish_build,
    finish_stage,
    get_build,
    get_log,
    list_builds,
    request_cancel,
)
from pipeline_queue.vocabulary import Status, StepKind
from tests.conftest import ROOT
from tests.store.builders import new_build, pipeline_text, planned_build, two_stage_build


def test_a_new_build_has_its_stages_steps_and_empty_logs(sessions):
    with sessions.begin() as session:
        detail = two_stage_build(session, new_build(message="fix: things", author="octocat", trigger="@hook"))
    build = detail.build
    assert (build.repo, build.number, build.status, build.event) == ("octo/hello", 1, Status.PENDING, "push")
    assert (build.branch, build.ref, build.commit) == ("main", "refs/heads/main", "a" * 40)
    assert (build.message, build.author, build.trigger, build.cancel_requested) == ("fix: things", "octocat",
                                                                                    "@hook", False)
    assert build.created.tzinfo is not None and build.started is None and build.finished is None
    assert [(stage.name, stage.number, stage.depends_on) for stage in detail.stages] == [
        ("build", 1, ()), ("deploy", 2, ("build",))
    ]
    first = detail.stages[0]
    assert StagePlan.from_json(first.plan).stage_key == str(first.id)
    # created at version 1, planned at 2
    assert (first.status, first.version, first.timeout_seconds, first.namespace) == (Status.PENDING, 2, 3600, "")
    assert detail.stages[1].timeout_seconds == 600
    assert [(step.name, step.number, step.kind, step.status) for step in first.steps] == [
        ("db", 1, StepKind.SERVICE, Status.PENDING),
        ("test", 2, StepKind.STEP, Status.PENDING),
        ("lint", 3, StepKind.STEP, Status.PENDING),
    ]
    assert first.steps[1].pull_policy == "IfNotPresent" and first.steps[2].ignore_failure
    assert detail.findings == ()
    with sessions() as session:
        log = get_log(session, first.steps[0].id)
    assert log is not None and (log.text, log.truncated) == ("", False)


def test_get_build_reads_back_what_create_build_returned(sessions):
    with sessions.begin() as session:
        created = two_stage_build(session, new_build())
    with sessions() as session:
        assert get_build(session, created.build.id) == created
        assert get_build(session, created.build.id + 1000) is None


def test_a_step_keeps_where_its_credentials_come_from(sessions):
    source = CredentialSource(secret="dockerconfig", key="registry.example.com", username="ci-bot")
    config = '{"auths": {"registry.example.com": {"username": "ci-bot", "password": "pw-not-real-2210"}}}'
    text = pipeline_text("private", "s=registry.example.com/a:1", header="image_pull_secrets: [dockerconfig]\n")
    with sessions.begin() as session:
        detail = planned_build(session, new_build(), [(NewStage(name="private"), text)],
                               secrets={"dockerconfig": config})
    assert detail.stages[0].steps[0].credential_source == source


def test_build_numbers_count_per_repository(sessions):
    with sessions.begin() as session:
        numbers = [create_build(session, new_build(repo), stages=[]).build.number
                   for repo in ("octo/a", "octo/b", "octo/a", "octo/a", "octo/b")]
    assert numbers == [1, 1, 2, 3, 2]


def test_concurrent_creates_get_unique_increasing_numbers(sessions):
    threads, per_thread = 4, 6
    start = threading.Barrier(threads)

    def create_many() -> list[int]:
        start.wait()
        numbers = []
        for _ in range(per_thread):
            with sessions.begin() as session:
                numbers.append(two_stage_build(session, new_build("octo/race")).build.number)
        return numbers

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = [future.result() for future in [pool.submit(create_many) for _ in range(threads)]]
    assert all(numbers == sorted(numbers) for numbers in results)
    assert sorted(number for numbers in results for number in numbers) == list(range(1, threads * per_thread + 1))


CREATE_BUILDS = textwrap.dedent("""
    import sys
    from pipeline_queue.store import NewBuild, create_build, create_engine, session_factory
    sessions = session_factory(create_engine(sys.argv[1]))
    for _ in range(int(sys.argv[2])):
        with sessions.begin() as session:
            build = create_build(session, NewBuild(repo="octo/procs", event="push"), stages=[]).build
            print(build.number, flush=True)
""")


def test_two_processes_creating_builds_get_unique_numbers(db_url, sessions):
    per_process = 15
    processes = [
        subprocess.Popen([sys.executable, "-c", CREATE_BUILDS, db_url, str(per_process)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], [err for _, err in outputs]
    numbers = [int(line) for out, _ in outputs for line in out.split()]
    assert sorted(numbers) == list(range(1, 2 * per_process + 1))
    with sessions() as session:
        assert len(list_builds(session, limit=100, repo="octo/procs")) == 2 * per_process


def test_builds_are_listed_newest_first_in_pages(sessions):
    now = datetime.now(UTC)
    with sessions.begin() as session:
        ids = [create_build(session, new_build(f"octo/r{i % 2}"), stages=[]).build.id for i in range(5)]
    with sessions() as session:
        newest_first = [build.id for build in list_builds(session, limit=10)]
        pages = [build.id for offset in (0, 2, 4) for build in list_builds(session, limit=2, offset=offset)]
        of_one_repo = [build.id for build in list_builds(session, repo="octo/r1")]
        created = [build.created for build in list_builds(session)]
    assert newest_first == ids[::-1]
    assert pages == newest_first
    assert of_one_repo == [ids[3], ids[1]]
    assert all(now - timedelta(minutes=1) < when < now + timedelta(minutes=1) for when in created)


def test_the_same_repository_is_created_once(sessions):
    with sessions.begin() as session:
        first = create_repository_if_missing(session, "octo/once")
        again = create_repository_if_missing(session, "octo/once")
    assert first == again


def test_pipeline_names_that_would_collide_are_refused(sessions):
    with sessions.begin() as session, pytest.raises(UsageError, match="two pipelines are named 'build'"):
        create_build(session, new_build(), stages=[NewStage(name="build")] * 2)


def test_cancelling_sets_the_flag_until_the_build_is_finished(sessions):
    with sessions.begin() as session:
        detail = create_build(session, new_build(), stages=[NewStage(name="only")])
        build_id, stage_id = detail.build.id, detail.stages[0].id
    with sessions.begin() as session:
        assert request_cancel(session, build_id).cancel_requested is True
        finish_stage(session, stage_id, status=Status.KILLED)
        assert finish_build(session, build_id).status is Status.KILLED
    with sessions.begin() as session, pytest.raises(StoreError, match="build 999999 does not exist"):
        request_cancel(session, 999999)


def test_a_finished_build_ignores_a_late_cancel(sessions):
    with sessions.begin() as session:
        build_id = create_build(session, new_build(), stages=[]).build.id
        assert finish_build(session, build_id).status is Status.SUCCESS
        assert request_cancel(session, build_id).cancel_requested is False


def test_a_build_finishes_only_when_every_stage_has(sessions):
    with sessions.begin() as session:
        detail = two_stage_build(session, new_build())
    build_id, (first, second) = detail.build.id, detail.stages
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    with sessions.begin() as session:
        finish_stage(session, first.id, status=Status.FAILURE)
        assert finish_build(session, build_id).status is Status.PENDING
        finish_stage(session, second.id, status=Status.SKIPPED)
        finished = finish_build(session, build_id, at=when)
        again = finish_build(session, build_id)
    assert (finished.status, finished.finished) == (Status.FAILURE, when)
    assert again == finished


def test_builds_are_paged_by_cursor_and_filtered_by_status(sessions):
    with sessions.begin() as session:
        ids = [create_build(session, new_build("octo/pages"), stages=[]).build.id for _ in range(5)]
        blocked = create_build(session, NewBuild(repo="octo/pages", event="pull_request", blocked=True),
                               stages=[]).build.id
    with sessions() as session:
        first = [build.id for build in list_builds(session, limit=3, repo="octo/pages")]
        second = [build.id for build in list_builds(session, limit=3, repo="octo/pages", before=first[-1])]
        waiting = [build.id for build in list_builds(session, status=Status.BLOCKED)]
    assert first + second == [blocked, *ids[::-1]]
    assert waiting == [blocked]


def test_a_blocked_build_is_approved_once_and_keeps_what_a_restart_needs(sessions):
    with sessions.begin() as session:
        build = create_build(session, NewBuild(repo="octo/fork", event="pull_request", blocked=True,
                                               facts={"fork": True, "title": "Fix"}, config_path=".drone.yml",
                                               config="kind: pipeline\n"), stages=[NewStage(name="default")])
        assert build.build.status is Status.BLOCKED
        assert [stage.id for stage in active_stages(session)] == []
        approved = approve_build(session, build.build.id)
        again = approve_build(session, build.build.id)
        assert build_config(session, build.build.id) == (".drone.yml", "kind: pipeline\n")
        assert build_config(session, build.build.id + 1000) is None
    assert approved.status is Status.PENDING and again.status is Status.PENDING
    assert approved.facts == {"fork": True, "title": "Fix"}
