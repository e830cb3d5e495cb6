"""Steps and their logs: record what a step's pod did, only ever moving its status forward.

A step goes pending -> running -> a terminal status, or straight from pending to a terminal
one; a finished step never changes again. Pod events arrive late, twice, or out of order, so
an update that would move a step backwards, or repeats one already applied, changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pipeline_queue.errors import StoreError, UsageError
from pipeline_queue.store.columns import utcnow
from pipeline_queue.store.models import Log, Step
from pipeline_queue.store.records import LogRecord, StepUpdate
from pipeline_queue.store.rows import log_record, step_record
from pipeline_queue.store.statements import update_rows
from pipeline_queue.vocabulary import Status

LOG_LIMIT = 5 * 1024 * 1024
"""Characters of output kept per step (Drone's default log limit is 5 MB); the rest is dropped."""

# A status moves forward at most twice (pending -> running -> terminal): a third attempt
# always finds the step where no other writer can move it.
_ATTEMPTS = 3
_RAN = frozenset({Status.SUCCESS, Status.FAILURE, Status.KILLED})
"""Terminal statuses that mean the step's container ran (an error or a skip may mean it never started)."""


def update_step(
    session: Session,
    step_id: int,
    *,
    status: Status,
    exit_code: int | None = None,
    node: str | None = None,
    image_id: str | None = None,
    pull_policy: str | None = None,
    error: str | None = None,
    at: datetime | None = None,
) -> StepUpdate:
    """Move the step to `status` with what the pod told, if that is forward; `changed` says if it was."""
    target = _status(status)
    when = at or utcnow()
    facts = {"exit_code": exit_code, "node": node, "image_id": image_id, "pull_policy": pull_policy, "error": error}
    for _ in range(_ATTEMPTS):
        row = _load(session, step_id)
        changes = _changes(row, target, facts={k: v for k, v in facts.items() if v is not None}, at=when)
        if not changes:
            return StepUpdate(step=step_record(row), changed=False)
        # Compare-and-set on the status read: a concurrent writer that moved it first wins.
        matched = update_rows(
            session,
            sa.update(Step)
            .where(Step.id == step_id, Step.status == row.status)
            .values(**changes),
        )
        if matched == 1:
            return StepUpdate(step=step_record(_load(session, step_id)), changed=True)
    raise StoreError(f"step {step_id} kept changing while being updated; try again")


def get_log(session: Session, step_id: int) -> LogRecord | None:
    """The step's output so far; None for an unknown step."""
    row = _log(session, step_id)
    return None if row is None else log_record(row)


def set_log(session: Session, step_id: int, text: str, *, limit: int = LOG_LIMIT) -> LogRecord:
    """Replace the step's output (the whole log read from its pod), keeping the first `limit` characters."""
    clean = _clean(text)
    matched = update_rows(
        session,
        sa.update(Log)
        .where(Log.step_id == step_id)
        .values(text=clean[:limit], truncated=len(clean) > limit),
    )
    return _log_after(session, step_id, matched)


def append_log(session: Session, step_id: int, text: str, *, limit: int = LOG_LIMIT) -> LogRecord:
    """Add output to the end of the step's log, in one statement so concurrent appends all land."""
    clean = _clean(text)
    # Both databases evaluate the right-hand sides against the row as it was before the update.
    matched = update_rows(
        session,
        sa.update(Log)
        .where(Log.step_id == step_id)
        .values(
            text=sa.func.substr(Log.text + clean, 1, limit),
            truncated=sa.or_(Log.truncated, sa.func.length(Log.text) + len(clean) > limit),
        ),
    )
    return _log_after(session, step_id, matched)


def _status(status: Status | str) -> Status:
    try:
        return Status(status)
    except ValueError:
        known = ", ".join(member.value for member in Status)
        raise UsageError(f"unknown step status {status!r} (use one of {known})") from None


def _changes(row: Step, target: Status, *, facts: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The columns to write to move `row` to `target`; empty when that is no move forward."""
    if row.status.terminal or target is Status.PENDING:
        return {}
    changes = {name: value for name, value in facts.items() if getattr(row, name) != value}
    if target is Status.RUNNING:
        changes.pop("exit_code", None)  # a running container has no exit code yet
        if row.status is Status.PENDING:
            changes.update(status=target, started=at)
        return changes
    changes.update(status=target, finished=at)
    if row.started is None and target in _RAN:
        # A short step may be seen only once it has ended: it started by then at the latest.
        changes["started"] = at
    return changes


def _load(session: Session, step_id: int) -> Step:
    query = sa.select(Step).where(Step.id == step_id).execution_options(populate_existing=True)
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise StoreError(f"step {step_id} does not exist")
    return row


def _log(session: Session, step_id: int) -> Log | None:
    query = sa.select(Log).where(Log.step_id == step_id).execution_options(populate_existing=True)
    return session.execute(query).scalar_one_or_none()


def _log_after(session: Session, step_id: int, matched: int) -> LogRecord:
    row = _log(session, step_id) if matched == 1 else None
    if row is None:
        raise StoreError(f"step {step_id} has no log (the step does not exist)")
    return log_record(row)


def _clean(text: str) -> str:
    # PostgreSQL text cannot hold NUL; a container may print one.
    return text.replace("\x00", "\ufffd")
