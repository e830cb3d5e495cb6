"""Waiting stages: held while upstream runs, released when it is done, skipped as Drone skips them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_queue.producer import UPSTREAM_KEY, may_start, release_waiting
from pipeline_queue.store import (
    NewBuild,
    NewStage,
    NewStep,
    create_build,
    create_engine,
    database_url,
    finish_build,
    finish_stage,
    get_build,
    migrate,
    session_factory,
)
from pipeline_queue.vocabulary import Status


@pytest.fixture
def sessions(tmp_path: Path):
    url = database_url(data_dir=tmp_path)
    migrate(url)
    engine = create_engine(url)
    yield session_factory(engine)
    engine.dispose()


def stage(name: str, *depends_on: str, on_success: bool = True, on_failure: bool = False) -> NewStage:
    plan = {UPSTREAM_KEY: {"success": on_success, "failure": on_failure}}
    return NewStage(name=name, plan=plan, steps=(NewStep(name="s", image="alpine"),), depends_on=depends_on)


@pytest.fixture
def build(sessions):
    stages = [stage("a"), stage("b", "a"), stage("c", "b"), stage("notify", "a", on_success=False, on_failure=True)]
    with sessions.begin() as session:
        detail = create_build(session, NewBuild(repo="octo/app", event="push"), stages=stages)
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
