"""Webhook deliveries: claimed before a delivery is handled, so that a redelivery (the provider retries, or
someone replays it) creates no second build and answers with the builds of the first."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pipeline_queue.store.models import Delivery
from pipeline_queue.store.statements import insert_or_ignore, update_rows


@dataclass(frozen=True)
class DeliveryRecord:
    provider: str
    delivery: str
    repo: str
    builds: tuple[int, ...]
    reason: str
    done: bool


def claim_delivery(session: Session, *, provider: str, delivery: str, repo: str) -> DeliveryRecord | None:
    """Claim a delivery for handling: None when this call claimed it, else the delivery as first recorded."""
    if insert_or_ignore(session, Delivery, conflict=["provider", "delivery"],
                        values={"provider": provider, "delivery": delivery, "repo": repo, "builds": [], "reason": "",
                                "done": False}):
        return None
    row = session.execute(sa.select(Delivery).where(Delivery.provider == provider, Delivery.delivery == delivery)
                          .execution_options(populate_existing=True)).scalar_one()
    return DeliveryRecord(row.provider, row.delivery, row.repo, tuple(row.builds), row.reason, row.done)


def finish_delivery(session: Session, *, provider: str, delivery: str, builds: tuple[int, ...], reason: str) -> None:
    """Record what the claimed delivery did."""
    update_rows(session, sa.update(Delivery).where(Delivery.provider == provider, Delivery.delivery == delivery)
                .values(builds=list(builds), reason=reason, done=True))


def release_delivery(session: Session, *, provider: str, delivery: str) -> None:
    """Forget a claim whose handling failed, so that the provider's retry is handled afresh."""
    session.execute(sa.delete(Delivery).where(Delivery.provider == provider, Delivery.delivery == delivery,
                                              Delivery.done.is_(False)))
