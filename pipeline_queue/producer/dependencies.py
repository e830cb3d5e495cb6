"""Stages that wait on other pipelines (`depends_on`): when they may start, when they are skipped instead.

As Drone's server does: a waiting stage starts once every stage it depends on is finished; it is skipped
instead when the build is failing and its trigger does not ask for `status: failure` (or when the build
is passing and its trigger leaves out `success`). What the trigger asks for is the stored plan's `upstream`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from pipeline_queue.compiler.plan import StagePlan
from pipeline_queue.store import (
    BuildDetail,
    StageRecord,
    finish_build,
    finish_stage,
    get_build,
    get_stage,
)
from pipeline_queue.vocabulary import FAILED, Status


def may_start(sessions: sessionmaker[Session], stage_id: int) -> bool:
    """False while the pending stage waits on unfinished stages or on its build's approval, or when it was just
    skipped for its upstream (or killed: its blocked build was cancelled before anyone approved it)."""
    with sessions.begin() as session:
        stage = get_stage(session, stage_id)
        if stage is None or stage.status is not Status.PENDING:
            return True
        detail = get_build(session, stage.build_id)
        assert detail is not None  # a stage cannot outlive its build
        if detail.build.status is Status.BLOCKED:
            if detail.build.cancel_requested:
                _end(session, stage, Status.KILLED)
            return False
        if not stage.depends_on:
            return True
        verdict = _verdict(stage, detail)
        if verdict is Status.SKIPPED:
            _end(session, stage, Status.SKIPPED)
        return verdict is Status.RUNNING


def release_waiting(sessions: sessionmaker[Session], stage_id: int) -> list[int]:
    """After stage `stage_id` finished: the waiting stages of its build that may now run; skip the others.

    Skipping one can finish the upstream of another, so it looks again until nothing changes.
    Every caller may call it: sending `advance` twice for a stage is harmless.
    """
    ready: list[int] = []
    with sessions.begin() as session:
        finished = get_stage(session, stage_id)
        if finished is None:
            return []
        build_id, changed = finished.build_id, True
        while changed:
            changed = False
            detail = get_build(session, build_id)
            if detail is None:
                return []
            for stage in detail.stages:
                if stage.status is not Status.PENDING or not stage.depends_on or stage.id in ready:
                    continue
                verdict = _verdict(stage, detail)
                if verdict is Status.SKIPPED:
                    _end(session, stage, Status.SKIPPED)
                    changed = True
                elif verdict is Status.RUNNING:
                    ready.append(stage.id)
    return ready


def _verdict(stage: StageRecord, detail: BuildDetail) -> Status:
    """PENDING while upstream runs; else RUNNING (start it) or SKIPPED."""
    by_name = {other.name: other for other in detail.stages}
    upstream = [by_name[name] for name in stage.depends_on if name in by_name]
    if any(not other.status.terminal for other in upstream):
        return Status.PENDING
    # Drone judges by the whole build, not only the stages this one names.
    failing = any(other.status in FAILED for other in detail.stages)
    upstream = StagePlan.from_json(stage.plan).upstream
    runs = upstream.failure if failing else upstream.success
    return Status.RUNNING if runs else Status.SKIPPED


def _end(session: Session, stage: StageRecord, status: Status) -> None:
    finish_stage(session, stage.id, status=status)
    finish_build(session, stage.build_id)
