"""Builds: create one with its stages, list, read, cancel, finish.

Every function takes an open Session and leaves committing to the caller, so that several
calls can share one transaction; each returns frozen records, never ORM objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from pipeline_queue.errors import StoreError, UsageError
from pipeline_queue.store.columns import utcnow
from pipeline_queue.store.models import Build, Repository, Stage
from pipeline_queue.store.records import BuildDetail, BuildRecord, NewBuild, NewStage, RepositoryRecord
from pipeline_queue.store.rows import build_detail, build_record, repository_record
from pipeline_queue.store.statements import insert_or_ignore, update_rows
from pipeline_queue.vocabulary import ACTIVE, TERMINAL, Status, combined_status


def create_repository_if_missing(session: Session, slug: str) -> RepositoryRecord:
    """The repository `owner/name`, created if this is the first time it is seen."""
    if not slug.strip():
        raise UsageError("a repository needs an owner/name slug")
    insert_or_ignore(session, Repository, conflict=["slug"], values={"slug": slug})
    row = session.execute(sa.select(Repository).where(Repository.slug == slug)).scalar_one()
    return repository_record(row)


def create_build(session: Session, build: NewBuild, *, stages: Sequence[NewStage]) -> BuildDetail:
    """A pending build numbered next in its repository, with its pending stages (their plans come next)."""
    _check_names(stages)
    repository = create_repository_if_missing(session, build.repo)
    # The repository row is the lock that serialises numbering on PostgreSQL; SQLite has taken
    # its write lock at BEGIN IMMEDIATE already (see engine.py).
    session.execute(sa.select(Repository.id).where(Repository.id == repository.id).with_for_update())
    last = session.execute(sa.select(sa.func.max(Build.number)).where(Build.repo_id == repository.id)).scalar()
    row = Build(
        repo_id=repository.id,
        number=(last or 0) + 1,
        event=build.event,
        branch=build.branch,
        ref=build.ref,
        commit=build.commit,
        message=build.message,
        author=build.author,
        trigger=build.trigger,
        status=Status.BLOCKED if build.blocked else Status.PENDING,
        facts=dict(build.facts),
        config_path=build.config_path,
        config=build.config,
        parent=build.parent,
    )
    row.stages = [_stage_row(stage, number) for number, stage in enumerate(stages, start=1)]
    row.findings = []
    session.add(row)
    session.flush()
    return build_detail(row)  # from the rows just written: their ids and defaults are set, nothing to read back


def list_builds(
    session: Session, *, limit: int = 25, offset: int = 0, repo: str | None = None, status: Status | None = None,
    before: int | None = None,
) -> list[BuildRecord]:
    """Builds newest first (by id: ids only grow), optionally of one repository (`owner/name`), in one status, or
    older than build id `before` (the page after one whose last build was `before`; pages never overlap)."""
    query = sa.select(Build).order_by(Build.id.desc()).limit(limit).offset(offset)
    if repo is not None:
        query = query.join(Build.repository).where(Repository.slug == repo)
    if status is not None:
        query = query.where(Build.status == status)
    if before is not None:
        query = query.where(Build.id < before)
    rows = session.execute(query.execution_options(populate_existing=True)).scalars()
    return [build_record(row) for row in rows]


def get_build(session: Session, build_id: int) -> BuildDetail | None:
    """The build with its stages (each with its steps, in order) and findings; None if unknown."""
    query = (
        sa.select(Build)
        .where(Build.id == build_id)
        .options(selectinload(Build.stages).selectinload(Stage.steps), selectinload(Build.findings))
        .execution_options(populate_existing=True)
    )
    row = session.execute(query).scalar_one_or_none()
    return None if row is None else build_detail(row)


def get_build_record(session: Session, build_id: int) -> BuildRecord | None:
    """The build row alone (no stages, steps or findings): what a stage's reconcile reads of its build."""
    row = session.execute(sa.select(Build).where(Build.id == build_id)
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    return None if row is None else build_record(row)


def request_cancel(session: Session, build_id: int) -> BuildRecord:
    """Mark an unfinished build for cancellation; the workers kill its pods. A finished build is left alone."""
    update_rows(
        session,
        sa.update(Build)
        .where(Build.id == build_id, Build.status.in_(ACTIVE))
        .values(cancel_requested=True),
    )
    return _build(session, build_id)


def finish_build(session: Session, build_id: int, *, at: datetime | None = None) -> BuildRecord:
    """Finish the build with the status its stages add up to, once all of them are finished.

    While a stage is still pending or running the build is returned unchanged, so every worker
    that finishes a stage may call this; only the call that sees the last stage finished writes.
    """
    statuses = session.execute(sa.select(Stage.status).where(Stage.build_id == build_id)).scalars().all()
    if any(status not in TERMINAL for status in statuses):
        return _build(session, build_id)
    update_rows(
        session,
        sa.update(Build)
        .where(Build.id == build_id, Build.status.in_(ACTIVE))
        .values(status=combined_status(statuses), finished=at or utcnow()),
    )
    return _build(session, build_id)


def approve_build(session: Session, build_id: int) -> BuildRecord:
    """A blocked build becomes pending (its stages may start); any other build is returned unchanged."""
    update_rows(session, sa.update(Build).where(Build.id == build_id, Build.status == Status.BLOCKED)
                .values(status=Status.PENDING))
    return _build(session, build_id)


def build_config(session: Session, build_id: int) -> tuple[str, str] | None:
    """The pipeline file build `build_id` ran, as (name, text); None when there is no such build."""
    row = session.execute(sa.select(Build.config_path, Build.config).where(Build.id == build_id)).one_or_none()
    return None if row is None else (row.config_path, row.config)


def builds_of_ref(session: Session, repo: str, ref: str) -> list[BuildRecord]:
    """The unfinished builds of repository `repo` for git ref `ref` (a pull request's), oldest first."""
    query = (sa.select(Build).join(Build.repository)
             .where(Repository.slug == repo, Build.ref == ref, Build.status.in_(ACTIVE))
             .order_by(Build.id).execution_options(populate_existing=True))
    return [build_record(row) for row in session.execute(query).scalars()]


def mark_build_running(session: Session, build_id: int, *, at: datetime) -> None:
    """A pending build becomes running when its first stage starts."""
    update_rows(
        session,
        sa.update(Build)
        .where(Build.id == build_id, Build.status == Status.PENDING)
        .values(status=Status.RUNNING, started=at),
    )


def _build(session: Session, build_id: int) -> BuildRecord:
    query = sa.select(Build).where(Build.id == build_id).execution_options(populate_existing=True)
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise StoreError(f"build {build_id} does not exist")
    return build_record(row)


def _check_names(stages: Sequence[NewStage]) -> None:
    # Pod and Secret names derive from stage names: two alike would collide.
    stage_names = [stage.name for stage in stages]
    for name in stage_names:
        if stage_names.count(name) > 1:
            raise UsageError(f"two pipelines are named {name!r}; pipeline names must be unique")


def _stage_row(stage: NewStage, number: int) -> Stage:
    row = Stage(
        name=stage.name,
        number=number,
        depends_on=list(stage.depends_on),
        plan={},
        timeout_seconds=stage.timeout_seconds,
    )
    row.steps = []
    return row
