"""Stages: read one with its steps, start it, finish it, list the unfinished ones, set a pending one's plan, and
record the plan again once its registry credential plugins answered.

A stage row changes only through a compare-and-set on its `version`, so two workers advancing
the same stage can never both apply a change they each decided on from the same reading.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from pipeline_queue.compiler.plan import StagePlan, StepPlan
from pipeline_queue.errors import StaleStateError, StoreError, UsageError
from pipeline_queue.store.builds import mark_build_running
from pipeline_queue.store.columns import utcnow
from pipeline_queue.store.models import Build, Log, Stage, Step
from pipeline_queue.store.records import ActiveStage, StageRecord, StepRecord
from pipeline_queue.store.rows import stage_record
from pipeline_queue.store.statements import update_rows
from pipeline_queue.vocabulary import ACTIVE, Status, StepKind, combined_status


def get_stage(session: Session, stage_id: int) -> StageRecord | None:
    """The stage with its plan and its steps in order; None if unknown (its build was deleted)."""
    query = (
        sa.select(Stage)
        .where(Stage.id == stage_id)
        .options(selectinload(Stage.steps))
        .execution_options(populate_existing=True)
    )
    row = session.execute(query).scalar_one_or_none()
    return None if row is None else stage_record(row)


def start_stage(
    session: Session,
    stage_id: int,
    *,
    namespace: str = "",
    expected_version: int | None = None,
    at: datetime | None = None,
) -> StageRecord:
    """A pending stage becomes running in `namespace` (and its build too); otherwise unchanged."""
    when = at or utcnow()
    stage = _require(session, stage_id)
    if stage.status is not Status.PENDING:
        return stage
    values = {"status": Status.RUNNING, "started": when, "namespace": namespace}
    if _compare_and_set(session, stage, values, expected_version=expected_version):
        mark_build_running(session, stage.build_id, at=when)
        return _require(session, stage_id)
    return start_stage(session, stage_id, namespace=namespace, expected_version=expected_version, at=when)


def finish_stage(
    session: Session,
    stage_id: int,
    *,
    status: Status | None = None,
    error: str = "",
    expected_version: int | None = None,
    at: datetime | None = None,
) -> StageRecord:
    """Finish the stage: its pending steps become skipped, its running ones killed.

    Without `status`, the stage takes the worst outcome of its steps that count (not services,
    not detached steps, not steps whose failure is ignored). A finished stage never changes.
    """
    if status is not None and not Status(status).terminal:
        raise UsageError(f"stage {stage_id} cannot finish as {Status(status).value!r}: use a finished status")
    when = at or utcnow()
    stage = _require(session, stage_id)
    if stage.status.terminal:
        return stage
    if expected_version is not None and stage.version != expected_version:
        raise _stale(stage, expected_version)
    _close_steps(session, stage_id, at=when)
    counted = [step.status for step in _require(session, stage_id).steps if _counts(step)]
    final = Status(status) if status else combined_status(counted)
    values = {"status": final, "finished": when, "error": error or stage.error}
    if _compare_and_set(session, stage, values, expected_version=expected_version):
        return _require(session, stage_id)
    return finish_stage(session, stage_id, status=status, error=error, expected_version=expected_version, at=when)


def active_stages(session: Session) -> list[ActiveStage]:
    """Every pending or running stage, oldest first, with what the resync needs to judge it."""
    query = (
        sa.select(Stage.id, Stage.build_id, Stage.status, Stage.version, Stage.started, Stage.timeout_seconds,
                  Build.cancel_requested)
        .join(Build, Build.id == Stage.build_id)
        .where(Stage.status.in_(ACTIVE), Build.status != Status.BLOCKED)
        .order_by(Stage.id)
    )
    return [
        ActiveStage(
            id=row.id,
            build_id=row.build_id,
            status=row.status,
            version=row.version,
            started=row.started,
            timeout_seconds=row.timeout_seconds,
            cancel_requested=row.cancel_requested,
        )
        for row in session.execute(query)
    ]


def _counts(step: StepRecord) -> bool:
    # Services and detached steps run beside the pipeline: Drone does not fail a build for them.
    return step.kind is StepKind.STEP and not step.detach and not step.ignore_failure


def _close_steps(session: Session, stage_id: int, *, at: datetime) -> None:
    for before, after in ((Status.PENDING, Status.SKIPPED), (Status.RUNNING, Status.KILLED)):
        update_rows(
            session,
            sa.update(Step)
            .where(Step.stage_id == stage_id, Step.status == before)
            .values(status=after, finished=at),
        )


def _compare_and_set(
    session: Session, stage: StageRecord, values: dict[str, Any], *, expected_version: int | None
) -> bool:
    """Write `values` if the stage is still at the version read; raise if the caller expected another."""
    if expected_version is not None and stage.version != expected_version:
        raise _stale(stage, expected_version)
    matched = update_rows(
        session,
        sa.update(Stage)
        .where(Stage.id == stage.id, Stage.version == stage.version)
        .values(**values, version=stage.version + 1),
    )
    # Another transaction moved the stage on: the caller reads it again and decides anew.
    return matched == 1


def _stale(stage: StageRecord, expected_version: int) -> StaleStateError:
    return StaleStateError(
        f"stage {stage.id} ({stage.name!r}) is at version {stage.version}, not {expected_version}: "
        "it changed since it was read; read it again"
    )


def _require(session: Session, stage_id: int) -> StageRecord:
    stage = get_stage(session, stage_id)
    if stage is None:
        raise StoreError(f"stage {stage_id} does not exist")
    return stage


def set_stage_plan(session: Session, stage_id: int, plan: StagePlan) -> StageRecord:
    """Store the compiled plan of a pending stage and create its steps (services first), each with an empty log.

    The producer compiles each stage once its id is known, since its objects carry it. A stage gets its plan
    once: a second plan, or one for a stage that has started, is a UsageError.
    """
    plan_new_stage(session, _require(session, stage_id), plan)
    return _require(session, stage_id)


def plan_new_stage(session: Session, stage: StageRecord, plan: StagePlan) -> None:
    """`set_stage_plan` for a stage the caller holds as read (the producer: as `create_build` returned it), without
    reading it again before or after; the version check still refuses a stage someone changed meanwhile."""
    stage_id = stage.id
    if stage.status is not Status.PENDING or stage.steps:
        raise UsageError(f"stage {stage_id} ({stage.name!r}) already has its plan: a stage is planned once")
    names = [step.name for step in plan.all_steps]
    for name in names:
        if names.count(name) > 1:
            raise UsageError(f"pipeline {stage.name!r} has two steps named {name!r}; names must be unique")
    if not _compare_and_set(session, stage, {"plan": plan.to_json()}, expected_version=stage.version):
        raise _stale(stage, stage.version)
    rows = [_step_row(stage_id, step) for step in plan.all_steps]
    session.add_all(rows)
    session.flush()
    session.add_all(Log(step_id=row.id) for row in rows)
    session.flush()


def _step_row(stage_id: int, step: StepPlan) -> Step:
    source = step.credentials[0] if step.credentials else None
    return Step(
        stage_id=stage_id,
        name=step.name,
        number=step.number,
        kind=step.kind,
        image=step.image.reference,
        pull_policy=step.pull.policy,
        credential_secret=source.secret if source else None,
        credential_registry=source.key if source else None,
        credential_username=source.username if source else None,
        detach=step.detach,
        ignore_failure=step.ignore_failure,
    )


_PLAN_ATTEMPTS = 5
"""Writers of a stage row are few (start, finish, this): a handful of compare-and-set attempts always settles it."""


def record_plugin_plan(session: Session, stage_id: int, plan: StagePlan) -> bool:
    """Store a running stage's plan once the registry credential plugins answered (its steps' credential sources
    among it, never a value) and the first source of each step that had none; False when there is nothing to do:
    the stage finished, or another worker recorded its plugins' answer first (whose plan is then the one kept)."""
    for _ in range(_PLAN_ATTEMPTS):
        stage = _require(session, stage_id)
        if stage.status.terminal or stage.plan.get("plugins_asked"):
            return False
        if _compare_and_set(session, stage, {"plan": plan.to_json()}, expected_version=None):
            _record_first_sources(session, stage, plan)
            return True
    raise StaleStateError(f"stage {stage_id} kept changing while its plugin credentials were recorded; read it again")


def _record_first_sources(session: Session, stage: StageRecord, plan: StagePlan) -> None:
    for record in stage.steps:
        credentials = plan.step(record.name).credentials
        if record.credential_source is None and credentials:
            first = credentials[0]
            update_rows(session, sa.update(Step).where(Step.id == record.id).values(
                credential_secret=first.secret, credential_registry=first.key, credential_username=first.username))
