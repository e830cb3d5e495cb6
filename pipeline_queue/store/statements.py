"""SQL helpers shared by the store's modules, including the few statements that differ by database."""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session


def insert_or_ignore(session: Session, model: type[Any], *, conflict: list[str], values: dict[str, Any]) -> bool:
    """INSERT a row unless one with the same `conflict` columns exists; True if it was inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = model.__table__
    statement = insert(table).values(**values).on_conflict_do_nothing(index_elements=conflict)
    # RETURNING, not the rowcount: psycopg reports no rowcount for this statement.
    return session.execute(statement.returning(*table.primary_key.columns)).first() is not None


def update_rows(session: Session, statement: sa.Update) -> int:
    """Run an UPDATE as plain SQL (the session's loaded objects are re-read, not patched); rows matched."""
    result = session.execute(statement.execution_options(synchronize_session=False))
    return cast(CursorResult[Any], result).rowcount
