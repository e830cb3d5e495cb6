"""Steps only move forward, a repeated or stale event changes nothing, and logs keep what fits."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from pipeline_queue.errors import StoreError, UsageError
from pipeline_queue.store import (
    StepRecord,
    append_log,
    get_log,
    get_stage,
    set_log,
    update_step,
)
from pipeline_queue.vocabulary import Status
from tests.store.builders import new_build, two_stage_build

T1 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
T2 = datetime(2030, 1, 1, 12, 5, 0, tzinfo=UTC)
T3 = datetime(2030, 1, 1, 12, 9, 0, tzinfo=UTC)


@pytest.fixture
def step(sessions) -> StepRecord:
    """The pending `test` step of a new build."""
    with sessions.begin() as session:
        return two_stage_build(session, new_build()).stages[0].steps[1]


@pytest.fixture
def step_id(step: StepRecord) -> int:
    return step.id


def test_a_step_runs_then_finishes_with_what_its_pod_told(sessions, step_id):
    with sessions.begin() as session:
        running = update_step(session, step_id, status=Status.RUNNING, node="node-2", at=T1)
        done = update_step(session, step_id, status=Status.SUCCESS, exit_code=0,
                           image_id="docker.io/library/golang@sha256:" + "b" * 64, at=T2)
    assert running.changed and done.changed
    assert (running.step.status, running.step.started, running.step.node) == (Status.RUNNING, T1, "node-2")
    step = done.step
    assert (step.status, step.exit_code, step.started, step.finished) == (Status.SUCCESS, 0, T1, T2)
    assert (step.node, step.image_id) == ("node-2", "docker.io/library/golang@sha256:" + "b" * 64)


def test_a_redelivered_event_changes_nothing(sessions, step_id):
    with sessions.begin() as session:
        update_step(session, step_id, status=Status.RUNNING, at=T1)
        first = update_step(session, step_id, status=Status.FAILURE, exit_code=2, at=T2)
        again = update_step(session, step_id, status=Status.FAILURE, exit_code=2, at=T3)
    assert first.changed and not again.changed
    assert again.step == first.step
    assert again.step.finished == T2


def test_a_finished_step_never_changes_again(sessions, step_id):
    with sessions.begin() as session:
        update_step(session, step_id, status=Status.RUNNING, at=T1)
        finished = update_step(session, step_id, status=Status.SUCCESS, exit_code=0, at=T2).step
        attempts = [
            update_step(session, step_id, status=Status.RUNNING, node="elsewhere"),
            update_step(session, step_id, status=Status.FAILURE, exit_code=1),
            update_step(session, step_id, status=Status.PENDING),
            update_step(session, step_id, status=Status.KILLED, error="late kill"),
        ]
    assert [attempt.changed for attempt in attempts] == [False] * 4
    assert all(attempt.step == finished for attempt in attempts)


def test_a_step_first_seen_finished_started_then_at_the_latest(sessions, step_id):
    with sessions.begin() as session:
        done = update_step(session, step_id, status=Status.FAILURE, exit_code=3, at=T2)
    assert (done.step.status, done.step.started, done.step.finished) == (Status.FAILURE, T2, T2)


def test_a_late_running_event_does_not_undo_a_finish(sessions, step_id):
    with sessions.begin() as session:
        update_step(session, step_id, status=Status.ERROR, error="ErrImagePull: manifest unknown", at=T1)
        late = update_step(session, step_id, status=Status.RUNNING, at=T2)
    assert not late.changed
    assert (late.step.status, late.step.error, late.step.started) == (Status.ERROR, "ErrImagePull: manifest unknown",
                                                                      None)


def test_running_again_only_adds_facts_learnt_since(sessions, step_id):
    with sessions.begin() as session:
        update_step(session, step_id, status=Status.RUNNING, at=T1)
        same = update_step(session, step_id, status=Status.RUNNING, at=T2)
        placed = update_step(session, step_id, status=Status.RUNNING, node="node-1", pull_policy="Always", at=T3)
    assert not same.changed and placed.changed
    assert (placed.step.started, placed.step.node, placed.step.pull_policy) == (T1, "node-1", "Always")


def test_concurrent_finishes_let_exactly_one_win(sessions, step):
    outcomes = [Status.SUCCESS, Status.FAILURE, Status.KILLED, Status.ERROR]
    start = threading.Barrier(len(outcomes))

    def finish(status: Status) -> bool:
        start.wait()
        with sessions.begin() as session:
            return update_step(session, step.id, status=status).changed

    with ThreadPoolExecutor(max_workers=len(outcomes)) as pool:
        changed = list(pool.map(finish, outcomes))
    assert changed.count(True) == 1
    with sessions() as session:
        stage = get_stage(session, step.stage_id)
    assert stage is not None
    assert stage.steps[1].status is outcomes[changed.index(True)]


def test_unknown_steps_and_statuses_are_refused(sessions, step_id):
    with sessions.begin() as session:
        with pytest.raises(StoreError, match="step 424242 does not exist"):
            update_step(session, 424242, status=Status.RUNNING)
        with pytest.raises(UsageError, match="unknown step status 'done'"):
            update_step(session, step_id, status="done")


def test_logs_are_set_appended_and_cut_at_the_limit(sessions, step_id):
    with sessions.begin() as session:
        assert set_log(session, step_id, "+ go test\n").text == "+ go test\n"
        appended = append_log(session, step_id, "ok\n")
        assert (appended.text, appended.truncated) == ("+ go test\nok\n", False)
        cut = append_log(session, step_id, "x" * 10, limit=16)
        assert (cut.text, cut.truncated) == ("+ go test\nok\nxxx", True)
        after = append_log(session, step_id, "more", limit=16)
        assert (after.text, after.truncated) == ("+ go test\nok\nxxx", True)
        replaced = set_log(session, step_id, "é" * 5, limit=4)
        assert (replaced.text, replaced.truncated) == ("éééé", True)
    with sessions() as session:
        assert get_log(session, step_id) == replaced


def test_a_nul_in_the_output_does_not_lose_the_log(sessions, step_id):
    with sessions.begin() as session:
        set_log(session, step_id, "before\x00after")
        log = append_log(session, step_id, "\x00!")
    assert log.text == "before\ufffdafter\ufffd!"


def test_logs_of_unknown_steps_are_refused(sessions):
    with sessions.begin() as session:
        assert get_log(session, 424242) is None
        with pytest.raises(StoreError, match="step 424242 has no log"):
            append_log(session, 424242, "x")
