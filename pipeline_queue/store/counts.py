"""How many builds and steps stand in each status, one GROUP BY per table: what `/metrics` reads per scrape."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from pipeline_queue.store.models import Build, Step
from pipeline_queue.vocabulary import Status


@dataclass(frozen=True)
class StatusCounts:
    """Every status with its count (0 when none), for builds and for steps."""

    builds: Mapping[Status, int]
    steps: Mapping[Status, int]


def status_counts(session: Session) -> StatusCounts:
    """The counts as the database holds them now."""
    return StatusCounts(builds=_by_status(session, Build.status), steps=_by_status(session, Step.status))


def _by_status(session: Session, column: InstrumentedAttribute[Status]) -> dict[Status, int]:
    counts = dict.fromkeys(Status, 0)
    query = sa.select(column, sa.func.count()).group_by(column)
    for status, count in session.execute(query):
        counts[Status(status)] = int(count)
    return counts
