"""A stage's sealed Secrets: written by the producer with the stage's plan, opened by the worker at stage start
(and for masking its logs), dropped when the stage's objects go. The store sees ciphertext only."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pipeline_queue.store.models import StageSecrets
from pipeline_queue.store.statements import update_rows


@dataclass(frozen=True)
class SealedStageSecrets:
    stage_id: int
    ciphertext: bytes = field(repr=False)
    published: bool
    """Whether a worker has created them in Kubernetes already."""


def seal_stage_secrets(session: Session, stage_id: int, ciphertext: bytes) -> None:
    """Keep the sealed Secrets of stage `stage_id` (once: a stage is planned once)."""
    session.add(StageSecrets(stage_id=stage_id, ciphertext=ciphertext))
    session.flush()


def sealed_stage_secrets(session: Session, stage_id: int) -> SealedStageSecrets | None:
    """The stage's sealed Secrets; None when it has none (or they were dropped with its objects)."""
    row = session.get(StageSecrets, stage_id, populate_existing=True)
    return None if row is None else SealedStageSecrets(row.stage_id, row.ciphertext, row.published)


def mark_published(session: Session, stage_id: int) -> None:
    update_rows(session, sa.update(StageSecrets).where(StageSecrets.stage_id == stage_id).values(published=True))


def drop_stage_secrets(session: Session, stage_id: int) -> None:
    """Forget the stage's Secrets: its objects are gone, nothing of them is kept beyond the stage."""
    session.execute(sa.delete(StageSecrets).where(StageSecrets.stage_id == stage_id))


def reseal_stage_secrets(session: Session, stage_id: int, ciphertext: bytes) -> None:
    """Replace the stage's sealed Secrets (by then with its plugins' pull Secrets among them), to be published again
    before its next pods: what was published already is created once, the new ones join it."""
    row = session.get(StageSecrets, stage_id, populate_existing=True)
    if row is None:
        seal_stage_secrets(session, stage_id, ciphertext)
        return
    update_rows(session, sa.update(StageSecrets).where(StageSecrets.stage_id == stage_id)
                .values(ciphertext=ciphertext, published=False))
