"""Repositories as records (registered, trusted, clone URL, config path, namespace, sealed webhook secret) and
their secrets, sealed at rest.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _repository_columns() -> list[sa.Column[Any]]:
    # Added in place, never in batch mode: rebuilding `repositories` on SQLite drops the table, and with foreign
    # keys on, dropping it deletes every build through ON DELETE CASCADE.
    return [
        # Rows that exist already were created by builds of unknown slugs: they are not registered.
        sa.Column("registered", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("trusted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("clone_url", sa.String(length=1024), server_default="", nullable=False),
        sa.Column("config_path", sa.String(length=500), server_default=".drone.yml", nullable=False),
        sa.Column("namespace", sa.String(length=63), server_default="", nullable=False),
        sa.Column("webhook_secret", sa.LargeBinary(), nullable=True),
        # SQLite adds a NOT NULL column only with a constant default; every existing row then takes its `created`.
        sa.Column("updated", sa.DateTime(timezone=True), server_default="1970-01-01 00:00:00", nullable=False),
    ]


def upgrade() -> None:
    for column in _repository_columns():
        op.add_column("repositories", column)
    op.execute("UPDATE repositories SET updated = created")
    op.create_table(
        "secrets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("allow_pull_request", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["repo_id"], ["repositories.id"], name=op.f("fk_secrets_repo_id_repositories"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_secrets")),
        sa.UniqueConstraint("repo_id", "name", name="uq_secrets_repo_id_name"),
    )


def downgrade() -> None:
    op.drop_table("secrets")
    for column in reversed(_repository_columns()):
        # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL), not batch mode: see _repository_columns.
        op.execute(f"ALTER TABLE repositories DROP COLUMN {column.name}")
