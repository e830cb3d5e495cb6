"""Pull records: which image each step pod started from, on which node, and whether credentials pulled it.

The durable half of the cache guard's memory (Redis keeps the fast half, `pipeline_queue.cache.index`): one
row per step, written when its pod is first seen started; the registry key that matched, never a secret.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pipeline_queue.store.columns import utcnow
from pipeline_queue.store.models import Pull
from pipeline_queue.store.statements import insert_or_ignore


@dataclass(frozen=True)
class NewPull:
    """What a started step pod tells about its image; `registry_key` is the docker config key that matched."""

    build_id: int
    step_id: int
    repo: str
    node: str
    image: str
    image_id: str
    digest: str
    credentialed: bool
    registry_key: str = ""


@dataclass(frozen=True, kw_only=True)
class PullRecord(NewPull):
    """A pull as kept: what was recorded, with its row id and when."""

    id: int
    created: datetime


def record_pull(session: Session, pull: NewPull, *, at: datetime | None = None) -> bool:
    """Keep `pull` unless its step already has one (pod events repeat); True when this call wrote it."""
    values = {**asdict(pull), "created": at or utcnow()}
    return insert_or_ignore(session, Pull, conflict=["step_id"], values=values)


def first_credentialed_pull(session: Session, *, digest: str = "", image: str = "") -> PullRecord | None:
    """The earliest credentialed pull of `digest` (when given), else of the image reference `image`."""
    if not digest and not image:
        return None
    wanted = Pull.digest == digest if digest else Pull.image == image
    query = sa.select(Pull).where(wanted, Pull.credentialed.is_(True)).order_by(Pull.created, Pull.id).limit(1)
    row = session.execute(query).scalar_one_or_none()
    return None if row is None else _record(row)


def list_pulls(session: Session, *, build_id: int | None = None, limit: int = 1000) -> tuple[PullRecord, ...]:
    """Pull records, oldest first; only those of `build_id` when given."""
    query = sa.select(Pull).order_by(Pull.created, Pull.id).limit(limit)
    if build_id is not None:
        query = query.where(Pull.build_id == build_id)
    return tuple(_record(row) for row in session.execute(query).scalars())


def _record(row: Pull) -> PullRecord:
    return PullRecord(
        id=row.id,
        build_id=row.build_id,
        step_id=row.step_id,
        repo=row.repo,
        node=row.node,
        image=row.image,
        image_id=row.image_id,
        digest=row.digest,
        credentialed=row.credentialed,
        registry_key=row.registry_key,
        created=row.created,
    )
