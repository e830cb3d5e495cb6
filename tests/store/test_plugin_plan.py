"""record_plugin_plan and reseal_stage_secrets: a running stage's plan recorded once its registry credential plugins
answered (first answer wins, a finished stage never changes), and its sealed Secrets replaced to be published again."""

from __future__ import annotations

import dataclasses

import pytest

from pipeline_queue.compiler import CredentialSource, StagePlan
from pipeline_queue.store import create_build, finish_stage, get_stage, set_stage_plan, start_stage
from pipeline_queue.store.records import NewStage
from pipeline_queue.store.stage_secrets import (
    mark_published,
    reseal_stage_secrets,
    seal_stage_secrets,
    sealed_stage_secrets,
)
from pipeline_queue.store.stages import record_plugin_plan
from pipeline_queue.vocabulary import Status
from tests.store.builders import BUILD, new_build, plan_for

SOURCE = CredentialSource(secret="plugin: http", key="docker.io", username="ci", plugin=True)


@pytest.fixture
def running(sessions):
    with sessions.begin() as session:
        stage = create_build(session, new_build(), stages=[NewStage("build")]).stages[0]
        plan = plan_for(BUILD, stage_key=str(stage.id))
        set_stage_plan(session, stage.id, plan)
        start_stage(session, stage.id)
    return stage.id, plan


def asked(plan: StagePlan, username: str = "ci") -> StagePlan:
    test = dataclasses.replace(plan.step("test"), credentials=(dataclasses.replace(SOURCE, username=username),))
    return dataclasses.replace(plan, steps=(test, *plan.steps[1:]), plugins_asked=True)


def test_the_first_answer_is_recorded_with_the_steps_sources_and_a_second_is_not(sessions, running):
    stage_id, plan = running
    with sessions.begin() as session:
        assert record_plugin_plan(session, stage_id, asked(plan)) is True
        assert record_plugin_plan(session, stage_id, asked(plan, username="late")) is False
    with sessions.begin() as session:
        stage = get_stage(session, stage_id)
    assert StagePlan.from_json(stage.plan) == asked(plan)
    by_name = {step.name: step.credential_source for step in stage.steps}
    assert by_name == {"db": None, "test": CredentialSource("plugin: http", "docker.io", "ci"), "lint": None}


def test_a_finished_stage_is_left_as_it_is(sessions, running):
    stage_id, plan = running
    with sessions.begin() as session:
        finish_stage(session, stage_id, status=Status.KILLED)
        assert record_plugin_plan(session, stage_id, asked(plan)) is False
        assert StagePlan.from_json(get_stage(session, stage_id).plan) == plan


def test_resealed_secrets_are_published_again(sessions, running):
    stage_id, _ = running
    with sessions.begin() as session:
        reseal_stage_secrets(session, stage_id, b"first")  # none sealed yet: a row of its own
        mark_published(session, stage_id)
        reseal_stage_secrets(session, stage_id, b"second")
        sealed = sealed_stage_secrets(session, stage_id)
    assert (sealed.ciphertext, sealed.published) == (b"second", False)


def test_a_stage_with_sealed_secrets_keeps_one_row(sessions, running):
    stage_id, _ = running
    with sessions.begin() as session:
        seal_stage_secrets(session, stage_id, b"compiled")
        reseal_stage_secrets(session, stage_id, b"compiled+plugins")
        assert sealed_stage_secrets(session, stage_id).ciphertext == b"compiled+plugins"
