"""Stages start once, finish once with the status their steps add up to, and guard against stale writes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline_queue.errors import StaleStateError, StoreError, UsageError
from pipeline_queue.store import (
    active_stages,
    finish_stage,
    get_build,
    get_stage,
    request_cancel,
    start_stage,
    update_step,
)
from pipeline_queue.vocabulary import Status
from tests.store.builders import new_build, two_stage_build

T1 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
T2 = datetime(2030, 1, 1, 12, 30, 0, tzinfo=UTC)


@pytest.fixture
def build(sessions):
    with sessions.begin() as session:
        return two_stage_build(session, new_build())


def _finish_steps(session, stage, *statuses: Status) -> None:
    for step, status in zip(stage.steps, statuses, strict=True):
        update_step(session, step.id, status=Status.RUNNING, at=T1)
        update_step(session, step.id, status=status, at=T2)


def test_starting_a_stage_starts_its_build_once(sessions, build):
    stage = build.stages[0]
    with sessions.begin() as session:
        started = start_stage(session, stage.id, namespace="pq-1", at=T1)
        again = start_stage(session, stage.id, namespace="other", at=T2)
        detail = get_build(session, build.build.id)
    assert (started.status, started.namespace, started.started, started.version) == (Status.RUNNING, "pq-1", T1, 3)
    assert again == started
    assert detail is not None and (detail.build.status, detail.build.started) == (Status.RUNNING, T1)


@pytest.mark.parametrize(
    ("service", "test", "lint", "expected"),
    [
        (Status.SUCCESS, Status.SUCCESS, Status.SUCCESS, Status.SUCCESS),
        (Status.FAILURE, Status.SUCCESS, Status.FAILURE, Status.SUCCESS),  # service and ignored failure don't count
        (Status.SUCCESS, Status.FAILURE, Status.SUCCESS, Status.FAILURE),
        (Status.SUCCESS, Status.KILLED, Status.SUCCESS, Status.KILLED),
        (Status.SUCCESS, Status.ERROR, Status.SUCCESS, Status.ERROR),
        (Status.SUCCESS, Status.SKIPPED, Status.SKIPPED, Status.SUCCESS),
    ],
)
def test_a_stage_finishes_with_the_worst_outcome_of_its_counted_steps(sessions, build, service, test, lint, expected):
    stage = build.stages[0]
    with sessions.begin() as session:
        start_stage(session, stage.id, at=T1)
        _finish_steps(session, stage, service, test, lint)
        finished = finish_stage(session, stage.id, at=T2)
    assert (finished.status, finished.finished, finished.version) == (expected, T2, 4)


def test_finishing_skips_pending_steps_and_kills_running_ones(sessions, build):
    stage = build.stages[0]
    with sessions.begin() as session:
        start_stage(session, stage.id, at=T1)
        update_step(session, stage.steps[0].id, status=Status.RUNNING, at=T1)
        update_step(session, stage.steps[1].id, status=Status.RUNNING, at=T1)
        finished = finish_stage(session, stage.id, status=Status.ERROR, error="deadline exceeded (60m)", at=T2)
    assert (finished.status, finished.error) == (Status.ERROR, "deadline exceeded (60m)")
    assert [(step.status, step.finished) for step in finished.steps] == [
        (Status.KILLED, T2), (Status.KILLED, T2), (Status.SKIPPED, T2)
    ]


def test_a_finished_stage_never_changes(sessions, build):
    stage = build.stages[1]
    with sessions.begin() as session:
        skipped = finish_stage(session, stage.id, status=Status.SKIPPED, at=T1)
        again = finish_stage(session, stage.id, status=Status.FAILURE, error="late", at=T2)
        restarted = start_stage(session, stage.id, namespace="pq-9")
    assert skipped.status is Status.SKIPPED and skipped.started is None
    assert again == skipped and restarted == skipped


def test_a_write_decided_on_an_old_reading_is_refused(sessions, build):
    stage = build.stages[0]
    with sessions.begin() as session:
        start_stage(session, stage.id, expected_version=stage.version)
    with sessions.begin() as session, pytest.raises(StaleStateError, match=rf"version {stage.version + 1}, not "):
        finish_stage(session, stage.id, status=Status.SUCCESS, expected_version=stage.version)
    with sessions.begin() as session:
        assert finish_stage(session, stage.id, status=Status.SUCCESS,
                            expected_version=stage.version + 1).status is Status.SUCCESS


def test_active_stages_are_what_the_resync_must_look_at(sessions, build):
    first, second = build.stages
    with sessions.begin() as session:
        start_stage(session, first.id, at=T1)
        request_cancel(session, build.build.id)
        active = active_stages(session)
        finish_stage(session, first.id, status=Status.KILLED)
        finish_stage(session, second.id, status=Status.SKIPPED)
        after = active_stages(session)
    assert [(stage.id, stage.status, stage.started, stage.cancel_requested) for stage in active] == [
        (first.id, Status.RUNNING, T1, True), (second.id, Status.PENDING, None, True)
    ]
    assert [stage.timeout_seconds for stage in active] == [3600, 600]
    assert after == []


def test_unknown_stages_and_unfinished_statuses_are_refused(sessions, build):
    with sessions.begin() as session:
        assert get_stage(session, 424242) is None
        with pytest.raises(StoreError, match="stage 424242 does not exist"):
            finish_stage(session, 424242)
        with pytest.raises(UsageError, match="cannot finish as 'running'"):
            finish_stage(session, build.stages[0].id, status=Status.RUNNING)
