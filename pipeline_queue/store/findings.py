"""Findings of the cache guard, recorded once per (build, step, kind, image, node)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pipeline_queue.errors import UsageError
from pipeline_queue.store.columns import utcnow
from pipeline_queue.store.models import Finding
from pipeline_queue.store.records import FindingAdded, FindingRecord
from pipeline_queue.store.rows import finding_record
from pipeline_queue.store.statements import insert_or_ignore
from pipeline_queue.vocabulary import FindingKind


def add_finding(
    session: Session,
    *,
    build_id: int,
    kind: FindingKind,
    image: str,
    mode: str,
    action: str,
    step_id: int | None = None,
    node: str = "",
    detail: str = "",
    at: datetime | None = None,
) -> FindingAdded:
    """Record a finding unless the same one is already recorded; `created` says which happened."""
    finding_kind = _kind(kind)
    key = dedupe_key(step_id=step_id, kind=finding_kind, image=image, node=node)
    existing = _find(session, build_id, key)
    if existing is not None:
        return FindingAdded(finding=finding_record(existing), created=False)
    values = {
        "build_id": build_id,
        "step_id": step_id,
        "kind": finding_kind,
        "image": image,
        "node": node,
        "mode": mode,
        "action": action,
        "detail": detail,
        "dedupe_key": key,
        "created": at or utcnow(),
    }
    # Two workers may see the same leak at once: the unique key lets exactly one insert land.
    created = insert_or_ignore(session, Finding, conflict=["build_id", "dedupe_key"], values=values)
    row = _find(session, build_id, key)
    assert row is not None  # inserted now, or by the concurrent writer that won
    return FindingAdded(finding=finding_record(row), created=created)


def dedupe_key(*, step_id: int | None, kind: FindingKind, image: str, node: str) -> str:
    """What makes two findings of one build the same finding, as a fixed-length digest."""
    identity = json.dumps([step_id, kind.value, image, node])
    return hashlib.sha256(identity.encode()).hexdigest()


def _find(session: Session, build_id: int, key: str) -> Finding | None:
    query = (
        sa.select(Finding)
        .where(Finding.build_id == build_id, Finding.dedupe_key == key)
        .execution_options(populate_existing=True)
    )
    return session.execute(query).scalar_one_or_none()


def _kind(kind: FindingKind | str) -> FindingKind:
    try:
        return FindingKind(kind)
    except ValueError:
        raise UsageError(f"unknown finding kind {kind!r} (use risk or leak)") from None


def list_findings(
    session: Session, *, build_id: int | None = None, step_id: int | None = None, limit: int = 1000
) -> tuple[FindingRecord, ...]:
    """Findings oldest first: all of them, or only those of `build_id` and/or `step_id`."""
    query = sa.select(Finding).order_by(Finding.created, Finding.id).limit(limit)
    if build_id is not None:
        query = query.where(Finding.build_id == build_id)
    if step_id is not None:
        query = query.where(Finding.step_id == step_id)
    return tuple(finding_record(row) for row in session.execute(query).scalars())
