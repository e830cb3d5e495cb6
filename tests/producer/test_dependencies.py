"""Waiting stages: held while upstream runs, released when it is done, skipped as Drone skips them."""

from __future__ import annotations

import pytest

from pipeline_queue.producer.dependencies import may_start, release_waiting
from pipeline_queue.store import (
    NewBuild,
    NewStage,
    finish_build,
    finish_stage,
    get_build,
)
from pipeline_queue.vocabulary import Status
from tests.store.builders import pipeline_text, planned_build


def stage(name: str, *depends_on: str, trigger: str = "") -> tuple[NewStage, str]:
    """A waiting stage and its pipeline, whose trigger's `status` says when it runs after its upstream."""
    header = f"trigger: {{status: [{trigger}]}}\n" if trigger else ""
    return NewStage(name=name, depends_on=depends_on), pipeline_text(name, "s=alpine:3.19", header=header)


@pytest.fixture
def build(sessions):
    stages = [stage("a"), stage("b", "a"), stage("c", "b"), stage("notify", "a", trigger="failure")]
    with sessions.begin() as session:
        detail = planned_build(session, NewBuild(repo="octo/app", event="push"), stages)
    return {record.name: record.id for record in detail.stages}


def statuses(sessions, _ids: dict[str, int]) -> dict[str, Status]:
    with sessions.begin() as session:
        detail = get_build(session, 1)
    return {record.name: record.status for record in detail.stages} | {"build": detail.build.status}


def finish(sessions, stage_id: int, status: Status) -> None:
    with sessions.begin() as session:
        record = finish_stage(session, stage_id, status=status)
        finish_build(session, record.build_id)  # as advance_stage does when a stage ends


def test_a_stage_waits_while_its_upstream_is_unfinished(sessions, build):
    assert may_start(sessions, build["a"])
    assert not may_start(sessions, build["b"])
    assert not may_start(sessions, build["notify"])
    assert release_waiting(sessions, build["a"]) == []
    assert statuses(sessions, build)["b"] is Status.PENDING


def test_when_upstream_passes_the_next_is_released_and_a_failure_only_stage_skipped(sessions, build):
    finish(sessions, build["a"], Status.SUCCESS)
    assert release_waiting(sessions, build["a"]) == [build["b"]]
    assert may_start(sessions, build["b"])
    seen = statuses(sessions, build)
    assert (seen["b"], seen["c"], seen["notify"]) == (Status.PENDING, Status.PENDING, Status.SKIPPED)


def test_when_upstream_fails_its_chain_is_skipped_and_the_failure_handler_released(sessions, build):
    finish(sessions, build["a"], Status.FAILURE)
    assert release_waiting(sessions, build["a"]) == [build["notify"]]
    seen = statuses(sessions, build)
    assert (seen["b"], seen["c"], seen["notify"]) == (Status.SKIPPED, Status.SKIPPED, Status.PENDING)
    finish(sessions, build["notify"], Status.SUCCESS)
    assert release_waiting(sessions, build["notify"]) == []
    assert statuses(sessions, build)["build"] is Status.FAILURE


def test_an_advance_that_arrives_for_a_stage_that_must_be_skipped_skips_it(sessions, build):
    finish(sessions, build["a"], Status.ERROR)
    assert not may_start(sessions, build["b"])
    assert statuses(sessions, build)["b"] is Status.SKIPPED
