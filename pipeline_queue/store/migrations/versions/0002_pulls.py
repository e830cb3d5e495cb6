"""The pulls table: every step pod's image as it started, for the node cache guard.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pulls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("repo", sa.String(length=255), nullable=False),
        sa.Column("node", sa.String(length=253), nullable=False),
        sa.Column("image", sa.String(length=1024), nullable=False),
        sa.Column("image_id", sa.String(length=1024), nullable=False),
        sa.Column("digest", sa.String(length=255), nullable=False),
        sa.Column("credentialed", sa.Boolean(), nullable=False),
        sa.Column("registry_key", sa.String(length=1024), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["build_id"], ["builds.id"], name=op.f("fk_pulls_build_id_builds"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["step_id"], ["steps.id"], name=op.f("fk_pulls_step_id_steps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pulls")),
        sa.UniqueConstraint("step_id", name=op.f("uq_pulls_step_id")),
    )
    op.create_index("ix_pulls_digest", "pulls", ["digest"])
    op.create_index("ix_pulls_build_id", "pulls", ["build_id"])


def downgrade() -> None:
    op.drop_table("pulls")
