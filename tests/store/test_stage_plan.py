"""set_stage_plan: the producer stores the plan compiled with the stage's own id, only while it is pending."""

from __future__ import annotations

import pytest

from pipeline_queue.errors import UsageError
from pipeline_queue.store import create_build, finish_stage, get_stage, set_stage_plan, start_stage
from tests.store.builders import new_build, two_stages


@pytest.fixture
def build(sessions):
    with sessions.begin() as session:
        return create_build(session, new_build(), stages=two_stages())


def test_a_pending_stage_takes_the_new_plan_and_moves_one_version_on(sessions, build):
    stage = build.stages[0]
    with sessions.begin() as session:
        updated = set_stage_plan(session, stage.id, {"format": 1, "stage_label": str(stage.id)})
    with sessions.begin() as session:
        read = get_stage(session, stage.id)
    assert read.plan == {"format": 1, "stage_label": str(stage.id)} == updated.plan
    assert read.version == stage.version + 1
    assert get_other(sessions, build).plan == build.stages[1].plan


def get_other(sessions, build):
    with sessions.begin() as session:
        return get_stage(session, build.stages[1].id)


def test_replacing_the_plan_in_the_creating_transaction_commits_both(sessions):
    with sessions.begin() as session:
        detail = create_build(session, new_build(), stages=two_stages())
        for stage in detail.stages:
            set_stage_plan(session, stage.id, {"id": stage.id})
    with sessions.begin() as session:
        assert [get_stage(session, stage.id).plan for stage in detail.stages] == [
            {"id": stage.id} for stage in detail.stages
        ]


@pytest.mark.parametrize("move", [start_stage, finish_stage])
def test_a_started_or_finished_stage_keeps_its_plan(sessions, build, move):
    stage = build.stages[0]
    with sessions.begin() as session:
        move(session, stage.id)
    with sessions.begin() as session, pytest.raises(UsageError, match="only a pending stage"):
        set_stage_plan(session, stage.id, {"other": True})
    with sessions.begin() as session:
        assert get_stage(session, stage.id).plan == stage.plan
