"""set_stage_plan: the producer stores the plan compiled with the stage's own id, and with it the stage's steps;
a stage is planned once, while it is pending."""

from __future__ import annotations

import dataclasses

import pytest

from pipeline_queue.compiler import StagePlan
from pipeline_queue.errors import UsageError
from pipeline_queue.store import create_build, finish_stage, get_log, get_stage, set_stage_plan, start_stage
from pipeline_queue.store.records import NewStage
from pipeline_queue.vocabulary import Status, StepKind
from tests.store.builders import BUILD, DEPLOY, new_build, plan_for


@pytest.fixture
def pending(sessions):
    """A build whose two stages exist, pending and not yet planned."""
    with sessions.begin() as session:
        return create_build(session, new_build(), stages=[NewStage("build"), NewStage("deploy", ("build",))])


def test_a_pending_stage_takes_its_plan_and_its_steps_and_moves_one_version_on(sessions, pending):
    stage = pending.stages[0]
    assert stage.steps == () and stage.plan == {}
    plan = plan_for(BUILD, stage_key=str(stage.id))
    with sessions.begin() as session:
        updated = set_stage_plan(session, stage.id, plan)
    with sessions.begin() as session:
        read = get_stage(session, stage.id)
        logs = [get_log(session, step.id) for step in read.steps]
    assert StagePlan.from_json(read.plan) == plan and read.plan == updated.plan
    assert read.version == stage.version + 1
    assert [(step.name, step.number, step.kind, step.status, step.image) for step in read.steps] == [
        ("db", 1, StepKind.SERVICE, Status.PENDING, "docker.io/library/postgres:16"),
        ("test", 2, StepKind.STEP, Status.PENDING, "docker.io/library/golang:1.22"),
        ("lint", 3, StepKind.STEP, Status.PENDING, "docker.io/library/golang:1.22"),
    ]
    assert all(log is not None and log.text == "" for log in logs)
    with sessions.begin() as session:
        assert get_stage(session, pending.stages[1].id).plan == {}


def test_planning_in_the_creating_transaction_commits_both(sessions):
    with sessions.begin() as session:
        detail = create_build(session, new_build(), stages=[NewStage("build"), NewStage("deploy", ("build",))])
        for stage, text in zip(detail.stages, (BUILD, DEPLOY), strict=True):
            set_stage_plan(session, stage.id, plan_for(text, stage_key=str(stage.id)))
    with sessions.begin() as session:
        keys = [StagePlan.from_json(get_stage(session, stage.id).plan).stage_key for stage in detail.stages]
    assert keys == [str(stage.id) for stage in detail.stages]


def test_a_stage_is_planned_once(sessions, pending):
    stage = pending.stages[0]
    with sessions.begin() as session:
        set_stage_plan(session, stage.id, plan_for(BUILD, stage_key=str(stage.id)))
    with sessions.begin() as session, pytest.raises(UsageError, match="a stage is planned once"):
        set_stage_plan(session, stage.id, plan_for(DEPLOY, stage_key=str(stage.id)))


@pytest.mark.parametrize("move", [start_stage, finish_stage])
def test_a_started_or_finished_stage_takes_no_plan(sessions, pending, move):
    stage = pending.stages[0]
    with sessions.begin() as session:
        move(session, stage.id)
    with sessions.begin() as session, pytest.raises(UsageError, match="a stage is planned once"):
        set_stage_plan(session, stage.id, plan_for(BUILD))
    with sessions.begin() as session:
        assert get_stage(session, stage.id).plan == {}


def test_steps_whose_names_would_collide_are_refused(sessions, pending):
    plan = plan_for(BUILD)
    twice = dataclasses.replace(plan, steps=(plan.steps[0], dataclasses.replace(plan.steps[1], name="test")))
    with sessions.begin() as session, pytest.raises(UsageError, match="two steps named 'test'"):
        set_stage_plan(session, pending.stages[0].id, twice)
