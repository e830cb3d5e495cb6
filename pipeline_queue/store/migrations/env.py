"""Alembic's entry point: runs migrations on the connection `migrate()` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from pipeline_queue.errors import UsageError
from pipeline_queue.store.models import Base


def _run(connection: Connection) -> None:
    # Batch mode lets later migrations alter columns on SQLite, which lacks most ALTER TABLE forms.
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise UsageError("run migrations through pipeline_queue.store.migrate(url), not the alembic command")
_run(connection)
